/** Entry point: activate wires the features together (the daemon starts on first use); deactivate stops it. */
import * as vscode from "vscode";

import { Daemon } from "./client/daemon";
import { onPythonInterpreterChange } from "./client/python";
import { SCHEME } from "./common/entryUri";
import { LossChart } from "./features/chart";
import { ContextKeys } from "./features/contextKeys";
import { EntryFileSystem } from "./features/entries";
import { RestartGate } from "./features/restartGate";
import { EntryRevealer } from "./features/reveal";
import { Review, type PatchTarget } from "./features/review";
import { MergeRuns } from "./features/merge";
import { Playground } from "./features/playground";
import { Rollback, type RollbackArgs } from "./features/rollback";
import { canonical, Runs } from "./features/runs";
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
  const files: EntryFileSystem = new EntryFileSystem(d, (preview) => rv.previewed(preview));
  const rv: Review = new Review(d, runs, files);
  const tree = new RunsTree(d, runs, rv);
  const training = new Training(d, runs, rv);
  const chart = new LossChart(runs);
  const playground = new Playground(d, (title) => training.pickRun(title, false));
  const merge = new MergeRuns(d, runs, () => tree.refresh());
  const rollback = new Rollback(d, runs, files, tree, (title) => training.pickRun(title, false));
  const gate = new RestartGate(d, runs);
  const view = vscode.window.createTreeView("experience.runs", { treeDataProvider: tree, showCollapseAll: true });
  const revealer = new EntryRevealer(view, tree);
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
    gate,
    view,
    revealer,
    new ContextKeys(d, runs, rv),
    vscode.workspace.registerFileSystemProvider(SCHEME, files, { isCaseSensitive: true }),
    vscode.languages.registerCodeLensProvider({ scheme: SCHEME }, rv),
    command("experience.train", (args?: TrainArgs) => training.train(args)),
    command("experience.step", (args?: TrainArgs) => training.step(args)),
    command("experience.stop", (args?: TrainArgs) => training.stop(args)),
    command("experience.evaluate", (args?: TrainArgs) => training.evaluate(args)),
    command("experience.showPatchDiff", (target?: PatchTarget) => rv.showDiff(target)),
    command("experience.acceptPatch", (target?: PatchTarget) => rv.decide(target, true)),
    command("experience.rejectPatch", (target?: PatchTarget) => rv.decide(target, false)),
    command("experience.rollback", (args?: RollbackArgs) => rollback.run(args)),
    command("experience.tryModel", (args?: { runDir?: string }) => playground.open(args)),
    command("experience.mergeRuns", () => merge.run()),
    playground,
    command("experience.showLossChart", (arg?: { runDir?: string }) =>
      chart.show(arg?.runDir ? canonical(arg.runDir) : (runs.active ?? runs.list()[0])),
    ),
    command("experience.revealEntry", (uri?: vscode.Uri) => revealer.reveal(uri instanceof vscode.Uri ? uri : undefined)),
    command("experience.refreshRuns", async () => {
      await runs.discover();
      rv.invalidate();
      tree.refresh();
    }),
    command("experience.restartDaemon", () => d.restart("asked for ('Experience: Restart Daemon')").then(() => undefined)),
    command("experience.showLogs", () => log.show()),
    command("experience.setApiKey", async () => {
      if (await setApiKey(context.secrets)) {
        await gate.request("an API key changed", 0);
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("experience.pythonPath") || e.affectsConfiguration("python.defaultInterpreterPath")) {
        void gate.interpreterEvent("the Python interpreter setting changed");
      }
    }),
  );
  const pythonWatch = await onPythonInterpreterChange(() => void gate.interpreterEvent("the Python extension's interpreter changed"));
  if (pythonWatch) {
    context.subscriptions.push(pythonWatch);
  }
  void runs.discover(); // reads run.json files only: the daemon starts when something needs it
}

export async function deactivate(): Promise<void> {
  await daemon?.stop();
  daemon = undefined;
}
