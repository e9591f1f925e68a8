/** The loss chart: a webview that redraws (an SVG made in the extension host, in the theme's chart colours,
 * with a text table of the latest values) on every metrics record and whenever it is shown again; restored
 * after a reload by its serializer (the webview keeps its run in its state). */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import * as vscode from "vscode";

import { chartSeries, latestValues, renderLatestTable, renderLossChart, validSeries } from "../common/chart";
import { totals, formatCost } from "../common/metrics";
import type { Runs } from "./runs";

export const VIEW_TYPE = "experience.lossChart";

export interface ChartContent {
  runDir: string;
  title: string;
  svg: string;
  summary: string;
  table: string;
}

/** The webview's page: a strict CSP, one nonce'd script that swaps in what it is sent and keeps the run in its
 * state (for the serializer). */
export function chartHtml(content: ChartContent, nonce: string, cspSource: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style>body{color:var(--vscode-foreground);font-family:var(--vscode-font-family);padding:12px} #summary{opacity:.8}
table{border-collapse:collapse;margin-top:12px} caption{text-align:left;font-weight:600;padding-bottom:4px}
th,td{padding:2px 12px 2px 0;text-align:left;border-bottom:1px solid var(--vscode-panel-border,transparent)}</style>
<title>Loss</title></head>
<body><h3 id="title"></h3><div id="summary"></div><div id="chart">${content.svg}</div><div id="table">${content.table}</div>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
function show(m) {
  document.getElementById("title").textContent = m.title;
  document.getElementById("summary").textContent = m.summary;
  vscode.setState({ runDir: m.runDir });
}
show(${JSON.stringify({ runDir: content.runDir, title: content.title, summary: content.summary })});
window.addEventListener("message", (event) => {
  const m = event.data;
  show(m);
  document.getElementById("chart").innerHTML = m.svg;
  document.getElementById("table").innerHTML = m.table;
});
</script></body></html>`;
}

export class LossChart implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private panel: vscode.WebviewPanel | undefined;
  private runDir: string | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly runs: Runs) {
    this.subscriptions = [
      runs.onDidChange((runDir) => {
        if (this.panel && (runDir === undefined || runDir === this.runDir)) {
          void this.post();
        }
      }),
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, this),
    ];
  }

  /** What the page shows for the current run. */
  async content(): Promise<ChartContent> {
    const runDir = this.runDir ?? "";
    const records = await this.runs.metrics(runDir);
    const t = totals(records);
    return {
      runDir,
      title: `Loss of ${path.basename(runDir)}`,
      svg: renderLossChart([...chartSeries(records), ...validSeries(records)]),
      summary: records.length ? `step ${t.step} · ${t.calls} LLM calls · ${t.tokens} tokens · ${formatCost(t.cost)}` : "no metrics yet",
      table: renderLatestTable(latestValues(records)),
    };
  }

  private async post(): Promise<void> {
    if (this.panel?.visible) {
      await this.panel.webview.postMessage(await this.content()); // a hidden panel is redrawn when shown again
    }
  }

  /** Draw the whole page again from the run's current records. */
  private async render(): Promise<void> {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const content = await this.content();
    panel.title = content.title;
    panel.webview.html = chartHtml(content, randomBytes(16).toString("hex"), panel.webview.cspSource);
  }

  private adopt(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.webview.options = { enableScripts: true, localResourceRoots: [] };
    panel.onDidDispose(() => (this.panel = undefined));
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.visible) {
        void this.render(); // shown again: never the records of when it was hidden
      }
    });
  }

  /** Show the chart of a run (the active one when not given). */
  async show(runDir: string | undefined): Promise<void> {
    if (!runDir) {
      void vscode.window.showInformationMessage("No run to chart yet: train one with 'Experience: Train'.");
      return;
    }
    this.runDir = runDir;
    if (!this.panel) {
      this.adopt(
        vscode.window.createWebviewPanel(VIEW_TYPE, "Experience: Loss", vscode.ViewColumn.Beside, {
          enableScripts: true,
          localResourceRoots: [],
        }),
      );
    }
    await this.render();
    this.panel?.reveal(undefined, true);
  }

  /** Restore a chart left open when the window closed (its run is in the webview's state). */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const runDir = (state as { runDir?: unknown } | undefined)?.runDir;
    if (typeof runDir !== "string" || !existsSync(path.join(runDir, "run.json"))) {
      panel.dispose(); // its run is gone
      return;
    }
    this.panel?.dispose();
    this.runDir = runDir;
    this.adopt(panel);
    await this.render();
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
    this.panel?.dispose();
  }
}
