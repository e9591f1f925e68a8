"""The daemon's JSON-RPC protocol, defined once: method names, param and result types, error codes.

`python -m experience_daemon.protocol --json` prints it (the TypeScript copy is checked against it).
"""

# No `from __future__ import annotations` here: TypedDict needs real annotations to see NotRequired.
import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from experience_daemon.wire import ParamsError, check, schema_of

PROTOCOL_VERSION = 1

Column = Literal["query", "key", "value"]
PatchState = Literal["staged", "applied", "accepted", "rejected", "blocked"]
Origin = Literal["patch", "disk", "client", "review", "keywords", "rollback"]
GradMode = Literal["example", "llm"]
CapacityPolicy = Literal["evict", "merge"]
QueryMode = Literal["llm", "lexical"]
RetrieverName = Literal["jaccard", "embedding", "hybrid"]
GrammarSetting = Literal["on", "off"]


class RunParams(TypedDict):
    """Names a run directory."""

    runDir: str


class RunSummary(TypedDict):
    """What a run is: its shape, how full it is, where it is, and its last metrics."""

    runDir: str
    shape: list[int]
    rows: int
    filled: int
    step: int
    epoch: int
    backend: str
    model: str | None
    review: bool
    grad: GradMode
    capacity: CapacityPolicy
    query: QueryMode
    retriever: RetrieverName
    grammar: NotRequired[Literal["on", "off", "auto"]]
    lastMetrics: dict[str, Any] | None


class EntryInfo(TypedDict):
    """One experience row: its keywords, files, and the step and sample that last wrote it."""

    row: int
    query: list[str]
    queryPath: str
    keyPath: str
    valuePath: str
    step: int | None
    source: str | None
    filled: bool
    samples: list[str]
    trust: float
    missing: bool


class EntryParams(TypedDict):
    """Names one entry (an element of the experience)."""

    runDir: str
    row: int
    column: Column


class EntryText(TypedDict):
    """An entry's text and version (equal versions mean equal text)."""

    text: str
    version: int


class WriteEntryParams(TypedDict):
    """New text for an entry, based on the version the client read."""

    runDir: str
    row: int
    column: Column
    text: str
    version: int


class VersionResult(TypedDict):
    """The version of the entry after a write."""

    version: int


class TrainRequest(TypedDict):
    """Train a run (new when runDir holds none: then `dataset` is required)."""

    runDir: str
    dataset: NotRequired[str]
    epochs: NotRequired[int]
    backend: NotRequired[Literal["local", "openai", "claude-agent"]]
    model: NotRequired[str]
    baseUrl: NotRequired[str]
    seed: NotRequired[int]
    topk: NotRequired[int]
    rows: NotRequired[int]
    batchSize: NotRequired[int]
    lr: NotRequired[float]
    maxCalls: NotRequired[int]
    maxTokens: NotRequired[int]
    maxCost: NotRequired[float]
    maxSteps: NotRequired[int]
    resume: NotRequired[bool]
    review: NotRequired[bool]
    grad: NotRequired[GradMode]
    capacity: NotRequired[CapacityPolicy]
    query: NotRequired[QueryMode]
    retriever: NotRequired[RetrieverName]
    grammar: NotRequired[GrammarSetting]
    executor: NotRequired[Literal["inprocess", "ray"]]
    workers: NotRequired[int]
    noCache: NotRequired[bool]
    concurrency: NotRequired[int]


class StepRequest(TypedDict):
    """One training step of an existing run."""

    runDir: str
    dataset: NotRequired[str]
    noCache: NotRequired[bool]


class TrainResult(TypedDict):
    """Where the run stopped and its last metrics (validation after an epoch; may hold more)."""

    runDir: str
    step: int
    epoch: int
    stopped: NotRequired[bool]
    reason: NotRequired[str]
    loss: NotRequired[float]
    exact: NotRequired[float]
    valid: NotRequired[float]
    n: NotRequired[int]
    split: NotRequired[str]


class CancelResult(TypedDict):
    """Whether a job was running and was asked to stop."""

    cancelled: bool


class StatusParams(TypedDict):
    """Status of one run, or of every open run when runDir is left out."""

    runDir: NotRequired[str]


class RunStatus(TypedDict):
    """What a run is doing."""

    runDir: str
    job: str | None
    step: int
    epoch: int
    epochs: int
    review: bool
    lockedBy: str | None
    staged: int
    lastMetrics: dict[str, Any] | None


class StatusResult(TypedDict):
    """Status of the runs asked for."""

    runs: list[RunStatus]
    protocolVersion: int


