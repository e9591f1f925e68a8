/** Settings -> request parameters, and which secret (API key) each backend reads from its environment. */

import type { EvaluateRequest, TrainRequest } from "./protocol";

export type Backend = NonNullable<TrainRequest["backend"]>;
export const BACKENDS: readonly Backend[] = ["local", "openai", "claude-agent"];
/** How a step turns wrong samples into patches: one row per sample, or the LLM rewrites the rows retrieved. */
export type GradMode = NonNullable<TrainRequest["grad"]>;
export const GRAD_MODES: readonly GradMode[] = ["example", "llm"];
/** What happens when no row is free: evict the lowest-coefficient row, or merge into the best match. */
export type CapacityPolicy = NonNullable<TrainRequest["capacity"]>;
export const CAPACITY_POLICIES: readonly CapacityPolicy[] = ["evict", "merge"];
/** How a run retrieves rows per input: keywords (Jaccard), sentence embeddings, or rank fusion of both. */
export type RetrieverName = NonNullable<TrainRequest["retriever"]>;
export const RETRIEVERS: readonly RetrieverName[] = ["jaccard", "embedding", "hybrid"];
/** How a new run makes the query column: "dataset" leaves it to the dataset manifest (then the daemon's default). */
export type QuerySetting = NonNullable<TrainRequest["query"]> | "dataset";
export const QUERY_SETTINGS: readonly QuerySetting[] = ["dataset", "llm", "lexical"];
/** Whether a new run decodes answers under the dataset's grammar: "dataset" is on when the dataset names one. */
export type GrammarSetting = NonNullable<TrainRequest["grammar"]> | "dataset";
export const GRAMMAR_SETTINGS: readonly GrammarSetting[] = ["dataset", "on", "off"];

export interface ExperienceSettings {
  backend: Backend;
  model: string;
  endpoint: string;
  concurrency: number;
  reviewMode: boolean;
  epochs: number;
  grad: GradMode;
  capacity: CapacityPolicy;
  retriever: RetrieverName;
  query: QuerySetting;
  grammar: GrammarSetting;
  /** Budgets of one training job (0: no limit). */
  maxCost: number;
  maxCalls: number;
  maxTokens: number;
}

export const DEFAULT_SETTINGS: ExperienceSettings = {
  backend: "local",
  model: "",
  endpoint: "",
  concurrency: 1,
  reviewMode: false,
  epochs: 3,
  grad: "example",
  capacity: "evict",
  retriever: "hybrid",
  query: "dataset",
  grammar: "dataset",
  maxCost: 0,
  maxCalls: 0,
  maxTokens: 0,
};

/** A budget setting: a finite number >= 0 (whole for counts); anything else is no limit (0). */
function limit(value: unknown, whole: boolean): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 && (!whole || Number.isInteger(value)) ? value : 0;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** Read settings through a getter (vscode's WorkspaceConfiguration.get), falling back to defaults. */
export function readSettings(get: <T>(key: string) => T | undefined): ExperienceSettings {
  const backend = get<string>("backend");
  const concurrency = get<number>("concurrency");
  const epochs = get<number>("epochs");
  return {
    backend: BACKENDS.includes(backend as Backend) ? (backend as Backend) : DEFAULT_SETTINGS.backend,
    model: (get<string>("model") ?? "").trim(),
    endpoint: (get<string>("endpoint") ?? "").trim(),
    concurrency: Number.isInteger(concurrency) && (concurrency ?? 0) >= 1 ? (concurrency as number) : 1,
    reviewMode: get<boolean>("reviewMode") === true,
    epochs: Number.isInteger(epochs) && (epochs ?? 0) >= 1 ? (epochs as number) : DEFAULT_SETTINGS.epochs,
    grad: oneOf(get<string>("train.grad"), GRAD_MODES, DEFAULT_SETTINGS.grad),
    capacity: oneOf(get<string>("train.capacity"), CAPACITY_POLICIES, DEFAULT_SETTINGS.capacity),
    retriever: oneOf(get<string>("train.retriever"), RETRIEVERS, DEFAULT_SETTINGS.retriever),
    query: oneOf(get<string>("train.query"), QUERY_SETTINGS, DEFAULT_SETTINGS.query),
    grammar: oneOf(get<string>("train.grammar"), GRAMMAR_SETTINGS, DEFAULT_SETTINGS.grammar),
    maxCost: limit(get<number>("maxCost"), false),
    maxCalls: limit(get<number>("maxCalls"), true),
    maxTokens: limit(get<number>("maxTokens"), true),
  };
}

export interface TrainPicks {
  runDir: string;
  dataset?: string;
  backend?: Backend;
  epochs?: number;
  grad?: GradMode;
  capacity?: CapacityPolicy;
  retriever?: RetrieverName;
  resume: boolean;
}

/** The `experience/train` params: the picks, then the settings (model and endpoint only when set). A resumed
 * run trains with its own backend, model, endpoint and review mode (run.json): those are not sent for it. */
export function buildTrainRequest(picks: TrainPicks, settings: ExperienceSettings): TrainRequest {
  const backend = picks.backend ?? settings.backend;
  const request: TrainRequest = {
    runDir: picks.runDir,
    epochs: picks.epochs ?? settings.epochs,
    concurrency: settings.concurrency,
    resume: picks.resume,
  };
  if (!picks.resume) {
    request.backend = backend;
    request.review = settings.reviewMode;
    if (settings.model) {
      request.model = settings.model;
    }
    if (settings.endpoint && backend === "openai") {
      request.baseUrl = settings.endpoint;
    }
  }
  if (settings.maxCost > 0) {
    request.maxCost = settings.maxCost;
  }
  if (settings.maxCalls > 0) {
    request.maxCalls = settings.maxCalls;
  }
  if (settings.maxTokens > 0) {
    request.maxTokens = settings.maxTokens;
  }
  // A new run is created with a gradient mode and capacity policy; a resumed run keeps its own unless told.
  if (!picks.resume || picks.grad) {
    request.grad = picks.grad ?? settings.grad;
  }
  if (!picks.resume || picks.capacity) {
    request.capacity = picks.capacity ?? settings.capacity;
  }
  // The retriever is fixed when a run is created (run.json): only a new run sends it.
  if (!picks.resume) {
    request.retriever = picks.retriever ?? settings.retriever;
    if (settings.query !== "dataset") {
      request.query = settings.query;
    }
    if (settings.grammar !== "dataset") {
      request.grammar = settings.grammar;
    }
  }
  if (picks.dataset) {
    request.dataset = picks.dataset;
  }
  return request;
}

/** The `experience/evaluate` params for a run: its own dataset (unless one is given), backend and model. */
export function buildEvaluateRequest(runDir: string, dataset?: string): EvaluateRequest {
  return dataset ? { runDir, dataset } : { runDir };
}

/** How a run's backend reads in a title: "local", "openai (gpt-4o-mini)". */
export function backendLabel(summary: { backend?: string; model?: string | null }): string {
  return summary.backend ? `${summary.backend}${summary.model ? ` (${summary.model})` : ""}` : "";
}

/** Environment variable each backend reads its API key from (the key lives in SecretStorage). */
export const SECRET_ENV: Record<Exclude<Backend, "local">, string> = {
  openai: "LLM_API_KEY",
  "claude-agent": "ANTHROPIC_API_KEY",
};

/** Secret storage key of a backend's API key. */
export function secretKey(backend: Exclude<Backend, "local">): string {
  return `experience.apiKey.${backend}`;
}
