/** Failed requests: the message the user sees and the JSON-RPC error code (vscode-free, for tests). */

/** Message of a failed request (a JSON-RPC error's message, else the error's text). */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : String(error);
}

/** Whether a request failed because it was cancelled (the daemon's RequestCancelled, or the client's own). */
export function isCancelled(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return errorCode(error) === -32800 || name === "Canceled" || name === "CancellationError";
}

/** JSON-RPC error code of a failed request (undefined for other failures, e.g. 'ENOENT'). */
export function errorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}
