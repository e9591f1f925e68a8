/** Palette and tree commands Train / Run One Step / Stop / Evaluate: quick picks for run, dataset, backend and
 * gradient mode (a new run's; a resumed run trains with its own backend and model, shown in the title), a
 * cancellable progress notification fed by the daemon's work-done progress. */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import * as vscode from "vscode";

import type { Daemon, ProgressValue } from "../client/daemon";
import { errorText, isCancelled } from "../client/errors";
import type { ParamsOf, RequestMethod, ResultOf, TrainResult } from "../common/protocol";
import {
  backendLabel,
  BACKENDS,
  buildEvaluateRequest,
  buildTrainRequest,
  GRAD_MODES,
  readSettings,
  type Backend,
  type CapacityPolicy,
  type GradMode,
} from "../common/settings";
import type { Review } from "./review";
import { canonical, type Runs } from "./runs";

/** Arguments a command may be given instead of asking (scripts, keybindings, tests). */
export interface TrainArgs {
  runDir?: string;
  dataset?: string;
  backend?: Backend;
  epochs?: number;
  grad?: GradMode;
  capacity?: CapacityPolicy;
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function relative(dir: string): string {
  const root = workspaceRoot();
  return root && dir.startsWith(root + path.sep) ? path.relative(root, dir) : dir;
}

export class Training {
  constructor(
    private readonly daemon: Daemon,
    private readonly runs: Runs,
    private readonly review: Review,
  ) {}

  private settings() {
    const config = vscode.workspace.getConfiguration("experience");
    return readSettings((key) => config.get(key));
  }

  /** Pick a run: the known ones, and (when allowed) a new one by folder name. */
  async pickRun(title: string, allowNew: boolean): Promise<string | undefined> {
    await this.runs.discover();
    const items: Array<vscode.QuickPickItem & { dir?: string }> = this.runs.list().map((dir) => ({
      label: path.basename(dir),
      description: relative(dir),
      dir,
    }));
    if (allowNew) {
      items.push({ label: "$(add) New run…", description: "train a new run in a folder you name", alwaysShow: true });
    }
    if (items.length === 0) {
      void vscode.window.showInformationMessage("No Experience run in this workspace yet: use 'Experience: Train' to start one.");
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(items, { title, placeHolder: "run directory", ignoreFocusOut: true });
    if (!pick) {
      return undefined;
    }
    if (pick.dir) {
      return pick.dir;
    }
    const root = workspaceRoot() ?? process.cwd();
    const name = await vscode.window.showInputBox({
      title: "New run",
      prompt: `Folder for the new run (relative to ${root})`,
      value: `runs/run-${new Date().toISOString().slice(0, 10)}`,
      ignoreFocusOut: true,
      validateInput: (v) =>
        !v.trim()
          ? "a folder name"
          : existsSync(path.join(path.resolve(root, v.trim()), "run.json"))
            ? "a run exists there: pick it from the list to continue it"
            : undefined,
    });
    return name ? canonical(path.resolve(root, name.trim())) : undefined;
  }

  /** Pick a dataset folder (manifest.json + splits) from the workspace, or browse for one. */
  async pickDataset(): Promise<string | undefined> {
    const manifests = await vscode.workspace.findFiles("**/manifest.json", "**/{node_modules,.git,.e2e}/**", 200);
    const items: Array<vscode.QuickPickItem & { dir?: string }> = manifests
      .map((uri) => path.dirname(uri.fsPath))
      .sort()
      .map((dir) => ({ label: path.basename(dir), description: relative(dir), dir }));
    items.push({
      label: "$(folder) Browse…",
      description: "a dataset folder, or a flat folder of <name>.py + <name>.viba pairs",
      alwaysShow: true,
    });
    const pick = await vscode.window.showQuickPick(items, { title: "Dataset", placeHolder: "dataset folder", ignoreFocusOut: true });
    if (!pick) {
      return undefined;
    }
    if (pick.dir) {
      return pick.dir;
    }
    const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: "Use dataset" });
    return chosen?.[0]?.fsPath;
  }

  /** Pick the LLM backend (the setting's first). */
  async pickBackend(preferred: Backend): Promise<Backend | undefined> {
    const detail: Record<Backend, string> = {
      local: "embedded SmolLM2 via llama.cpp, no key needed",
      openai: "any OpenAI-compatible endpoint (experience.endpoint; key from 'Experience: Set API Key')",
      "claude-agent": "Claude Agent SDK (key from 'Experience: Set API Key')",
    };
    const ordered = [preferred, ...BACKENDS.filter((b) => b !== preferred)];
    const pick = await vscode.window.showQuickPick(
      ordered.map((b) => ({ label: b, description: b === preferred ? "(setting)" : undefined, detail: detail[b] })),
      { title: "Backend", ignoreFocusOut: true },
    );
    return pick?.label as Backend | undefined;
  }

