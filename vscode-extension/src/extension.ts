/** Entry point: activate wires the features together; deactivate stops the daemon. */
import * as vscode from "vscode";

import { Daemon } from "./client/daemon";
import { onPythonInterpreterChange } from "./client/python";
import { SCHEME } from "./common/entryUri";
import { LossChart } from "./features/chart";
import { EntryFileSystem } from "./features/entries";
import { Review, type PatchTarget } from "./features/review";
import { Rollback, type RollbackArgs } from "./features/rollback";
import { Runs } from "./features/runs";
import { secretEnv, setApiKey } from "./features/secrets";
import { StatusItem } from "./features/status";
import { Training, type TrainArgs } from "./features/training";
import { RunsTree } from "./features/tree";

let daemon: Daemon | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("Experience", { log: true });
  daemon = new Daemon(log, () => secretEnv(context.secrets));
  const d = daemon;
  const runs = new Runs(d, context.workspaceState);
  const files: EntryFileSystem = new EntryFileSystem(d, (runDir, step, id) => rv.findPatch(runDir, step, id));
  const rv: Review = new Review(d, runs, files);
  const tree = new RunsTree(d, runs, rv);
  const training = new Training(d, runs, rv);
  const chart = new LossChart(runs);
  const rollback = new Rollback(d, runs, files, tree, (title) => training.pickRun(title, false));
  const command = (id: string, run: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, run);

  context.subscriptions.push(
    log,
    d,
    runs,
    files,
    rv,
    tree,
    chart,
    new StatusItem(d, runs),
    vscode.workspace.registerFileSystemProvider(SCHEME, files, { isCaseSensitive: true }),
    vscode.languages.registerCodeLensProvider({ scheme: SCHEME }, rv),
    vscode.window.createTreeView("experience.runs", { treeDataProvider: tree, showCollapseAll: true }),
    command("experience.train", (args?: TrainArgs) => training.train(args)),
    command("experience.step", (args?: TrainArgs) => training.step(args)),
    command("experience.stop", (args?: TrainArgs) => training.stop(args)),
    command("experience.evaluate", (args?: TrainArgs) => training.evaluate(args)),
    command("experience.showPatchDiff", (target?: PatchTarget) => rv.showDiff(target)),
    command("experience.acceptPatch", (target?: PatchTarget) => rv.decide(target, true)),
    command("experience.rejectPatch", (target?: PatchTarget) => rv.decide(target, false)),
    command("experience.rollback", (args?: RollbackArgs) => rollback.run(args)),
    command("experience.showLossChart", () => chart.show(runs.active ?? runs.list()[0])),
    command("experience.refreshRuns", async () => {
      await runs.discover();
      rv.invalidate();
      tree.refresh();
    }),
    command("experience.restartDaemon", () => d.restart("asked for ('Experience: Restart Daemon')").then(() => undefined)),
    command("experience.showLogs", () => log.show()),
    command("experience.setApiKey", async () => {
      if (await setApiKey(context.secrets)) {
        d.scheduleRestart("an API key changed", 0);
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("experience.pythonPath") || e.affectsConfiguration("python.defaultInterpreterPath")) {
        d.scheduleRestart("the Python interpreter setting changed");
      }
    }),
  );
  const pythonWatch = await onPythonInterpreterChange(() => d.scheduleRestart("the Python extension's interpreter changed"));
  if (pythonWatch) {
    context.subscriptions.push(pythonWatch);
  }
  void runs.discover();
  d.start().catch(() => undefined); // failures were reported (with the fix) and logged
}

export async function deactivate(): Promise<void> {
  await daemon?.stop();
  daemon = undefined;
}
