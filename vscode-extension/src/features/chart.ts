/** The loss chart: a webview that redraws (an SVG made in the extension host) on every metrics record. */
import { randomBytes } from "node:crypto";
import path from "node:path";
import * as vscode from "vscode";

import { chartSeries, renderLossChart } from "../common/chart";
import { totals, formatCost } from "../common/metrics";
import type { Runs } from "./runs";

/** The webview's page: a strict CSP, one nonce'd script that swaps in the SVG it is sent. */
export function chartHtml(title: string, svg: string, summary: string, nonce: string, cspSource: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style>body{color:var(--vscode-foreground);font-family:var(--vscode-font-family);padding:12px} #summary{opacity:.8}</style>
<title>Loss</title></head>
<body><h3 id="title"></h3><div id="summary"></div><div id="chart">${svg}</div>
<script nonce="${nonce}">
document.getElementById("title").textContent = ${JSON.stringify(title)};
document.getElementById("summary").textContent = ${JSON.stringify(summary)};
window.addEventListener("message", (event) => {
  const m = event.data;
  document.getElementById("title").textContent = m.title;
  document.getElementById("summary").textContent = m.summary;
  document.getElementById("chart").innerHTML = m.svg;
});
</script></body></html>`;
}

export class LossChart implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private runDir: string | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly runs: Runs) {
    this.subscription = runs.onDidChange((runDir) => {
      if (this.panel && (runDir === undefined || runDir === this.runDir)) {
        void this.post();
      }
    });
  }

  private async content(): Promise<{ title: string; svg: string; summary: string }> {
    const runDir = this.runDir ?? "";
    const records = await this.runs.metrics(runDir);
    const t = totals(records);
    return {
      title: `Loss of ${path.basename(runDir)}`,
      svg: renderLossChart(chartSeries(records)),
      summary: records.length ? `step ${t.step} · ${t.calls} LLM calls · ${t.tokens} tokens · ${formatCost(t.cost)}` : "no metrics yet",
    };
  }

  private async post(): Promise<void> {
    if (this.panel) {
      await this.panel.webview.postMessage(await this.content());
    }
  }

  /** Show the chart of a run (the active one when not given). */
  async show(runDir: string | undefined): Promise<void> {
    if (!runDir) {
      void vscode.window.showInformationMessage("No run to chart yet: train one with 'Experience: Train'.");
      return;
    }
    this.runDir = runDir;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel("experience.lossChart", "Experience: Loss", vscode.ViewColumn.Beside, {
        enableScripts: true,
        localResourceRoots: [],
      });
      this.panel.onDidDispose(() => (this.panel = undefined));
    }
    const { title, svg, summary } = await this.content();
    this.panel.title = title;
    this.panel.webview.html = chartHtml(title, svg, summary, randomBytes(16).toString("hex"), this.panel.webview.cspSource);
    this.panel.reveal(undefined, true);
  }

  dispose(): void {
    this.subscription.dispose();
    this.panel?.dispose();
  }
}