  /** Pick the gradient mode of a new run (the setting's first). */
  async pickGrad(preferred: GradMode): Promise<GradMode | undefined> {
    const detail: Record<GradMode, string> = {
      example: "each wrong sample is written as an experience row of its own",
      llm: "the LLM rewrites the rows a batch retrieved, from the batch's wrong samples",
    };
    const ordered = [preferred, ...GRAD_MODES.filter((g) => g !== preferred)];
    const pick = await vscode.window.showQuickPick(
      ordered.map((g) => ({ label: g, description: g === preferred ? "(setting)" : undefined, detail: detail[g] })),
      { title: "Gradient", placeHolder: "how a step turns wrong samples into patches", ignoreFocusOut: true },
    );
    return pick?.label as GradMode | undefined;
  }

  /** Run a long request with a cancellable progress notification (cancel sends experience/cancel). */
  async withProgress<M extends RequestMethod>(
    title: string,
    runDir: string,
    job: string,
    method: M,
    params: ParamsOf<M>,
    cancelRequest = false, // true: Cancel cancels the request itself (an evaluation); else experience/cancel stops the job
  ): Promise<ResultOf<M>> {
    await this.daemon.start();
    const token = `experience-vscode-${randomUUID()}`;
    this.runs.add(runDir);
    this.runs.setJob(runDir, job);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        async (progress, cancel) => {
          let last = 0;
          const follow = this.daemon.onProgress(token, (value: ProgressValue) => {
            if (value.kind === "end") {
              return;
            }
            const pct = value.percentage;
            progress.report({ message: value.message, increment: pct !== undefined ? Math.max(0, pct - last) : undefined });
            last = pct ?? last;
          });
          let finished = false;
          const stop = cancelRequest
            ? new vscode.Disposable(() => undefined)
            : cancel.onCancellationRequested(() => void this.cancelUntilTaken(runDir, () => finished));
          try {
            const sent = { ...params, workDoneToken: token } as ParamsOf<M>;
            return await (cancelRequest ? this.daemon.request(method, sent, cancel) : this.daemon.request(method, sent));
          } finally {
            finished = true;
            follow.dispose();
            stop.dispose();
          }
        },
      );
    } finally {
      this.runs.setJob(runDir, undefined);
      this.review.invalidate(runDir);
    }
  }

  /** Ask the daemon to stop the run's job; a job not started yet (the daemon still loading) is asked again. */
  async cancelUntilTaken(runDir: string, finished: () => boolean, retryMs = 500, tries = 40): Promise<boolean> {
    for (let i = 0; i < tries && !finished(); i++) {
      try {
        if ((await this.daemon.request("experience/cancel", { runDir })).cancelled) {
          return true;
        }
      } catch (error) {
        this.daemon.log.warn(`cancel: ${errorText(error)}`);
        return false;
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
    return false;
  }

  private async finished(what: string, result: TrainResult): Promise<void> {
    const staged = await this.review.stagedPatches(result.runDir).catch(() => []);
    const outcome = result.stopped
      ? `stopped at step ${result.step}${result.reason ? ` (${result.reason})` : ""}`
      : `step ${result.step}${result.loss !== undefined ? `, ${result.split ?? ""} loss ${result.loss.toFixed(3)}` : ""}${result.exact !== undefined ? `, exact ${(result.exact * 100).toFixed(0)}%` : ""}`;
    const review = staged.length ? ` ${staged.length} pending change${staged.length === 1 ? "" : "s"} to review.` : "";
    const pick = await vscode.window.showInformationMessage(
      `${what} ${path.basename(result.runDir)}: ${outcome}.${review}`,
      ...(staged.length ? ["Review"] : []),
    );
    if (pick === "Review") {
      await vscode.commands.executeCommand("experience.runs.focus");
    }
  }

  /** `Experience: Train`: pick (or name) a run, a dataset and gradient mode for a new run, a backend and
   * the epochs; a new run's capacity policy comes from the setting. */
  async train(args: TrainArgs = {}): Promise<void> {
    const settings = this.settings();
    const runDir = args.runDir ? canonical(args.runDir) : await this.pickRun("Train: which run?", true);
    if (!runDir) {
      return;
    }
    const resume = existsSync(path.join(runDir, "run.json"));
    const dataset = args.dataset ?? (resume ? undefined : await this.pickDataset());
    if (!resume && !dataset) {
      return;
    }
    const backend = args.backend ?? (resume ? undefined : await this.pickBackend(settings.backend)); // a run keeps its own
    if (!resume && !backend) {
      return;
    }
    const grad = args.grad ?? (resume ? undefined : await this.pickGrad(settings.grad)); // a resumed run keeps its own
    if (!resume && !grad) {
      return;
    }
    let epochs = args.epochs;
    if (epochs === undefined) {
      const typed = await vscode.window.showInputBox({
        title: "Epochs",
        prompt: resume ? "Train until this many epochs in total" : "Epochs over the training split",
        value: String(settings.epochs),
        ignoreFocusOut: true,
        validateInput: (v) => (/^[1-9]\d*$/.test(v.trim()) ? undefined : "a whole number, 1 or more"),
      });
      if (!typed) {
        return;
      }
      epochs = Number(typed.trim());
    }
    const request = buildTrainRequest({ runDir, dataset, backend, epochs, grad, capacity: args.capacity, resume }, settings);
    try {
      const title = `Training ${path.basename(runDir)} · ${resume ? await this.backendOf(runDir) : backendLabel({ backend, model: settings.model })}`;
      const result = await this.withProgress(title, runDir, "training", "experience/train", request);
      await this.finished("Training", result);
    } catch (error) {
      void vscode.window
        .showErrorMessage(`Training ${path.basename(runDir)} failed: ${errorText(error)}`, "Show Logs")
        .then((p) => p && this.daemon.log.show());
    }
  }

  /** The backend and model a run trains and evaluates with (its run.json, through the daemon). */
  private async backendOf(runDir: string): Promise<string> {
    try {
      return backendLabel(await this.runs.summary(runDir)) || "its backend";
    } catch {
      return "its backend";
    }
  }

  /** `Experience: Run One Step` of an existing run. */
  async step(args: TrainArgs = {}): Promise<void> {
    const runDir = args.runDir ? canonical(args.runDir) : await this.pickRun("Run one step of which run?", false);
    if (!runDir) {
      return;
    }
    try {
      const title = `Step of ${path.basename(runDir)} · ${await this.backendOf(runDir)}`;
      const result = await this.withProgress(title, runDir, "step", "experience/step", { runDir });
      await this.finished("Step of", result);
    } catch (error) {
      void vscode.window.showErrorMessage(`The step failed: ${errorText(error)}`);
    }
  }

  /** `Experience: Stop`: ask the running job to stop at its next safe point. */
  async stop(args: TrainArgs = {}): Promise<void> {
    let runDir = args.runDir ? canonical(args.runDir) : undefined;
    if (!runDir) {
      const status = await this.daemon.request("experience/status", {});
      const busy = [...new Set([...this.runs.running(), ...status.runs.filter((r) => r.job).map((r) => r.runDir)])];
      if (busy.length === 0) {
        void vscode.window.showInformationMessage("Nothing is training.");
        return;
      }
      runDir =
        busy.length === 1
          ? busy[0]
          : (
              await vscode.window.showQuickPick(
                busy.map((d) => ({ label: path.basename(d), description: relative(d), d })),
                { title: "Stop which run?" },
              )
            )?.d;
    }
    if (runDir) {
      const { cancelled } = await this.daemon.request("experience/cancel", { runDir });
      vscode.window.setStatusBarMessage(cancelled ? `Experience: stopping ${path.basename(runDir)}…` : "Experience: nothing to stop", 5000);
    }
  }

  /** `Experience: Evaluate` a run on its dataset's validation split (or another dataset). */
  async evaluate(args: TrainArgs = {}): Promise<void> {
    const runDir = args.runDir ? canonical(args.runDir) : await this.pickRun("Evaluate which run?", false);
    if (!runDir) {
      return;
    }
    const request = buildEvaluateRequest(runDir, args.dataset);
    const name = path.basename(runDir);
    try {
      const title = `Evaluating ${name} · ${await this.backendOf(runDir)}`;
      const r = await this.withProgress(title, runDir, "evaluating", "experience/evaluate", request, true);
      void vscode.window.showInformationMessage(
        `Evaluation of ${name}: loss ${r.loss.toFixed(3)}, exact ${(r.exact * 100).toFixed(0)}%, n ${r.n}.`,
      );
    } catch (error) {
      if (isCancelled(error)) {
        void vscode.window.showInformationMessage(`Evaluation of ${name} cancelled; nothing was recorded.`);
      } else {
        void vscode.window.showErrorMessage(`Evaluation failed: ${errorText(error)}`);
      }
    }
  }
}
