import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

import { checkProbe, compareVersions, MIN_EXPERIENCE_VERSION, parseProbe, PROBE_SCRIPT } from "../common/environment";
import type { Interpreter } from "../common/interpreter";

const py: Interpreter = { command: "/opt/my python/bin/python", source: "setting" };

test("versions compare numerically, not as text", () => {
  assert.equal(compareVersions("0.10.0", "0.9.1"), 1);
  assert.equal(compareVersions("0.1.0", "0.1"), 0);
  assert.equal(compareVersions("3.10.4", "3.11"), -1);
  assert.equal(compareVersions("1.0.0rc1", "1.0.0"), 0);
});

test("a missing interpreter says so and how to fix it", () => {
  const check = checkProbe(py, { spawnError: "no such file or command" }, 1);
  assert.equal(check.ok, false);
  assert.ok(!check.ok && check.problem.includes("could not be started") && check.fix.includes("experience.pythonPath"));
});

test("experience not importable: the fix names pip for that exact interpreter, quoted", () => {
  const check = checkProbe(py, { python: "3.11.7", error: "ModuleNotFoundError: No module named 'experience_daemon'" }, 1);
  assert.ok(!check.ok);
  assert.ok(!check.ok && check.problem.includes("No module named"));
  assert.ok(!check.ok && check.fix.includes('"/opt/my python/bin/python" -m pip install -U experience'));
});

test("too old: experience below the minimum, or Python below 3.11", () => {
  const old = checkProbe(py, { python: "3.11.7", experience: "0.0.9", protocol: 1 }, 1);
  assert.ok(!old.ok && old.problem.includes(MIN_EXPERIENCE_VERSION));
  const oldPython = checkProbe(py, { python: "3.10.2", experience: "0.1.0", protocol: 1 }, 1);
  assert.ok(!oldPython.ok && oldPython.problem.includes("3.10.2"));
});

test("a protocol mismatch tells which side to update", () => {
  const newer = checkProbe(py, { python: "3.11.7", experience: "0.2.0", protocol: 2 }, 1);
  assert.ok(!newer.ok && newer.fix.includes("Update the Experience extension"));
  const older = checkProbe(py, { python: "3.11.7", experience: "0.1.0", protocol: 0 }, 1);
  assert.ok(!older.ok && older.fix.includes("pip install"));
});

test("a good interpreter passes", () => {
  const check = checkProbe(py, { python: "3.11.7", experience: "0.1.0", protocol: 1, executable: "/x/python" }, 1);
  assert.deepEqual(check, { ok: true, executable: "/x/python", experience: "0.1.0", python: "3.11.7" });
});

test("the probe's JSON is found after noise on stdout", () => {
  assert.deepEqual(parseProbe('sitecustomize says hi\n{"python": "3.11.7"}\n'), { python: "3.11.7" });
  assert.match(parseProbe("garbage").error ?? "", /unexpected output/);
});

test("the probe script runs in a real python3 and reports versions", (t) => {
  const run = spawnSync("python3", ["-c", PROBE_SCRIPT], { encoding: "utf8" });
  if (run.error) {
    t.skip("python3 is not on PATH");
    return;
  }
  const probe = parseProbe(run.stdout);
  assert.match(probe.python ?? "", /^3\.\d+\.\d+$/);
  assert.ok(probe.experience !== undefined || probe.error !== undefined);
});
