import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { AFTER, NOW, RestartGate } from "../features/restartGate";
import { EventEmitter, mock } from "./mock/vscode";

function setup(opts: { running?: boolean; busy?: string[]; changed?: boolean } = {}) {
  const restarts: Array<[string, number | undefined]> = [];
  const logged: string[] = [];
  const daemon = {
    running: opts.running ?? true,
    scheduleRestart: (reason: string, delay?: number) => restarts.push([reason, delay]),
    interpreterChanged: async () => opts.changed ?? false,
    log: { info: (line: string) => logged.push(line) },
  };
  const busy = [...(opts.busy ?? [])];
  const changed = new EventEmitter<string | undefined>();
  const runs = { running: () => busy, onDidChange: changed.event };
  const gate = new RestartGate(daemon as never, runs as never);
  return { gate, restarts, logged, busy, changed };
}

beforeEach(() => mock.reset());

test("nothing training: the restart happens (debounced) without a question", async () => {
  const { gate, restarts } = setup();
  assert.equal(await gate.request("an API key changed"), "now");
  assert.deepEqual(restarts, [["an API key changed", undefined]]);
  assert.equal(mock.messages.length, 0);
});

test("a daemon that has not started is left alone: its first start reads the change", async () => {
  const { gate, restarts, logged } = setup({ running: false, busy: ["/runs/a"] });
  assert.equal(await gate.request("an API key changed"), "skipped");
  assert.deepEqual(restarts, []);
  assert.match(logged[0], /has not started/);
});

test("while a run trains the user is asked; 'Restart Now' restarts at once", async () => {
  const { gate, restarts } = setup({ busy: ["/runs/big run"] });
  mock.answers.push(NOW);
  assert.equal(await gate.request("an API key changed"), "now");
  assert.deepEqual(restarts, [["an API key changed", 0]]);
  assert.match(mock.messages[0].text, /big run is training/);
  assert.deepEqual(mock.messages[0].items, [NOW, AFTER]);
});

test("'After Training' waits until the last job of the window ends", async () => {
  const { gate, restarts, busy, changed } = setup({ busy: ["/runs/a", "/runs/b"] });
  mock.answers.push(AFTER);
  assert.equal(await gate.request("the Python interpreter setting changed"), "later");
  assert.equal(gate.waiting, "the Python interpreter setting changed");
  busy.pop();
  changed.fire("/runs/b");
  assert.deepEqual(restarts, [], "one run still trains");
  busy.pop();
  changed.fire("/runs/a");
  assert.deepEqual(restarts, [["the Python interpreter setting changed; training ended", 0]]);
  changed.fire(undefined);
  assert.equal(restarts.length, 1, "only once");
});

test("dismissing the question restarts nothing", async () => {
  const { gate, restarts } = setup({ busy: ["/runs/a"] });
  assert.equal(await gate.request("an API key changed"), "dismissed");
  assert.deepEqual(restarts, []);
});

test("an interpreter event that changes nothing does not restart", async () => {
  const same = setup({ changed: false });
  assert.equal(await same.gate.interpreterEvent("the Python extension's interpreter changed"), "skipped");
  assert.deepEqual(same.restarts, []);
  assert.match(same.logged[0], /already runs the interpreter/);
  const other = setup({ changed: true });
  assert.equal(await other.gate.interpreterEvent("the Python extension's interpreter changed"), "now");
  assert.equal(other.restarts.length, 1);
});
