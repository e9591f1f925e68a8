/** The daemon: started in the user's Python with vscode-languageclient over stdio on first use (lazily);
 * restarted on demand, on setting changes (debounced, serialized; see restartGate) and after a crash (a
 * limited number of times). */
import readline from "node:readline";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  Trace,
  WorkDoneProgress,
  type LanguageClientOptions,
  type ServerOptions,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from "vscode-languageclient/node";

/** Call `onLine` for each line of a stream. */
function lines(input: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on("line", onLine);
}

export type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

import type { DaemonState } from "../common/metrics";
import type { NotificationMethod, Notifications, ParamsOf, RequestMethod, ResultOf } from "../common/protocol";
import { StderrLevels } from "../common/logLevels";
import { RestartBudget, Serializer } from "../common/restarts";
import { errorText } from "./errors";
import { checkInterpreter, resolveInterpreter } from "./python";

export class DaemonUnavailable extends Error {}

const LOG_LEVELS: Record<number, string> = { 0: "warning", 1: "debug", 2: "debug", 3: "info", 4: "warning", 5: "error" };

/** Resolve once the client is no longer starting (or after `ms`). */
function settled(client: LanguageClient, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const listener = client.onDidChangeState((e) => e.newState !== State.Starting && done());
    function done(): void {
      clearTimeout(timer);
      listener.dispose();
      resolve();
    }
  });
}

export class Daemon implements vscode.Disposable {
  private client: LanguageClient | undefined; // set only once start() has resolved
  private readonly serial = new Serializer();
  private readonly budget = new RestartBudget();
  private readonly stateEmitter = new vscode.EventEmitter<DaemonState>();
  private readonly handlers: Array<{ method: string; handler: (params: unknown) => void }> = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private _state: DaemonState = "idle"; // not started yet: the first request starts it
  private interpreter: string | undefined; // the one the running daemon was started with
  private readonly levelWatch: vscode.Disposable;
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(
    readonly log: vscode.LogOutputChannel,
    private readonly extraEnv: () => Promise<Record<string, string>>,
  ) {
    this.levelWatch = log.onDidChangeLogLevel((level) =>
      this.client?.setTrace(level === vscode.LogLevel.Trace ? Trace.Verbose : Trace.Off),
    );
  }

  get state(): DaemonState {
    return this._state;
  }

  /** Whether a daemon process is running (or being started). */
  get running(): boolean {
    return this.client !== undefined || this._state === "starting";
  }

  /** Whether the interpreter lookup now names another interpreter than the running daemon's. */
  async interpreterChanged(): Promise<boolean> {
    return this.interpreter !== undefined && (await resolveInterpreter(this.log)).command !== this.interpreter;
  }

  private setState(state: DaemonState): void {
    this._state = state;
    this.stateEmitter.fire(state);
  }

  /** Send a request (starting the daemon first if needed). */
  async request<M extends RequestMethod>(method: M, params: ParamsOf<M>, token?: vscode.CancellationToken): Promise<ResultOf<M>> {
    const client = this.client ?? (await this.start());
    // Pass the token only when there is one: an explicit `undefined` would be sent as a second param.
    return token ? client.sendRequest<ResultOf<M>>(method, params, token) : client.sendRequest<ResultOf<M>>(method, params);
  }

  /** Handle a notification from the daemon (kept across restarts). */
  onNotification<M extends NotificationMethod>(method: M, handler: (params: Notifications[M]) => void): void {
    const entry = { method, handler: handler as (params: unknown) => void };
    this.handlers.push(entry);
    this.client?.onNotification(method, entry.handler);
  }

  /** Follow `$/progress` for a token the client made up (sent as `workDoneToken`). */
  onProgress(token: string, handler: (value: ProgressValue) => void): vscode.Disposable {
    if (!this.client) {
      return new vscode.Disposable(() => undefined);
    }
    return this.client.onProgress(WorkDoneProgress.type, token, handler);
  }

  /** Start the daemon unless it runs (one start at a time). */
  start(): Promise<LanguageClient> {
    return this.serial.run(async () => this.client ?? this.launch());
  }

  /** Stop and start again; forgets earlier crashes (the user asked for it). */
  restart(reason: string): Promise<LanguageClient> {
    return this.serial.run(async () => {
      this.log.info(`Restarting the daemon: ${reason}`);
      this.budget.reset();
      await this.shutdown();
      return this.launch();
    });
  }

