// What a user does, in a real VS Code (code-server) in headless Chromium: the daemon starts on first use;
// train from the palette, watch progress and the status bar, open and edit an entry, review a gradient (its
// preview is what Accept writes) and accept it, train from a run's context menu and stop it, survive a crash,
// cancel an evaluation, see the chart redrawn after being hidden, roll back.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { cancelledEvaluate, chartAfterHideShow, contextMenuTrain, expectStopDisabled, until } from "./controls.mjs";
import { log } from "./tools.mjs";
import { entryFile, filledRows, keyFile, patchRecords } from "./workspace.mjs";

const MINUTE = 60_000;

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** An entry row of the Runs view ("row 2" + its description; not a patch row "row 2 · key.py"). */
const entryRow = (row) => new RegExp(`^row ${row}(?!\\d)(?!\\s*·)`);

export async function scenario(ui, workspace, serverPid, python) {
  const page = ui.page;
  const small = path.join(workspace, "runs", "small");
  const e2e = path.join(workspace, "runs", "e2e");
  const timings = {};
  const mark = (name, since) => (timings[name] = Math.round((Date.now() - since) / 100) / 10);
  /** The command line of process `pid`, or "" if it has already exited. */
  const commandLine = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      return "";
    }
  };
  const daemonPid = () => {
    const found = spawnSync("pgrep", ["-g", String(serverPid), "-f", "experience_daemon --stdio"], { encoding: "utf8" });
    return found.stdout.trim().split("\n").filter(Boolean).map(Number);
  };

  let t = Date.now();
  await ui.ready();
  await ui
    .statusItem()
    .locator(".codicon-beaker")
    .first()
    .waitFor({ state: "visible", timeout: 2 * MINUTE });
  mark("workbenchReadySeconds", t);
  await page.waitForTimeout(3000);
  if (daemonPid().length !== 0) {
    throw new Error("the daemon started on activation; it should start on first use");
  }
  await ui.command("Experience: Focus on Runs View");
  await ui
    .treeRow(/^small/)
    .first()
    .waitFor({ state: "visible", timeout: 30_000 }); // the runs, listed without it
  await expectStopDisabled(ui, "while nothing trains");
  await ui.shot("workbench-lazy-daemon");

  // 1. Train from the palette: a new run "runs/e2e" on the tiny dataset, local model, example gradients, 1 epoch
  // (review mode is on).
  t = Date.now();
  await ui.command("Experience: Train");
  await ui.answer("Train: which run?", "New run", "New run");
  await ui.answer("New run", "runs/e2e");
  await ui.answer("Dataset", "tiny", "tiny");
  await ui.answer("Backend", "local", "local");
  await ui.answer("Gradient", "example", "example");
  await ui.answer("Epochs", "1");
  const progress = ui.toast("Training e2e");
  await ui.waitOrFail(progress, 30_000);
  await ui.shot("training-progress");
  await ui.waitOrFail(ui.statusItem().filter({ hasText: /step 1/ }), 5 * MINUTE);
  const statusText = (await ui.statusItem().first().innerText()).trim();
  log(`status bar: ${statusText}`);
  await ui.shot("status-bar-step");
  const done = ui.toast(/Training e2e: step 1/);
  await ui.waitOrFail(done, 5 * MINUTE);
  mark("trainFromPaletteSeconds", t);
  await ui.shot("training-done");
  const finalStatus = (await ui.statusItem().first().innerText()).trim();
  if (!/step 1 · val loss \d\.\d+ · (valid \d+% · )?[1-9]\d* calls? · \$/.test(finalStatus)) {
    throw new Error(`the status bar should show step, val loss and the model calls made; it shows '${finalStatus}'`);
  }
  const staged = patchRecords(e2e).filter((p) => p.state === "staged");
  if (staged.length === 0) {
    throw new Error("review mode is on, yet training staged no patch in runs/e2e");
  }

  // 2. Open an entry of runs/small from the tree, edit it, save it: the file on disk changes.
  t = Date.now();
  const [row] = filledRows(small);
  if (row === undefined) {
    throw new Error("runs/small has no filled entry to open");
  }
  const file = keyFile(small, row);
  const before = readFileSync(file, "utf8");
  await ui.command("Experience: Focus on Runs View");
  await ui.clickTree(/^small/);
  await ui.clickTree(entryRow(row));
  await ui.clickTree(new RegExp(`^${escapeRegExp(path.basename(file))}`));
  await page.locator(".editor-instance .monaco-editor .view-lines").first().waitFor({ state: "visible", timeout: 30_000 });
  await until(
    async () => (await ui.editorText()).includes(before.split("\n")[0].trim()),
    30_000,
    "the entry's text did not show in the editor",
  );
  await ui.shot("entry-open");
  const marker = "# edited in VS Code (e2e)";
  await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(marker);
  await page.keyboard.press("Control+S");
  await until(() => readFileSync(file, "utf8").includes(marker), 30_000, `saving did not change ${file}`);
  mark("openEditSaveSeconds", t);
  await ui.shot("entry-saved");

  // 2b. A conflict: the file changes on disk while the editor holds an unsaved edit. Saving is refused
  // and shown; the disk keeps the other change.
  const onDisk = `# changed on disk\n${readFileSync(file, "utf8")}`;
  await page.keyboard.press("Enter");
  await page.keyboard.type("# unsaved second edit");
  writeFileSync(file, onDisk);
  await page.waitForTimeout(2000); // the daemon's file watcher notices the hand edit
  await page.keyboard.press("Control+S");
  const conflict = page.locator(".notifications-toasts .notification-toast", { hasText: /newer|changed since you opened it/ });
  await conflict.first().waitFor({ state: "visible", timeout: 30_000 });
  await ui.shot("save-conflict");
  if (readFileSync(file, "utf8") !== onDisk) {
    throw new Error("a save over a newer version on disk overwrote it");
  }
  await ui.command("File: Revert File");
  await until(async () => (await ui.editorText()).includes("# changed on disk"), 15_000, "reverting did not load the disk version");
  await ui.command("Notifications: Clear All Notifications");

  // 3. Review: open a staged gradient as a diff, then accept it from the entry's CodeLens.
  t = Date.now();
  const patch = staged.find((p) => p.column === "key") ?? staged[0];
  const target = entryFile(e2e, patch.row, patch.column);
  const targetName = path.basename(target);
  const targetBefore = readFileSync(target, "utf8");
  await ui.clickTree(/^small/); // collapse, so rows of the two runs cannot be confused
  await ui.clickTree(/^e2e/);
  await ui.clickTree(new RegExp(`^row ${patch.row} · ${escapeRegExp(targetName)}`));
  await page.locator(".monaco-diff-editor").first().waitFor({ state: "visible", timeout: 30_000 });
  await page.locator(".tab", { hasText: "↔" }).first().waitFor({ state: "visible", timeout: 10_000 });
  const modified = page.locator(".monaco-diff-editor .editor.modified .view-lines").first();
  const previewed = await until(
    async () => (await modified.innerText()).replace(/\u00a0/g, " ").trim(),
    30_000,
    "the pending change's preview (the diff's right side) stayed empty",
  );
  // The Runs view follows the active editor: the diff's entry is revealed, its file row shown and selected.
  const fileRow = ui.treeRow(new RegExp(`^${escapeRegExp(targetName)}`)).first();
  await fileRow.waitFor({ state: "visible", timeout: 15_000 });
  await ui.shot("gradient-diff");
  await fileRow.click();
  const lens = page.locator(".codelens-decoration", { hasText: "pending change" }).first();
  await lens.waitFor({ state: "visible", timeout: 30_000 });
  await ui.shot("entry-codelens");
  await lens.locator("a", { hasText: /^Accept$/ }).click();
  const accepted = await until(
    () => patchRecords(e2e).find((p) => p.id === patch.id && p.state === "accepted"),
    30_000,
    `patch ${patch.id} was not accepted`,
  );
  const after = readFileSync(target, "utf8");
  const firstAdded = patch.diff
    .split("\n")
    .find((l) => l.startsWith("+") && !l.startsWith("+++"))
    ?.slice(1);
  if (after === targetBefore || (firstAdded && !after.includes(firstAdded))) {
    throw new Error(`accepting ${patch.id} did not write its change into ${target}`);
  }
  if (after.trim() !== previewed) {
    throw new Error(`the previewed pending change differs from what Accept wrote:\n${previewed}\n---\n${after}`);
  }
  await page.locator(".codelens-decoration", { hasText: "pending change" }).first().waitFor({ state: "hidden", timeout: 15_000 });
  mark("reviewAcceptSeconds", t);
  await ui.shot("patch-accepted");
  log(`accepted ${accepted.id}: ${target} now has ${after.length} characters, as previewed`);

  // 3b. Train runs/small further from its context menu (not in review mode: each step changes the prompts, so
  // the model is called and it takes a while); Stop is enabled only while it trains.
  t = Date.now();
  await contextMenuTrain(ui, "small");
  mark("contextMenuTrainAndStopSeconds", t);

  // 4. A crashed daemon is reported and restarted; 'Experience: Restart Daemon' brings a fresh one.
  t = Date.now();
  const [first] = daemonPid();
  if (!first) {
    throw new Error("no daemon process under code-server");
  }
  process.kill(first, "SIGKILL");
  await ui.toast("exited unexpectedly").first().waitFor({ state: "visible", timeout: 30_000 });
  await until(() => daemonPid().some((pid) => pid !== first), 30_000, "the crashed daemon was not restarted");
  await ui.page.waitForTimeout(500);
  await ui.shot("daemon-crash-reported");
  const [second] = daemonPid();
  await ui.command("Experience: Restart Daemon");
  await until(
    () => {
      const pids = daemonPid();
      return pids.length === 1 && pids[0] !== second;
    },
    30_000,
    "'Experience: Restart Daemon' did not start a new daemon",
  );
  await ui.statusItem().locator(".codicon-beaker").first().waitFor({ state: "visible", timeout: 60_000 });
  // Changing experience.pythonPath (to another spelling of the interpreter the harness set) restarts the daemon
  // with that interpreter.
  const [third] = daemonPid();
  const other = `${path.dirname(python)}/./${path.basename(python)}`; // not path.join: it would drop the "./"
  await ui.command("Preferences: Open Settings (UI)");
  await page.locator(".settings-editor").first().waitFor({ state: "visible", timeout: 20_000 });
  // A machine-overridable setting: in a remote window (code-server) it lives in the Remote tab.
  await page.locator(".settings-editor .settings-tabs-widget .action-label", { hasText: "Remote" }).first().click();
  await page.keyboard.press("Control+F"); // focus the settings search box
  await page.keyboard.type("experience.pythonPath");
  const setting = page.locator(".settings-editor .setting-item-contents", { hasText: "Python Path" }).first();
  await setting.waitFor({ state: "visible", timeout: 20_000 });
  await setting.locator("input").first().fill(other);
  await page.keyboard.press("Tab");
  await until(
    () => {
      // One snapshot of the pids: the daemon being replaced may vanish between two pgrep calls.
      const pids = daemonPid();
      return pids.length === 1 && pids[0] !== third && commandLine(pids[0]).startsWith(other);
    },
    30_000,
    "changing experience.pythonPath did not restart the daemon with that interpreter",
  );
  await ui.statusItem().locator(".codicon-beaker").first().waitFor({ state: "visible", timeout: 60_000 });
  await ui.page.waitForTimeout(500);
  await ui.shot("daemon-restarted");
  await ui.closeSettings();
  mark("crashAndRestartSeconds", t);

  // 5. Evaluate runs/small from its context menu and cancel it: nothing is recorded.
  t = Date.now();
  await cancelledEvaluate(ui, small);
  mark("evaluateCancelledSeconds", t);

  // 6. The loss chart of runs/small (a webview fed by experience/metrics), hidden while the run is evaluated
  // (from the palette), then shown again: it holds the new values.
  t = Date.now();
  const evaluatedLoss = await chartAfterHideShow(ui, "small");
  mark("evaluateAndChartSeconds", t);

  // 7. Roll runs/e2e back to step 0 (the empty start) from the palette, through the modal confirmation.
  t = Date.now();
  await ui.command("Experience: Roll Back Run to Step...");
  await ui.answer("Roll back which run?", "e2e", "e2e");
  await ui.answer("Roll back e2e", "0");
  const dialog = page.locator(".monaco-dialog-box");
  await dialog.waitFor({ state: "visible", timeout: 15_000 });
  await ui.shot("rollback-confirm");
  await dialog
    .locator(".monaco-button", { hasText: /^Roll Back$/ })
    .first()
    .click();
  await ui.waitOrFail(ui.toast(/Rolled back e2e to step 0: undid steps? .+ \(kept on record\)/), 60_000);
  await until(() => filledRows(e2e).length === 0, 15_000, "rolling runs/e2e back to step 0 left filled rows");
  mark("rollbackSeconds", t);
  await ui.shot("rolled-back");
  return { timings, statusText, acceptedPatch: accepted.id, editedFile: file, acceptedFile: target, previewed, evaluatedLoss };
}
