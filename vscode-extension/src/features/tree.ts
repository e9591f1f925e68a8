/** The "Runs" view: runs -> tensors -> experience entries (row, query keywords, step that wrote it; the empty
 * rows folded into one "N empty rows" node) -> their files; and each run's pending changes (staged patches)
 * in review mode. A run's context value says whether it trains ("run-busy") for its context menu, and an
 * entry opened in an editor can be revealed here (getParent). */
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { errorText } from "../client/errors";
import { baseName, COLUMNS, type Column } from "../common/entryUri";
import { formatCost } from "../common/metrics";
import { diffStats } from "../common/pending";
import type { EntryInfo, PatchInfo, RunSummary } from "../common/protocol";
import { entryUri } from "./entries";
import type { Review } from "./review";
import type { Runs } from "./runs";

export type Node =
  | { kind: "run"; runDir: string }
  | { kind: "tensor"; runDir: string; name: string; description?: string }
  | { kind: "entry"; runDir: string; entry: EntryInfo }
  | { kind: "empty"; runDir: string; entries: EntryInfo[] }
  | { kind: "file"; runDir: string; entry: EntryInfo; column: Column }
  | { kind: "pending"; runDir: string; patches: PatchInfo[] }
  | { kind: "patch"; runDir: string; patch: PatchInfo; fileName: string }
  | { kind: "message"; text: string };

/** File name of an entry's column (from the paths the daemon reports). */
export function columnFile(entry: EntryInfo, column: Column): string {
  return baseName(column === "query" ? entry.queryPath : column === "key" ? entry.keyPath : entry.valuePath);
}