  /** Restart after `delayMs` unless asked again before (settings change in bursts). */
  scheduleRestart(reason: string, delayMs = 500): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restart(reason).catch((error) => this.log.error(`Restart failed: ${errorText(error)}`));
    }, delayMs);
  }

  private async launch(): Promise<LanguageClient> {
    this.setState("starting");
    const env: NodeJS.ProcessEnv = { ...process.env, ...(await this.extraEnv()), PYTHONUTF8: "1", PYTHONUNBUFFERED: "1" };
    env.EXPERIENCE_LOG_LEVEL = LOG_LEVELS[this.log.logLevel] ?? "info";
    const interpreter = await resolveInterpreter(this.log);
    const check = await checkInterpreter(interpreter, env);
    if (!check.ok) {
      this.setState("failed");
      this.log.error(`${check.problem} Fix: ${check.fix}`);
      void this.offerFix(`${check.problem} ${check.fix}`);
      throw new DaemonUnavailable(`${check.problem} ${check.fix}`);
    }
    this.log.info(`Python ${check.python} at ${check.executable}; experience ${check.experience}`);
    this.interpreter = interpreter.command;
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const server: ServerOptions = {
      command: interpreter.command,
      args: ["-m", "experience_daemon", "--stdio"],
      options: { env, cwd },
    };
    const options: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.log,
      traceOutputChannel: this.log,
      stdioOptions: {
        stdout: (input) => lines(input, (line) => this.log.info(line)),
        stderr: (input) => {
          const levels = new StderrLevels();
          lines(input, (line) => this.log[levels.of(line)](line));
        },
      },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => this.onClosed(),
      },
      initializationFailedHandler: (error) => {
        this.log.error(`The daemon failed to initialize: ${errorText(error)}`);
        return false;
      },
    };
    const client = new LanguageClient("experience", "Experience daemon", server, options);
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) {
        this.setState("ready");
      } else if (e.newState === State.Starting) {
        this.setState("starting");
      } else if (e.newState === State.Stopped && !this.stopping && this._state !== "failed") {
        this.setState("stopped");
      }
    });
    for (const { method, handler } of this.handlers) {
      client.onNotification(method, handler);
    }
    try {
      await client.start();
    } catch (error) {
      this.setState("failed");
      this.log.error(`The daemon did not start: ${errorText(error)}`);
      void this.offerFix(`The Experience daemon did not start: ${errorText(error)}`);
      throw new DaemonUnavailable(`The Experience daemon did not start: ${errorText(error)}`);
    }
    if (this.log.logLevel === vscode.LogLevel.Trace) {
      await client.setTrace(Trace.Verbose);
    }
    this.client = client;
    this.setState("ready");
    return client;
  }

  private onClosed(): { action: CloseAction; handled: boolean } {
    const { restart, count } = this.budget.crashed();
    if (restart) {
      this.log.warn(`The daemon exited unexpectedly; restarting it (crash ${count} of ${this.budget.max} allowed in 3 minutes).`);
      void vscode.window.showWarningMessage("The Experience daemon exited unexpectedly and was restarted.", "Show Logs").then((pick) => {
        if (pick) {
          this.log.show();
        }
      });
      return { action: CloseAction.Restart, handled: true };
    }
    const message = `The Experience daemon stopped ${count} times in 3 minutes, so it was not restarted again. See the logs for the cause, then restart it.`;
    this.log.error(message);
    this.setState("failed");
    void this.offerFix(message);
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  private async offerFix(message: string): Promise<void> {
    const pick = await vscode.window.showErrorMessage(message, "Restart Daemon", "Open Settings", "Show Logs");
    if (pick === "Restart Daemon") {
      await vscode.commands.executeCommand("experience.restartDaemon");
    } else if (pick === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "experience.pythonPath");
    } else if (pick === "Show Logs") {
      this.log.show();
    }
  }

  private async shutdown(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) {
      return;
    }
    this.stopping = true;
    try {
      if (client.state === State.Starting) {
        await settled(client, 30_000); // it is restarting itself after a crash: let it finish first
      }
      await client.dispose(3000); // stops the daemon (killed if it does not exit) and frees the client
    } catch (error) {
      this.log.warn(`Stopping the daemon: ${errorText(error)}`);
    } finally {
      this.stopping = false;
      this.setState("stopped");
    }
  }

  /** Stop the daemon (deactivation). */
  stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    return this.serial.run(() => this.shutdown());
  }

  dispose(): void {
    void this.stop();
    this.levelWatch.dispose();
    this.stateEmitter.dispose();
  }
}
