// Generated from `python -m experience_daemon.protocol --json`; do not edit by hand.
// Regenerate with `npm --prefix vscode-extension run gen:protocol` (a unit test fails when this copy is stale).

export const PROTOCOL_VERSION = 1;

/** Whether a job was running and was asked to stop. */
export interface CancelResult {
  cancelled: boolean;
}

/** Whether the run was open. */
export interface ClosedResult {
  closed: boolean;
}

/** An entry's text changed: by training, on disk, by a client, a review or a keyword refresh. */
export interface EntryChangedNotification {
  column: "query" | "key" | "value";
  origin: "patch" | "disk" | "client" | "review" | "keywords" | "rollback";
  row: number;
  runDir: string;
  version: number;
}

/** One experience row: its keywords, files, and the step and sample that last wrote it. */
export interface EntryInfo {
  filled: boolean;
  keyPath: string;
  missing: boolean;
  query: string[];
  queryPath: string;
  row: number;
  samples: string[];
  source: string | null;
  step: number | null;
  trust: number;
  valuePath: string;
}

/** Names one entry (an element of the experience). */
export interface EntryParams {
  column: "query" | "key" | "value";
  row: number;
  runDir: string;
}

/** An entry's text and version (equal versions mean equal text). */
export interface EntryText {
  text: string;
  version: number;
}

/** Mean loss (edit distance ratio), exact-match rate, valid share (with a dataset checker) and sample count. */
export interface EvalResult {
  exact: number;
  loss: number;
  n: number;
  valid?: number;
}

/** Evaluate a run's experience on a dataset split. */
export interface EvaluateRequest {
  backend?: "local" | "openai" | "claude-agent";
  baseUrl?: string;
  dataset?: string;
  grammar?: "on" | "off";
  model?: string;
  noCache?: boolean;
  record?: boolean;
  runDir: string;
  split?: string;
}

/** The answer to one input, the rows it used, the run's step, and the calls it cost. */
export interface InferAnswer {
  answer: string;
  rows: UsedRow[];
  step: number;
  usage: Record<string, unknown>;
}

/** Inputs for a run to answer with its experience (the run dir is only read). */
export interface InferParams {
  inputs: string[];
  runDir: string;
}

/** One answer per input, in order. */
export interface InferResult {
  answers: InferAnswer[];
  runDir: string;
}

/** Runs of one task to merge into a new run `out` (policy for rows on the same input; capacity). */
export interface MergeRunsParams {
  out: string;
  policy?: "both" | "trust" | "llm";
  rows?: number;
  runDirs: string[];
}

/** What the merge did: rows written, identical rows folded, same-input groups, rows dropped for capacity. */
export interface MergeRunsResult {
  capacity: number;
  conflicts: number;
  dropped: number;
  identical: number;
  llm_fallbacks: number;
  out: string;
  policy: string;
  rows: number;
}

/** A metrics record of a run (the line appended to its metrics.jsonl): step, split, loss, exact, n, usage,
    and `valid` (the share of outputs the dataset's checker accepts) when the dataset names a checker. */
export interface MetricsNotification {
  record: Record<string, unknown>;
  runDir: string;
}

/** The patch after the decision and the entry's version (null after a reject). */
export interface PatchDecision {
  patch: PatchInfo;
  version: number | null;
}

/** One patch (a symbolic gradient step on one entry) and what became of it. */
export interface PatchInfo {
  column: "query" | "key" | "value";
  diff: string;
  id: string;
  outcome: string | null;
  row: number;
  sample: string | null;
  state: "staged" | "applied" | "accepted" | "rejected" | "blocked";
  step: number;
}

/** Names a patch of a run. */
export interface PatchParams {
  patchId: string;
  runDir: string;
}

/** The entry as the patch leaves it: for a staged patch exactly what acceptPatch writes (the entry unchanged,
    with `conflict` saying why, when accept would refuse); the entry version it was made from; how the hunks went. */
