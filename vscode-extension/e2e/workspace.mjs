// The test's workspace: a tiny dataset (1 train + 1 val pair from datasets/viba), a small run trained
// by the CLI with the real local model, and code-server's user settings.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { log } from "./tools.mjs";

export const TRAIN_PAIR = "factorial";
/** Two val pairs: evaluating runs/small (batch size 1) takes two batches, so that it can be cancelled between. */
export const VAL_PAIRS = ["grade", "clamp"];

/** Copy one train and one val pair of the Viba dataset into `dir` with a manifest. */
export function makeTinyDataset(repoRoot, dir) {
  const viba = path.join(repoRoot, "datasets", "viba");
  const manifest = JSON.parse(readFileSync(path.join(viba, "manifest.json"), "utf8"));
  for (const [split, name] of [["train", TRAIN_PAIR], ...VAL_PAIRS.map((n) => ["val", n])]) {
    mkdirSync(path.join(dir, split), { recursive: true });
    for (const ext of [manifest.source_ext, manifest.target_ext]) {
      cpSync(path.join(viba, split, `${name}.${ext}`), path.join(dir, split, `${name}.${ext}`));
    }
  }
  const tiny = {
    name: "tiny",
    source_ext: manifest.source_ext,
    target_ext: manifest.target_ext,
    task_prompt: manifest.task_prompt,
    splits: { train: "train", val: "val" },
  };
  writeFileSync(path.join(dir, "manifest.json"), `${JSON.stringify(tiny, null, 2)}\n`);
}

/** A fresh workspace (its path has a space and a non-ASCII letter on purpose). */
export function makeWorkspace(root, repoRoot, env, python) {
  const workspace = path.join(root, "wörk space");
  rmSync(root, { recursive: true, force: true });
  rmSync(path.dirname(env.EXPERIENCE_CACHE), { recursive: true, force: true }); // the daemon's LLM cache
  mkdirSync(path.join(workspace, "runs"), { recursive: true });
  makeTinyDataset(repoRoot, path.join(workspace, "tiny"));
  log("training runs/small with the CLI (local model, 1 step)");
  const started = Date.now();
  const cli = spawnSync(
    python,
    // Its own response cache: the daemon's training below must call the model, not reuse these answers.
    [
      "-m",
      "experience_daemon.cli",
      "train",
      "--dataset",
      "tiny",
      "--run-dir",
      "runs/small",
      "--epochs",
      "1",
      "--rows",
      "4",
      "--batch-size",
      "1",
      "--max-steps",
      "1",
      "--quiet",
      "--cache",
      path.join(root, "cli-cache.sqlite"),
    ],
    { cwd: workspace, env, encoding: "utf8" },
  );
  if (cli.status !== 0) {
    throw new Error(`the CLI could not train runs/small:\n${cli.stderr}`);
  }
  log(`runs/small trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return workspace;
}

/** Rows of a run whose `key` file has text (the test opens one of them). */
export function filledRows(runDir) {
  const experience = path.join(runDir, "experience");
  return readdirSync(experience)
    .filter((name) => /^\d+$/.test(name))
    .map((name) => Number(name))
    .filter((row) => {
      const file = keyFile(runDir, row);
      return existsSync(file) && readFileSync(file, "utf8").trim() !== "";
    })
    .sort((a, b) => a - b);
}

/** Path of a row's file for a column (query.txt, key.<source ext>, value.<target ext>). */
export function entryFile(runDir, row, column) {
  const dir = path.join(runDir, "experience", String(row).padStart(4, "0"));
  const name = readdirSync(dir).find((n) => n.startsWith(`${column}.`));
  return path.join(dir, name ?? `${column}.txt`);
}

/** Path of a row's key file (key.<source ext>). */
export function keyFile(runDir, row) {
  return entryFile(runDir, row, "key");
}

/** Every patch record of a run (patches/<step>.json). */
export function patchRecords(runDir) {
  const dir = path.join(runDir, "patches");
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .sort()
    .flatMap((n) => JSON.parse(readFileSync(path.join(dir, n), "utf8")));
}

/** code-server's user (and machine) settings: quiet, no trust prompt, review mode on, 1 epoch offered (plus `extra`). */
export function writeUserSettings(userDataDir, extra = {}) {
  const settings = {
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "chat.disableAIFeatures": true,
    "git.enabled": false,
    "editor.codeLens": true,
    "files.autoSave": "off",
    "window.restoreWindows": "none",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "experience.reviewMode": true,
    "experience.epochs": 1,
    ...extra,
  };
  mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  writeFileSync(path.join(userDataDir, "User", "settings.json"), `${JSON.stringify(settings, null, 2)}\n`);
  // A machine-overridable setting (experience.pythonPath) also in the remote (machine) settings of code-server.
  const machine = Object.fromEntries(Object.entries(extra).filter(([key]) => key === "experience.pythonPath"));
  mkdirSync(path.join(userDataDir, "Machine"), { recursive: true });
  writeFileSync(path.join(userDataDir, "Machine", "settings.json"), `${JSON.stringify(machine, null, 2)}\n`);
}
