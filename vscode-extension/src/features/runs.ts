/** The runs this window knows: found in the workspace (run.json), or trained/opened here; their
 * summaries (from the daemon) and metrics (metrics.jsonl, then `experience/metrics` notifications). */
import { existsSync, promises as fs, realpathSync } from "node:fs";
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { atStep, parseMetricsJsonl, toRecord, totals, type MetricsRecord, type RunTotals } from "../common/metrics";
import type { RunSummary } from "../common/protocol";

const REMEMBERED = "experience.runs";

/** A run directory as the daemon names it (absolute, symlinks resolved where it exists). */
export function canonical(dir: string): string {
  let existing = path.resolve(dir);
  const rest: string[] = [];
  while (!existsSync(existing) && path.dirname(existing) !== existing) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(existsSync(existing) ? realpathSync(existing) : existing, ...rest);
}

export class Runs implements vscode.Disposable {
  private readonly dirs = new Set<string>();
  private readonly summaries = new Map<string, RunSummary>();
  private readonly records = new Map<string, MetricsRecord[]>();
  private readonly jobs = new Map<string, string>();
  private readonly rewound = new Map<string, { step: number; records: number }>(); // after a rollback
  private readonly emitter = new vscode.EventEmitter<string | undefined>();
  private readonly watcher: vscode.FileSystemWatcher;
  /** Fires with the run that changed (undefined: the list of runs changed). */
  readonly onDidChange = this.emitter.event;
  /** The run shown in the status bar: the last one trained, stepped or opened. */
  active: string | undefined;

  constructor(
    private readonly daemon: Daemon,
    private readonly memento: vscode.Memento,
  ) {
    for (const dir of memento.get<string[]>(REMEMBERED, [])) {
      this.dirs.add(dir);
    }
    this.watcher = vscode.workspace.createFileSystemWatcher("**/run.json");
    this.watcher.onDidCreate((uri) => this.add(path.dirname(uri.fsPath)));
    this.watcher.onDidChange((uri) => {
      const runDir = canonical(path.dirname(uri.fsPath));
      if (this.jobs.has(runDir)) {
        this.changed(runDir); // our own job: its metrics arrive as notifications
      } else {
        this.reloadMetrics(runDir); // trained elsewhere (the CLI, another window): read the file again
      }
    });
    daemon.onNotification("experience/metrics", ({ runDir, record }) => this.onMetrics(runDir, record));
  }

  /** Known run directories, sorted by path. */
  list(): string[] {
    return [...this.dirs].sort();
  }

  /** Remember a run directory (it shows in the tree and the pickers). */
  add(runDir: string): void {
    const dir = canonical(runDir);
    if (!this.dirs.has(dir)) {
      this.dirs.add(dir);
      void this.memento.update(
        REMEMBERED,
        [...this.dirs].filter((d) => !this.isInWorkspace(d)),
      );
      this.emitter.fire(undefined);
    }
  }

  private isInWorkspace(dir: string): boolean {
    return (vscode.workspace.workspaceFolders ?? []).some((f) => dir.startsWith(f.uri.fsPath + path.sep));
  }

  /** Find run directories (a run.json next to an experience/ folder) in the workspace. */
  async discover(): Promise<void> {
    const found = await vscode.workspace.findFiles("**/run.json", "**/{node_modules,.git,.e2e}/**", 500);
    for (const uri of found) {
      const dir = canonical(path.dirname(uri.fsPath));
      try {
        await fs.stat(path.join(dir, "experience"));
        this.dirs.add(dir);
      } catch {
        continue; // a run.json that is not a run
      }
    }
    for (const dir of [...this.dirs]) {
      try {
        await fs.stat(path.join(dir, "run.json"));
      } catch {
        this.dirs.delete(dir);
      }
    }
    this.emitter.fire(undefined);
  }

  /** Summary of a run from the daemon (cached until the run changes; `fresh`: ask again). */
  async summary(runDir: string, fresh = false): Promise<RunSummary> {
    const cached = this.summaries.get(runDir);
    if (cached && !fresh) {
      return cached;
    }
    const summary = await this.daemon.request("experience/openRun", { runDir });
    this.summaries.set(runDir, summary);
    return summary;
  }

  /** Metrics records of a run (read from metrics.jsonl the first time). */
  async metrics(runDir: string): Promise<MetricsRecord[]> {
    let records = this.records.get(runDir);
    if (!records) {
      try {
        records = parseMetricsJsonl(await fs.readFile(path.join(runDir, "metrics.jsonl"), "utf8"));
      } catch {
        records = [];
      }
      this.records.set(runDir, records);
    }
    return records;
  }

  /** Totals of the loaded records; after a rollback, at the step rolled back to until a record is added. */
  totals(runDir: string): RunTotals {
    const records = this.loadedMetrics(runDir);
    const rewound = this.rewound.get(runDir);
    return atStep(totals(records), rewound && rewound.records === records.length ? rewound.step : undefined);
  }

  /** The run's experience was rolled back to `step` (its metrics records stay on record). */
  async rolledBack(runDir: string, step: number): Promise<void> {
    this.records.delete(runDir);
    this.rewound.set(runDir, { step, records: (await this.metrics(runDir)).length });
    this.changed(runDir);
  }

  /** Records already loaded (empty when not yet read). */
  loadedMetrics(runDir: string): MetricsRecord[] {
    return this.records.get(runDir) ?? [];
  }

  private onMetrics(runDir: string, raw: Record<string, unknown>): void {
    const record = toRecord(raw);
    if (!record) {
      return;
    }
    const records = this.records.get(runDir);
    if (records) {
      records.push(record);
    } else {
      void this.metrics(runDir).then((list) => {
        const last = list[list.length - 1];
        if (!last || last.step !== record.step || last.split !== record.split) {
          list.push(record); // not yet in the file when it was read
        }
        this.changed(runDir);
      });
    }
    this.add(runDir);
    this.active = runDir;
    this.changed(runDir);
  }

  /** Mark a run's job (train, step, evaluate) as running or finished. */
  setJob(runDir: string, job: string | undefined): void {
    if (job) {
      this.jobs.set(runDir, job);
    } else {
      this.jobs.delete(runDir);
    }
    this.active = runDir;
    this.changed(runDir);
  }

  /** The job running on a run in this window, if any. */
  job(runDir: string): string | undefined {
    return this.jobs.get(runDir);
  }

  /** Runs with a job started from this window. */
  running(): string[] {
    return [...this.jobs.keys()];
  }

  /** Forget cached data of a run (it changed) and tell listeners. */
  changed(runDir: string): void {
    this.summaries.delete(runDir);
    this.emitter.fire(runDir);
  }

  /** After a metrics.jsonl was rewritten elsewhere: read it again next time. */
  reloadMetrics(runDir: string): void {
    this.records.delete(runDir);
    this.changed(runDir);
  }

  dispose(): void {
    this.watcher.dispose();
    this.emitter.dispose();
  }
}
