/** Which Python runs the daemon: setting -> Python extension's active interpreter -> `python3`. */

export type InterpreterSource = "setting" | "python-extension" | "default";

export interface Interpreter {
  /** Executable (absolute path or a command looked up on PATH). */
  command: string;
  source: InterpreterSource;
}

export interface InterpreterSources {
  /** `experience.pythonPath` (empty or undefined: not set). */
  setting(): string | undefined;
  /** The Python extension's active interpreter; undefined when it is absent or has none. */
  pythonExtension(): Promise<string | undefined>;
  /** Workspace folder for `${workspaceFolder}` in the setting. */
  workspaceFolder?: string;
  /** The user's home for `~` in the setting. */
  home?: string;
}

export const DEFAULT_PYTHON = "python3";

/** Expand `${workspaceFolder}`, `${userHome}` and a leading `~` in a configured path. */
export function expandPath(value: string, workspaceFolder?: string, home?: string): string {
  let out = value.trim();
  if (workspaceFolder !== undefined) {
    out = out.split("${workspaceFolder}").join(workspaceFolder);
  }
  if (home !== undefined) {
    out = out.split("${userHome}").join(home);
    if (out === "~" || out.startsWith("~/")) {
      out = home + out.slice(1);
    }
  }
  return out;
}

/** Look the interpreter up in the fixed order, logging each step (the log says why one was chosen). */
export async function findInterpreter(sources: InterpreterSources, log: (line: string) => void): Promise<Interpreter> {
  const configured = sources.setting();
  if (configured && configured.trim()) {
    const command = expandPath(configured, sources.workspaceFolder, sources.home);
    log(`Python: ${command} (from the setting experience.pythonPath)`);
    return { command, source: "setting" };
  }
  log("Python: experience.pythonPath is not set; asking the Python extension");
  let fromExtension: string | undefined;
  try {
    fromExtension = await sources.pythonExtension();
  } catch (error) {
    log(`Python: the Python extension did not answer (${String(error)})`);
  }
  if (fromExtension && fromExtension.trim()) {
    log(`Python: ${fromExtension} (the Python extension's active interpreter)`);
    return { command: fromExtension.trim(), source: "python-extension" };
  }
  log(`Python: no interpreter from the Python extension; using ${DEFAULT_PYTHON} from PATH`);
  return { command: DEFAULT_PYTHON, source: "default" };
}
