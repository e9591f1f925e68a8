/** `Experience: Roll Back Run to Step...`: restore a run's experience as it was after an earlier step (the
 * later steps stay on record), then refresh the tree, the status bar and the open entry documents. */
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { errorText } from "../client/errors";
import { confirmDetail, rollbackSummary, stepProblem, validStep } from "../common/rollback";
import type { EntryFileSystem } from "./entries";
import { canonical, type Runs } from "./runs";

/** What the command may be given: a run item of the tree (it has runDir), or a script's run and step. */
export interface RollbackArgs {
  runDir?: string;
  toStep?: number;
}

export const CONFIRM = "Roll Back";

export class Rollback {
  constructor(
    private readonly daemon: Daemon,
    private readonly runs: Runs,
    private readonly files: Pick<EntryFileSystem, "fireRun">,
    private readonly tree: { refresh(): void },
    private readonly pickRun: (title: string) => Promise<string | undefined>,
  ) {}

  /** Ask for the run (unless given), the step (0 to the current one), confirm, then roll back. */
  async run(args: RollbackArgs = {}): Promise<void> {
    const runDir = args.runDir ? canonical(args.runDir) : await this.pickRun("Roll back which run?");
    if (!runDir) {
      return;
    }
    const name = path.basename(runDir);
    const job = this.runs.job(runDir);
    if (job) {
      void vscode.window.showWarningMessage(`${name} is ${job}: stop it before rolling it back.`);
      return;
    }
    let current: number;
    try {
      current = (await this.runs.summary(runDir, true)).step;
    } catch (error) {
      void vscode.window.showErrorMessage(`Cannot roll back ${name}: ${errorText(error)}`);
      return;
    }
    const toStep = await this.askStep(name, current, args.toStep);
    if (toStep === undefined) {
      return;
    }
    const pick = await vscode.window.showWarningMessage(
      `Roll back ${name} to step ${toStep}?`,
      { modal: true, detail: confirmDetail(toStep, current) },
      CONFIRM,
    );
    if (pick !== CONFIRM) {
      return;
    }
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Rolling back ${name} to step ${toStep}` },
        () => this.daemon.request("experience/rollback", { runDir, toStep }),
      );
      await this.runs.rolledBack(runDir, result.step);
      this.files.fireRun(runDir);
      this.tree.refresh();
      void vscode.window.showInformationMessage(rollbackSummary(name, result));
    } catch (error) {
      void vscode.window.showErrorMessage(`Rolling back ${name} failed: ${errorText(error)}`);
    }
  }

  /** The step given (refused when out of range), else the one the user types. */
  private async askStep(name: string, current: number, given: number | undefined): Promise<number | undefined> {
    if (given !== undefined) {
      if (validStep(given, current)) {
        return given;
      }
      void vscode.window.showErrorMessage(`Cannot roll back ${name} to step ${given}: it is at step ${current}, so pick 0 to ${current}.`);
      return undefined;
    }
    const typed = await vscode.window.showInputBox({
      title: `Roll back ${name}`,
      prompt: `Restore the experience as it was after step… (0: the empty start; ${name} is at step ${current})`,
      value: String(Math.max(current - 1, 0)),
      ignoreFocusOut: true,
      validateInput: (v) => stepProblem(v, current),
    });
    return typed === undefined ? undefined : Number(typed.trim());
  }
}
