import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, test } from "node:test";

import type { RollbackResult, RunSummary } from "../common/protocol";
import { confirmDetail, rollbackSummary, stepProblem } from "../common/rollback";
import type { Review } from "../features/review";
import { CONFIRM, Rollback } from "../features/rollback";
import { Runs } from "../features/runs";
import { RunsTree } from "../features/tree";
import { FakeDaemon, rpcError } from "./fakeDaemon";
import { EventEmitter, mock } from "./mock/vscode";

let runDir = "";
beforeEach(() => {
  mock.reset();
  runDir = realpathSync(mkdtempSync(path.join(os.tmpdir(), "exp rollback-")));
});

const summary = (step: number): RunSummary => ({
  runDir,
  shape: [4, 3],
  rows: 4,
  filled: 2,
  step,
  epoch: 1,
  backend: "local",
  model: null,
  review: false,
  grad: "example",
  capacity: "evict",
  query: "llm",
  retriever: "jaccard",
  lastMetrics: null,
});

/** A daemon at step `current` whose rollback undoes the steps after `toStep`. */
function daemonAt(current: number): FakeDaemon {
  return new FakeDaemon()
    .on("experience/openRun", () => summary(current))
    .on("experience/rollback", ({ runDir: dir, toStep }) => ({
      runDir: dir,
      step: toStep,
      epoch: 0,
      restored: 3,
      undone: Array.from({ length: current - toStep }, (_, i) => toStep + 1 + i),
    }));
}

/** Rollback with recording fakes for the runs, the entry documents and the tree. */
function setup(daemon: FakeDaemon, job?: string) {
  const calls: string[] = [];
  const runs = {
    summary: (dir: string) => daemon.request("experience/openRun", { runDir: dir }),
    job: () => job,
    rolledBack: async (dir: string, step: number) => void calls.push(`rolledBack ${path.basename(dir)} ${step}`),
  } as unknown as Runs;
  const files = { fireRun: (dir: string) => calls.push(`fireRun ${path.basename(dir)}`) };
  const tree = { refresh: () => calls.push("refresh") };
  const picked: string[] = [];
  const pickRun = async (title: string) => (picked.push(title), runDir);
  return { rollback: new Rollback(daemon.asDaemon(), runs, files, tree, pickRun), calls, picked };
}

const rollbacks = (daemon: FakeDaemon) => daemon.requests.filter((r) => r.method === "experience/rollback");

test("from the palette: pick the run, type a step, confirm -> one rollback request, then tree and documents refresh", async () => {
  const daemon = daemonAt(5);
  const { rollback, calls, picked } = setup(daemon);
  mock.inputs.push("2");
  mock.answers.push(CONFIRM);
  await rollback.run();
  assert.deepEqual(picked, ["Roll back which run?"]);
  assert.deepEqual(
    rollbacks(daemon).map((r) => r.params),
    [{ runDir, toStep: 2 }],
  );
  const name = path.basename(runDir);
  assert.deepEqual(calls, [`rolledBack ${name} 2`, `fireRun ${name}`, "refresh"]);
  const confirm = mock.messages.find((m) => m.level === "warning");
  assert.equal(confirm?.text, `Roll back ${name} to step 2?`);
  assert.equal(confirm?.modal, true);
  assert.match(confirm?.detail ?? "", /Steps 3 to 5 are undone but stay on record/);
  assert.deepEqual(confirm?.items, [CONFIRM]);
  assert.ok(
    mock.messages.some(
      (m) => m.level === "info" && m.text === `Rolled back ${name} to step 2: undid steps 3, 4 and 5 (kept on record), 3 entries restored.`,
    ),
  );
});

test("a step past the current one is refused without calling the daemon's rollback", async () => {
  const daemon = daemonAt(3);
  const { rollback, calls } = setup(daemon);
  await rollback.run({ runDir, toStep: 4 });
  await rollback.run({ runDir, toStep: -1 });
  await rollback.run({ runDir, toStep: 1.5 });
  assert.deepEqual(rollbacks(daemon), []);
  assert.deepEqual(calls, []);
  const errors = mock.messages.filter((m) => m.level === "error").map((m) => m.text);
  assert.equal(errors.length, 3);
  assert.match(errors[0], /to step 4: it is at step 3, so pick 0 to 3/);
  mock.inputs.push("4");
  await assert.rejects(rollback.run({ runDir }), /input 4 rejected: the run is at step 3/, "the input box refuses it too");
  assert.deepEqual(rollbacks(daemon), []);
});

