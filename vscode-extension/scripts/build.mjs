// Bundles the extension with esbuild. Modes:
//   (none)          dist/extension.js with a source map
//   --production    dist/extension.js minified (what `npm run package` ships)
//   --tests         out/test/*.test.js, with `vscode` replaced by src/test/mock/vscode.ts
//   --gen-protocol  regenerate src/common/protocol.ts from the daemon's protocol module
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const common = { bundle: true, platform: "node", target: "node18", format: "cjs", logLevel: "warning" };

if (args.has("--tests")) {
  const testDir = path.join(root, "src", "test");
  const entryPoints = readdirSync(testDir)
    .filter((name) => name.endsWith(".test.ts"))
    .map((name) => path.join(testDir, name));
  rmSync(path.join(root, "out", "test"), { recursive: true, force: true });
  await esbuild.build({
    ...common,
    entryPoints,
    outdir: path.join(root, "out", "test"),
    sourcemap: "inline",
    alias: { vscode: path.join(testDir, "mock", "vscode.ts") },
  });
} else if (args.has("--gen-protocol")) {
  const outfile = path.join(root, "out", "genProtocol.js");
  await esbuild.build({ ...common, entryPoints: [path.join(root, "src", "tools", "genProtocol.ts")], outfile });
  const run = spawnSync(process.execPath, [outfile, root], { stdio: "inherit" });
  process.exit(run.status ?? 1);
} else {
  const production = args.has("--production");
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, "src", "extension.ts")],
    outfile: path.join(root, "dist", "extension.js"),
    external: ["vscode"],
    minify: production,
    sourcemap: !production,
  });
}
