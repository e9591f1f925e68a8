import assert from "node:assert/strict";
import { test } from "node:test";

import { addedPreview, diffStats, pendingMarks, pendingTitle } from "../common/pending";

// A gradient exactly as the daemon stages it (patches/000001.json of a real run).
const STAGED = "--- a/element\n+++ b/element\n@@ -0,0 +1,2 @@\n+factorial\n+math\n\\ No newline at end of file\n";
const FILE = ["def f(x):", "    y = x + 1", "    return y", ""].join("\n");
const EDIT = "--- a/element\n+++ b/element\n@@ -1,3 +1,3 @@\n def f(x):\n-    y = x + 1\n+    y = x + 2\n     return y\n";

test("diff stats count the hunks' added and removed lines, not the file headers", () => {
  assert.deepEqual(diffStats(EDIT), { added: 1, removed: 1 });
  assert.deepEqual(diffStats(STAGED), { added: 2, removed: 0 });
  assert.deepEqual(diffStats(""), { added: 0, removed: 0 });
});

test("pending marks: removed lines and where added lines go, from the entry and the daemon's preview", () => {
  assert.deepEqual(pendingMarks(FILE, FILE.replace("x + 1", "x + 2")), {
    removed: [1],
    added: [{ afterLine: 1, lines: ["    y = x + 2"] }],
  });
  assert.deepEqual(pendingMarks("", "factorial\nmath"), { removed: [], added: [{ afterLine: -1, lines: ["factorial", "math"] }] });
  assert.deepEqual(pendingMarks("keep\ngone\nkeep too\n", "keep\nkeep too\nnew\n"), {
    removed: [1],
    added: [{ afterLine: 2, lines: ["new"] }],
  });
  assert.deepEqual(pendingMarks(FILE, FILE), { removed: [], added: [] }, "no change, no marks");
});

test("lens title and added-line preview", () => {
  assert.equal(pendingTitle(1), "1 pending change");
  assert.equal(pendingTitle(3), "3 pending changes");
  assert.equal(addedPreview(["a", "b"]), "+ a ⏎ b");
  assert.equal(addedPreview(["x".repeat(100)], 10).length, 12);
});
