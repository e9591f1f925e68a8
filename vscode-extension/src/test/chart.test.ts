import assert from "node:assert/strict";
import { test } from "node:test";

import { bounds, chartSeries, renderLossChart } from "../common/chart";
import { toRecord, type MetricsRecord } from "../common/metrics";

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
