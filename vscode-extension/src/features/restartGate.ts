/** Restarts nobody asked for by name (a setting, an API key, the Python extension's interpreter): skipped when
 * the daemon has not started (its next start reads the new value) or the interpreter did not change, and,
 * while something trains, asked about: now (the job stops at its next safe point; resume it later) or after. */
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import type { Runs } from "./runs";

export type RestartOutcome = "skipped" | "now" | "later" | "dismissed";
export const NOW = "Restart Now";
export const AFTER = "After Training";

type RestartTarget = Pick<Daemon, "running" | "scheduleRestart" | "interpreterChanged" | "log">;

export class RestartGate implements vscode.Disposable {
  private pending: string | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly daemon: RestartTarget,
    private readonly runs: Pick<Runs, "running" | "onDidChange">,
  ) {
    this.subscription = runs.onDidChange(() => this.afterTraining());
  }

  /** A restart waiting for the jobs of this window to end, if any (its reason). */
  get waiting(): string | undefined {
    return this.pending;
  }

  /** Restart for `reason` unless nothing runs; ask first while something trains. */
  async request(reason: string, delayMs?: number): Promise<RestartOutcome> {
    if (!this.daemon.running) {
      this.daemon.log.info(`Not restarting the daemon (${reason}): it has not started; it will use the change when it does.`);
      return "skipped";
    }
    const busy = this.runs.running();
    if (busy.length === 0) {
      this.daemon.scheduleRestart(reason, delayMs);
      return "now";
    }
    const names = busy.map((d) => path.basename(d)).join(", ");
    const pick = await vscode.window.showWarningMessage(
      `The Experience daemon needs a restart (${reason}), but ${names} ${busy.length === 1 ? "is" : "are"} training. ` +
        "Restarting now stops training at its next safe point (train again to resume).",
      NOW,
      AFTER,
    );
    if (pick === NOW) {
      this.pending = undefined;
      this.daemon.scheduleRestart(reason, 0);
      return "now";
    }
    if (pick === AFTER) {
      this.pending = reason;
      vscode.window.setStatusBarMessage("Experience: the daemon restarts when training ends", 5000);
      return "later";
    }
    return "dismissed";
  }

  /** The interpreter setting or the Python extension's choice changed: restart only if the daemon's would. */
  async interpreterEvent(reason: string): Promise<RestartOutcome> {
    if (!this.daemon.running) {
      return "skipped";
    }
    if (!(await this.daemon.interpreterChanged())) {
      this.daemon.log.info(`Not restarting the daemon (${reason}): it already runs the interpreter that is now chosen.`);
      return "skipped";
    }
    return this.request(reason);
  }

  private afterTraining(): void {
    if (this.pending !== undefined && this.runs.running().length === 0) {
      const reason = this.pending;
      this.pending = undefined;
      this.daemon.scheduleRestart(`${reason}; training ended`, 0);
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
