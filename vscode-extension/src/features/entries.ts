/** Experience entries as documents: a FileSystemProvider for `experience:` backed by the daemon.
 * Saving writes through `experience/writeEntry` with the version the editor read; a stale version is
 * refused by the daemon and shown, never overwritten. Patch views (entry ± a patch) are read-only; their text is
 * the daemon's preview (`experience/previewPatch`): for a staged patch exactly what Accept writes. */
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { errorCode, errorText } from "../client/errors";
import { decodeEntryUri, encodeEntryUri, entryKey, type EntryUriParams } from "../common/entryUri";
import { ErrorCode, type EntryChangedNotification, type PatchPreview } from "../common/protocol";

/** Called with each preview a patch view shows (a conflict in it is worth telling the user). */
export type PreviewListener = (preview: PatchPreview) => void;

/** A version-like number for a text (FNV-1a), for views whose text the daemon does not version. */
export function textHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The `vscode.Uri` of an entry or of a patch view. */
export function entryUri(params: EntryUriParams, fileName: string): vscode.Uri {
  return vscode.Uri.from(encodeEntryUri(params, fileName));
}

export class EntryFileSystem implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  private readonly read = new Map<string, number>(); // entry -> version the editor last read
  private readonly clocks = new Map<string, { version: number; mtime: number }>(); // uri -> mtime per version
  private readonly handedOut = new Map<string, Map<string, vscode.Uri>>(); // entry -> uris read
  readonly onDidChangeFile = this.emitter.event;

  constructor(
    private readonly daemon: Daemon,
    private readonly onPreview: PreviewListener = () => undefined,
  ) {
    daemon.onNotification("experience/entryChanged", (n) => this.entryChanged(n));
  }

  private params(uri: vscode.Uri): EntryUriParams {
    try {
      return decodeEntryUri({ path: uri.path, query: uri.query });
    } catch {
      throw vscode.FileSystemError.FileNotFound(uri);
    }
  }

  /** Text and version of what a URI shows: an entry, or the daemon's preview of it with a patch applied or undone. */
  async content(uri: vscode.Uri, p: EntryUriParams): Promise<{ text: string; version: number }> {
    try {
      if (p.patch === undefined) {
        return await this.daemon.request("experience/readEntry", { runDir: p.runDir, row: p.row, column: p.column });
      }
      const side = p.side === "before" ? "before" : "after";
      const preview = await this.daemon.request("experience/previewPatch", { runDir: p.runDir, patchId: p.patch, side });
      this.onPreview(preview);
      return { text: preview.text, version: textHash(`${preview.version}\u0000${preview.text}`) };
    } catch (error) {
      throw errorCode(error) === ErrorCode.notFound
        ? vscode.FileSystemError.FileNotFound(uri)
        : vscode.FileSystemError.Unavailable(errorText(error));
    }
  }

  private mtime(uri: vscode.Uri, version: number): number {
    const key = uri.toString();
    const clock = this.clocks.get(key);
    if (clock && clock.version === version) {
      return clock.mtime;
    }
    const mtime = Math.max(Date.now(), (clock?.mtime ?? 0) + 1); // never goes back: VS Code compares mtimes
    this.clocks.set(key, { version, mtime });
    return mtime;
  }

  private remember(uri: vscode.Uri, p: EntryUriParams): void {
    const key = entryKey(p);
    const uris = this.handedOut.get(key) ?? new Map<string, vscode.Uri>();
    uris.set(uri.toString(), uri);
    this.handedOut.set(key, uris);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    if (!uri.query) {
      return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    }
    const p = this.params(uri);
    const { text, version } = await this.content(uri, p);
    return {
      type: vscode.FileType.File,
      ctime: 0,
      mtime: this.mtime(uri, version),
      size: Buffer.byteLength(text, "utf8"),
      permissions: p.patch !== undefined ? vscode.FilePermission.Readonly : undefined,
    };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const p = this.params(uri);
    const { text, version } = await this.content(uri, p);
    this.mtime(uri, version);
    this.remember(uri, p);
    if (p.patch === undefined) {
      this.read.set(entryKey(p), version);
    }
    return Buffer.from(text, "utf8");
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array): Promise<void> {
    const p = this.params(uri);
    if (p.patch !== undefined) {
      throw vscode.FileSystemError.NoPermissions("a patch view is read-only: accept the patch, or edit the entry itself");
    }
    const key = entryKey(p);
    const version = this.read.get(key) ?? (await this.content(uri, p)).version;
    const text = Buffer.from(content).toString("utf8");
    try {
      const result = await this.daemon.request("experience/writeEntry", { runDir: p.runDir, row: p.row, column: p.column, text, version });
      this.read.set(key, result.version);
      this.mtime(uri, result.version);
    } catch (error) {
      if (errorCode(error) === ErrorCode.staleVersion) {
        void this.reportConflict(uri);
        throw vscode.FileSystemError.Unavailable(
          "the entry changed since you opened it (by training, a review or an edit on disk); your edit was not written. Compare, then reapply it.",
        );
      }
      throw vscode.FileSystemError.Unavailable(errorText(error));
    }
    this.fire(key);
  }

  private async reportConflict(uri: vscode.Uri): Promise<void> {
    const pick = await vscode.window.showWarningMessage(
      `${uri.path.slice(1)} changed since you opened it; your edit was not saved.`,
      "Compare with Saved",
    );
    if (pick) {
      await vscode.commands.executeCommand("workbench.files.action.compareWithSaved", uri);
    }
  }

  /** Tell VS Code that every URI showing an entry changed (it reloads them unless they are dirty). */
  fire(key: string): void {
    const uris = this.handedOut.get(key);
    if (uris && uris.size > 0) {
      this.emitter.fire([...uris.values()].map((uri) => ({ type: vscode.FileChangeType.Changed, uri })));
    }
  }

  private entryChanged(n: EntryChangedNotification): void {
    this.fire(entryKey(n));
  }

  /** Every URI of a run changed (after patches were accepted or rejected). */
  fireRun(runDir: string): void {
    for (const key of this.handedOut.keys()) {
      if (key.startsWith(`${runDir}\u0000`)) {
        this.fire(key);
      }
    }
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined); // changes come from the daemon's entryChanged
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions("experience entries are fixed by the run's shape");
  }

  delete(): void {
    throw vscode.FileSystemError.NoPermissions("clear the entry's text instead of deleting it");
  }

  rename(): void {
    throw vscode.FileSystemError.NoPermissions("experience entries cannot be renamed");
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
