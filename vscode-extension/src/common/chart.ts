/** The loss chart: series from metrics records and an SVG drawing of them (no scripts, no libraries). */

import type { MetricsRecord } from "./metrics";

export interface Point {
  step: number;
  loss: number;
}

export interface Series {
  split: string;
  points: Point[];
}

const COLORS: Record<string, string> = { train: "#3794ff", val: "#f14c4c", test: "#89d185" };

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

/** SVG of the loss per step, one polyline (with dots) per split, and a legend. */
export function renderLossChart(series: readonly Series[], width = 640, height = 320): string {
  const pad = { left: 48, right: 16, top: 16, bottom: 36 };
  const { minStep, maxStep, maxLoss } = bounds(series);
  const x = (step: number) => pad.left + ((step - minStep) / (maxStep - minStep)) * (width - pad.left - pad.right);
  const y = (loss: number) => pad.top + (1 - loss / maxLoss) * (height - pad.top - pad.bottom);
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:${width}px" viewBox="0 0 ${width} ${height}" role="img" aria-label="loss per step">`,
    `<line x1="${pad.left}" y1="${f(y(0))}" x2="${width - pad.right}" y2="${f(y(0))}" stroke="currentColor" opacity="0.5"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${f(y(0))}" stroke="currentColor" opacity="0.5"/>`,
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
    const color = COLORS[s.split] ?? "#cca700";
    const coords = s.points.map((p) => `${f(x(p.step))},${f(y(p.loss))}`).join(" ");
    parts.push(`<polyline class="series series-${escape(s.split)}" points="${coords}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points) {
      parts.push(
        `<circle cx="${f(x(p.step))}" cy="${f(y(p.loss))}" r="3" fill="${color}"><title>${escape(s.split)} step ${p.step}: ${p.loss.toFixed(4)}</title></circle>`,
      );
    }
    parts.push(
      `<text x="${width - pad.right - 80}" y="${pad.top + 14 * (i + 1)}" font-size="12" fill="${color}">${escape(s.split)} loss</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}
