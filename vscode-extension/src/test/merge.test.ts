import assert from "node:assert/strict";
import { test } from "node:test";

import { MergeRuns, mergeSummary } from "../features/merge";
import { FakeDaemon } from "./fakeDaemon";
import { mock } from "./mock/vscode";

const result = {
  out: "/w/runs/merged-a-b",
  rows: 7,
  capacity: 32,
  identical: 3,
  conflicts: 1,
  dropped: 0,
  policy: "trust",
  llm_fallbacks: 0,
};

function runs(list: string[]) {
  return { list: () => list, discover: async () => undefined };
}

test("merge picks two or more runs, a new folder and a policy, then sends experience/mergeRuns", async () => {
  mock.reset();
  const daemon = new FakeDaemon().on("experience/mergeRuns", () => result);
  let refreshed = 0;
  const merge = new MergeRuns(daemon as never, runs(["/w/runs/a", "/w/runs/b", "/w/runs/c"]), () => refreshed++);
  mock.quickPicks.push(
    (items) => items.slice(0, 2),
    (items) => items.find((i: { label: string }) => i.label === "both"),
  );
  mock.inputs.push("merged-a-b");
  assert.deepEqual(await merge.run(), result);
  assert.deepEqual(daemon.requests[0], {
    method: "experience/mergeRuns",
    params: { runDirs: ["/w/runs/a", "/w/runs/b"], out: "/w/runs/merged-a-b", policy: "both" },
  });
  assert.equal(refreshed, 1);
  assert.equal(mock.messages.at(-1)?.text, mergeSummary(2, result));
  assert.match(mergeSummary(2, result), /7 rows \(3 identical folded, 1 same-input group resolved by trust, 0 dropped/);
});

test("fewer than two runs, one pick, or a daemon refusal: nothing merged, the reason shown", async () => {
  mock.reset();
  const daemon = new FakeDaemon().on("experience/mergeRuns", () => {
    throw new Error("cannot merge: their task_prompt differ");
  });
  assert.equal(await new MergeRuns(daemon as never, runs(["/w/a"]), () => undefined).run(), undefined);
  assert.match(mock.messages.at(-1)?.text ?? "", /at least two runs/);
  const merge = new MergeRuns(daemon as never, runs(["/w/a", "/w/b"]), () => undefined);
  mock.quickPicks.push((items) => items.slice(0, 1));
  assert.equal(await merge.run(), undefined);
  assert.equal(daemon.requests.length, 0);
  mock.quickPicks.push(
    (items) => items,
    (items) => items[0],
  );
  mock.inputs.push("m");
  assert.equal(await merge.run(), undefined);
  assert.match(mock.messages.at(-1)?.text ?? "", /Merge failed: .*task_prompt differ/);
});