/** How a run trains: its backend and model, gradient mode and capacity policy (older daemons omit the last two). */
export function trainingDescription(summary: Partial<RunSummary>): string {
  return [
    summary.backend ? `${summary.backend}${summary.model ? ` (${summary.model})` : ""}` : "",
    summary.grad ? `grad ${summary.grad}` : "",
    summary.capacity ? `when full: ${summary.capacity}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

/** Description of an entry: its query keywords and the step that wrote it. */
export function entryDescription(entry: EntryInfo): string {
  const words = entry.query.length ? entry.query.join(", ") : entry.filled ? "(no keywords)" : "(empty)";
  return entry.step !== null ? `${words} · step ${entry.step}` : words;
}

/** The tree item id of a node (stable across refreshes: VS Code keeps expansion and selection by it). */
export function nodeId(node: Node): string {
  switch (node.kind) {
    case "run":
      return `run:${node.runDir}`;
    case "tensor":
      return `tensor:${node.runDir}`;
    case "entry":
      return `entry:${node.runDir}:${node.entry.row}`;
    case "empty":
      return `empty:${node.runDir}`;
    case "file":
      return `file:${node.runDir}:${node.entry.row}:${node.column}`;
    case "pending":
      return `pending:${node.runDir}`;
    case "patch":
      return `patch:${node.runDir}:${node.patch.id}`;
    case "message":
      return `message:${node.text}`;
  }
}

/** A tensor's children: the filled rows, then the empty ones folded into one node. */
export function entryNodes(runDir: string, entries: readonly EntryInfo[]): Node[] {
  const filled = entries.filter((e) => e.filled);
  const empty = entries.filter((e) => !e.filled);
  const nodes: Node[] = filled.map((entry) => ({ kind: "entry", runDir, entry }));
  return empty.length ? [...nodes, { kind: "empty", runDir, entries: empty }] : nodes;
}

export class RunsTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  private readonly entries = new Map<string, EntryInfo[]>();
  private readonly parents = new Map<string, Node>(); // node id -> its parent, as last listed
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[];
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(
    private readonly daemon: Daemon,
    private readonly runs: Runs,
    private readonly review: Review,
  ) {
    this.subscriptions = [runs.onDidChange(() => this.refresh()), review.onDidChangeCodeLenses(() => this.refresh())];
    daemon.onNotification("experience/entryChanged", () => this.refresh());
  }

  /** Redraw (debounced: training sends many changes at once). */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.entries.clear();
      this.emitter.fire(undefined);
    }, 250);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (node.kind) {
      case "run": {
        const item = new vscode.TreeItem(path.basename(node.runDir), C.Collapsed);
        const t = this.runs.totals(node.runDir);
        const job = this.runs.job(node.runDir);
        item.id = nodeId(node);
        item.description = [job ? `${job}…` : "", `step ${t.step}`, t.loss !== undefined ? `loss ${t.loss.toFixed(3)}` : ""]
          .filter(Boolean)
          .join(" · ");
        item.iconPath = new vscode.ThemeIcon(job ? "sync~spin" : "beaker");
        item.contextValue = job ? "run-busy" : "run";
        return item;
      }
      case "tensor": {
        const item = new vscode.TreeItem(node.name, C.Expanded);
        item.id = nodeId(node);
        item.description = node.description || undefined;
        item.iconPath = new vscode.ThemeIcon("symbol-array");
        item.contextValue = "tensor";
        return item;
      }
      case "entry": {
        const item = new vscode.TreeItem(`row ${node.entry.row}`, C.Collapsed);
        item.id = nodeId(node);
        item.description = entryDescription(node.entry);
        item.tooltip = node.entry.source ? `written at step ${node.entry.step} from sample ${node.entry.source}` : undefined;
        item.iconPath = new vscode.ThemeIcon(node.entry.filled ? "note" : "circle-outline");
        return item;
      }
      case "empty": {
        const n = node.entries.length;
        const item = new vscode.TreeItem(`${n} empty row${n === 1 ? "" : "s"}`, C.Collapsed);
        item.id = nodeId(node);
        item.description = n === 1 ? `row ${node.entries[0].row}` : `rows ${node.entries[0].row}–${node.entries[n - 1].row}`;
        item.iconPath = new vscode.ThemeIcon("circle-outline");
        return item;
      }
      case "file": {
        const fileName = columnFile(node.entry, node.column);
        const uri = entryUri({ runDir: node.runDir, row: node.entry.row, column: node.column }, fileName);
        const item = new vscode.TreeItem(uri, C.None);
        item.id = nodeId(node);
        item.label = fileName;
        item.description = node.column;
        item.command = { title: "Open entry", command: "vscode.open", arguments: [uri, { preview: false }] };
        item.contextValue = "entryFile";
        return item;
      }
      case "pending": {
        const item = new vscode.TreeItem("Pending changes", C.Expanded);
        item.id = nodeId(node);
        item.description = String(node.patches.length);
        item.iconPath = new vscode.ThemeIcon("git-pull-request");
        item.contextValue = "pending";
        return item;
      }
      case "patch": {
        const { patch } = node;
        const stats = diffStats(patch.diff);
        const item = new vscode.TreeItem(`row ${patch.row} · ${node.fileName}`, C.None);
        item.id = nodeId(node);
        item.description = `step ${patch.step} · +${stats.added} −${stats.removed}`;
        item.tooltip = `${patch.id}${patch.sample ? ` from sample ${patch.sample}` : ""}\n\n${patch.diff}`;
        item.iconPath = new vscode.ThemeIcon("diff");
        item.contextValue = "stagedPatch";
        const target = { runDir: node.runDir, row: patch.row, column: patch.column, patchId: patch.id, fileName: node.fileName };
        item.command = { title: "Show diff", command: "experience.showPatchDiff", arguments: [target] };
        return item;
      }
      case "message":
        return new vscode.TreeItem(node.text, C.None);
    }
  }

  /** The run's tooltip, made on hover: where it is, what it cost, and how it trains (from its summary). */
  async resolveTreeItem(item: vscode.TreeItem, node: Node): Promise<vscode.TreeItem> {
    if (node.kind === "run" && item.tooltip === undefined) {
      const t = this.runs.totals(node.runDir);
      const lines = [node.runDir, `step ${t.step} · ${t.calls} LLM calls, ${formatCost(t.cost)}`];
      try {
        lines.push(trainingDescription(await this.runs.summary(node.runDir)));
      } catch (error) {
        lines.push(`⚠ ${errorText(error)}`);
      }
      item.tooltip = lines.filter(Boolean).join("\n");
    }
    return item;
  }

  private async entriesOf(runDir: string): Promise<EntryInfo[]> {
    let found = this.entries.get(runDir);
    if (!found) {
      found = await this.daemon.request("experience/listEntries", { runDir });
      this.entries.set(runDir, found);
    }
    return found;
  }

  /** The parent of a node listed before (what `TreeView.reveal` climbs). */
  getParent(node: Node): Node | undefined {
    return this.parents.get(nodeId(node));
  }

  /** The node of an entry's file, with its ancestors listed (so that it can be revealed). */
  async fileNode(runDir: string, row: number, column: Column): Promise<Node | undefined> {
    const run: Node = { kind: "run", runDir };
    for (const child of await this.getChildren(run)) {
      if (child.kind === "tensor") {
        for (const group of await this.getChildren(child)) {
          const entries = group.kind === "entry" ? [group] : group.kind === "empty" ? await this.getChildren(group) : [];
          const entry = entries.find((e) => e.kind === "entry" && e.entry.row === row);
          if (entry) {
            return (await this.getChildren(entry)).find((f) => f.kind === "file" && f.column === column);
          }
        }
      }
    }
    return undefined;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    const children = await this.listChildren(node);
    for (const child of children) {
      if (node) {
        this.parents.set(nodeId(child), node);
      } else {
        this.parents.delete(nodeId(child));
      }
    }
    return children;
  }

  private async listChildren(node?: Node): Promise<Node[]> {
    try {
      if (!node) {
        const dirs = this.runs.list();
        await Promise.all(dirs.map((runDir) => this.runs.metrics(runDir))); // descriptions show step and loss
        return dirs.map((runDir) => ({ kind: "run", runDir }));
      }
      if (node.kind === "run") {
        await this.runs.metrics(node.runDir);
        const summary = await this.runs.summary(node.runDir);
        const staged = await this.review.stagedPatches(node.runDir);
        const tensor: Node = {
          kind: "tensor",
          runDir: node.runDir,
          name: `experience [${summary.shape.join(", ")}]`,
          description: trainingDescription({ grad: summary.grad, capacity: summary.capacity }),
        };
        const children: Node[] = [tensor];
        return staged.length ? [{ kind: "pending", runDir: node.runDir, patches: staged }, ...children] : children;
      }
      if (node.kind === "tensor") {
        return entryNodes(node.runDir, await this.entriesOf(node.runDir));
      }
      if (node.kind === "empty") {
        return node.entries.map((entry) => ({ kind: "entry", runDir: node.runDir, entry }));
      }
      if (node.kind === "entry") {
        return COLUMNS.map((column) => ({ kind: "file", runDir: node.runDir, entry: node.entry, column }));
      }
      if (node.kind === "pending") {
        const entries = await this.entriesOf(node.runDir);
        return node.patches.map((patch) => {
          const entry = entries.find((e) => e.row === patch.row);
          return { kind: "patch", runDir: node.runDir, patch, fileName: entry ? columnFile(entry, patch.column) : `${patch.column}.txt` };
        });
      }
      return [];
    } catch (error) {
      return [{ kind: "message", text: `⚠ ${errorText(error)}` }];
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.subscriptions.forEach((d) => d.dispose());
    this.emitter.dispose();
  }
}
