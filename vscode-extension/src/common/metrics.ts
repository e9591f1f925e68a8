/** Metrics records (lines of a run's metrics.jsonl, or `experience/metrics` notifications) and the
 * status-bar text made from them. */

export interface MetricsRecord {
  step: number;
  split: string;
  loss?: number;
  exact?: number;
  /** Share of outputs the dataset's checker accepts (absent: the dataset has no checker). */
  valid?: number;
  n?: number;
  calls: number;
  cost: number;
  promptTokens: number;
  completionTokens: number;
  cacheHits: number;
  seconds?: number;
  backend?: string;
  model?: string;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A typed record from raw JSON (missing counters are 0; a record without a step is dropped). */
export function toRecord(raw: Record<string, unknown>): MetricsRecord | undefined {
  const step = num(raw.step);
  if (step === undefined) {
    return undefined;
  }
  return {
    step,
    split: str(raw.split) ?? "train",
    loss: num(raw.loss),
    exact: num(raw.exact),
    valid: num(raw.valid),
    n: num(raw.n),
    calls: num(raw.calls) ?? 0,
    cost: num(raw.cost) ?? 0,
    promptTokens: num(raw.prompt_tokens) ?? 0,
    completionTokens: num(raw.completion_tokens) ?? 0,
    cacheHits: num(raw.cache_hits) ?? 0,
    seconds: num(raw.seconds),
    backend: str(raw.backend),
    model: str(raw.model),
  };
}

/** Records of a metrics.jsonl text (blank and broken lines are skipped). */
export function parseMetricsJsonl(text: string): MetricsRecord[] {
  const out: MetricsRecord[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) {
      continue;
    }
    try {
      const record = toRecord(JSON.parse(line) as Record<string, unknown>);
      if (record) {
        out.push(record);
      }
    } catch {
      continue; // a line being written right now
    }
  }
  return out;
}

export interface RunTotals {
  step: number;
  loss?: number;
  lossSplit?: string;
  exact?: number;
  valid?: number;
  calls: number;
  cost: number;
  tokens: number;
  cacheHits: number;
}

/** Step and loss of the last record; calls, tokens and cost summed over all records. */
export function totals(records: readonly MetricsRecord[]): RunTotals {
  const last = records[records.length - 1];
  const sum = (pick: (r: MetricsRecord) => number) => records.reduce((acc, r) => acc + pick(r), 0);
  return {
    step: last?.step ?? 0,
    loss: last?.loss,
    lossSplit: last?.split,
    exact: last?.exact,
    valid: last?.valid,
    calls: sum((r) => r.calls),
    cost: sum((r) => r.cost),
    tokens: sum((r) => r.promptTokens + r.completionTokens),
    cacheHits: sum((r) => r.cacheHits),
  };
}

/** Totals of a run whose experience is at `step` (after a rollback the records go further): a loss and
 * exact-match rate measured at another step are left out. */
export function atStep(t: RunTotals, step: number | undefined): RunTotals {
  if (step === undefined || step === t.step) {
    return t;
  }
  return { ...t, step, loss: undefined, lossSplit: undefined, exact: undefined, valid: undefined };
}

/** "idle": not started yet (it starts on first use). */
export type DaemonState = "idle" | "starting" | "ready" | "stopped" | "failed";

export interface StatusInput {
  daemon: DaemonState;
  runName?: string;
  job?: string;
  totals?: RunTotals;
}

/** Cost in USD: "$0.00" for nothing, 4 decimals under a cent, else 2. */
export function formatCost(cost: number): string {
  if (cost === 0) {
    return "$0.00";
  }
  return cost < 0.01 ? `$${cost.toFixed(4)}` : `$${cost.toFixed(2)}`;
}

/** Status-bar text and tooltip: "$(beaker) step 3 · val loss 0.412 · 12 calls · $0.00". */
export function formatStatus(input: StatusInput): { text: string; tooltip: string } {
  if (input.daemon === "starting") {
    return { text: "$(sync~spin) Experience", tooltip: "Experience: starting the daemon…" };
  }
  if (input.daemon === "failed" || input.daemon === "stopped") {
    return {
      text: "$(error) Experience",
      tooltip: "Experience: the daemon is not running. Click to restart it (see 'Experience: Show Logs').",
    };
  }
  const icon = input.job ? "$(sync~spin)" : "$(beaker)";
  const t = input.totals;
  if (!t || !input.runName) {
    return { text: `${icon} Experience`, tooltip: "Experience: no run yet. Run 'Experience: Train' to start one." };
  }
  const parts = [`step ${t.step}`];
  if (t.loss !== undefined) {
    parts.push(`${t.lossSplit === "val" ? "val " : ""}loss ${t.loss.toFixed(3)}`);
  }
  if (t.valid !== undefined) {
    parts.push(`valid ${(t.valid * 100).toFixed(0)}%`);
  }
  parts.push(`${t.calls} call${t.calls === 1 ? "" : "s"}`, formatCost(t.cost));
  const tooltip = [
    `Experience run ${input.runName}${input.job ? ` (${input.job} running)` : ""}`,
    `step ${t.step}`,
    t.loss !== undefined ? `${t.lossSplit ?? ""} loss ${t.loss.toFixed(4)}` : "no loss yet",
    t.exact !== undefined ? `exact match ${(t.exact * 100).toFixed(0)}%` : "",
    t.valid !== undefined ? `valid ${(t.valid * 100).toFixed(0)}% (answers the dataset's checker accepts)` : "",
    `${t.calls} LLM calls (${t.cacheHits} from cache), ${t.tokens} tokens, ${formatCost(t.cost)}`,
    "Click for the loss chart.",
  ].filter(Boolean);
  return { text: `${icon} ${parts.join(" · ")}`, tooltip: tooltip.join("\n") };
}