class EvaluateRequest(TypedDict):
    """Evaluate a run's experience on a dataset split."""

    runDir: str
    dataset: NotRequired[str]
    split: NotRequired[str]
    backend: NotRequired[Literal["local", "openai", "claude-agent"]]
    model: NotRequired[str]
    baseUrl: NotRequired[str]
    noCache: NotRequired[bool]
    record: NotRequired[bool]
    grammar: NotRequired[Literal["on", "off"]]  # answers under the dataset's grammar or free (default: the run's)


class EvalResult(TypedDict):
    """Mean loss (edit distance ratio), exact-match rate, valid share (with a dataset checker) and sample count."""

    loss: float
    exact: float
    valid: NotRequired[float]
    n: int


class PatchesParams(TypedDict):
    """Patches of one step (all steps when step is left out), optionally only those in one state."""

    runDir: str
    step: NotRequired[int]
    state: NotRequired[PatchState]


class PatchInfo(TypedDict):
    """One patch (a symbolic gradient step on one entry) and what became of it."""

    id: str
    step: int
    row: int
    column: Column
    diff: str
    state: PatchState
    outcome: str | None
    sample: str | None


class PatchParams(TypedDict):
    """Names a patch of a run."""

    runDir: str
    patchId: str


class PreviewParams(TypedDict):
    """Names a patch; side "after" (default) applies it, "before" undoes it."""

    runDir: str
    patchId: str
    side: NotRequired[Literal["before", "after"]]


class PatchPreview(TypedDict):
    """The entry as the patch leaves it: for a staged patch exactly what acceptPatch writes (the entry unchanged,
    with `conflict` saying why, when accept would refuse); the entry version it was made from; how the hunks went."""

    patch: PatchInfo
    text: str
    version: int
    outcome: Literal["applied", "fuzzed", "rejected"]
    rejectedHunks: list[str]
    conflict: str | None


class PatchDecision(TypedDict):
    """The patch after the decision and the entry's version (null after a reject)."""

    patch: PatchInfo
    version: int | None


class RollbackParams(TypedDict):
    """Restore a run's experience to what it was after step `toStep` (0: the empty start)."""

    runDir: str
    toStep: int


class RollbackResult(TypedDict):
    """Where the run now is; the entries that changed; the steps undone (kept on record)."""

    runDir: str
    step: int
    epoch: int
    restored: int
    undone: list[int]


class InferParams(TypedDict):
    """Inputs for a run to answer with its experience (the run dir is only read)."""

    runDir: str
    inputs: list[str]


class UsedRow(TypedDict):
    """An experience row retrieved for an input, best first."""

    row: int
    query: list[str]
    key: str
    value: str
    trust: float
    keyPath: str | None
    valuePath: str | None


class InferAnswer(TypedDict):
    """The answer to one input, the rows it used, the run's step, and the calls it cost."""

    answer: str
    rows: list[UsedRow]
    step: int
    usage: dict[str, int]


class InferResult(TypedDict):
    """One answer per input, in order."""

    runDir: str
    answers: list[InferAnswer]


class MergeRunsParams(TypedDict):
    """Runs of one task to merge into a new run `out` (policy for rows on the same input; capacity)."""

    runDirs: list[str]
    out: str
    policy: NotRequired[Literal["both", "trust", "llm"]]
    rows: NotRequired[int]


class MergeRunsResult(TypedDict):
    """What the merge did: rows written, identical rows folded, same-input groups, rows dropped for capacity."""

    out: str
    rows: int
    capacity: int
    identical: int
    conflicts: int
    dropped: int
    policy: str
    llm_fallbacks: int


class ClosedResult(TypedDict):
    """Whether the run was open."""

    closed: bool


class MetricsNotification(TypedDict):
    """A metrics record of a run (the line appended to its metrics.jsonl): step, split, loss, exact, n, usage,
    and `valid` (the share of outputs the dataset's checker accepts) when the dataset names a checker."""

    runDir: str
    record: dict[str, Any]


class EntryChangedNotification(TypedDict):
    """An entry's text changed: by training, on disk, by a client, a review or a keyword refresh."""

    runDir: str
    row: int
    column: Column
    origin: Origin
    version: int


@dataclass(frozen=True)
class Method:
    """A method: request (client -> server, with a result) or notification (to the client)."""

    name: str
    kind: Literal["request", "notification"]
    params: Any
    result: Any
    doc: str
    progress: bool = False


def _request(name: str, params: Any, result: Any, doc: str, progress: bool = False) -> Method:
    return Method(f"experience/{name}", "request", params, result, doc, progress)


