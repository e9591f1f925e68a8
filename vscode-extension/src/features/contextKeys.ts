/** Context keys for menus and enablement: `experience.training` (a job of this window runs) and
 * `experience.hasPending` (a known run has staged patches; asked only once the daemon runs: it starts lazily). */
import { existsSync } from "node:fs";
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import type { Review } from "./review";
import type { Runs } from "./runs";

export const TRAINING = "experience.training";
export const HAS_PENDING = "experience.hasPending";

export class ContextKeys implements vscode.Disposable {
  private readonly values = new Map<string, boolean>();
  private readonly subscriptions: vscode.Disposable[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly daemon: Pick<Daemon, "running" | "onDidChangeState">,
    private readonly runs: Pick<Runs, "running" | "list" | "onDidChange">,
    private readonly review: Pick<Review, "stagedPatches" | "onDidChangeCodeLenses">,
    private readonly delayMs = 200,
    private readonly created = (runDir: string) => existsSync(path.join(runDir, "run.json")), // not a run being made
  ) {
    this.subscriptions = [
      runs.onDidChange(() => this.schedule()),
      review.onDidChangeCodeLenses(() => this.schedule()),
      daemon.onDidChangeState(() => this.schedule()),
    ];
    void this.update();
  }

  private schedule(): void {
    this.set(TRAINING, this.runs.running().length > 0); // at once: Stop must be enabled when training starts
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), this.delayMs); // patches: debounced (training changes many)
  }

  /** Recompute both keys now. */
  async update(): Promise<void> {
    this.set(TRAINING, this.runs.running().length > 0);
    let pending = false;
    if (this.daemon.running) {
      const counts = await Promise.all(
        this.runs
          .list()
          .filter(this.created)
          .map((runDir) =>
            this.review.stagedPatches(runDir).then(
              (p) => p.length,
              () => 0,
            ),
          ),
      );
      pending = counts.some((n) => n > 0);
    }
    this.set(HAS_PENDING, pending);
  }

  private set(key: string, value: boolean): void {
    if (this.values.get(key) !== value) {
      this.values.set(key, value);
      void vscode.commands.executeCommand("setContext", key, value);
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.subscriptions.forEach((d) => d.dispose());
  }
}
