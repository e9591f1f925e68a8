import assert from "node:assert/strict";
import { test } from "node:test";

import { atStep, formatCost, formatStatus, parseMetricsJsonl, toRecord, totals } from "../common/metrics";

// Two lines of a real run's metrics.jsonl, a blank line and a line cut short while being written.
const JSONL = [
  '{"backend": "local", "cache_hits": 0, "calls": 2, "completion_tokens": 66, "cost": 0.0, "epoch": 0, "exact": 0.0, "loss": 0.5531914830207825, "model": "SmolLM2-135M-Instruct.Q4_1", "n": 1, "prompt_tokens": 242, "seconds": 20.7591, "seed": 0, "split": "train", "step": 1}',
  "",
  '{"backend": "local", "cache_hits": 1, "calls": 2, "completion_tokens": 76, "cost": 0.0015, "epoch": 0, "exact": 0.5, "loss": 0.7050359845161438, "n": 1, "prompt_tokens": 262, "split": "val", "step": 1}',
  '{"step": 2, "spl',
].join("\n");

test("metrics.jsonl parses, skipping blank and broken lines", () => {
  const records = parseMetricsJsonl(JSONL);
  assert.equal(records.length, 2);
  assert.equal(records[0].promptTokens, 242);
  assert.equal(records[1].split, "val");
});

test("a record without a step is dropped; missing counters are zero", () => {
  assert.equal(toRecord({ loss: 0.3 }), undefined);
  assert.deepEqual(toRecord({ step: 4 })?.calls, 0);
});

test("totals: last step and loss, summed calls, tokens and cost", () => {
  const t = totals(parseMetricsJsonl(JSONL));
  assert.deepEqual(t, {
    step: 1,
    loss: 0.7050359845161438,
    lossSplit: "val",
    exact: 0.5,
    valid: undefined,
    calls: 4,
    cost: 0.0015,
    tokens: 646,
    cacheHits: 1,
  });
});

test("valid (the share of answers the dataset's checker accepts) is read, totalled and shown when present", () => {
  const lines = [JSONL.split("\n")[0], '{"step": 2, "split": "val", "loss": 0.25, "exact": 0.5, "valid": 0.875, "calls": 1}'];
  const records = parseMetricsJsonl(lines.join("\n"));
  assert.equal(records[0].valid, undefined, "no checker: no valid, not 100%");
  const t = totals(records);
  assert.equal(t.valid, 0.875);
  const { text, tooltip } = formatStatus({ daemon: "ready", runName: "demo", totals: t });
  assert.equal(text, "$(beaker) step 2 · val loss 0.250 · valid 88% · 3 calls · $0.00");
  assert.match(tooltip, /valid 88% \(answers the dataset's checker accepts\)/);
  assert.equal(atStep(t, 1).valid, undefined, "a valid share measured at another step is left out");
});

test("status text shows step, loss, calls and cost", () => {
  const { text, tooltip } = formatStatus({ daemon: "ready", runName: "demo", totals: totals(parseMetricsJsonl(JSONL)) });
  assert.equal(text, "$(beaker) step 1 · val loss 0.705 · 4 calls · $0.0015");
  assert.match(tooltip, /4 LLM calls \(1 from cache\), 646 tokens/);
  assert.match(tooltip, /exact match 50%/);
});

test("status text while training, without a run, and with the daemon down", () => {
  const running = formatStatus({
    daemon: "ready",
    runName: "demo",
    job: "training",
    totals: { step: 0, calls: 1, cost: 0, tokens: 0, cacheHits: 0 },
  });
  assert.equal(running.text, "$(sync~spin) step 0 · 1 call · $0.00");
  assert.equal(formatStatus({ daemon: "ready" }).text, "$(beaker) Experience");
  assert.equal(formatStatus({ daemon: "failed", runName: "demo" }).text, "$(error) Experience");
  assert.match(formatStatus({ daemon: "stopped" }).tooltip, /restart/);
  const idle = formatStatus({ daemon: "idle", runName: "demo", totals: { step: 2, calls: 0, cost: 0, tokens: 0, cacheHits: 0 } });
  assert.equal(idle.text, "$(beaker) step 2 · 0 calls · $0.00", "a daemon not started yet (lazy start) is not an error");
});

test("cost formatting", () => {
  assert.equal(formatCost(0), "$0.00");
  assert.equal(formatCost(0.00042), "$0.0004");
  assert.equal(formatCost(1.234), "$1.23");
});
