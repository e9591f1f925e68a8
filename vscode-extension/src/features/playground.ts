/** `Experience: Try the Model`: a page per run where a person types an input and sees the run's answer and the
 * experience rows it used (each opens its entry). Answers come from the daemon's `experience/infer`, the same
 * code as `experience infer` and `experience serve`; the run is only read. */
import { randomBytes } from "node:crypto";
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon } from "../client/daemon";
import { errorText } from "../client/errors";
import { answerMessage, parsePageMessage, playgroundHtml } from "../common/playground";
import type { UsedRow } from "../common/protocol";
import { entryUri } from "./entries";
import { canonical } from "./runs";

export const PLAYGROUND_VIEW = "experience.playground";

/** The part of a webview panel the playground talks to. */
export interface PlaygroundPanel {
  webview: { postMessage(message: unknown): Thenable<boolean> };
}

export class Playground implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();
  private readonly rows = new Map<string, UsedRow[]>(); // run -> the rows of its last answer

  constructor(
    private readonly daemon: Pick<Daemon, "request">,
    private readonly pickRun: (title: string) => Promise<string | undefined>,
  ) {}

  /** Open (or reveal) the page of a run: the one given (a tree item or a script), else one picked. */
  async open(args: { runDir?: string } = {}): Promise<vscode.WebviewPanel | undefined> {
    const runDir = args.runDir ? canonical(args.runDir) : await this.pickRun("Try which run?");
    if (!runDir) {
      return undefined;
    }
    const existing = this.panels.get(runDir);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const options = { enableScripts: true, retainContextWhenHidden: true };
    const panel = vscode.window.createWebviewPanel(PLAYGROUND_VIEW, `Try ${path.basename(runDir)}`, vscode.ViewColumn.Beside, options);
    panel.webview.html = playgroundHtml(path.basename(runDir), randomBytes(16).toString("hex"), panel.webview.cspSource);
    const received = panel.webview.onDidReceiveMessage((data: unknown) => void this.handle(runDir, panel, data));
    panel.onDidDispose(() => {
      received.dispose();
      this.panels.delete(runDir);
      this.rows.delete(runDir);
    });
    this.panels.set(runDir, panel);
    return panel;
  }

  /** Answer an input the page sent, or open a row it links to; anything else from the page is ignored. */
  async handle(runDir: string, panel: PlaygroundPanel, data: unknown): Promise<void> {
    const message = parsePageMessage(data);
    if (message?.type === "ask") {
      if (!message.input.trim()) {
        await panel.webview.postMessage({ type: "error", message: "Type or paste an input first." });
        return;
      }
      try {
        const result = await this.daemon.request("experience/infer", { runDir, inputs: [message.input] });
        const answer = result.answers[0];
        this.rows.set(runDir, answer.rows);
        await panel.webview.postMessage(answerMessage(answer));
      } catch (error) {
        await panel.webview.postMessage({ type: "error", message: `Could not answer: ${errorText(error)}` });
      }
    } else if (message?.type === "openRow") {
      const row = this.rows.get(runDir)?.find((r) => r.row === message.row);
      if (row) {
        const uri = entryUri({ runDir, row: row.row, column: "value" }, path.basename(row.valuePath ?? "value.txt"));
        await vscode.commands.executeCommand("vscode.open", uri, { preview: false, viewColumn: vscode.ViewColumn.One });
      }
    }
  }

  dispose(): void {
    for (const panel of [...this.panels.values()]) {
      panel.dispose();
    }
  }
}
