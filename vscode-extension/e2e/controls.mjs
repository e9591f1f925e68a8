// Scenario steps for the training controls: Train from a run's context menu with Stop enabled only while it
// trains, the loss chart redrawn after being hidden and shown again, and an Evaluate cancelled from its
// progress notification.
import { readFileSync } from "node:fs";
import path from "node:path";

import { log } from "./tools.mjs";

const MINUTE = 60_000;

/** Poll `check` until it returns a truthy value (or throw `message` after `ms`). */
export async function until(check, ms, message) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(message);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function lines(file) {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** The Stop action of the Runs view is disabled now (nothing trains). */
export async function expectStopDisabled(ui, when) {
  if (!(await ui.disabled(ui.viewAction("Stop")))) {
    throw new Error(`Stop should be disabled ${when}`);
  }
}

/** Right-click run `name` → Train (it resumes: no backend is asked), Stop is enabled while it trains; press it. */
export async function contextMenuTrain(ui, name) {
  await ui.command("Notifications: Clear All Notifications");
  await ui.command("Experience: Focus on Runs View");
  await expectStopDisabled(ui, "before training");
  await ui.contextMenu(new RegExp(`^${name}`), /^Train$/);
  await ui.answer("Epochs", "4"); // the run's own backend: no Backend pick comes first; Stop ends it early
  await ui.waitOrFail(ui.toast(`Training ${name} · local`), 30_000);
  await until(async () => !(await ui.disabled(ui.viewAction("Stop"))), 15_000, "Stop was not enabled while training");
  await ui.page.locator(".part.sidebar").first().hover(); // the view's title actions show on hover
  await ui.shot("context-menu-train-stop-enabled");
  await ui
    .viewAction("Stop")
    .click({ timeout: 10_000 })
    .catch(() => log("the training ended before Stop could be pressed"));
  await ui.waitOrFail(ui.toast(new RegExp(`Training ${name}: (stopped at step|step) \\d+`)), 5 * MINUTE);
  await until(async () => ui.disabled(ui.viewAction("Stop")), 15_000, "Stop stayed enabled after training ended");
  await ui.shot("stopped-stop-disabled");
}

/** Evaluate run `name` from its context menu and cancel it from the progress notification: nothing recorded. */
export async function cancelledEvaluate(ui, runDir) {
  const name = path.basename(runDir);
  const metrics = path.join(runDir, "metrics.jsonl");
  const before = lines(metrics);
  await ui.command("Notifications: Clear All Notifications");
  await ui.contextMenu(new RegExp(`^${name}`), /^Evaluate$/);
  const progress = ui.toast(`Evaluating ${name}`);
  await ui.waitOrFail(progress, 30_000);
  await ui.page.waitForTimeout(1500); // the daemon has the job by now (its first batch takes seconds)
  await progress.first().locator(".monaco-button", { hasText: "Cancel" }).first().click();
  await ui.waitOrFail(ui.toast(`Evaluation of ${name} cancelled; nothing was recorded.`), 2 * MINUTE);
  await ui.shot("evaluate-cancelled");
  if (lines(metrics) !== before) {
    throw new Error(`a cancelled evaluation recorded metrics in ${metrics}`);
  }
}

/** The latest-values table of the chart webview, as text. */
async function chartTable(ui) {
  const table = ui.webview().locator("#table");
  await table.waitFor({ state: "visible", timeout: 20_000 });
  return (await table.innerText()).replace(/\u00a0/g, " ");
}

/** Show run `name`'s chart from its context menu, hide it, evaluate the run, show it again: the new values are drawn. */
export async function chartAfterHideShow(ui, name) {
  await ui.command("Notifications: Clear All Notifications");
  await ui.contextMenu(new RegExp(`^${name}`), /^Show Loss Chart$/);
  await ui.page.locator("iframe.webview").first().waitFor({ state: "attached", timeout: 20_000 });
  const first = await chartTable(ui);
  const calls = async () => Number(/(\d+) LLM calls/.exec(await ui.webview().locator("#summary").innerText())?.[1] ?? NaN);
  const callsBefore = await calls();
  await ui.shot("loss-chart");
  // Hide it: another editor in its group.
  await ui.page
    .locator(".tab", { hasText: `Loss of ${name}` })
    .first()
    .click();
  await ui.command("File: New Untitled Text File");
  await ui.page.locator(".tab.active", { hasText: "Untitled" }).first().waitFor({ state: "visible", timeout: 10_000 });
  await ui.command("Experience: Evaluate");
  await ui.answer("Evaluate which run?", name, name);
  const evaluated = ui.toast(new RegExp(`Evaluation of ${name}: loss (\\d\\.\\d+), exact \\d+%, n 2\\.`));
  await ui.waitOrFail(evaluated, 5 * MINUTE);
  const loss = Number(/loss (\d\.\d+)/.exec(await evaluated.first().innerText())?.[1]);
  await ui.shot("evaluated");
  // Show it again: its table has the evaluation's val row.
  await ui.page
    .locator(".tab", { hasText: `Loss of ${name}` })
    .first()
    .click();
  const shown = await until(
    async () => {
      const text = await chartTable(ui).catch(() => "");
      const val = /val\s+\d+\s+(\d\.\d{4})/.exec(text);
      const fresh = (await calls().catch(() => NaN)) > callsBefore; // the evaluation's calls are counted
      return fresh && val && Math.abs(Number(val[1]) - loss) < 0.0006 ? text : undefined;
    },
    30_000,
    `the chart shown again does not hold the evaluation (val loss ${loss}, more than ${callsBefore} calls)`,
  );
  log(`chart before: ${callsBefore} calls, ${first.replace(/\s+/g, " ")} | after: ${shown.replace(/\s+/g, " ")}`);
  await ui.shot("loss-chart-shown-again");
  return loss;
}
