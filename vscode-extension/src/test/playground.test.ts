import assert from "node:assert/strict";
import { test } from "node:test";

import { answerMessage, escapeHtml, parsePageMessage, playgroundHtml, rowTitle } from "../common/playground";
import type { InferAnswer } from "../common/protocol";
import { Playground } from "../features/playground";
import { FakeDaemon } from "./fakeDaemon";
import { mock } from "./mock/vscode";

const answer: InferAnswer = {
  answer: "add_one :=\n  <- $a + 1\n",
  step: 4,
  usage: { calls: 1, cache_hits: 0 },
  rows: [
    {
      row: 3,
      query: ["add", "int"],
      key: "def add(a):",
      value: "add :=",
      trust: 0.85,
      keyPath: "/r/experience/0003/key.py",
      valuePath: "/r/experience/0003/value.viba",
    },
  ],
};

function panel() {
  const posted: unknown[] = [];
  return { posted, webview: { postMessage: async (m: unknown) => (posted.push(m), true) } };
}

test("the page escapes the run name and allows only its nonce'd script", () => {
  const html = playgroundHtml('<run "x">', "abc123", "vscode-webview:");
  assert.ok(html.includes("Try &lt;run &quot;x&quot;&gt;") && !html.includes('<run "x">'));
  assert.match(html, /script-src 'nonce-abc123'/);
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.equal(escapeHtml(`a&b'`), "a&amp;b&#39;");
});

test("an answer shows its text, step, calls and each row with trust and keywords", () => {
  const message = answerMessage(answer);
  assert.equal(message.answer, answer.answer);
  assert.equal(message.summary, "step 4 · 1 experience row · 1 LLM call");
  assert.deepEqual(
    message.rows.map((r) => r.title),
    ["row 3 · trust 0.85 · add, int"],
  );
  assert.equal(rowTitle({ ...answer.rows[0], query: [] }), "row 3 · trust 0.85");
  assert.match(
    answerMessage({ ...answer, rows: [], usage: { calls: 0, cache_hits: 1 } }).summary,
    /no experience row \(zero-shot\) · 0 LLM calls, 1 cached/,
  );
});

test("only well-formed page messages are acted on", () => {
  assert.deepEqual(parsePageMessage({ type: "ask", input: "x" }), { type: "ask", input: "x" });
  assert.deepEqual(parsePageMessage({ type: "openRow", row: 2 }), { type: "openRow", row: 2 });
  for (const bad of [
    null,
    "ask",
    { type: "ask" },
    { type: "openRow", row: -1 },
    { type: "openRow", row: "2" },
    { type: "run", cmd: "rm" },
  ]) {
    assert.equal(parsePageMessage(bad), undefined);
  }
});

test("asking sends experience/infer for the run; a row link opens that entry; errors are shown on the page", async () => {
  mock.reset();
  const daemon = new FakeDaemon().on("experience/infer", (p) => ({ runDir: p.runDir, answers: p.inputs.map(() => answer) }));
  const playground = new Playground(daemon as never, async () => "/r");
  const page = panel();
  await playground.handle("/r", page, { type: "ask", input: "def add_one(a):\n    return a + 1\n" });
  assert.deepEqual(daemon.requests, [
    { method: "experience/infer", params: { runDir: "/r", inputs: ["def add_one(a):\n    return a + 1\n"] } },
  ]);
  assert.equal((page.posted[0] as { answer: string }).answer, answer.answer);
  await playground.handle("/r", page, { type: "openRow", row: 3 });
  const opened = mock.executed.find((c) => c.command === "vscode.open");
  assert.ok(opened, "the row's entry is opened");
  assert.match(String(opened.args[0]), /value\.viba/);
  await playground.handle("/r", page, { type: "openRow", row: 9 }); // not a row of the last answer: nothing opens
  assert.equal(mock.executed.filter((c) => c.command === "vscode.open").length, 1);
  await playground.handle("/r", page, { type: "ask", input: "   " });
  assert.deepEqual(page.posted.at(-1), { type: "error", message: "Type or paste an input first." });
  const failing = new Playground(new FakeDaemon() as never, async () => "/r");
  await failing.handle("/r", page, { type: "ask", input: "x" });
  assert.match((page.posted.at(-1) as { message: string }).message, /^Could not answer: .*experience\/infer/);
});