test("the tree's run item (context menu) is a valid argument; declining the confirmation sends nothing", async () => {
  const daemon = daemonAt(2);
  const { rollback, picked } = setup(daemon);
  mock.inputs.push("0");
  mock.answers.push(undefined);
  await rollback.run({ kind: "run", runDir } as never);
  assert.deepEqual(picked, [], "the run came from the tree");
  assert.deepEqual(rollbacks(daemon), []);
  assert.match(mock.messages[0].detail ?? "", /after step 0 \(the empty start\)/);
});

test("the daemon's refusal is shown as an error; a running job is refused before asking", async () => {
  const daemon = daemonAt(4).on("experience/rollback", () => {
    throw rpcError(-32003, "run is busy: training");
  });
  const { rollback, calls } = setup(daemon);
  mock.answers.push(CONFIRM);
  await rollback.run({ runDir, toStep: 1 });
  assert.ok(mock.messages.some((m) => m.level === "error" && m.text.endsWith("failed: run is busy: training")));
  assert.deepEqual(calls, [], "nothing refreshed after a failure");
  mock.reset();
  const busy = setup(daemonAt(4), "training");
  await busy.rollback.run({ runDir, toStep: 1 });
  assert.match(mock.messages[0].text, /is training: stop it before rolling it back/);
});

test("after a rollback the tree shows the step rolled back to, until a new record arrives", async () => {
  mkdirSync(path.join(runDir, "experience"));
  const records = [1, 2, 3].map((step) => JSON.stringify({ step, split: "train", loss: 0.5 - step / 10, calls: 1 }));
  writeFileSync(path.join(runDir, "metrics.jsonl"), records.join("\n") + "\n");
  const daemon = daemonAt(3).on("experience/listEntries", () => []);
  const memento = { get: <T>(_key: string, fallback: T) => fallback, update: async () => undefined };
  const runs = new Runs(daemon.asDaemon(), memento as never);
  runs.add(runDir);
  const review = { stagedPatches: async () => [], onDidChangeCodeLenses: new EventEmitter<void>().event } as unknown as Review;
  const tree = new RunsTree(daemon.asDaemon(), runs, review);
  let refreshed = 0;
  const rollback = new Rollback(daemon.asDaemon(), runs, { fireRun: () => undefined }, { refresh: () => refreshed++ }, async () => runDir);
  const [run] = await tree.getChildren();
  assert.equal(tree.getTreeItem(run).description, "step 3 · loss 0.200");
  mock.answers.push(CONFIRM);
  await rollback.run({ runDir, toStep: 1 });
  assert.equal(refreshed, 1);
  assert.equal(tree.getTreeItem(run).description, "step 1", "the loss of step 3 is not shown for step 1");
  assert.equal(runs.totals(runDir).calls, 3, "the undone steps' calls stay counted");
  daemon.notify("experience/metrics", { runDir, record: { step: 2, split: "train", loss: 0.4, calls: 1 } });
  assert.equal(tree.getTreeItem(run).description, "step 2 · loss 0.400");
  tree.dispose();
  runs.dispose();
});

test("helpers: step validation, the confirmation's detail, the result message", () => {
  assert.equal(stepProblem(" 3 ", 3), undefined);
  assert.equal(stepProblem("0", 0), undefined);
  assert.match(stepProblem("", 3) ?? "", /whole number from 0 to 3/);
  assert.match(stepProblem("-1", 3) ?? "", /whole number/);
  assert.match(stepProblem("2.5", 3) ?? "", /whole number/);
  assert.match(stepProblem("4", 3) ?? "", /at step 3/);
  assert.match(confirmDetail(4, 5), /Step 5 is undone but stays on record/);
  assert.doesNotMatch(confirmDetail(5, 5), /undone but/);
  const result: RollbackResult = { runDir, step: 4, epoch: 1, restored: 1, undone: [5] };
  assert.equal(rollbackSummary("r", result), "Rolled back r to step 4: undid step 5 (kept on record), 1 entry restored.");
  assert.equal(
    rollbackSummary("r", { ...result, undone: [], restored: 0 }),
    "Rolled back r to step 4: no step undone, 0 entries restored.",
  );
});
