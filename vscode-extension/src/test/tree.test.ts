import assert from "node:assert/strict";
import { test } from "node:test";

import type { EntryInfo, PatchInfo } from "../common/protocol";
import type { Review } from "../features/review";
import type { Runs } from "../features/runs";
import { columnFile, entryDescription, nodeId, RunsTree, trainingDescription, type Node } from "../features/tree";
import { FakeDaemon } from "./fakeDaemon";
import { EventEmitter, TreeItemCollapsibleState } from "./mock/vscode";

const runDir = "/w/runs/small";
const entry = (row: number, filled: boolean): EntryInfo => ({
  row,
  query: filled ? ["factorial", "math"] : [],
  queryPath: `${runDir}/experience/${String(row).padStart(4, "0")}/query.txt`,
  keyPath: `${runDir}/experience/${String(row).padStart(4, "0")}/key.py`,
  valuePath: `${runDir}/experience/${String(row).padStart(4, "0")}/value.viba`,
  step: filled ? 1 : null,
  source: filled ? "factorial" : null,
  filled,
  samples: filled ? ["factorial"] : [],
  trust: 1,
  missing: false,
});
const staged: PatchInfo = {
  id: "1:1:2",
  step: 1,
  row: 1,
  column: "value",
  diff: "@@ -0,0 +1,2 @@\n+a\n+b\n",
  state: "staged",
  outcome: null,
  sample: "x",
};

function setup(patches: PatchInfo[], job?: string) {
  const daemon = new FakeDaemon();
  daemon.on("experience/listEntries", () => [entry(0, false), entry(1, true), entry(2, false), entry(3, false)]);
  const runs = {
    onDidChange: new EventEmitter<string | undefined>().event,
    list: () => [runDir],
    metrics: async () => [],
    totals: () => ({ step: 1, loss: 0.5, lossSplit: "val", calls: 4, cost: 0, tokens: 0, cacheHits: 0 }),
    summary: async () => ({ shape: [2, 3], backend: "local", model: null, grad: "llm", capacity: "merge" }),
    job: () => job,
  } as unknown as Runs;
  const review = { stagedPatches: async () => patches, onDidChangeCodeLenses: new EventEmitter<void>().event } as unknown as Review;
  return new RunsTree(daemon.asDaemon(), runs, review);
}

test("runs -> tensor -> entries -> files, with keywords and the step that wrote each entry", async () => {
  const tree = setup([]);
  const [run] = await tree.getChildren();
  const runItem = tree.getTreeItem(run);
  assert.equal(runItem.label, "small");
  assert.equal(runItem.description, "step 1 · loss 0.500");
  assert.equal(runItem.contextValue, "run", "the rollback menu is offered on run items");
  const [tensor] = await tree.getChildren(run);
  assert.equal((tensor as Extract<Node, { kind: "tensor" }>).name, "experience [2, 3]");
  assert.equal(tree.getTreeItem(tensor).description, "grad llm · when full: merge");
  const entries = await tree.getChildren(tensor);
  assert.deepEqual(
    entries.map((n) => [tree.getTreeItem(n).label, tree.getTreeItem(n).description]),
    [
      ["row 1", "factorial, math · step 1"],
      ["3 empty rows", "rows 0–3"],
    ],
    "the filled rows, then the empty ones folded into one node",
  );
  const empties = await tree.getChildren(entries[1]);
  assert.deepEqual(
    empties.map((n) => tree.getTreeItem(n).label),
    ["row 0", "row 2", "row 3"],
  );
  const files = await tree.getChildren(entries[0]);
  const items = files.map((n) => tree.getTreeItem(n));
  assert.deepEqual(
    items.map((i) => i.label),
    ["query.txt", "key.py", "value.viba"],
  );
  assert.equal(items[1].command?.command, "vscode.open");
  assert.equal(items[1].collapsibleState, TreeItemCollapsibleState.None);
});

test("pending changes come first under a run in review mode, each opening its diff", async () => {
  const tree = setup([staged]);
  const [run] = await tree.getChildren();
  const [pending] = await tree.getChildren(run);
  assert.equal(tree.getTreeItem(pending).label, "Pending changes");
  const [p] = await tree.getChildren(pending);
  const item = tree.getTreeItem(p);
  assert.equal(item.label, "row 1 · value.viba");
  assert.equal(item.description, "step 1 · +2 −0");
  assert.equal(item.contextValue, "stagedPatch");
  assert.deepEqual(item.command?.arguments?.[0], { runDir, row: 1, column: "value", patchId: "1:1:2", fileName: "value.viba" });
});

test("a daemon failure shows as a message node instead of an empty tree", async () => {
  const daemon = new FakeDaemon();
  const runs = {
    onDidChange: new EventEmitter<string | undefined>().event,
    list: () => [runDir],
    metrics: async () => [],
    summary: async () => Promise.reject(new Error("run is locked")),
  } as unknown as Runs;
  const review = { onDidChangeCodeLenses: new EventEmitter<void>().event } as unknown as Review;
  const tree = new RunsTree(daemon.asDaemon(), runs, review);
  const [run] = await tree.getChildren();
  const [message] = await tree.getChildren(run);
  assert.equal(tree.getTreeItem(message).label, "⚠ run is locked");
});

test("helpers: file names from daemon paths; descriptions", () => {
  assert.equal(columnFile(entry(3, true), "value"), "value.viba");
  assert.equal(entryDescription({ ...entry(3, true), query: [], step: null }), "(no keywords)");
});

test("a run's tooltip, made on hover, says how it trains: backend, gradient mode, capacity policy", async () => {
  const tree = setup([]);
  const [run] = await tree.getChildren();
  const item = tree.getTreeItem(run);
  assert.equal(item.tooltip, undefined, "left for resolveTreeItem");
  await tree.resolveTreeItem(item, run);
  assert.equal(item.tooltip, `${runDir}\nstep 1 · 4 LLM calls, $0.00\nlocal · grad llm · when full: merge`);
  assert.equal(trainingDescription({ backend: "openai", model: "m" }), "openai (m)", "an older daemon's summary has neither");
});

test("a training run's context value offers Stop instead of Train / Step / Evaluate / Roll Back", async () => {
  const tree = setup([], "training");
  const [run] = await tree.getChildren();
  assert.equal(tree.getTreeItem(run).contextValue, "run-busy");
  assert.equal(tree.getTreeItem(run).description, "training… · step 1 · loss 0.500");
});

test("an entry's file node is found with its ancestors, so that the view can reveal it (getParent climbs to the run)", async () => {
  const tree = setup([]);
  await tree.getChildren();
  const file = await tree.fileNode(runDir, 2, "key");
  assert.ok(file && file.kind === "file");
  const chain: string[] = [];
  for (let node: Node | undefined = file; node; node = tree.getParent(node)) {
    chain.push(nodeId(node));
  }
  assert.deepEqual(chain, [`file:${runDir}:2:key`, `entry:${runDir}:2`, `empty:${runDir}`, `tensor:${runDir}`, `run:${runDir}`]);
  assert.equal(await tree.fileNode(runDir, 9, "key"), undefined);
});
