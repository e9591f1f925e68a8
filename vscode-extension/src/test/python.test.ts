import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { checkInterpreter, resolveInterpreter } from "../client/python";
import { mock, Uri } from "./mock/vscode";

const log = () => {
  const lines: string[] = [];
  return { lines, channel: { info: (l: string) => lines.push(l) } as never };
};

beforeEach(() => mock.reset());

test("the setting is used first", async () => {
  mock.config = { "experience.pythonPath": "/venv/bin/python" };
  mock.extensions["ms-python.python"] = {
    isActive: true,
    exports: { environments: { getActiveEnvironmentPath: () => ({ path: "/other" }) } },
  };
  const { channel } = log();
  assert.deepEqual(await resolveInterpreter(channel), { command: "/venv/bin/python", source: "setting" });
});

test("then the Python extension's active environment, resolved to its executable", async () => {
  mock.workspaceFolders = [{ uri: Uri.file("/ws") }];
  let asked: unknown;
  mock.extensions["ms-python.python"] = {
    isActive: false,
    activate: async () => ({
      environments: {
        getActiveEnvironmentPath: (resource: unknown) => {
          asked = resource;
          return { path: "/envs/a" };
        },
        resolveEnvironment: async () => ({ executable: { uri: Uri.file("/envs/a/bin/python") } }),
      },
    }),
  };
  const { channel, lines } = log();
  assert.deepEqual(await resolveInterpreter(channel), { command: "/envs/a/bin/python", source: "python-extension" });
  assert.equal((asked as Uri).path, "/ws");
  assert.ok(lines.some((l) => l.includes("Python extension's active interpreter")));
});

test("an older Python extension API (settings.getExecutionDetails) works too", async () => {
  mock.extensions["ms-python.python"] = {
    isActive: true,
    exports: { settings: { getExecutionDetails: () => ({ execCommand: ["/usr/bin/python3.11"] }) } },
  };
  const { channel } = log();
  assert.equal((await resolveInterpreter(channel)).command, "/usr/bin/python3.11");
});

test("no setting and no Python extension: python3", async () => {
  const { channel } = log();
  assert.deepEqual(await resolveInterpreter(channel), { command: "python3", source: "default" });
});

test("a missing interpreter is reported as such by the real check", async () => {
  const check = await checkInterpreter({ command: "/nonexistent/python-xyz", source: "setting" }, process.env);
  assert.equal(check.ok, false);
  assert.ok(!check.ok && check.problem.includes("could not be started"));
});
