import assert from "node:assert/strict";
import { test } from "node:test";

import {
  backendLabel,
  buildEvaluateRequest,
  buildTrainRequest,
  DEFAULT_SETTINGS,
  readSettings,
  SECRET_ENV,
  secretKey,
} from "../common/settings";

const getter =
  (values: Record<string, unknown>) =>
  <T>(key: string) =>
    values[key] as T | undefined;

test("settings fall back to defaults on missing or bad values", () => {
  assert.deepEqual(readSettings(getter({})), DEFAULT_SETTINGS);
  const bad = readSettings(getter({ backend: "gpt-9", concurrency: 0, epochs: 2.5 }));
  assert.equal(bad.backend, "local");
  assert.equal(bad.concurrency, 1);
  assert.equal(bad.epochs, 3);
  const worse = readSettings(getter({ "train.grad": "sgd", "train.capacity": "drop", "train.retriever": "bm25" }));
  assert.equal(worse.grad, "example");
  assert.equal(worse.capacity, "evict");
  assert.equal(worse.retriever, "hybrid");
});

test("a new run's gradient mode and capacity policy come from experience.train.*, unless picked", () => {
  const settings = readSettings(getter({ "train.grad": "llm", "train.capacity": "merge" }));
  assert.equal(settings.grad, "llm");
  assert.equal(settings.capacity, "merge");
  const request = buildTrainRequest({ runDir: "/r", dataset: "/d", resume: false }, settings);
  assert.equal(request.grad, "llm");
  assert.equal(request.capacity, "merge");
  const picked = buildTrainRequest({ runDir: "/r", dataset: "/d", grad: "example", resume: false }, settings);
  assert.equal(picked.grad, "example");
  assert.equal(picked.capacity, "merge");
  const resumed = buildTrainRequest({ runDir: "/r", resume: true }, settings);
  assert.deepEqual([resumed.grad, resumed.capacity], [undefined, undefined], "a resumed run keeps its own");
  const told = buildTrainRequest({ runDir: "/r", capacity: "evict", resume: true }, settings);
  assert.deepEqual([told.grad, told.capacity], [undefined, "evict"], "unless a caller names one");
});

test("train request: picks first, settings after; model/endpoint only when set", () => {
  const settings = readSettings(
    getter({ backend: "openai", model: " gpt-4o-mini ", endpoint: "http://127.0.0.1:8080/v1", concurrency: 8, reviewMode: true }),
  );
  const request = buildTrainRequest({ runDir: "/r", dataset: "/d", epochs: 1, resume: false }, settings);
  assert.deepEqual(request, {
    runDir: "/r",
    dataset: "/d",
    backend: "openai",
    epochs: 1,
    concurrency: 8,
    review: true,
    resume: false,
    grad: "example",
    capacity: "evict",
    retriever: "hybrid",
    model: "gpt-4o-mini",
    baseUrl: "http://127.0.0.1:8080/v1",
  });
  const local = buildTrainRequest({ runDir: "/r", dataset: "/d", backend: "local", resume: false }, settings);
  assert.equal(local.baseUrl, undefined, "the endpoint is for the openai backend only");
  const resumed = buildTrainRequest({ runDir: "/r", resume: true }, settings);
  assert.deepEqual(
    resumed,
    { runDir: "/r", epochs: 3, concurrency: 8, resume: true },
    "a resumed run trains with its own dataset, backend, model, endpoint and review mode: none is sent",
  );
});

