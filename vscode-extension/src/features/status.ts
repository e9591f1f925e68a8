/** The status-bar item: daemon state, and for the active run its step, loss, calls and cost. */
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { formatStatus } from "../common/metrics";
import type { Runs } from "./runs";

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("experience.status", vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly daemon: Daemon,
    private readonly runs: Runs,
  ) {
    this.item.name = "Experience";
    this.subscriptions = [daemon.onDidChangeState(() => this.update()), runs.onDidChange(() => this.update())];
    this.update();
    this.item.show();
  }

  /** Redraw from the daemon's state and the active run's metrics. */
  update(): void {
    const runDir = this.runs.active;
    const { text, tooltip } = formatStatus({
      daemon: this.daemon.state,
      runName: runDir ? path.basename(runDir) : undefined,
      job: runDir ? this.runs.job(runDir) : undefined,
      totals: runDir ? this.runs.totals(runDir) : undefined,
    });
    this.item.text = text;
    this.item.tooltip = tooltip;
    const broken = this.daemon.state === "failed" || this.daemon.state === "stopped";
    this.item.command = broken ? "experience.restartDaemon" : "experience.showLossChart";
    this.item.backgroundColor = this.daemon.state === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
    this.item.dispose();
  }
}
