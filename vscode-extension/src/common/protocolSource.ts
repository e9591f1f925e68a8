/** Reads the daemon's protocol from Python (`python -m experience_daemon.protocol --json`). */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

import type { ProtocolJson } from "./protocolGen";

export type ProtocolSource =
  { kind: "ok"; protocol: ProtocolJson } | { kind: "missing"; message: string } | { kind: "failed"; message: string };

/** PYTHONPATH that lets a checkout's `core/` and `daemon/` import without installing them. */
export function checkoutPythonPath(extensionDir: string, existing = ""): string {
  const root = path.resolve(extensionDir, "..");
  const dirs = ["core", "daemon"].map((d) => path.join(root, d)).filter((d) => existsSync(d));
  return [...dirs, ...(existing ? [existing] : [])].join(path.delimiter);
}

/** Run the protocol dump; "missing" when the module does not exist (nothing to compare). */
export function readProtocolJson(python: string, extensionDir: string): ProtocolSource {
  const env = {
    ...process.env,
    PYTHONPATH: checkoutPythonPath(extensionDir, process.env.PYTHONPATH),
    PYTHONUTF8: "1",
  };
  const run = spawnSync(python, ["-m", "experience_daemon.protocol", "--json"], { env, encoding: "utf8" });
  if (run.error) {
    return { kind: "missing", message: `cannot run ${python}: ${run.error.message}` };
  }
  if (run.status !== 0) {
    if (/No module named '?experience_daemon(\.protocol)?'?/.test(run.stderr)) {
      return { kind: "missing", message: `${python} has no experience_daemon.protocol module` };
    }
    return { kind: "failed", message: `${python} -m experience_daemon.protocol --json failed:\n${run.stderr}` };
  }
  return { kind: "ok", protocol: JSON.parse(run.stdout) as ProtocolJson };
}