export interface PatchPreview {
  conflict: string | null;
  outcome: "applied" | "fuzzed" | "rejected";
  patch: PatchInfo;
  rejectedHunks: string[];
  text: string;
  version: number;
}

/** Patches of one step (all steps when step is left out), optionally only those in one state. */
export interface PatchesParams {
  runDir: string;
  state?: "staged" | "applied" | "accepted" | "rejected" | "blocked";
  step?: number;
}

/** Names a patch; side "after" (default) applies it, "before" undoes it. */
export interface PreviewParams {
  patchId: string;
  runDir: string;
  side?: "before" | "after";
}

/** Restore a run's experience to what it was after step `toStep` (0: the empty start). */
export interface RollbackParams {
  runDir: string;
  toStep: number;
}

/** Where the run now is; the entries that changed; the steps undone (kept on record). */
export interface RollbackResult {
  epoch: number;
  restored: number;
  runDir: string;
  step: number;
  undone: number[];
}

/** Names a run directory. */
export interface RunParams {
  runDir: string;
}

/** What a run is doing. */
export interface RunStatus {
  epoch: number;
  epochs: number;
  job: string | null;
  lastMetrics: Record<string, unknown> | null;
  lockedBy: string | null;
  review: boolean;
  runDir: string;
  staged: number;
  step: number;
}

/** What a run is: its shape, how full it is, where it is, and its last metrics. */
export interface RunSummary {
  backend: string;
  capacity: "evict" | "merge";
  epoch: number;
  filled: number;
  grad: "example" | "llm";
  grammar?: "on" | "off" | "auto";
  lastMetrics: Record<string, unknown> | null;
  model: string | null;
  query: "llm" | "lexical";
  retriever: "jaccard" | "embedding" | "hybrid";
  review: boolean;
  rows: number;
  runDir: string;
  shape: number[];
  step: number;
}

/** Status of one run, or of every open run when runDir is left out. */
export interface StatusParams {
  runDir?: string;
}

/** Status of the runs asked for. */
export interface StatusResult {
  protocolVersion: number;
  runs: RunStatus[];
}

/** One training step of an existing run. */
export interface StepRequest {
  dataset?: string;
  noCache?: boolean;
  runDir: string;
}

/** Train a run (new when runDir holds none: then `dataset` is required). */
export interface TrainRequest {
  backend?: "local" | "openai" | "claude-agent";
  baseUrl?: string;
  batchSize?: number;
  capacity?: "evict" | "merge";
  concurrency?: number;
  dataset?: string;
  epochs?: number;
  executor?: "inprocess" | "ray";
  grad?: "example" | "llm";
  grammar?: "on" | "off";
  lr?: number;
  maxCalls?: number;
  maxCost?: number;
  maxSteps?: number;
  maxTokens?: number;
  model?: string;
  noCache?: boolean;
  query?: "llm" | "lexical";
  resume?: boolean;
  retriever?: "jaccard" | "embedding" | "hybrid";
  review?: boolean;
  rows?: number;
  runDir: string;
  seed?: number;
  topk?: number;
  workers?: number;
}

/** Where the run stopped and its last metrics (validation after an epoch; may hold more). */
export interface TrainResult {
  epoch: number;
  exact?: number;
  loss?: number;
  n?: number;
  reason?: string;
  runDir: string;
  split?: string;
  step: number;
  stopped?: boolean;
  valid?: number;
}

/** An experience row retrieved for an input, best first. */
export interface UsedRow {
  key: string;
  keyPath: string | null;
  query: string[];
  row: number;
  trust: number;
  value: string;
  valuePath: string | null;
}

/** The version of the entry after a write. */
export interface VersionResult {
  version: number;
}

/** New text for an entry, based on the version the client read. */
export interface WriteEntryParams {
  column: "query" | "key" | "value";
  row: number;
  runDir: string;
  text: string;
  version: number;
}

