/** "Try the Model": the playground page and what it shows of an `experience/infer` answer (vscode-free). */
import type { InferAnswer, UsedRow } from "./protocol";

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

/** One retrieved row as the page lists it: its number, trust, keywords, and the files it opens. */
export interface RowView {
  row: number;
  title: string;
  key: string;
  value: string;
  valuePath: string | null;
}

/** "row 3 · trust 0.85 · add, int" (keywords shortened to five). */
export function rowTitle(row: UsedRow): string {
  const words = row.query.slice(0, 5).join(", ");
  return [`row ${row.row}`, `trust ${row.trust.toFixed(2)}`, words].filter(Boolean).join(" · ");
}

/** The message the page renders for an answer. */
export function answerMessage(answer: InferAnswer): { type: "answer"; answer: string; summary: string; rows: RowView[] } {
  const calls = answer.usage.calls ?? 0;
  const hits = answer.usage.cache_hits ?? 0;
  const used = answer.rows.length
    ? `${answer.rows.length} experience row${answer.rows.length === 1 ? "" : "s"}`
    : "no experience row (zero-shot)";
  return {
    type: "answer",
    answer: answer.answer,
    summary: `step ${answer.step} · ${used} · ${calls} LLM call${calls === 1 ? "" : "s"}${hits ? `, ${hits} cached` : ""}`,
    rows: answer.rows.map((r) => ({ row: r.row, title: rowTitle(r), key: r.key, value: r.value, valuePath: r.valuePath })),
  };
}

/** What the page may post back: an input to answer, or a row to open. */
export type PageMessage = { type: "ask"; input: string } | { type: "openRow"; row: number };

/** The page's message, or undefined for anything else (a webview's messages are untrusted input). */
export function parsePageMessage(data: unknown): PageMessage | undefined {
  if (typeof data !== "object" || data === null) {
    return undefined;
  }
  const m = data as Record<string, unknown>;
  if (m.type === "ask" && typeof m.input === "string") {
    return { type: "ask", input: m.input };
  }
  if (m.type === "openRow" && Number.isInteger(m.row) && (m.row as number) >= 0) {
    return { type: "openRow", row: m.row as number };
  }
  return undefined;
}

/** The page: an input box, Answer, the answer and the rows it used (each opens its entry); strict CSP. */
export function playgroundHtml(runName: string, nonce: string, cspSource: string): string {
  const name = escapeHtml(runName);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource}; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style>body{color:var(--vscode-foreground);font-family:var(--vscode-font-family);padding:12px}
textarea,pre{width:100%;box-sizing:border-box;font-family:var(--vscode-editor-font-family);font-size:var(--vscode-editor-font-size)}
textarea{min-height:9em;color:var(--vscode-input-foreground);background:var(--vscode-input-background);border:1px solid var(--vscode-input-border,transparent)}
pre{white-space:pre-wrap;background:var(--vscode-textCodeBlock-background);padding:8px}
button{color:var(--vscode-button-foreground);background:var(--vscode-button-background);border:none;padding:4px 12px;margin:6px 0}
#summary,#status{opacity:.8} .row{margin-top:10px} a{color:var(--vscode-textLink-foreground);cursor:pointer}</style>
<title>Try ${name}</title></head>
<body><h3>Try ${name}</h3>
<label for="input">Input (the source to answer)</label>
<textarea id="input" aria-label="input"></textarea>
<button id="ask">Answer</button> <span id="status" role="status"></span>
<h4>Answer</h4><div id="summary"></div><pre id="answer" aria-label="answer"></pre>
<h4>Experience rows used</h4><div id="rows"></div>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
const $ = (id) => document.getElementById(id);
function ask() { $("status").textContent = "answering…"; $("ask").disabled = true; vscode.postMessage({ type: "ask", input: $("input").value }); }
$("ask").addEventListener("click", ask);
$("input").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) ask(); });
window.addEventListener("message", (event) => {
  const m = event.data;
  $("ask").disabled = false;
  if (m.type === "error") { $("status").textContent = m.message; return; }
  $("status").textContent = "";
  $("summary").textContent = m.summary;
  $("answer").textContent = m.answer;
  const rows = $("rows");
  rows.replaceChildren();
  for (const r of m.rows) {
    const box = document.createElement("div"); box.className = "row";
    const link = document.createElement("a"); link.textContent = r.title; link.title = "open this entry";
    link.addEventListener("click", () => vscode.postMessage({ type: "openRow", row: r.row }));
    const key = document.createElement("pre"); key.textContent = r.key;
    const value = document.createElement("pre"); value.textContent = r.value;
    box.append(link, key, value); rows.append(box);
  }
});
</script></body></html>`;
}
