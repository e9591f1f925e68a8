// Runs the bundled unit tests (out/test/*.test.js) with node's built-in test runner.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = path.join(root, "out", "test");
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".test.js"))
  .sort()
  .map((name) => path.join(dir, name));
if (files.length === 0) {
  process.stderr.write(`no tests in ${dir}; run node scripts/build.mjs --tests first\n`);
  process.exit(1);
}
const run = spawnSync(process.execPath, ["--enable-source-maps", "--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  cwd: root,
});
process.exit(run.status ?? 1);
