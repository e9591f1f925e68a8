/** API keys live in VS Code's SecretStorage (never in settings); the daemon gets them as environment variables. */
import * as vscode from "vscode";

import { SECRET_ENV, secretKey, type Backend } from "../common/settings";

type KeyedBackend = Exclude<Backend, "local">;
const KEYED = Object.keys(SECRET_ENV) as KeyedBackend[];

/** Environment variables for the daemon: each stored key under the name its backend reads. */
export async function secretEnv(secrets: vscode.SecretStorage): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const backend of KEYED) {
    const value = await secrets.get(secretKey(backend));
    if (value) {
      env[SECRET_ENV[backend]] = value;
    }
  }
  return env;
}

/** `Experience: Set API Key`: store (or, left empty, delete) a backend's key; true if it changed. */
export async function setApiKey(secrets: vscode.SecretStorage): Promise<boolean> {
  const pick = await vscode.window.showQuickPick(
    KEYED.map((b) => ({ label: b, description: `read as ${SECRET_ENV[b]}`, backend: b })),
    { title: "API key for which backend?" },
  );
  if (!pick) {
    return false;
  }
  const value = await vscode.window.showInputBox({
    title: `API key for ${pick.backend}`,
    prompt: "Stored in VS Code's secret storage; leave empty to delete the stored key.",
    password: true,
    ignoreFocusOut: true,
  });
  if (value === undefined) {
    return false;
  }
  if (value.trim()) {
    await secrets.store(secretKey(pick.backend), value.trim());
  } else {
    await secrets.delete(secretKey(pick.backend));
  }
  void vscode.window.showInformationMessage(`API key for ${pick.backend} ${value.trim() ? "stored" : "deleted"}.`);
  return true;
}
