import assert from "node:assert/strict";
import { test } from "node:test";

import { baseName, decodeEntryUri, defaultFileName, encodeEntryUri, entryKey } from "../common/entryUri";
import { Uri } from "./mock/vscode";

const runDir = "/home/ana/my runs/exp é 1";

test("the path keeps the real file name (language mode) and the params ride in the query", () => {
  const parts = encodeEntryUri({ runDir, row: 2, column: "key" }, "key.py");
  assert.equal(parts.scheme, "experience");
  assert.equal(parts.path, "/exp é 1/0002/key.py");
  assert.deepEqual(JSON.parse(parts.query), { runDir, row: 2, column: "key" });
});

test("round trip through a URI string, with spaces and non-ASCII characters", () => {
  const uri = Uri.from(encodeEntryUri({ runDir, row: 17, column: "value" }, "/abs/path/value.viba"));
  const again = Uri.parse(uri.toString());
  assert.equal(again.path, "/exp é 1/0017/value.viba");
  assert.deepEqual(decodeEntryUri(again), { runDir, row: 17, column: "value" });
});

test("patch views carry patch id, step and side", () => {
  const parts = encodeEntryUri({ runDir, row: 0, column: "query", patch: "3:0:0", step: 3 }, "query.txt");
  assert.deepEqual(decodeEntryUri(parts), { runDir, row: 0, column: "query", patch: "3:0:0", step: 3, side: "after" });
  const before = encodeEntryUri({ runDir, row: 0, column: "query", patch: "3:0:0", step: 3, side: "before" }, "query.txt");
  assert.equal(decodeEntryUri(before).side, "before");
});

test("malformed queries are refused with a message", () => {
  assert.throws(() => decodeEntryUri({ path: "/x", query: "not json" }), /not JSON/);
  assert.throws(() => decodeEntryUri({ path: "/x", query: '{"runDir":"/r","row":1.5,"column":"key"}' }), /needs runDir, row and column/);
  assert.throws(() => decodeEntryUri({ path: "/x", query: '{"runDir":"/r","row":1,"column":"weights"}' }), /needs/);
});

test("entry keys tell entries apart; helpers name files", () => {
  assert.notEqual(entryKey({ runDir, row: 1, column: "key" }), entryKey({ runDir, row: 11, column: "key" }));
  assert.equal(baseName("C:\\runs\\a\\key.py"), "key.py");
  assert.equal(defaultFileName("value", "py", "viba"), "value.viba");
});
