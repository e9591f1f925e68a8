import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

import { checkoutPythonPath } from "../common/protocolSource";
import { addedPreview, applyPatch, diffStats, parseUnifiedDiff, PatchError, pendingMarks, pendingTitle } from "../common/patch";

// A gradient exactly as the daemon stages it (patches/000001.json of a real run).
const STAGED = "--- a/element\n+++ b/element\n@@ -0,0 +1,2 @@\n+factorial\n+math\n\\ No newline at end of file\n";
const FILE = ["def f(x):", "    y = x + 1", "    return y", ""].join("\n");
const EDIT = "--- a/element\n+++ b/element\n@@ -1,3 +1,3 @@\n def f(x):\n-    y = x + 1\n+    y = x + 2\n     return y\n";

test("a staged patch on an empty entry gives its text, without a final newline", () => {
  assert.equal(applyPatch("", STAGED).text, "factorial\nmath");
});

test("forward then reverse gets the original back", () => {
  const patched = applyPatch(FILE, EDIT).text;
  assert.equal(patched, FILE.replace("x + 1", "x + 2"));
  assert.equal(applyPatch(patched, EDIT, { reverse: true }).text, FILE);
});

test("a hunk still applies when the text moved (offset) or its context changed at the edges (fuzz)", () => {
  const moved = `# header\n# more\n${FILE}`;
  assert.equal(applyPatch(moved, EDIT).text, moved.replace("x + 1", "x + 2"));
  const edgeChanged = FILE.replace("def f(x):", "def f(x, z):");
  const { text, placements } = applyPatch(edgeChanged, EDIT);
  assert.equal(text, edgeChanged.replace("x + 1", "x + 2"));
  assert.equal(placements[0].fuzz, 1);
});

test("a hunk that finds no place is refused, not half-applied", () => {
  assert.throws(() => applyPatch("something else entirely\n", EDIT), PatchError);
});

test("parse reads headers, counts and no-newline markers", () => {
  const [hunk] = parseUnifiedDiff(STAGED);
  assert.deepEqual([hunk.oldStart, hunk.oldLines, hunk.newStart, hunk.newLines], [0, 0, 1, 2]);
  assert.equal(hunk.lines[1].noNewline, true);
  assert.deepEqual(diffStats(EDIT), { added: 1, removed: 1 });
});

test("pending marks: removed lines and where added lines go, in the current text", () => {
  assert.deepEqual(pendingMarks(FILE, EDIT), { removed: [1], added: [{ afterLine: 1, lines: ["    y = x + 2"] }] });
  assert.deepEqual(pendingMarks("", STAGED), { removed: [], added: [{ afterLine: -1, lines: ["factorial", "math"] }] });
});

test("lens title and added-line preview", () => {
  assert.equal(pendingTitle(1), "1 pending change");
  assert.equal(pendingTitle(3), "3 pending changes");
  assert.equal(addedPreview(["a", "b"]), "+ a ⏎ b");
  assert.equal(addedPreview(["x".repeat(100)], 10).length, 12);
});

const CASES = [
  ["", "one\ntwo\n"],
  ["", "no newline"],
  ["keep\n", ""],
  ["a\nb\nc\n", "a\nB\nc\n"],
  ["a\nb", "a\nb\n"],
  ["a\nb\n", "a\nb"],
  [
    Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n") + "\n",
    Array.from({ length: 30 }, (_, i) => (i === 2 || i === 25 ? `changed ${i}` : `line ${i}`)).join("\n") + "\n",
  ],
  ["Grüße\n<- $n int\n", "Grüße, 世界\n<- $n int\n-> int\n"],
];

test("diffs made by the Python core apply exactly here, forward and reverse", (t) => {
  const script = [
    "import json, sys",
    "from experience.text.diff import unified_diff",
    "cases = json.load(sys.stdin)",
    "print(json.dumps([unified_diff(a, b) for a, b in cases]))",
  ].join("\n");
  const root = path.resolve(__dirname, "..", "..");
  const env = { ...process.env, PYTHONPATH: checkoutPythonPath(root, process.env.PYTHONPATH), PYTHONUTF8: "1" };
  const run = spawnSync("python3", ["-c", script], { input: JSON.stringify(CASES), encoding: "utf8", env });
  if (run.error || (run.status !== 0 && /No module named 'experience/.test(run.stderr))) {
    t.skip(`the Python core is not importable here (${run.error?.message ?? run.stderr.trim()})`);
    return;
  }
  assert.equal(run.status, 0, run.stderr);
  const diffs = JSON.parse(run.stdout) as Array<string | null>;
  CASES.forEach(([before, after], i) => {
    const diff = diffs[i];
    assert.ok(diff, `case ${i} has a diff`);
    assert.equal(applyPatch(before, diff).text, after, `case ${i} forward`);
    assert.equal(applyPatch(after, diff, { reverse: true }).text, before, `case ${i} reverse`);
  });
});
