import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, test } from "node:test";

import type { TrainRequest } from "../common/protocol";
import type { Review } from "../features/review";
import { canonical, type Runs } from "../features/runs";
import { Training } from "../features/training";
import { FakeDaemon } from "./fakeDaemon";
import { mock, Uri } from "./mock/vscode";

function fakeRuns(known: string[]) {
  const jobs: Array<[string, string | undefined]> = [];
  const runs = {
    discover: async () => undefined,
    list: () => known,
    add: (d: string) => known.includes(d) || known.push(d),
    setJob: (d: string, job: string | undefined) => jobs.push([d, job]),
    running: () => [],
    summary: async () => ({ backend: "openai", model: "gpt-4o-mini" }),
  } as unknown as Runs;
  return { runs, jobs };
}

const review = { invalidate: () => undefined, stagedPatches: async () => [] } as unknown as Review;

/** A daemon whose train reports progress on the client's token, then answers. */
function trainingDaemon(onTrain?: (p: TrainRequest & { workDoneToken: string }, d: FakeDaemon) => Promise<void>) {
  const daemon = new FakeDaemon();
  daemon.on("experience/train", async (p) => {
    const params = p as TrainRequest & { workDoneToken: string };
    daemon.report(params.workDoneToken, { kind: "begin", title: "Training", percentage: 0 });
    daemon.report(params.workDoneToken, { kind: "report", message: "step 1", percentage: 40 });
    daemon.report(params.workDoneToken, { kind: "report", message: "evaluating", percentage: 100 });
    await onTrain?.(params, daemon);
    return { runDir: p.runDir, step: 1, epoch: 1, loss: 0.7, exact: 0, split: "val" };
  });
  daemon.on("experience/cancel", () => ({ cancelled: true }));
  return daemon;
}

let workspace = "";
beforeEach(() => {
  mock.reset();
  workspace = realpathSync(mkdtempSync(path.join(os.tmpdir(), "exp ws é-")));
  mock.workspaceFolders = [{ uri: Uri.file(workspace) }];
});

test("Train from the palette: new run, dataset, backend, gradient, epochs -> one train request with the settings", async () => {
  mkdirSync(path.join(workspace, "tiny"));
  writeFileSync(path.join(workspace, "tiny", "manifest.json"), "{}");
  mock.files = [Uri.file(path.join(workspace, "tiny", "manifest.json"))];
  mock.config = {
    "experience.reviewMode": true,
    "experience.epochs": 2,
    "experience.backend": "local",
    "experience.train.grad": "llm",
    "experience.train.capacity": "merge",
    "experience.train.retriever": "hybrid",
  };
  let gradItems: Array<{ label: string; description?: string }> = [];
  mock.quickPicks.push(
    (items) => items.find((i: { label: string }) => i.label.includes("New run")),
    (items) => items.find((i: { label: string }) => i.label === "tiny"),
    (items) => items[0],
    (items) => {
      gradItems = items;
      return items[0];
    },
  );
  mock.inputs.push("runs/e2e", "1");
  const daemon = trainingDaemon();
  const { runs, jobs } = fakeRuns([]);
  await new Training(daemon.asDaemon(), runs, review).train();
  const train = daemon.requests.find((r) => r.method === "experience/train");
  assert.ok(train, "a train request was sent");
  const { workDoneToken, ...params } = train.params;
  assert.match(workDoneToken, /^experience-vscode-/);
  assert.deepEqual(params, {
    runDir: path.join(workspace, "runs", "e2e"),
    dataset: path.join(workspace, "tiny"),
    backend: "local",
    epochs: 1,
    concurrency: 1,
    review: true,
    resume: false,
    grad: "llm",
    capacity: "merge",
    retriever: "hybrid",
  });
  assert.deepEqual(
    gradItems.map((i) => [i.label, i.description]),
    [
      ["llm", "(setting)"],
      ["example", undefined],
    ],
    "the gradient pick offers the setting's mode first",
  );
  assert.deepEqual(mock.progress, [
    { message: undefined, increment: 0 },
    { message: "step 1", increment: 40 },
    { message: "evaluating", increment: 60 },
  ]);
  assert.deepEqual(jobs, [
    [path.join(workspace, "runs", "e2e"), "training"],
    [path.join(workspace, "runs", "e2e"), undefined],
  ]);
  assert.ok(mock.messages.some((m) => m.text === "Training e2e: step 1, val loss 0.700, exact 0%."));
});

test("an existing run is resumed without asking for a dataset, gradient mode or backend: it shows and keeps its own", async () => {
  const run = path.join(workspace, "runs", "small");
  mkdirSync(run, { recursive: true });
  writeFileSync(path.join(run, "run.json"), "{}");
  mock.config = {
    "experience.train.grad": "llm",
    "experience.train.capacity": "merge",
    "experience.train.retriever": "embedding",
  };
  mock.config["experience.backend"] = "claude-agent";
  mock.config["experience.model"] = "not-this-one";
  mock.config["experience.reviewMode"] = true;
  mock.quickPicks.push((items) => items[0]); // the run; no backend pick follows
  mock.inputs.push("4");
  const daemon = trainingDaemon();
  await new Training(daemon.asDaemon(), fakeRuns([run]).runs, review).train();
  const params = daemon.requests.find((r) => r.method === "experience/train")?.params;
  assert.equal(params.grad, undefined, "the settings do not switch a run's gradient mode");
  assert.equal(params.capacity, undefined);
  assert.equal(params.retriever, undefined, "nor its retriever");
  assert.equal(params.resume, true);
  assert.equal(params.dataset, undefined);
  assert.equal(params.backend, undefined, "the run's own backend is used: none is asked for or sent");
  assert.equal(params.model, undefined);
  assert.equal(params.review, undefined, "the run's own review mode");
  assert.equal(params.epochs, 4);
  assert.equal(mock.progressOptions[0]?.title, "Training small · openai (gpt-4o-mini)", "the title names the run's backend");
});

