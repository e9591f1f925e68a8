import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { decodeEntryUri } from "../common/entryUri";
import type { PatchInfo } from "../common/protocol";
import { entryUri, type EntryFileSystem } from "../features/entries";
import { Review } from "../features/review";
import type { Runs } from "../features/runs";
import { FakeDaemon } from "./fakeDaemon";
import { EventEmitter, mock, Range, TabInputText, TabInputTextDiff, window, type Uri } from "./mock/vscode";

const runDir = "/runs/a";
const patch = (id: string, row: number, state: PatchInfo["state"] = "staged"): PatchInfo => ({
  id,
  step: 1,
  row,
  column: "key",
  diff: "--- a/element\n+++ b/element\n@@ -0,0 +1 @@\n+x = 1\n",
  state,
  outcome: null,
  sample: "s",
});

function setup(staged: PatchInfo[]) {
  const daemon = new FakeDaemon();
  let current = staged;
  daemon.on("experience/patches", (p) => (p.state === "staged" ? current : [...current, patch("0:2:1", 2, "applied")]));
  daemon.on("experience/acceptPatch", (p) => {
    const found = current.find((x) => x.id === p.patchId) as PatchInfo;
    current = current.filter((x) => x.id !== p.patchId);
    return { patch: { ...found, state: "accepted" }, version: 5 };
  });
  daemon.on("experience/previewPatch", (p) => {
    const found = current.find((x) => x.id === p.patchId) as PatchInfo;
    return { patch: found, text: "def f():\n    return 1\n", version: 3, outcome: "fuzzed", rejectedHunks: [], conflict: null };
  });
  const runsChanged: string[] = [];
  const runs = {
    onDidChange: new EventEmitter<string | undefined>().event,
    changed: (d: string) => runsChanged.push(d),
  } as unknown as Runs;
  const fired: string[] = [];
  const files = { fireRun: (d: string) => fired.push(d) } as unknown as EntryFileSystem;
  return { daemon, review: new Review(daemon.asDaemon(), runs, files), runsChanged, fired };
}

const doc = (row: number) => ({ uri: entryUri({ runDir, row, column: "key" }, "key.py") }) as never;

beforeEach(() => mock.reset());

test("an entry with pending patches gets the lens row: count · Show diff · Accept · Reject", async () => {
  const { review } = setup([patch("1:2:1", 2), patch("2:2:1", 2), patch("1:3:1", 3)]);
  const lenses = await review.provideCodeLenses(doc(2));
  assert.deepEqual(
    lenses.map((l) => l.command?.title),
    ["2 pending changes", "Show diff", "Accept", "Reject"],
  );
  assert.deepEqual(
    lenses.map((l) => l.command?.command),
    ["", "experience.showPatchDiff", "experience.acceptPatch", "experience.rejectPatch"],
  );
  assert.deepEqual(lenses[2].command?.arguments?.[0], { runDir, row: 2, column: "key", patchId: "1:2:1", fileName: "key.py" });
});

test("no lens without pending patches, nor on a patch view", async () => {
  const { review } = setup([patch("1:3:1", 3)]);
  assert.deepEqual(await review.provideCodeLenses(doc(2)), []);
  const view = { uri: entryUri({ runDir, row: 3, column: "key", patch: "1:3:1", step: 1 }, "key.py") } as never;
  assert.deepEqual(await review.provideCodeLenses(view), []);
});

test("Show diff opens vscode.diff: the entry on the left, entry + patch on the right", async () => {
  const { review } = setup([patch("1:2:1", 2)]);
  await review.showDiff({ runDir, row: 2, column: "key", patchId: "1:2:1", fileName: "key.py" });
  const [call] = mock.executed;
  assert.equal(call.command, "vscode.diff");
  const [left, right, title] = call.args as [Uri, Uri, string];
  assert.deepEqual(decodeEntryUri(left), { runDir, row: 2, column: "key" });
  assert.deepEqual(decodeEntryUri(right), { runDir, row: 2, column: "key", patch: "1:2:1", step: 1, side: "after" });
  assert.equal(right.path, "/a/0002/key.py");
  assert.match(title, /key\.py \(row 2\) ↔ pending change 1:2:1/);
});

test("an applied patch shows before ↔ after (the entry on the right)", async () => {
  const { review } = setup([]);
  await review.showDiff({ runDir, row: 2, column: "key", patchId: "0:2:1", fileName: "key.py" });
  const [left, right] = mock.executed[0].args as [Uri, Uri];
  assert.equal(decodeEntryUri(left).side, "before");
  assert.equal(decodeEntryUri(right).patch, undefined);
});