/** Method names. */
export const Method = {
  acceptPatch: "experience/acceptPatch",
  cancel: "experience/cancel",
  closeRun: "experience/closeRun",
  entryChanged: "experience/entryChanged",
  evaluate: "experience/evaluate",
  infer: "experience/infer",
  listEntries: "experience/listEntries",
  mergeRuns: "experience/mergeRuns",
  metrics: "experience/metrics",
  openRun: "experience/openRun",
  patches: "experience/patches",
  previewPatch: "experience/previewPatch",
  readEntry: "experience/readEntry",
  rejectPatch: "experience/rejectPatch",
  rollback: "experience/rollback",
  status: "experience/status",
  step: "experience/step",
  train: "experience/train",
  writeEntry: "experience/writeEntry",
} as const;

/** Requests (client -> daemon): params and result of each. */
export interface Requests {
  /** Apply a staged patch to its entry. */
  "experience/acceptPatch": { params: PatchParams; result: PatchDecision };
  /** Stop the run's training at its next safe point. */
  "experience/cancel": { params: RunParams; result: CancelResult };
  /** Stop watching a run and forget it (its job is cancelled). */
  "experience/closeRun": { params: RunParams; result: ClosedResult };
  /** Evaluate a run on a split; reports work-done progress. */
  "experience/evaluate": { params: EvaluateRequest; result: EvalResult };
  /** Answer inputs with a run's experience (read-only). */
  "experience/infer": { params: InferParams; result: InferResult };
  /** Every experience row of a run. */
  "experience/listEntries": { params: RunParams; result: EntryInfo[] };
  /** Merge runs of one task into a new run. */
  "experience/mergeRuns": { params: MergeRunsParams; result: MergeRunsResult };
  /** Open a run (and watch its files); returns its summary. */
  "experience/openRun": { params: RunParams; result: RunSummary };
  /** Patch records of a step (or of all steps). */
  "experience/patches": { params: PatchesParams; result: PatchInfo[] };
  /** The entry as a patch leaves it (what accept writes). */
  "experience/previewPatch": { params: PreviewParams; result: PatchPreview };
  /** Text and version of one entry. */
  "experience/readEntry": { params: EntryParams; result: EntryText };
  /** Mark a staged patch rejected. */
  "experience/rejectPatch": { params: PatchParams; result: PatchDecision };
  /** Restore the experience as it was after a step. */
  "experience/rollback": { params: RollbackParams; result: RollbackResult };
  /** What the open runs (or one run) are doing. */
  "experience/status": { params: StatusParams; result: StatusResult };
  /** One training step of a run; reports work-done progress. */
  "experience/step": { params: StepRequest; result: TrainResult };
  /** Train (or continue) a run; reports work-done progress. */
  "experience/train": { params: TrainRequest; result: TrainResult };
  /** Replace an entry's text; a stale version is refused. */
  "experience/writeEntry": { params: WriteEntryParams; result: VersionResult };
}

/** Notifications (daemon -> client). */
export interface Notifications {
  /** An entry's text changed. */
  "experience/entryChanged": EntryChangedNotification;
  /** A metrics record (per step, per evaluation). */
  "experience/metrics": MetricsNotification;
}

/** Requests that report work-done progress. */
export const PROGRESS_METHODS: readonly string[] = ["experience/evaluate", "experience/step", "experience/train"];

/** JSON-RPC error codes. */
export const ErrorCode = {
  busy: -32003,
  internalError: -32603,
  invalidParams: -32602,
  invalidRequest: -32600,
  methodNotFound: -32601,
  notFound: -32004,
  parseError: -32700,
  patchConflict: -32005,
  requestCancelled: -32800,
  requestFailed: -32803,
  runLocked: -32006,
  staleVersion: -32001,
} as const;

export type RequestMethod = keyof Requests;
export type NotificationMethod = keyof Notifications;
export type ParamsOf<M extends RequestMethod> = Requests[M]["params"];
export type ResultOf<M extends RequestMethod> = Requests[M]["result"];