test("cancelling the progress notification asks the daemon to stop that run", async () => {
  mock.cancelProgress = true;
  const daemon = trainingDaemon(() => new Promise((r) => setTimeout(r, 30)));
  const run = path.join(workspace, "r");
  await new Training(daemon.asDaemon(), fakeRuns([]).runs, review).train({
    runDir: run,
    dataset: "/d",
    backend: "local",
    epochs: 1,
    grad: "example",
  });
  assert.deepEqual(daemon.requests.find((r) => r.method === "experience/cancel")?.params, { runDir: canonical(run) });
});

test("a failed training is shown as an error with the daemon's message", async () => {
  const daemon = new FakeDaemon().on("experience/train", () => {
    throw new Error("dataset 'tiny' has no 'train' pairs");
  });
  await new Training(daemon.asDaemon(), fakeRuns([]).runs, review).train({
    runDir: path.join(workspace, "x"),
    dataset: "/d",
    backend: "local",
    epochs: 1,
    grad: "llm",
    capacity: "merge",
  });
  const sent = daemon.requests.find((r) => r.method === "experience/train")?.params;
  assert.equal(sent.grad, "llm", "given arguments are sent as they are, without asking");
  assert.equal(sent.capacity, "merge");
  assert.ok(mock.messages.some((m) => m.level === "error" && m.text.includes("has no 'train' pairs")));
});

test("Evaluate is cancellable: Cancel cancels the request ($/cancelRequest) and says nothing was recorded", async () => {
  mock.cancelProgress = true;
  const run = path.join(workspace, "r");
  const daemon = new FakeDaemon().on("experience/evaluate", async () => {
    await new Promise((r) => setTimeout(r, 30));
    return { loss: 0.25, exact: 0.5, n: 2 };
  });
  await new Training(daemon.asDaemon(), fakeRuns([run]).runs, review).evaluate({ runDir: run });
  assert.equal(mock.progressOptions[0]?.cancellable, true);
  assert.equal(mock.progressOptions[0]?.title, "Evaluating r · openai (gpt-4o-mini)");
  assert.deepEqual(daemon.cancelled, ["experience/evaluate"], "the evaluation request itself is cancelled");
  assert.equal(daemon.requests.find((r) => r.method === "experience/evaluate")?.params.runDir, canonical(run));
  assert.ok(!daemon.requests.some((r) => r.method === "experience/cancel"), "experience/cancel stops training jobs only");
  assert.ok(mock.messages.some((m) => m.level === "info" && m.text === "Evaluation of r cancelled; nothing was recorded."));
  assert.ok(!mock.messages.some((m) => m.level === "error"));
});

test("Stop cancels the one busy run; Evaluate reports loss, exact and n", async () => {
  const run = path.join(workspace, "busy");
  const daemon = new FakeDaemon()
    .on("experience/status", () => ({
      protocolVersion: 1,
      runs: [{ runDir: run, job: "train", step: 1, epoch: 0, epochs: 1, review: false, lockedBy: null, staged: 0, lastMetrics: null }],
    }))
    .on("experience/cancel", () => ({ cancelled: true }))
    .on("experience/evaluate", () => ({ loss: 0.25, exact: 0.5, n: 2 }));
  const training = new Training(daemon.asDaemon(), fakeRuns([run]).runs, review);
  await training.stop();
  assert.deepEqual(daemon.requests.find((r) => r.method === "experience/cancel")?.params, { runDir: run });
  await training.evaluate({ runDir: run });
  assert.ok(mock.messages.some((m) => m.text.includes("loss 0.250, exact 50%, n 2")));
});

test("canonical names a new run under its real (symlink-free) parent", () => {
  assert.equal(canonical(path.join(workspace, "a", "b")), path.join(workspace, "a", "b"));
});

test("Cancel pressed before the daemon has the job (still loading) is sent again until it is taken", async () => {
  let calls = 0;
  const daemon = new FakeDaemon().on("experience/cancel", () => ({ cancelled: ++calls >= 3 }));
  const training = new Training(daemon.asDaemon(), fakeRuns([]).runs, review);
  assert.equal(await training.cancelUntilTaken("/runs/a", () => false, 1), true);
  assert.equal(calls, 3);
  let done = false;
  const never = new FakeDaemon().on("experience/cancel", () => {
    done = true; // the job ends meanwhile: no more asking
    return { cancelled: false };
  });
  assert.equal(await new Training(never.asDaemon(), fakeRuns([]).runs, review).cancelUntilTaken("/runs/a", () => done, 1), false);
  assert.equal(never.requests.length, 1);
});
