/** Checks that the chosen Python can run the daemon: `experience` importable, new enough, same protocol. */

import type { Interpreter } from "./interpreter";

export const MIN_EXPERIENCE_VERSION = "0.1.0";
export const MIN_PYTHON_VERSION = "3.11";

/** Prints one JSON line: Python version, experience version, protocol version (or the import error). */
export const PROBE_SCRIPT = [
  "import json, sys",
  "out = {'python': '%d.%d.%d' % sys.version_info[:3], 'executable': sys.executable}",
  "try:",
  "    from importlib import metadata",
  "    import experience_daemon.protocol as p",
  "    out['protocol'] = p.PROTOCOL_VERSION",
  "    try:",
  "        out['experience'] = metadata.version('experience')",
  "    except metadata.PackageNotFoundError:",
  "        import experience",
  "        out['experience'] = getattr(experience, '__version__', '0')",
  "except Exception as e:",
  "    out['error'] = '%s: %s' % (type(e).__name__, e)",
  "print(json.dumps(out))",
].join("\n");

export interface Probe {
  python?: string;
  executable?: string;
  experience?: string;
  protocol?: number;
  error?: string;
}

export type Check = { ok: true; executable: string; experience: string; python: string } | { ok: false; problem: string; fix: string };

/** Compare dotted versions numerically ("0.10.0" > "0.9.1"); pre-release tails are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.+-]/).map((p) => Number.parseInt(p, 10));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.isNaN(pa[i]) ? 0 : (pa[i] ?? 0);
    const y = Number.isNaN(pb[i]) ? 0 : (pb[i] ?? 0);
    if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

function quote(command: string): string {
  return /[\s"'$]/.test(command) ? `"${command.replace(/(["\\$`])/g, "\\$1")}"` : command;
}

/** The fix for a missing or old package: pip into that interpreter, or pick another one. */
export function installFix(interpreter: Interpreter): string {
  const py = quote(interpreter.command);
  return (
    `Run \`${py} -m pip install -U experience\` (from a checkout of Experience: \`${py} -m pip install -e .\`), ` +
    "or point the setting experience.pythonPath at a Python that has it, then run 'Experience: Restart Daemon'."
  );
}

/** Judge the probe's answer (or the failure to run it). */
export function checkProbe(interpreter: Interpreter, probe: Probe | { spawnError: string }, protocolVersion: number): Check {
  const where = `${interpreter.command} (${interpreter.source === "setting" ? "experience.pythonPath" : interpreter.source === "python-extension" ? "the Python extension's interpreter" : "python3 on PATH"})`;
  if ("spawnError" in probe) {
    return {
      ok: false,
      problem: `Python ${where} could not be started: ${probe.spawnError}.`,
      fix: "Install Python 3.11 or newer, or set experience.pythonPath to a Python interpreter.",
    };
  }
  if (probe.python && compareVersions(probe.python, MIN_PYTHON_VERSION) < 0) {
    return {
      ok: false,
      problem: `Python ${where} is ${probe.python}; Experience needs ${MIN_PYTHON_VERSION} or newer.`,
      fix: "Set experience.pythonPath to a Python 3.11+ interpreter.",
    };
  }
  if (probe.error || probe.experience === undefined) {
    return {
      ok: false,
      problem: `The Experience package cannot be imported by ${where}: ${probe.error ?? "not installed"}.`,
      fix: installFix(interpreter),
    };
  }
  if (compareVersions(probe.experience, MIN_EXPERIENCE_VERSION) < 0) {
    return {
      ok: false,
      problem: `${where} has experience ${probe.experience}; this extension needs ${MIN_EXPERIENCE_VERSION} or newer.`,
      fix: installFix(interpreter),
    };
  }
  if (probe.protocol !== protocolVersion) {
    const newer = (probe.protocol ?? 0) > protocolVersion;
    return {
      ok: false,
      problem: `The daemon in ${where} speaks protocol ${probe.protocol}; this extension speaks ${protocolVersion}.`,
      fix: newer ? "Update the Experience extension." : installFix(interpreter),
    };
  }
  return {
    ok: true,
    executable: probe.executable ?? interpreter.command,
    experience: probe.experience,
    python: probe.python ?? "?",
  };
}

/** Parse the probe's stdout (the last JSON line; a noisy sitecustomize may print before it). */
export function parseProbe(stdout: string): Probe {
  const lines = stdout.trim().split(/\r?\n/).reverse();
  for (const line of lines) {
    if (line.startsWith("{")) {
      try {
        return JSON.parse(line) as Probe;
      } catch {
        continue;
      }
    }
  }
  return { error: `unexpected output from the probe: ${stdout.slice(0, 200) || "(nothing)"}` };
}
