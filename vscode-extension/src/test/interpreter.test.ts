import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_PYTHON, expandPath, findInterpreter } from "../common/interpreter";

function sources(setting: string | undefined, fromExtension: string | undefined | Error) {
  const asked: string[] = [];
  return {
    asked,
    sources: {
      setting: () => {
        asked.push("setting");
        return setting;
      },
      pythonExtension: async () => {
        asked.push("extension");
        if (fromExtension instanceof Error) {
          throw fromExtension;
        }
        return fromExtension;
      },
      workspaceFolder: "/ws/my project",
      home: "/home/ana",
    },
  };
}

test("the setting wins and the Python extension is not even asked", async () => {
  const { asked, sources: s } = sources("${workspaceFolder}/.venv/bin/python", "/usr/bin/python3.12");
  const log: string[] = [];
  const found = await findInterpreter(s, (l) => log.push(l));
  assert.deepEqual(found, { command: "/ws/my project/.venv/bin/python", source: "setting" });
  assert.deepEqual(asked, ["setting"]);
  assert.match(log.join("\n"), /experience\.pythonPath/);
});

test("without the setting, the Python extension's interpreter is used", async () => {
  const { asked, sources: s } = sources("  ", "/opt/py/bin/python");
  const log: string[] = [];
  const found = await findInterpreter(s, (l) => log.push(l));
  assert.deepEqual(found, { command: "/opt/py/bin/python", source: "python-extension" });
  assert.deepEqual(asked, ["setting", "extension"]);
  assert.equal(log.length, 2);
});

test("without either, python3 from PATH, and the log says why", async () => {
  const { sources: s } = sources(undefined, undefined);
  const log: string[] = [];
  const found = await findInterpreter(s, (l) => log.push(l));
  assert.deepEqual(found, { command: DEFAULT_PYTHON, source: "default" });
  assert.match(log[log.length - 1], /python3 from PATH/);
});

test("a Python extension that throws falls through to python3 (logged, not fatal)", async () => {
  const { sources: s } = sources("", new Error("API not ready"));
  const log: string[] = [];
  const found = await findInterpreter(s, (l) => log.push(l));
  assert.equal(found.source, "default");
  assert.ok(log.some((l) => l.includes("API not ready")));
});

test("paths expand ~ and ${userHome} but leave other text alone", () => {
  assert.equal(expandPath("~/venv/bin/python", "/ws", "/home/ana"), "/home/ana/venv/bin/python");
  assert.equal(expandPath("${userHome}/py", "/ws", "/home/ana"), "/home/ana/py");
  assert.equal(expandPath("/x/~y", "/ws", "/home/ana"), "/x/~y");
});
