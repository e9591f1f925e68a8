// One code-server per test run: install the packaged extension, start it on a free port, stop it by PID.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

import { log } from "./tools.mjs";

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export class CodeServer {
  /** @param {{node: string, entry: string, dir: string, env: NodeJS.ProcessEnv}} options */
  constructor({ node, entry, dir, env }) {
    this.node = node;
    this.entry = entry;
    this.dir = dir;
    this.env = env;
    this.userDataDir = path.join(dir, "user-data");
    this.extensionsDir = path.join(dir, "extensions");
    this.logFile = path.join(dir, "code-server.log");
    this.config = path.join(dir, "config.yaml");
    mkdirSync(this.userDataDir, { recursive: true });
    mkdirSync(this.extensionsDir, { recursive: true });
    writeFileSync(this.config, "auth: none\ncert: false\n");
  }

  dirArgs() {
    return ["--config", this.config, "--user-data-dir", this.userDataDir, "--extensions-dir", this.extensionsDir];
  }

  /** `code-server --install-extension x.vsix` into this server's folders. */
  install(vsix) {
    const run = spawnSync(this.node, [this.entry, ...this.dirArgs(), "--install-extension", vsix, "--force"], {
      env: this.env,
      encoding: "utf8",
    });
    if (run.status !== 0) {
      throw new Error(`installing ${vsix} failed:\n${run.stdout}\n${run.stderr}`);
    }
    log(run.stdout.trim().split("\n").pop());
  }

  /** Start and wait for /healthz; returns the base URL. */
  async start() {
    this.port = await freePort();
    const out = createWriteStream(this.logFile);
    this.child = spawn(
      this.node,
      [
        this.entry,
        ...this.dirArgs(),
        "--bind-addr",
        `127.0.0.1:${this.port}`,
        "--auth",
        "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        "--ignore-last-opened",
      ],
      { env: this.env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    this.child.stdout.pipe(out);
    this.child.stderr.pipe(out);
    this.exited = new Promise((resolve) => this.child.once("exit", resolve));
    const url = `http://127.0.0.1:${this.port}`;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`code-server exited with ${this.child.exitCode}; see ${this.logFile}`);
      }
      try {
        const response = await fetch(`${url}/healthz`);
        if (response.ok) {
          log(`code-server ${this.child.pid} ready at ${url}`);
          return url;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`code-server did not answer /healthz in 60 s; see ${this.logFile}`);
  }

  /** Stop the server and its children (its process group), by PID. */
  async stop() {
    if (!this.child || this.child.exitCode !== null) {
      return;
    }
    const group = -this.child.pid;
    try {
      process.kill(group, "SIGTERM");
    } catch {
      return;
    }
    const timeout = new Promise((r) => setTimeout(() => r("timeout"), 5000));
    if ((await Promise.race([this.exited, timeout])) === "timeout") {
      try {
        process.kill(group, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