test("budgets: experience.maxCost/maxCalls/maxTokens go with every train request; 0 or bad values mean no limit", () => {
  const settings = readSettings(getter({ maxCost: 0.5, maxCalls: 200, maxTokens: 100000 }));
  const fresh = buildTrainRequest({ runDir: "/r", dataset: "/d", resume: false }, settings);
  assert.deepEqual([fresh.maxCost, fresh.maxCalls, fresh.maxTokens], [0.5, 200, 100000]);
  const resumed = buildTrainRequest({ runDir: "/r", resume: true }, settings);
  assert.deepEqual([resumed.maxCost, resumed.maxCalls, resumed.maxTokens], [0.5, 200, 100000]);
  const bad = readSettings(getter({ maxCost: -1, maxCalls: 2.5, maxTokens: "many" }));
  assert.deepEqual([bad.maxCost, bad.maxCalls, bad.maxTokens], [0, 0, 0]);
  const none = buildTrainRequest({ runDir: "/r", resume: true }, bad);
  assert.deepEqual([none.maxCost, none.maxCalls, none.maxTokens], [undefined, undefined, undefined]);
});

test("a new run's retriever comes from experience.train.retriever unless picked; a resumed run keeps its own", () => {
  const settings = readSettings(getter({ "train.retriever": "embedding" }));
  assert.equal(settings.retriever, "embedding");
  assert.equal(buildTrainRequest({ runDir: "/r", dataset: "/d", resume: false }, settings).retriever, "embedding");
  const picked = buildTrainRequest({ runDir: "/r", dataset: "/d", retriever: "hybrid", resume: false }, settings);
  assert.equal(picked.retriever, "hybrid");
  const resumed = buildTrainRequest({ runDir: "/r", retriever: "hybrid", resume: true }, settings);
  assert.equal(resumed.retriever, undefined, "the retriever is fixed when a run is created");
});

test("a new run's query mode comes from experience.train.query; 'dataset' leaves it to the manifest", () => {
  assert.equal(readSettings(getter({ "train.query": "keywords" })).query, "dataset");
  const lexical = readSettings(getter({ "train.query": "lexical" }));
  assert.equal(buildTrainRequest({ runDir: "/r", dataset: "/d", resume: false }, lexical).query, "lexical");
  assert.equal(buildTrainRequest({ runDir: "/r", resume: true }, lexical).query, undefined, "a resumed run keeps its own");
  const manifest = buildTrainRequest({ runDir: "/r", dataset: "/d", resume: false }, DEFAULT_SETTINGS);
  assert.equal(manifest.query, undefined, "the daemon reads the dataset manifest");
});

test("a new run's grammar comes from experience.train.grammar; 'dataset' is on when the dataset names one", () => {
  assert.equal(readSettings(getter({ "train.grammar": "maybe" })).grammar, "dataset");
  const off = readSettings(getter({ "train.grammar": "off" }));
  assert.equal(buildTrainRequest({ runDir: "/r", dataset: "/d", resume: false }, off).grammar, "off");
  assert.equal(buildTrainRequest({ runDir: "/r", resume: true }, off).grammar, undefined, "a resumed run keeps its own");
  const manifest = buildTrainRequest({ runDir: "/r", dataset: "/d", resume: false }, DEFAULT_SETTINGS);
  assert.equal(manifest.grammar, undefined, "the daemon reads the dataset manifest");
});

test("evaluate request uses the run's dataset, backend and model (the settings' model is not mixed in)", () => {
  assert.deepEqual(buildEvaluateRequest("/r"), { runDir: "/r" });
  assert.deepEqual(buildEvaluateRequest("/r", "/other"), { runDir: "/r", dataset: "/other" });
});

test("a run's backend label names its model when it has one", () => {
  assert.equal(backendLabel({ backend: "openai", model: "gpt-4o-mini" }), "openai (gpt-4o-mini)");
  assert.equal(backendLabel({ backend: "local", model: null }), "local");
  assert.equal(backendLabel({}), "");
});

test("API keys map to the environment variables the backends read", () => {
  assert.equal(SECRET_ENV.openai, "LLM_API_KEY");
  assert.equal(SECRET_ENV["claude-agent"], "ANTHROPIC_API_KEY");
  assert.notEqual(secretKey("openai"), secretKey("claude-agent"));
});
