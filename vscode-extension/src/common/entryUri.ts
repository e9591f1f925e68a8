/** `experience:` URIs: the path keeps the real file name (language mode), parameters are JSON in the query.
 *
 *   experience:/<run folder>/<row, 4 digits>/key.py?{"runDir":"/abs/run","row":2,"column":"key"}
 *
 * A patch view adds "patch" (its id), "step" and "side" ("after": entry + staged patch;
 * "before": entry - applied patch). Content is a pure function of the URI and the entry's version.
 */

export const SCHEME = "experience";
export const COLUMNS = ["query", "key", "value"] as const;
export type Column = (typeof COLUMNS)[number];

export interface EntryRef {
  runDir: string;
  row: number;
  column: Column;
}

export interface EntryUriParams extends EntryRef {
  patch?: string;
  step?: number;
  side?: "before" | "after";
}

/** The parts of a URI (vscode.Uri.from accepts them). */
export interface UriParts {
  scheme: string;
  path: string;
  query: string;
}

/** Last path component of a POSIX or Windows path. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]+/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

/** File name of a column when the daemon did not say (query.txt, key.<ext>, value.<ext>). */
export function defaultFileName(column: Column, sourceExt = "txt", targetExt = "txt"): string {
  return column === "query" ? "query.txt" : column === "key" ? `key.${sourceExt}` : `value.${targetExt}`;
}

/** Build the URI parts of an entry (or of a patch view of it). */
export function encodeEntryUri(params: EntryUriParams, fileName: string): UriParts {
  const row = String(params.row).padStart(4, "0");
  const query: Record<string, unknown> = { runDir: params.runDir, row: params.row, column: params.column };
  if (params.patch !== undefined) {
    query.patch = params.patch;
    query.step = params.step;
    query.side = params.side ?? "after";
  }
  return { scheme: SCHEME, path: `/${baseName(params.runDir)}/${row}/${baseName(fileName)}`, query: JSON.stringify(query) };
}

/** Parse an `experience:` URI's query; throws an Error naming the problem. */
export function decodeEntryUri(parts: { path: string; query: string }): EntryUriParams {
  let raw: unknown;
  try {
    raw = JSON.parse(parts.query);
  } catch {
    throw new Error(`not an Experience entry URI (its query is not JSON): ${parts.path}?${parts.query}`);
  }
  const q = raw as Record<string, unknown>;
  if (typeof q.runDir !== "string" || !Number.isInteger(q.row) || !COLUMNS.includes(q.column as Column)) {
    throw new Error(`not an Experience entry URI (needs runDir, row and column): ${parts.query}`);
  }
  const out: EntryUriParams = { runDir: q.runDir, row: q.row as number, column: q.column as Column };
  if (typeof q.patch === "string") {
    out.patch = q.patch;
    out.step = typeof q.step === "number" ? q.step : undefined;
    out.side = q.side === "before" ? "before" : "after";
  }
  return out;
}

/** Identity of an entry (one key per run, row and column; patch views share their entry's key). */
export function entryKey(ref: EntryRef): string {
  return `${ref.runDir}\u0000${ref.row}\u0000${ref.column}`;
}

/** True when two refs name the same entry. */
export function sameEntry(a: EntryRef, b: EntryRef): boolean {
  return a.runDir === b.runDir && a.row === b.row && a.column === b.column;
}
