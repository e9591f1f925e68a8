/** The loss chart: series from metrics records, an SVG drawing of them in the theme's chart colours (no
 * scripts, no libraries), and a text table of the latest values (the chart's text alternative). */

import type { MetricsRecord } from "./metrics";

export interface Point {
  step: number;
  loss: number;
}

export interface Series {
  split: string;
  points: Point[];
  /** "valid": the share of answers the dataset's checker accepts (0..1, drawn dashed); default: the loss. */
  metric?: "valid";
}

/** Series colours: VS Code's chart theme colours (CSS variables the webview defines), with fallbacks. */
export const COLORS: Record<string, string> = {
  train: "var(--vscode-charts-blue, #3794ff)",
  val: "var(--vscode-charts-red, #f14c4c)",
  test: "var(--vscode-charts-green, #89d185)",
};
const OTHER_COLOR = "var(--vscode-charts-yellow, #cca700)";
const LINES = "var(--vscode-charts-lines, currentColor)";

/** One series per split, in order of first appearance; a step repeated in a split keeps its last loss. */
export function chartSeries(records: readonly MetricsRecord[]): Series[] {
  const bySplit = new Map<string, Map<number, number>>();
  for (const r of records) {
    if (r.loss === undefined) {
      continue;
    }
    const points = bySplit.get(r.split) ?? new Map<number, number>();
    points.set(r.step, r.loss);
    bySplit.set(r.split, points);
  }
  return [...bySplit.entries()].map(([split, points]) => ({
    split,
    points: [...points.entries()].sort(([a], [b]) => a - b).map(([step, loss]) => ({ step, loss })),
  }));
}

/** One "valid" series per split whose records carry it (datasets with a checker), like chartSeries. */
export function validSeries(records: readonly MetricsRecord[]): Series[] {
  const withValid = records.filter((r) => r.valid !== undefined).map((r) => ({ ...r, loss: r.valid }));
  return chartSeries(withValid).map((s) => ({ ...s, metric: "valid" as const }));
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

/** Axis bounds: steps from the data (at least 1 wide), loss from 0 to max(1, highest loss). */
export function bounds(series: readonly Series[]): { minStep: number; maxStep: number; maxLoss: number } {
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) {
    return { minStep: 0, maxStep: 1, maxLoss: 1 };
  }
  const steps = points.map((p) => p.step);
  const minStep = Math.min(...steps);
  const maxStep = Math.max(...steps, minStep + 1);
  return { minStep, maxStep, maxLoss: Math.max(1, ...points.map((p) => p.loss)) };
}

/** SVG of the loss per step, one polyline (with dots) per split, and a legend; "valid" series are dashed. */
export function renderLossChart(series: readonly Series[], width = 640, height = 320): string {
  const pad = { left: 48, right: 16, top: 16, bottom: 36 };
  const { minStep, maxStep, maxLoss } = bounds(series);
  const x = (step: number) => pad.left + ((step - minStep) / (maxStep - minStep)) * (width - pad.left - pad.right);
  const y = (loss: number) => pad.top + (1 - loss / maxLoss) * (height - pad.top - pad.bottom);
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:${width}px" viewBox="0 0 ${width} ${height}" role="img" aria-label="loss and valid share per step">`,
    `<line x1="${pad.left}" y1="${f(y(0))}" x2="${width - pad.right}" y2="${f(y(0))}" style="stroke:${LINES}" opacity="0.5"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${f(y(0))}" style="stroke:${LINES}" opacity="0.5"/>`,
  ];
  for (const tick of [0, 0.5, 1].map((t) => t * maxLoss)) {
    parts.push(
      `<text x="${pad.left - 6}" y="${f(y(tick) + 4)}" text-anchor="end" font-size="11" fill="currentColor">${tick.toFixed(2)}</text>`,
    );
  }
  parts.push(`<text x="${pad.left}" y="${height - 8}" font-size="11" fill="currentColor">step ${minStep}</text>`);
  parts.push(
    `<text x="${width - pad.right}" y="${height - 8}" text-anchor="end" font-size="11" fill="currentColor">step ${maxStep}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[s.split] ?? OTHER_COLOR;
    const valid = s.metric === "valid";
    const coords = s.points.map((p) => `${f(x(p.step))},${f(y(p.loss))}`).join(" ");
    const cls = valid ? `series valid-${escape(s.split)}` : `series series-${escape(s.split)}`;
    const dash = valid ? ' stroke-dasharray="5 3"' : "";
    parts.push(`<polyline class="${cls}" points="${coords}" fill="none" style="stroke:${color}" stroke-width="2"${dash}/>`);
    for (const p of s.points) {
      const value = valid ? `valid ${(p.loss * 100).toFixed(0)}%` : p.loss.toFixed(4);
      parts.push(
        `<circle cx="${f(x(p.step))}" cy="${f(y(p.loss))}" r="3" style="fill:${color}"><title>${escape(s.split)} step ${p.step}: ${value}</title></circle>`,
      );
    }
    parts.push(
      `<text x="${width - pad.right - 80}" y="${pad.top + 14 * (i + 1)}" font-size="12" style="fill:${color}">${escape(s.split)} ${valid ? "valid" : "loss"}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

export interface LatestRow {
  split: string;
  step: number;
  loss?: number;
  exact?: number;
  valid?: number;
  n?: number;
}

/** The latest record of each split, in order of first appearance (what the table shows). */
export function latestValues(records: readonly MetricsRecord[]): LatestRow[] {
  const last = new Map<string, MetricsRecord>();
  for (const r of records) {
    last.set(r.split, r);
  }
  return [...last.values()].map((r) => ({ split: r.split, step: r.step, loss: r.loss, exact: r.exact, valid: r.valid, n: r.n }));
}

/** An HTML table of the latest values (escaped; "–" where a value is missing). */
export function renderLatestTable(rows: readonly LatestRow[]): string {
  if (rows.length === 0) {
    return "<p>No metrics yet.</p>";
  }
  const cell = (v: string) => `<td>${escape(v)}</td>`;
  const body = rows.map(
    (r) =>
      `<tr><th scope="row">${escape(r.split)}</th>${cell(String(r.step))}${cell(r.loss?.toFixed(4) ?? "–")}` +
      `${cell(r.exact !== undefined ? `${(r.exact * 100).toFixed(0)}%` : "–")}` +
      `${cell(r.valid !== undefined ? `${(r.valid * 100).toFixed(0)}%` : "–")}${cell(r.n !== undefined ? String(r.n) : "–")}</tr>`,
  );
  return (
    '<table id="latest"><caption>Latest values</caption><thead><tr><th scope="col">split</th><th scope="col">step</th>' +
    `<th scope="col">loss</th><th scope="col">exact</th><th scope="col">valid</th><th scope="col">n</th></tr></thead>` +
    `<tbody>${body.join("")}</tbody></table>`
  );
}