OPEN_RUN, CLOSE_RUN, LIST_ENTRIES = "experience/openRun", "experience/closeRun", "experience/listEntries"
READ_ENTRY, WRITE_ENTRY = "experience/readEntry", "experience/writeEntry"
TRAIN, STEP, CANCEL, STATUS, EVALUATE = (f"experience/{n}" for n in ("train", "step", "cancel", "status", "evaluate"))
PATCHES, ACCEPT_PATCH, REJECT_PATCH = "experience/patches", "experience/acceptPatch", "experience/rejectPatch"
PREVIEW_PATCH = "experience/previewPatch"
ROLLBACK = "experience/rollback"
INFER, MERGE_RUNS = "experience/infer", "experience/mergeRuns"
METRICS, ENTRY_CHANGED = "experience/metrics", "experience/entryChanged"

# fmt: off
METHODS: dict[str, Method] = {m.name: m for m in (
    _request("openRun", RunParams, RunSummary, "Open a run (and watch its files); returns its summary."),
    _request("closeRun", RunParams, ClosedResult, "Stop watching a run and forget it (its job is cancelled)."),
    _request("listEntries", RunParams, list[EntryInfo], "Every experience row of a run."),
    _request("readEntry", EntryParams, EntryText, "Text and version of one entry."),
    _request("writeEntry", WriteEntryParams, VersionResult, "Replace an entry's text; a stale version is refused."),
    _request("train", TrainRequest, TrainResult, "Train (or continue) a run; reports work-done progress.", True),
    _request("step", StepRequest, TrainResult, "One training step of a run; reports work-done progress.", True),
    _request("cancel", RunParams, CancelResult, "Stop the run's training at its next safe point."),
    _request("status", StatusParams, StatusResult, "What the open runs (or one run) are doing."),
    _request("evaluate", EvaluateRequest, EvalResult, "Evaluate a run on a split; reports work-done progress.", True),
    _request("patches", PatchesParams, list[PatchInfo], "Patch records of a step (or of all steps)."),
    _request("previewPatch", PreviewParams, PatchPreview, "The entry as a patch leaves it (what accept writes)."),
    _request("acceptPatch", PatchParams, PatchDecision, "Apply a staged patch to its entry."),
    _request("rejectPatch", PatchParams, PatchDecision, "Mark a staged patch rejected."),
    _request("rollback", RollbackParams, RollbackResult, "Restore the experience as it was after a step."),
    _request("infer", InferParams, InferResult, "Answer inputs with a run's experience (read-only)."),
    _request("mergeRuns", MergeRunsParams, MergeRunsResult, "Merge runs of one task into a new run."),
    Method(METRICS, "notification", MetricsNotification, None, "A metrics record (per step, per evaluation)."),
    Method(ENTRY_CHANGED, "notification", EntryChangedNotification, None, "An entry's text changed."),
)}

# JSON-RPC error codes: standard, LSP, and the daemon's own (-32000..-32099 is for servers).
ERROR_CODES: dict[str, int] = {
    "parseError": -32700, "invalidRequest": -32600, "methodNotFound": -32601, "invalidParams": -32602,
    "internalError": -32603, "requestCancelled": -32800, "requestFailed": -32803,
    "staleVersion": -32001, "runLocked": -32006, "busy": -32003, "notFound": -32004, "patchConflict": -32005,
}
# fmt: on
LSP_KEYS = frozenset({"workDoneToken", "partialResultToken"})


def decode_params(method: str, params: Any) -> dict[str, Any]:
    """Check a request's params against its type; ParamsError names the first problem."""
    spec = METHODS[method]
    if params is None:
        params = {}
    value: dict[str, Any] = check(spec.params, params, "params", ignore=LSP_KEYS)
    return value


def protocol_json() -> dict[str, Any]:
    """The whole protocol as JSON Schema fragments (what the TypeScript copy must match)."""
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "methods": {
            m.name: {
                "kind": m.kind,
                "doc": m.doc,
                "progress": m.progress,
                "params": schema_of(m.params),
                **({"result": schema_of(m.result)} if m.kind == "request" else {}),
            }
            for m in METHODS.values()
        },
        "errors": ERROR_CODES,
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m experience_daemon.protocol --json`: print the protocol."""
    parser = argparse.ArgumentParser(prog="python -m experience_daemon.protocol", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the protocol as JSON")
    args = parser.parse_args(argv)
    if args.json:
        sys.stdout.write(json.dumps(protocol_json(), indent=2, sort_keys=True) + "\n")
    else:
        for m in METHODS.values():
            sys.stdout.write(f"{m.kind:12} {m.name:26} {m.doc}\n")
    return 0


__all__ = ["ERROR_CODES", "METHODS", "PROTOCOL_VERSION", "Method", "ParamsError", "decode_params", "protocol_json"]

if __name__ == "__main__":
    sys.exit(main())
