/** Gradients in the editor: staged patches per run, a CodeLens on entries ("N pending changes · Show diff ·
 * Accept · Reject"), decorations for the lines a patch removes or adds (in plain editors only, never in a
 * diff editor's sides), and the diff/accept/reject commands. What a pending change does comes from the
 * daemon's preview (`experience/previewPatch`), made by the patcher Accept uses. */
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { errorText } from "../client/errors";
import { baseName, decodeEntryUri, SCHEME, sameEntry, type EntryRef, type EntryUriParams } from "../common/entryUri";
import { addedPreview, pendingMarks, pendingTitle } from "../common/pending";
import type { PatchInfo, PatchPreview } from "../common/protocol";
import { entryUri, type EntryFileSystem } from "./entries";
import type { Runs } from "./runs";

/** What the review commands take (from a CodeLens, a tree item, or nothing: the active editor). */
export interface PatchTarget extends EntryRef {
  patchId?: string;
  fileName?: string;
}

export class Review implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly staged = new Map<string, Promise<PatchInfo[]>>();
  private readonly previews = new Map<string, Promise<PatchPreview>>(); // patch id -> the daemon's preview
  private readonly conflictsShown = new Set<string>();
  private generation = 0;
  private readonly emitter = new vscode.EventEmitter<void>();
  private readonly removedLine = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor("diffEditor.removedLineBackground"),
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.deletedForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly addedLines = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor("gitDecoration.addedResourceForeground"), margin: "0 0 0 2em", fontStyle: "italic" },
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.addedForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly subscriptions: vscode.Disposable[] = [];
  readonly onDidChangeCodeLenses = this.emitter.event;

  constructor(
    private readonly daemon: Daemon,
    private readonly runs: Runs,
    private readonly files: EntryFileSystem,
  ) {
    this.subscriptions.push(
      runs.onDidChange((runDir) => this.invalidate(runDir)),
      vscode.window.onDidChangeVisibleTextEditors(() => void this.decorate()),
      vscode.window.tabGroups.onDidChangeTabs(() => void this.decorate()),
      vscode.workspace.onDidChangeTextDocument((e) => e.document.uri.scheme === SCHEME && void this.decorate()),
    );
    daemon.onNotification("experience/entryChanged", (n) => this.invalidate(n.runDir));
  }

  /** Staged patches of a run (cached until the run changes). */
  stagedPatches(runDir: string): Promise<PatchInfo[]> {
    let found = this.staged.get(runDir);
    if (!found) {
      found = this.daemon.request("experience/patches", { runDir, state: "staged" });
      found.catch(() => this.staged.delete(runDir));
      this.staged.set(runDir, found);
    }
    return found;
  }

  /** Staged patches of one entry, oldest first. */
  async pending(ref: EntryRef): Promise<PatchInfo[]> {
    return (await this.stagedPatches(ref.runDir)).filter((p) => sameEntry(ref, { ...p, runDir: ref.runDir }));
  }

  /** A patch by id (staged ones from the cache, others from the daemon's records of its step). */
  async findPatch(runDir: string, step: number | undefined, id: string): Promise<PatchInfo | undefined> {
    const staged = (await this.stagedPatches(runDir)).find((p) => p.id === id);
    if (staged) {
      return staged;
    }
    const all = await this.daemon.request("experience/patches", step === undefined ? { runDir } : { runDir, step });
    return all.find((p) => p.id === id);
  }

  /** The daemon's preview of a staged patch (cached until its run changes). */
  preview(runDir: string, patchId: string): Promise<PatchPreview> {
    const key = `${runDir}\u0000${patchId}`;
    let found = this.previews.get(key);
    if (!found) {
      found = this.daemon.request("experience/previewPatch", { runDir, patchId });
      found.catch(() => this.previews.delete(key));
      this.previews.set(key, found);
    }
    return found;
  }

  /** A patch view showed a preview: say once when Accept would refuse the change (the view shows no change). */
  previewed(preview: PatchPreview): void {
    if (preview.conflict && preview.patch.state === "staged" && !this.conflictsShown.has(preview.patch.id)) {
      this.conflictsShown.add(preview.patch.id);
      void vscode.window.showWarningMessage(`Pending change ${preview.patch.id} cannot be accepted: ${preview.conflict}`);
    }
  }

  /** Forget cached patches (of one run, or all) and refresh lenses and decorations. */
  invalidate(runDir?: string): void {
    if (runDir) {
      this.staged.delete(runDir);
      [...this.previews.keys()].filter((k) => k.startsWith(`${runDir}\u0000`)).forEach((k) => this.previews.delete(k));
    } else {
      this.staged.clear();
      this.previews.clear();
    }
    this.emitter.fire();
    void this.decorate();
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const p = entryOf(document.uri);
    if (!p || p.patch !== undefined) {
      return [];
    }
    const pending = await this.pending(p);
    if (pending.length === 0) {
      return [];
    }
    const range = new vscode.Range(0, 0, 0, 0);
    const target: PatchTarget = {
      runDir: p.runDir,
      row: p.row,
      column: p.column,
      patchId: pending[0].id,
      fileName: baseName(document.uri.path),
    };
    return [
      new vscode.CodeLens(range, { title: pendingTitle(pending.length), command: "" }),
      new vscode.CodeLens(range, { title: "Show diff", command: "experience.showPatchDiff", arguments: [target] }),
      new vscode.CodeLens(range, { title: "Accept", command: "experience.acceptPatch", arguments: [target] }),
      new vscode.CodeLens(range, { title: "Reject", command: "experience.rejectPatch", arguments: [target] }),
    ];
  }

  /** Mark, in every visible entry editor (not a diff editor's side), the lines its first pending patch removes or adds. */
  async decorate(): Promise<void> {
    const generation = ++this.generation; // a later call (tabs changed meanwhile) wins over this one
    for (const editor of vscode.window.visibleTextEditors) {
      const p = entryOf(editor.document.uri);
      if (!p || p.patch !== undefined) {
        continue;
      }
      let removed: vscode.DecorationOptions[] = [];
      let added: vscode.DecorationOptions[] = [];
      try {
        const [first] = inDiffEditor(editor) ? [] : await this.pending(p);
        const preview = first && (await this.preview(p.runDir, first.id));
        if (first && preview && !preview.conflict) {
          const marks = pendingMarks(editor.document.getText(), preview.text);
          const hover = new vscode.MarkdownString(`Pending change \`${first.id}\` (step ${first.step})`);
          removed = marks.removed.map((line) => ({
            range: editor.document.lineAt(Math.min(line, editor.document.lineCount - 1)).range,
            hoverMessage: hover,
          }));
          added = marks.added.map((a) => {
            const line = editor.document.lineAt(Math.min(Math.max(a.afterLine, 0), editor.document.lineCount - 1));
            return {
              range: new vscode.Range(line.range.end, line.range.end),
              hoverMessage: hover,
              renderOptions: { after: { contentText: addedPreview(a.lines) } },
            };
          });
        }
      } catch {
        // the daemon could not preview it (the run is gone, say): no marks
      }
      if (generation !== this.generation) {
        return;
      }
      if (inDiffEditor(editor)) {
        removed = [];
        added = [];
      }
      editor.setDecorations(this.removedLine, removed);
      editor.setDecorations(this.addedLines, added);
    }
  }

  /** The entry and patch a command acts on: its arguments, else the active editor (entry or patch view). */
  async target(arg: PatchTarget | undefined, action: string): Promise<{ target: PatchTarget; patch: PatchInfo } | undefined> {
    let target = arg;
    if (!target) {
      const uri = vscode.window.activeTextEditor?.document.uri;
      const p = uri && entryOf(uri);
      if (!p) {
        void vscode.window.showInformationMessage(`Open an Experience entry (or its diff) to ${action} its pending change.`);
        return undefined;
      }
      target = { runDir: p.runDir, row: p.row, column: p.column, patchId: p.patch, fileName: baseName(uri.path) };
    }
    const pending = await this.pending(target);
    let patch =
      pending.find((x) => x.id === target.patchId) ??
      (target.patchId ? await this.findPatch(target.runDir, undefined, target.patchId) : undefined);
    if (!patch && pending.length > 1) {
      const pick = await vscode.window.showQuickPick(
        pending.map((x) => ({ label: x.id, description: `step ${x.step}`, detail: x.diff.split("\n").slice(2, 5).join(" "), patch: x })),
        { title: `Which pending change to ${action}?` },
      );
      patch = pick?.patch;
    } else {
      patch ??= pending[0];
    }
    if (!patch) {
      void vscode.window.showInformationMessage("This entry has no pending changes.");
      return undefined;
    }
    return { target, patch };
  }

  /** Open `vscode.diff`: entry ↔ entry + staged patch (or before ↔ after for an applied one). */
  async showDiff(arg?: PatchTarget): Promise<void> {
    const found = await this.target(arg, "show");
    if (!found) {
      return;
    }
    const { target, patch } = found;
    const fileName = target.fileName ?? `${target.column}.txt`;
    const entry = entryUri(target, fileName);
    const view = (side: "before" | "after") => entryUri({ ...target, patch: patch.id, step: patch.step, side }, fileName);
    const label = `${fileName} (row ${target.row})`;
    if (patch.state === "staged") {
      await vscode.commands.executeCommand("vscode.diff", entry, view("after"), `${label} ↔ pending change ${patch.id}`, {
        preview: false,
      });
    } else {
      await vscode.commands.executeCommand("vscode.diff", view("before"), entry, `${label} before ↔ after step ${patch.step}`, {
        preview: false,
      });
    }
  }

  /** Accept or reject a staged patch (the daemon applies it or marks it rejected). */
  async decide(arg: PatchTarget | undefined, accept: boolean): Promise<void> {
    const found = await this.target(arg, accept ? "accept" : "reject");
    if (!found) {
      return;
    }
    const { target, patch } = found;
    const method = accept ? "experience/acceptPatch" : "experience/rejectPatch";
    try {
      await this.daemon.request(method, { runDir: target.runDir, patchId: patch.id });
      vscode.window.setStatusBarMessage(`Experience: ${accept ? "accepted" : "rejected"} ${patch.id}`, 5000);
    } catch (error) {
      void vscode.window.showErrorMessage(`Could not ${accept ? "accept" : "reject"} ${patch.id}: ${errorText(error)}`);
    } finally {
      this.invalidate(target.runDir);
      this.runs.changed(target.runDir);
      this.files.fireRun(target.runDir);
    }
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
    this.removedLine.dispose();
    this.addedLines.dispose();
    this.emitter.dispose();
  }
}

/** Whether an editor is a side of a diff editor (its group's active tab is a diff): no decorations there. */
export function inDiffEditor(editor: vscode.TextEditor): boolean {
  const uri = editor.document.uri.toString();
  const shows = (input: unknown) =>
    input instanceof vscode.TabInputTextDiff && (input.original.toString() === uri || input.modified.toString() === uri);
  const active = vscode.window.tabGroups.all.map((g) => ({ column: g.viewColumn, input: g.activeTab?.input }));
  const own = active.find((a) => a.column === editor.viewColumn);
  if (own) {
    return shows(own.input);
  }
  // No group for its column (a diff side may report none): a diff shows it and no plain editor does.
  const plain = active.some((a) => a.input instanceof vscode.TabInputText && a.input.uri.toString() === uri);
  return !plain && active.some((a) => shows(a.input));
}

/** The entry (or patch view) an `experience:` URI names; undefined for other URIs. */
export function entryOf(uri: vscode.Uri): EntryUriParams | undefined {
  if (uri.scheme !== SCHEME) {
    return undefined;
  }
  try {
    return decodeEntryUri({ path: uri.path, query: uri.query });
  } catch {
    return undefined;
  }
}
