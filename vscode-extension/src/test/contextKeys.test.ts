import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ContextKeys, HAS_PENDING, TRAINING } from "../features/contextKeys";
import { EntryRevealer } from "../features/reveal";
import { entryUri } from "../features/entries";
import { EventEmitter, mock } from "./mock/vscode";

beforeEach(() => mock.reset());

function setup(running: boolean) {
  const busy: string[] = [];
  const staged = new Map<string, number>();
  const asked: string[] = [];
  const changed = new EventEmitter<string | undefined>();
  const lenses = new EventEmitter<void>();
  const state = new EventEmitter<string>();
  const daemon = { running, onDidChangeState: state.event };
  const runs = { running: () => busy, list: () => ["/runs/a", "/runs/b", "/runs/new"], onDidChange: changed.event };
  const review = {
    stagedPatches: async (runDir: string) => {
      asked.push(runDir);
      return new Array(staged.get(runDir) ?? 0).fill({});
    },
    onDidChangeCodeLenses: lenses.event,
  };
  const keys = new ContextKeys(daemon as never, runs as never, review as never, 1, (runDir) => runDir !== "/runs/new");
  return { keys, busy, staged, asked, changed, lenses };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test("experience.training follows this window's jobs at once (Stop is enabled only while training)", async () => {
  const { keys, busy, changed } = setup(true);
  await settle();
  assert.equal(mock.contexts[TRAINING], false);
  busy.push("/runs/a");
  changed.fire("/runs/a");
  assert.equal(mock.contexts[TRAINING], true, "set before the debounced patch count");
  busy.pop();
  changed.fire("/runs/a");
  assert.equal(mock.contexts[TRAINING], false);
  keys.dispose();
});

test("experience.hasPending: any known run with staged patches; not asked before the daemon runs", async () => {
  const idle = setup(false);
  await settle();
  assert.equal(mock.contexts[HAS_PENDING], false);
  assert.deepEqual(idle.asked, [], "the daemon is not started to compute a context key");
  idle.keys.dispose();

  const { keys, staged, lenses, asked } = setup(true);
  await settle();
  assert.equal(mock.contexts[HAS_PENDING], false);
  staged.set("/runs/b", 2);
  lenses.fire();
  await settle();
  assert.equal(mock.contexts[HAS_PENDING], true);
  assert.ok(!asked.includes("/runs/new"), "a run being created (no run.json yet) is not asked about");
  keys.dispose();
});

test("revealing the active entry selects its file node in the Runs view", async () => {
  const revealed: unknown[] = [];
  const node = { kind: "file" };
  const view = { visible: true, reveal: async (n: unknown, o: unknown) => void revealed.push([n, o]) };
  const tree = {
    fileNode: async (runDir: string, row: number, column: string) =>
      runDir === "/runs/a" && row === 2 && column === "value" ? node : undefined,
  };
  const revealer = new EntryRevealer(view as never, tree as never);
  assert.equal(await revealer.reveal(entryUri({ runDir: "/runs/a", row: 2, column: "value" }, "value.viba") as never), true);
  assert.deepEqual(revealed, [[node, { select: true, focus: true, expand: false }]]);
  assert.equal(await revealer.reveal(undefined), false, "no entry open");
  assert.match(mock.messages[0].text, /Open an Experience entry/);
  revealer.dispose();
});
