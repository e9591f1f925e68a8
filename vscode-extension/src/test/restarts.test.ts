import assert from "node:assert/strict";
import { test } from "node:test";

import { RestartBudget, Serializer } from "../common/restarts";

test("a crashing daemon is restarted at most max times in the window, then given up on", () => {
  let now = 0;
  const budget = new RestartBudget(2, 1000, () => now);
  assert.deepEqual(budget.crashed(), { restart: true, count: 1 });
  now = 10;
  assert.deepEqual(budget.crashed(), { restart: true, count: 2 });
  now = 20;
  assert.deepEqual(budget.crashed(), { restart: false, count: 3 });
  now = 2000; // old crashes have left the window
  assert.deepEqual(budget.crashed(), { restart: true, count: 1 });
  budget.reset();
  assert.equal(budget.crashed().count, 1);
});

test("serialized jobs never overlap and run in order, even after a failure", async () => {
  const serial = new Serializer();
  const events: string[] = [];
  const job =
    (name: string, ms: number, fail = false) =>
    async () => {
      events.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`end ${name}`);
      if (fail) {
        throw new Error(name);
      }
      return name;
    };
  const a = serial.run(job("a", 20, true));
  const b = serial.run(job("b", 1));
  await assert.rejects(a, /a/);
  assert.equal(await b, "b");
  assert.deepEqual(events, ["start a", "end a", "start b", "end b"]);
});
