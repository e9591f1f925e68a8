// `npm run e2e`: the packaged extension in a real VS Code (code-server) driven by headless Chromium.
// Installs what it needs (Debian chromium + libkrb5-dev, Node 24 and code-server from npm), keeps every
// cache and config under .e2e/, writes PNG screenshots to e2e-shots/, exits non-zero on any failure.
// The extension runs the interpreter this script checked (it sets experience.pythonPath: code-server's
// extension host may see another PATH, e.g. the login shell's, not an activated virtualenv) and the daemon's
// LLM response cache is the test's own ($EXPERIENCE_CACHE under .e2e/, emptied each run) whatever the
// caller's environment says.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { CodeServer } from "./codeServer.mjs";
import { scenario } from "./scenario.mjs";
import { checkPython, ensureAptPackages, ensureCodeServer, ensureExtensionDeps, ensureNode24, log, sh } from "./tools.mjs";
import { Ui } from "./ui.mjs";
import { makeWorkspace, writeUserSettings } from "./workspace.mjs";

const extensionDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(extensionDir, "..");
const work = path.join(extensionDir, ".e2e");
const shots = path.join(extensionDir, "e2e-shots");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** The environment of everything the test starts: caches, config and temp files under .e2e/. */
function testEnv() {
  const home = path.join(work, "home");
  const dirs = {
    XDG_CONFIG_HOME: path.join(home, "config"),
    XDG_DATA_HOME: path.join(home, "data"),
    XDG_CACHE_HOME: path.join(home, "cache"),
    XDG_STATE_HOME: path.join(home, "state"),
    TMPDIR: path.join(work, "tmp"),
    npm_config_cache: path.join(work, "npm-cache"),
  };
  Object.values(dirs).forEach((d) => mkdirSync(d, { recursive: true }));
  const env = { ...process.env, ...dirs, PYTHONUTF8: "1", npm_config_update_notifier: "false", npm_config_fund: "false" };
  env.EXPERIENCE_CACHE = path.join(dirs.XDG_CACHE_HOME, "experience", "llm-cache.sqlite"); // never the caller's
  delete env.EXPERIENCE_TEST_BACKEND; // the real model, always
  return env;
}

function tail(file, lines = 60) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return `(no ${file})`;
  }
}

/** The extension's log channel files under code-server's user data (for failure reports). */
function extensionLogs(dir) {
  const found = [];
  const walk = (d) => {
    for (const name of existsSync(d) ? readdirSync(d) : []) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) {
        walk(p);
      } else if (/Experience.*\.log$/.test(name)) {
        found.push(p);
      }
    }
  };
  walk(path.join(dir, "logs"));
  return found;
}

async function main() {
  const started = Date.now();
  const phases = {};
  const phase = async (name, fn) => {
    const t = Date.now();
    log(`-- ${name}`);
    const result = await fn();
    phases[name] = Math.round((Date.now() - t) / 100) / 10;
    return result;
  };
  const env = testEnv();
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });

  await phase("apt", () => ensureAptPackages());
  await phase("extension deps", () => ensureExtensionDeps(extensionDir, env));
  const node24 = await phase("node 24", () => ensureNode24(path.join(work, "tools"), env));
  const entry = await phase("code-server", () => ensureCodeServer(path.join(work, "tools"), node24, env));
  await phase("package vsix", () => sh("npm", ["run", "package"], { cwd: extensionDir, env }));
  const python = await phase("python check", () => checkPython(env));
  log(`python: ${python}`);
  const workspace = await phase("workspace + CLI run", () => makeWorkspace(path.join(work, "work"), repoRoot, env, python));

  const serverDir = path.join(work, "server");
  rmSync(serverDir, { recursive: true, force: true });
  const server = new CodeServer({ node: path.join(node24, "bin", "node"), entry, dir: serverDir, env });
  writeUserSettings(server.userDataDir, { "experience.pythonPath": python });
  await phase("install vsix", () => server.install(path.join(extensionDir, "dist", "experience.vsix")));

  const { chromium } = await import("playwright-core");
  let browser;
  let ui;
  let outcome;
  try {
    const url = await phase("start code-server", () => server.start());
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, env });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    ui = new Ui(page, shots);
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
    outcome = await phase("scenario", () => scenario(ui, workspace, server.child.pid, python));
  } catch (error) {
    log(`FAILED: ${error.stack ?? error}`);
    if (ui) {
      await ui.shot("failure").catch(() => undefined);
    }
    for (const file of extensionLogs(server.userDataDir)) {
      process.stderr.write(`\n--- ${file}\n${tail(file, 80)}\n`);
    }
    process.stderr.write(`\n--- code-server log\n${tail(server.logFile, 40)}\n`);
    throw error;
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
  }
  const total = Math.round((Date.now() - started) / 100) / 10;
  const report = { ok: true, totalSeconds: total, phases, ...outcome };
  writeFileSync(path.join(shots, "e2e-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  log(`PASSED in ${total} s: ${JSON.stringify(phases)} ${JSON.stringify(outcome.timings)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`FAILED: ${error?.stack ?? error}`);
    process.exit(1);
  },
);
