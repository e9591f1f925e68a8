import assert from "node:assert/strict";
import { test } from "node:test";

import { StderrLevels } from "../common/logLevels";

test("daemon log records keep their level; continuation lines follow the record", () => {
  const levels = new StderrLevels();
  const lines = [
    "2026-11-24 05:07:13,872 INFO __main__: experience-daemon 0.1.0 ready on stdio (pid 26010)",
    "2026-11-24 05:07:14,001 WARNING experience_daemon.server: slow",
    "  more detail",
    "2026-11-24 05:07:15,133 ERROR experience_daemon.server: train failed",
    '  File "x.py", line 1',
    "2026-11-24 05:07:16,000 DEBUG pygls: hello",
    "Traceback (most recent call last):",
    "ValueError: boom",
  ];
  assert.deepEqual(
    lines.map((l) => levels.of(l)),
    ["info", "warn", "warn", "error", "error", "debug", "error", "error"],
  );
});

test("stray output before any record is info", () => {
  assert.equal(new StderrLevels().of("llama_model_loader: loaded meta data"), "info");
});
