import assert from "node:assert/strict";
import { test } from "node:test";

import { bounds, chartSeries, latestValues, renderLatestTable, renderLossChart, validSeries } from "../common/chart";
import { toRecord, type MetricsRecord } from "../common/metrics";
import { LossChart } from "../features/chart";
import type { Runs } from "../features/runs";
import { EventEmitter, mock } from "./mock/vscode";

const records = [
  { step: 1, split: "train", loss: 0.8 },
  { step: 1, split: "val", loss: 0.9 },
  { step: 2, split: "train", loss: 0.6 },
  { step: 2, split: "train", loss: 0.5 },
  { step: 3, split: "train" },
  { step: 3, split: "val", loss: 0.4 },
].map((r) => toRecord(r) as MetricsRecord);

test("one series per split; a repeated step keeps its last loss; records without loss are skipped", () => {
  assert.deepEqual(chartSeries(records), [
    {
      split: "train",
      points: [
        { step: 1, loss: 0.8 },
        { step: 2, loss: 0.5 },
      ],
    },
    {
      split: "val",
      points: [
        { step: 1, loss: 0.9 },
        { step: 3, loss: 0.4 },
      ],
    },
  ]);
});

test("bounds cover the steps and at least loss 0..1", () => {
  assert.deepEqual(bounds(chartSeries(records)), { minStep: 1, maxStep: 3, maxLoss: 1 });
  assert.deepEqual(bounds([]), { minStep: 0, maxStep: 1, maxLoss: 1 });
  assert.deepEqual(bounds([{ split: "train", points: [{ step: 5, loss: 2 }] }]), { minStep: 5, maxStep: 6, maxLoss: 2 });
});

test("the SVG places points by step and loss", () => {
  const svg = renderLossChart(chartSeries(records), 200, 100);
  // x: 48 + (step-1)/2 * (200-48-16); y: 16 + (1-loss) * (100-16-36)
  assert.match(svg, /class="series series-train" points="48\.0,25\.6 116\.0,40\.0"/);
  assert.match(svg, /class="series series-val" points="48\.0,20\.8 184\.0,44\.8"/);
  assert.equal((svg.match(/<circle/g) ?? []).length, 4);
  assert.ok(svg.startsWith("<svg") && svg.endsWith("</svg>"));
});

test("split names are escaped in the SVG", () => {
  const svg = renderLossChart([{ split: '<x"', points: [{ step: 1, loss: 0.1 }] }]);
  assert.ok(!svg.includes('<x"'));
  assert.ok(svg.includes("&lt;x&quot;"));
});

test("series use the theme's chart colours (CSS variables), with fallbacks", () => {
  const svg = renderLossChart(chartSeries(records));
  assert.match(svg, /series-train"[^>]*style="stroke:var\(--vscode-charts-blue, #3794ff\)"/);
  assert.match(svg, /series-val"[^>]*style="stroke:var\(--vscode-charts-red, #f14c4c\)"/);
  assert.ok(!/stroke="#/.test(svg), "no fixed colour attribute");
});

test("valid (a dataset with a checker) is a dashed series per split and a column of the table", () => {
  const checked = [
    { step: 1, split: "train", loss: 0.8, valid: 0.5 },
    { step: 1, split: "val", loss: 0.9, valid: 0.25 },
    { step: 2, split: "train", loss: 0.5, valid: 1 },
    { step: 2, split: "train", loss: 0.4 },
  ].map((r) => toRecord(r) as MetricsRecord);
  const valid = validSeries(checked);
  assert.deepEqual(
    valid.map((s) => [s.split, s.metric, s.points]),
    [
      [
        "train",
        "valid",
        [
          { step: 1, loss: 0.5 },
          { step: 2, loss: 1 },
        ],
      ],
      ["val", "valid", [{ step: 1, loss: 0.25 }]],
    ],
  );
  assert.deepEqual(validSeries(records), [], "no checker: no valid series, not a line at 100%");
  const svg = renderLossChart([...chartSeries(checked), ...valid], 200, 100);
  assert.match(svg, /class="series valid-train" points="48\.0,40\.0 184\.0,16\.0"[^>]*stroke-dasharray="5 3"/);
  assert.match(svg, /<title>val step 1: valid 25%<\/title>/);
  assert.match(svg, />train valid<\/text>/);
  assert.ok(!/class="series series-train"[^>]*stroke-dasharray/.test(svg), "loss lines stay solid");
  const html = renderLatestTable(latestValues(checked));
  assert.match(html, /<th scope="col">valid<\/th>/);
  assert.match(html, /<th scope="row">val<\/th><td>1<\/td><td>0\.9000<\/td><td>–<\/td><td>25%<\/td>/);
});

test("the text table holds the latest value of each split", () => {
  const rows = latestValues([...records, toRecord({ step: 4, split: "val", loss: 0.25, exact: 0.5, n: 4 }) as MetricsRecord]);
  assert.deepEqual(
    rows.map((r) => [r.split, r.step, r.loss]),
    [
      ["train", 3, undefined],
      ["val", 4, 0.25],
    ],
  );
  const html = renderLatestTable(rows);
  assert.match(html, /<th scope="row">val<\/th><td>4<\/td><td>0\.2500<\/td><td>50%<\/td><td>–<\/td><td>4<\/td>/);
  assert.match(html, /<th scope="row">train<\/th><td>3<\/td><td>–<\/td>/);
  assert.equal(renderLatestTable([]), "<p>No metrics yet.</p>");
  assert.ok(renderLatestTable([{ split: "<b>", step: 1 }]).includes("&lt;b&gt;"));
});

test("the chart is redrawn from the current records when shown again, and restored by its serializer", async () => {
  mock.reset();
  let current: MetricsRecord[] = [toRecord({ step: 1, split: "train", loss: 0.8 }) as MetricsRecord];
  const changed = new EventEmitter<string | undefined>();
  const runs = { onDidChange: changed.event, metrics: async () => current } as unknown as Runs;
  const chart = new LossChart(runs);
  await chart.show("/runs/a");
  const [panel] = mock.panels;
  assert.match(panel.webview.html, /<td>0\.8000<\/td>/);
  panel.setVisible(false);
  current = [...current, toRecord({ step: 2, split: "train", loss: 0.3 }) as MetricsRecord];
  changed.fire("/runs/a");
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(panel.posted.length, 0, "nothing is posted to a hidden panel");
  panel.setVisible(true);
  await new Promise((r) => setTimeout(r, 10));
  assert.match(panel.webview.html, /<td>2<\/td><td>0\.3000<\/td>/, "shown again: the new record is drawn");
  changed.fire("/runs/a");
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(panel.posted.length, 1, "a visible panel gets each change");
  chart.dispose();

  const restored = new LossChart(runs);
  const gone = new (panel.constructor as typeof import("./mock/vscode").MockPanel)("experience.lossChart", "Loss");
  await restored.deserializeWebviewPanel(gone as never, { runDir: "/no/such/run" });
  assert.ok(gone.disposed, "a chart whose run is gone is closed, not restored empty");
  restored.dispose();
});
