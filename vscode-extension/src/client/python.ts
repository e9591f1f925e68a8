/** The Python side of start-up: the interpreter (setting -> Python extension -> python3) and its check. */
import { execFile } from "node:child_process";
import os from "node:os";
import * as vscode from "vscode";

import { checkProbe, parseProbe, PROBE_SCRIPT, type Check } from "../common/environment";
import { findInterpreter, type Interpreter } from "../common/interpreter";
import { PROTOCOL_VERSION } from "../common/protocol";

interface PythonEnvironmentsApi {
  getActiveEnvironmentPath?(resource?: vscode.Uri): { path: string } | undefined;
  resolveEnvironment?(env: { path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
}

interface PythonExtensionApi {
  environments?: PythonEnvironmentsApi;
  settings?: { getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } };
}

const PYTHON_EXTENSION = "ms-python.python";

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION);
  if (!extension) {
    return undefined;
  }
  return extension.isActive ? extension.exports : await extension.activate();
}

/** The Python extension's active interpreter for the first workspace folder, if it has one. */
export async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const api = await pythonApi();
  if (!api) {
    return undefined;
  }
  const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
  const active = api.environments?.getActiveEnvironmentPath?.(resource);
  if (active) {
    const resolved = await api.environments?.resolveEnvironment?.(active);
    return resolved?.executable?.uri?.fsPath ?? active.path;
  }
  return api.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
}

/** Fires when the Python extension's interpreter changes (nothing when it is not installed). */
export async function onPythonInterpreterChange(listener: () => void): Promise<vscode.Disposable | undefined> {
  try {
    const api = await pythonApi();
    return api?.environments?.onDidChangeActiveEnvironmentPath?.(listener);
  } catch {
    return undefined;
  }
}

/** The interpreter to use, looked up in the fixed order and logged. */
export function resolveInterpreter(log: vscode.LogOutputChannel): Promise<Interpreter> {
  return findInterpreter(
    {
      setting: () => vscode.workspace.getConfiguration("experience").get<string>("pythonPath"),
      pythonExtension: pythonExtensionInterpreter,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      home: os.homedir(),
    },
    (line) => log.info(line),
  );
}

/** Run the probe in the interpreter: is `experience` importable, new enough, same protocol? */
export function checkInterpreter(interpreter: Interpreter, env: NodeJS.ProcessEnv): Promise<Check> {
  return new Promise((resolve) => {
    execFile(interpreter.command, ["-c", PROBE_SCRIPT], { env, timeout: 120_000 }, (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        resolve(checkProbe(interpreter, { spawnError: "no such file or command" }, PROTOCOL_VERSION));
      } else if (error && !stdout) {
        resolve(checkProbe(interpreter, { spawnError: error.message }, PROTOCOL_VERSION));
      } else {
        resolve(checkProbe(interpreter, parseProbe(stdout), PROTOCOL_VERSION));
      }
    });
  });
}
