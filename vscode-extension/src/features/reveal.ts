/** Reveal the entry an editor shows in the Runs view: on command, and as the active editor changes while the
 * view is visible. */
import * as vscode from "vscode";

import { entryOf } from "./review";
import type { Node, RunsTree } from "./tree";

export class EntryRevealer implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly view: Pick<vscode.TreeView<Node>, "reveal" | "visible">,
    private readonly tree: Pick<RunsTree, "fileNode">,
  ) {
    this.subscription = vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor && this.view.visible) {
        void this.reveal(editor.document.uri, false);
      }
    });
  }

  /** Select the entry's file in the tree (the active editor's when no URI is given); false if it is not an entry. */
  async reveal(uri?: vscode.Uri, focus = true): Promise<boolean> {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    const p = target && entryOf(target);
    if (!p) {
      if (focus) {
        void vscode.window.showInformationMessage("Open an Experience entry to reveal it in the Runs view.");
      }
      return false;
    }
    try {
      const node = await this.tree.fileNode(p.runDir, p.row, p.column);
      if (!node) {
        return false;
      }
      await this.view.reveal(node, { select: true, focus, expand: false });
      return true;
    } catch {
      return false; // the run is gone or the daemon failed: nothing to show
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