test("Accept asks the daemon, then the run's lenses, tree and documents refresh", async () => {
  const { daemon, review, runsChanged, fired } = setup([patch("1:2:1", 2)]);
  await review.decide({ runDir, row: 2, column: "key", patchId: "1:2:1" }, true);
  assert.ok(daemon.requests.some((r) => r.method === "experience/acceptPatch" && r.params.patchId === "1:2:1"));
  assert.deepEqual(runsChanged, [runDir]);
  assert.deepEqual(fired, [runDir]);
  assert.deepEqual(await review.provideCodeLenses(doc(2)), [], "the cache was dropped: no pending change left");
});

test("with several pending patches and none named, the user picks one", async () => {
  const { daemon, review } = setup([patch("1:2:1", 2), patch("2:2:1", 2)]);
  mock.quickPicks.push((items) => items[1]);
  await review.decide({ runDir, row: 2, column: "key" }, true);
  assert.equal(daemon.requests.find((r) => r.method === "experience/acceptPatch")?.params.patchId, "2:2:1");
});

/** A text editor showing `text` in `viewColumn`, recording the decorations it is given. */
function editor(uri: Uri, text: string, viewColumn: number) {
  const lines = text.split("\n");
  const set: Array<{ type: unknown; options: Array<{ renderOptions?: { after?: { contentText?: string } } }> }> = [];
  return {
    set,
    document: {
      uri,
      getText: () => text,
      lineCount: lines.length,
      lineAt: (i: number) => ({ range: new Range(i, 0, i, lines[i].length) }),
    },
    viewColumn,
    setDecorations: (type: unknown, options: never[]) => set.push({ type, options }),
  };
}

test("decorations come from the daemon's preview, in plain editors only: never in a diff editor's sides", async () => {
  const { review, daemon } = setup([patch("1:2:1", 2)]);
  const entry = entryUri({ runDir, row: 2, column: "key" }, "key.py") as unknown as Uri;
  const view = entryUri({ runDir, row: 2, column: "key", patch: "1:2:1", step: 1, side: "after" }, "key.py") as unknown as Uri;
  const plain = editor(entry, "def f():\n", 1);
  const left = editor(entry, "def f():\n", 2);
  window.visibleTextEditors = [plain, left];
  window.tabGroups.all = [
    { viewColumn: 1, activeTab: { input: new TabInputText(entry) } },
    { viewColumn: 2, activeTab: { input: new TabInputTextDiff(entry, view) } },
  ];
  await review.decorate();
  const texts = plain.set.flatMap((d) => d.options.map((o) => o.renderOptions?.after?.contentText)).filter(Boolean);
  assert.deepEqual(texts, ["+     return 1"], "the line the daemon's preview adds");
  assert.ok(daemon.requests.some((r) => r.method === "experience/previewPatch" && r.params.patchId === "1:2:1"));
  assert.ok(left.set.length > 0 && left.set.every((d) => d.options.length === 0), "the diff editor's side is cleared, not marked");
});

test("a preview that Accept would refuse is reported once", async () => {
  const { review } = setup([]);
  const conflict = { ...patch("1:2:1", 2), state: "staged" as const };
  const preview = {
    patch: conflict,
    text: "kept\n",
    version: 1,
    outcome: "rejected" as const,
    rejectedHunks: ["@@"],
    conflict: "no longer applies",
  };
  review.previewed(preview);
  review.previewed(preview);
  assert.deepEqual(
    mock.messages.map((m) => m.text),
    ["Pending change 1:2:1 cannot be accepted: no longer applies"],
  );
});

test("a decoration pass overtaken by a later one (the diff opened meanwhile) sets nothing: the diff side stays clean", async () => {
  const { review, daemon } = setup([patch("1:2:1", 2)]);
  daemon.on("experience/previewPatch", async (p) => {
    await new Promise((r) => setTimeout(r, 20)); // the daemon answers slowly
    return {
      patch: patch(p.patchId, 2),
      text: "def f():\n    return 1\n",
      version: 3,
      outcome: "applied",
      rejectedHunks: [],
      conflict: null,
    };
  });
  const entry = entryUri({ runDir, row: 2, column: "key" }, "key.py") as unknown as Uri;
  const view = entryUri({ runDir, row: 2, column: "key", patch: "1:2:1", step: 1, side: "after" }, "key.py") as unknown as Uri;
  const side = editor(entry, "def f():\n", 1);
  window.visibleTextEditors = [side];
  window.tabGroups.all = [{ viewColumn: 1, activeTab: { input: new TabInputText(entry) } }];
  const early = review.decorate(); // started while the entry was a plain editor
  window.tabGroups.all = [{ viewColumn: 1, activeTab: { input: new TabInputTextDiff(entry, view) } }];
  await Promise.all([early, review.decorate()]);
  assert.ok(side.set.length > 0 && side.set.every((d) => d.options.length === 0), "no marks on the diff's side");
});
