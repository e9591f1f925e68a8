/** `Experience: Merge Runs...`: one new run from several runs of a task (the daemon's `experience/mergeRuns`;
 * the runs merged are only read). */
import { existsSync } from "node:fs";
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { errorText } from "../client/errors";
import type { MergeRunsResult } from "../common/protocol";
import type { Runs } from "./runs";

export type MergePolicy = "trust" | "both" | "llm";
export const MERGE_POLICIES: ReadonlyArray<{ label: MergePolicy; detail: string }> = [
  { label: "trust", detail: "rows on the same input: keep the most trusted (the lowest-loss signal StSGD learned)" },
  { label: "both", detail: "rows on the same input: keep each" },
  { label: "llm", detail: "rows on the same input: the LLM combines them into one" },
];

/** "merged 2 runs into m: 7 rows (3 identical folded, 1 same-input group resolved by trust, 0 dropped)". */
export function mergeSummary(runs: number, result: MergeRunsResult): string {
  const groups = `${result.conflicts} same-input group${result.conflicts === 1 ? "" : "s"} resolved by ${result.policy}`;
  return `Merged ${runs} runs into ${path.basename(result.out)}: ${result.rows} rows (${result.identical} identical folded, ${groups}, ${result.dropped} dropped for capacity).`;
}

export class MergeRuns {
  constructor(
    private readonly daemon: Pick<Daemon, "request">,
    private readonly runs: Pick<Runs, "list" | "discover">,
    private readonly refresh: () => void,
  ) {}

  /** Pick two or more runs, a new folder and a policy; merge; report what the merge did. */
  async run(): Promise<MergeRunsResult | undefined> {
    await this.runs.discover();
    const items = this.runs.list().map((dir) => ({ label: path.basename(dir), description: dir, dir }));
    if (items.length < 2) {
      void vscode.window.showInformationMessage("Merging needs at least two runs in this workspace.");
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(items, {
      title: "Merge which runs? (two or more)",
      canPickMany: true,
      ignoreFocusOut: true,
    });
    if (!picked || picked.length < 2) {
      return undefined;
    }
    const parent = path.dirname(picked[0].dir);
    const name = await vscode.window.showInputBox({
      title: "Merged run",
      prompt: `Folder of the new run (relative to ${parent}); it must not exist`,
      value: `merged-${picked.map((p) => p.label).join("-")}`,
      ignoreFocusOut: true,
      validateInput: (v) =>
        !v.trim() ? "a folder name" : existsSync(path.resolve(parent, v.trim())) ? "that folder exists: pick a new one" : undefined,
    });
    if (!name) {
      return undefined;
    }
    const policy = await vscode.window.showQuickPick(MERGE_POLICIES, { title: "Rows that cover the same input", ignoreFocusOut: true });
    if (!policy) {
      return undefined;
    }
    try {
      const params = { runDirs: picked.map((p) => p.dir), out: path.resolve(parent, name.trim()), policy: policy.label };
      const result = await this.daemon.request("experience/mergeRuns", params);
      await this.runs.discover();
      this.refresh();
      void vscode.window.showInformationMessage(mergeSummary(picked.length, result));
      return result;
    } catch (error) {
      void vscode.window.showErrorMessage(`Merge failed: ${errorText(error)}`);
      return undefined;
    }
  }
}
