import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { entryUri, EntryFileSystem, textHash } from "../features/entries";
import { ErrorCode, type PatchInfo } from "../common/protocol";
import { FakeDaemon, rpcError } from "./fakeDaemon";
import { FilePermission, FileType, mock, type Uri } from "./mock/vscode";

const runDir = "/runs/démo run";
const STAGED: PatchInfo = {
  id: "1:2:1",
  step: 1,
  row: 2,
  column: "key",
  diff: "--- a/element\n+++ b/element\n@@ -1 +1,2 @@\n def f():\n+    return 1\n",
  state: "staged",
  outcome: null,
  sample: "f",
};

/** A daemon holding one entry text with versions; writes with a stale version are refused. */
function setup() {
  const daemon = new FakeDaemon();
  const store = { text: "def f():\n", version: 7 };
  daemon.on("experience/readEntry", () => ({ ...store }));
  daemon.on("experience/writeEntry", (p) => {
    if (p.version !== store.version) {
      throw rpcError(ErrorCode.staleVersion, "entry changed since version");
    }
    store.text = p.text;
    store.version += 1;
    return { version: store.version };
  });
  daemon.on("experience/previewPatch", (p) => {
    if (p.patchId !== STAGED.id) {
      throw rpcError(ErrorCode.notFound, `no patch '${p.patchId}'`);
    }
    // the daemon's patcher is the authority: the client shows its text as it is
    const text = p.side === "before" ? "undone\n" : "def f():\n    return 1\n";
    return { patch: STAGED, text, version: store.version, outcome: "applied", rejectedHunks: [], conflict: null };
  });
  const previews: string[] = [];
  const fs = new EntryFileSystem(daemon.asDaemon(), (preview) => previews.push(preview.text));
  const changes: string[] = [];
  fs.onDidChangeFile((events) => events.forEach((e) => changes.push(e.uri.toString())));
  return { daemon, store, fs, changes, previews };
}

const key = entryUri({ runDir, row: 2, column: "key" }, "key.py") as unknown as Uri;
const patched = entryUri({ runDir, row: 2, column: "key", patch: STAGED.id, step: 1 }, "key.py") as unknown as Uri;
const bytes = (s: string) => Buffer.from(s, "utf8");

beforeEach(() => mock.reset());

test("reading an entry asks the daemon with the URI's run, row and column", async () => {
  const { daemon, fs } = setup();
  assert.equal(Buffer.from(await fs.readFile(key as never)).toString(), "def f():\n");
  assert.deepEqual(daemon.requests[0], { method: "experience/readEntry", params: { runDir, row: 2, column: "key" } });
});

test("saving writes through with the version that was read; the new text is on the daemon", async () => {
  const { daemon, store, fs, changes } = setup();
  await fs.readFile(key as never);
  await fs.writeFile(key as never, bytes("def f():\n    pass\n"));
  assert.equal(store.text, "def f():\n    pass\n");
  assert.equal(daemon.requests[1].params.version, 7);
  assert.deepEqual(changes, [key.toString()]);
});

test("a stale save is refused, reported, and the daemon's text is left alone", async () => {
  const { store, fs } = setup();
  await fs.readFile(key as never);
  store.text = "changed by training\n";
  store.version = 99;
  await assert.rejects(fs.writeFile(key as never, bytes("my edit\n")), /changed since you opened it/);
  assert.equal(store.text, "changed by training\n");
  await new Promise((r) => setImmediate(r));
  assert.ok(mock.messages.some((m) => m.level === "warning" && m.text.includes("was not saved")));
});

test("stat: the mtime moves forward when (and only when) the version changes", async () => {
  const { store, fs } = setup();
  const first = await fs.stat(key as never);
  assert.equal(first.type, FileType.File);
  assert.equal(first.size, Buffer.byteLength("def f():\n"));
  assert.equal((await fs.stat(key as never)).mtime, first.mtime);
  store.version = 8;
  assert.ok((await fs.stat(key as never)).mtime > first.mtime);
});

test("a patch view shows the daemon's preview (what Accept writes), read-only; it cannot be saved", async () => {
  const { fs, daemon, previews } = setup();
  assert.equal(Buffer.from(await fs.readFile(patched as never)).toString(), "def f():\n    return 1\n");
  assert.deepEqual(daemon.requests.at(-1), {
    method: "experience/previewPatch",
    params: { runDir, patchId: STAGED.id, side: "after" },
  });
  assert.deepEqual(previews, ["def f():\n    return 1\n"]);
  const before = entryUri({ runDir, row: 2, column: "key", patch: STAGED.id, step: 1, side: "before" }, "key.py");
  assert.equal(Buffer.from(await fs.readFile(before as never)).toString(), "undone\n");
  const missing = entryUri({ runDir, row: 2, column: "key", patch: "9:9:key", step: 9 }, "key.py");
  await assert.rejects(fs.readFile(missing as never), (e: { code?: string }) => e.code === "FileNotFound");
  assert.equal((await fs.stat(patched as never)).permissions, FilePermission.Readonly);
  await assert.rejects(fs.writeFile(patched as never, bytes("x")), /read-only/);
});

test("entryChanged from the daemon fires a change for every URI that showed the entry", async () => {
  const { daemon, fs, changes } = setup();
  await fs.readFile(key as never);
  await fs.readFile(patched as never);
  daemon.notify("experience/entryChanged", { runDir, row: 2, column: "key", origin: "disk", version: 8 });
  assert.deepEqual(changes.sort(), [key.toString(), patched.toString()].sort());
  daemon.notify("experience/entryChanged", { runDir, row: 3, column: "key", origin: "disk", version: 1 });
  assert.equal(changes.length, 2, "other entries are not reported");
});

test("a URI that is not an entry is 'not found'", async () => {
  const { fs } = setup();
  const bad = { scheme: "experience", path: "/x", query: "nope", toString: () => "x" };
  await assert.rejects(fs.readFile(bad as never), /FileNotFound|x/);
  assert.notEqual(textHash("a"), textHash("b"));
});
