import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { Method, PROGRESS_METHODS, PROTOCOL_VERSION } from "../common/protocol";
import { PROTOCOL_FILE, REGENERATE, renderProtocol, type ProtocolJson } from "../common/protocolGen";
import { readProtocolJson } from "../common/protocolSource";

const extensionDir = path.resolve(__dirname, "..", "..");

test("the TypeScript copy of the protocol matches the daemon's protocol module", (t) => {
  const source = readProtocolJson(process.env.EXPERIENCE_PYTHON ?? "python3", extensionDir);
  if (source.kind === "missing") {
    t.skip(`cannot compare with the daemon's protocol: ${source.message}`);
    return;
  }
  assert.equal(source.kind, "ok", source.kind === "failed" ? source.message : "");
  if (source.kind !== "ok") {
    return;
  }
  const expected = renderProtocol(source.protocol);
  const actual = readFileSync(path.join(extensionDir, PROTOCOL_FILE), "utf8");
  assert.ok(actual === expected, `${PROTOCOL_FILE} is stale: the daemon's protocol changed. Run \`${REGENERATE}\` and review the diff.`);
});

test("the methods the extension relies on exist, and long ones report progress", () => {
  for (const name of [
    "openRun",
    "listEntries",
    "readEntry",
    "writeEntry",
    "train",
    "step",
    "cancel",
    "status",
    "evaluate",
    "patches",
    "acceptPatch",
    "rejectPatch",
    "rollback",
    "metrics",
    "entryChanged",
  ]) {
    assert.equal(Method[name as keyof typeof Method], `experience/${name}`);
  }
  assert.deepEqual([...PROGRESS_METHODS].sort(), ["experience/evaluate", "experience/step", "experience/train"]);
  assert.equal(PROTOCOL_VERSION, 1);
});

test("the generator turns schemas into interfaces, unions and optional fields", () => {
  const protocol: ProtocolJson = {
    protocolVersion: 7,
    errors: { stale: -1 },
    methods: {
      "x/get": {
        kind: "request",
        doc: "Get.",
        progress: true,
        params: {
          title: "GetParams",
          description: "What to get.",
          type: "object",
          properties: { id: { type: "integer" }, tag: { enum: ["a", "b"] } },
          required: ["id"],
        },
        result: { type: "array", items: { anyOf: [{ type: "string" }, { type: "null" }] } },
      },
      "x/told": {
        kind: "notification",
        doc: "Told.",
        progress: false,
        params: { title: "Told", type: "object", properties: { any: { type: "object" } }, required: ["any"] },
      },
    },
  };
  const ts = renderProtocol(protocol);
  assert.match(ts, /export const PROTOCOL_VERSION = 7;/);
  assert.match(ts, /\/\*\* What to get\. \*\/\nexport interface GetParams \{\n {2}id: number;\n {2}tag\?: "a" \| "b";\n\}/);
  assert.match(ts, /"x\/get": \{ params: GetParams; result: Array<string \| null> \};/);
  assert.match(ts, /"x\/told": Told;/);
  assert.match(ts, /any: Record<string, unknown>;/);
  assert.match(ts, /PROGRESS_METHODS: readonly string\[\] = \["x\/get"\]/);
});

test("two different types with one name are refused", () => {
  const a = { title: "Same", type: "object", properties: { a: { type: "string" } }, required: [] };
  const b = { title: "Same", type: "object", properties: { b: { type: "string" } }, required: [] };
  const protocol: ProtocolJson = {
    protocolVersion: 1,
    errors: {},
    methods: {
      "x/a": { kind: "request", doc: "", progress: false, params: a, result: b },
    },
  };
  assert.throws(() => renderProtocol(protocol), /two different types Same/);
});
