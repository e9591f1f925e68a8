"""`experience bench`: runs the system figures (always), the learning runs and the baselines (unless quick)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experience.events import EventSink, ignore
from experience.kernel import Backend, Kernel, make_backend
from experience.tasks.dataset import Dataset, load_dataset
from experience_bench import baselines, peer, system, throughput
from experience_bench.common import machine, peak_rss_mb, versions, write_subset
from experience_bench.learning import VARIANT_SETS, VARIANTS, Lab, LearnPlan, Variant, learn
from experience_bench.ledger import CountingKernel
from experience_bench.report import markdown

Log = Callable[[str], None]

# Train subsets cut from 8 / 12 (one variant) when the bench grew to four variants, two of them with the `llm`
# gradient (about 4 requests per sample per step, long rewrite replies); a full run with --no-peers then measured
# 58 minutes on 2 shared cores.
PLANS = (
    LearnPlan("viba", "datasets/viba", ("val",), {"train": 6, "val": 8}),
    LearnPlan("shapes", "datasets/shapes", ("val", "test"), {"train": 9, "val": 8, "test": 8}),
)
SYSTEM_PLAN = LearnPlan("system", "datasets/viba", (), topk=1, batch_size=4)


def local_backend() -> Backend:
    """The default local model (llama.cpp in-process)."""
    return make_backend("local")


@dataclass
class BenchOptions:
    """What `experience bench` was asked for; tests shrink the sizes and pass a scripted backend."""

    quick: bool = False
    seeds: tuple[int, ...] = (0, 1, 2)
    cache: Path | None = None
    plans: tuple[LearnPlan, ...] = PLANS
    variants: tuple[Variant, ...] = VARIANTS
    variant_set: str = "learning"  # the name of `variants` in VARIANT_SETS ("custom" when a test passes its own)
    system_plan: LearnPlan = SYSTEM_PLAN
    system_steps: int = 2
    growth_batch: int = 8
    retrieval_rows: tuple[int, ...] = system.RETRIEVAL_ROWS
    core_n: int = 10_000
    few_shot_k: int = 3
    peers: bool = True
    peer_train_size: int = 6
    backend: Callable[[], Backend] = local_backend
    datasets_root: Path | None = None


def variant_options(name: str) -> dict[str, Any]:
    """BenchOptions fields for a named variant set (`learning`, `retrieval`); ValueError naming the choices."""
    if name not in VARIANT_SETS:
        raise ValueError(f"unknown variant set {name!r}: choose one of {', '.join(sorted(VARIANT_SETS))}")
    return {"variants": VARIANT_SETS[name], "variant_set": name}


def datasets_root() -> Path:
    """The checkout's folder holding datasets/ (else the working directory)."""
    checkout = Path(__file__).resolve().parents[3]
    return checkout if (checkout / "datasets").is_dir() else Path.cwd()


def run_bench(
    options: BenchOptions,
    log: Log = lambda _: None,
    events: EventSink = ignore,
    checkpoint: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """Measure everything asked for; returns the JSON-ready result (see bench/README.md for its keys).

    `checkpoint` gets the partial result after each part (so a long run that is stopped keeps its figures).
    """
    started = time.perf_counter()
    result: dict[str, Any] = {"schema": 2, "created": _now(), "quick": options.quick, "seeds": list(options.seeds)}
    result["variant_set"] = options.variant_set
    result |= {"machine": machine(), "versions": versions()}
    work = Path(tempfile.mkdtemp(prefix="experience-bench-"))
    root = options.datasets_root or datasets_root()
    peaks: dict[str, float | None] = {}
    try:
        sys_kernel = Kernel(options.backend(), cache_path=work / "system-cache.sqlite")
        result["model"] = {"backend": sys_kernel.backend.name, "name": sys_kernel.backend.model}
        try:
            log(f"system: {options.system_steps} training steps cold, then the same steps from the cache")
            plan = options.system_plan
            lab = Lab(sys_kernel, events)
            figures, overhead = system.measure_overhead(
                lab, plan, root / plan.path, work / "system", options.system_steps
            )
        finally:
            sys_kernel.close()
        log("system: prompt tokens of a batch vs its samples one at a time")
        growth_kernel = Kernel(options.backend(), cache_path=None)
        try:
            sources = [p.source for p in load_dataset(root / plan.path).split("val")[: options.growth_batch]]
            growth, growth_details = system.prompt_growth_figures(growth_kernel, work / "system" / "sys-cold", sources)
        finally:
            growth_kernel.close()
        figures += growth
        log("system: local model throughput: token rates, step floor, batch of 8, the steps before batching")
        speed, speed_details = throughput.measure(
            options.backend, root / plan.path, work / "system", plan, options.system_steps
        )
        figures += speed
        peaks["of the bench after the training steps"] = peak_rss_mb()
        details: dict[str, Any] = {"overhead": overhead, "prompt_growth": growth_details, "throughput": speed_details}
        result["system"] = {"figures": figures, "details": details}
        checkpoint(result)
        if options.quick:
            result["learning"] = {"skipped": "--quick"}
        else:
            _learning(options, root, work, result, log, events, checkpoint)
            peaks["of the bench after learning and baselines"] = peak_rss_mb()
            server = result.get("peers", {}).get("dspy", {}).get("server", {})
            if server.get("peak_rss_mb") is not None:
                peaks["of llama_cpp.server (DSPy peer)"] = server["peak_rss_mb"]
        log(f"system: Jaccard top-k at {', '.join(f'{n:,}' for n in options.retrieval_rows)} rows")
        retrieval, details["retrieval"] = system.retrieval_figures(options.retrieval_rows)
        peaks[f"of the bench after retrieval ({max(options.retrieval_rows, default=0):,} rows)"] = peak_rss_mb()
        log(f"system: make/slice/stack/diff/patch at {options.core_n:,} elements")
        core, details["core"] = system.core_figures(options.core_n)
        peaks["of the bench after core ops"] = peak_rss_mb()
        figures += retrieval + core + system.memory_figures(peaks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["finished"] = _now()
    result["duration_s"] = round(time.perf_counter() - started, 1)
    return result


def _learning(
    options: BenchOptions,
    root: Path,
    work: Path,
    result: dict[str, Any],
    log: Log,
    events: EventSink,
    checkpoint: Callable[[dict[str, Any]], None],
) -> None:
    cache = options.cache or work / "bench-cache.sqlite"
    note = "a fresh response cache per bench run: the first time a prompt is seen it is a real LLM call; "
    note += "repeats (e.g. a later seed's identical prompt) are cache hits"
    result["cache"] = {"path": str(cache) if options.cache else None, "fresh": options.cache is None, "note": note}
    subsets = {
        p.name: write_subset(load_dataset(root / p.path), work / "data" / p.name, p.sizes, 0) for p in options.plans
    }
    result["learning"], result["baselines"] = {}, {}
    kernel = CountingKernel(options.backend(), cache_path=cache)
    try:
        for plan in options.plans:
            data = load_dataset(subsets[plan.name])
            result["baselines"][plan.name] = prompt_baselines(kernel, data, plan.eval_splits, options, False)
            if options.variant_set == "grammar" and data.grammar is not None:  # the same prompts, constrained
                result["baselines"][plan.name]["grammar_on"] = prompt_baselines(
                    kernel, data, plan.eval_splits, options, True
                )
            log(f"baselines: {plan.name} zero-shot, few-shot k={options.few_shot_k} and all pairs done")
            checkpoint(result)
        lab = Lab(kernel, events)
        for plan in options.plans:
            train = len(load_dataset(subsets[plan.name]).split("train"))
            for variant in options.variants:
                vplan = variant.plan(plan, train)
                log(f"learning: {vplan.name}, seeds {list(options.seeds)}, sizes {plan.sizes}, {plan.epochs} epoch(s)")
                got = learn(lab, vplan, subsets[plan.name], options.seeds, work / "runs", log)
                result["learning"][vplan.name] = {"dataset": plan.name, "variant": variant.as_dict(train), **got}
                checkpoint(result)
    finally:
        kernel.close()  # frees the in-process model: the peer's server is the only llama.cpp running next
    result["peers"] = _peers(options, subsets, work, log) if options.peers else {}
    checkpoint(result)


def prompt_baselines(
    kernel: CountingKernel, data: Dataset, splits: tuple[str, ...], options: BenchOptions, grammar: bool
) -> dict[str, Any]:
    """Zero-shot, few-shot and all-pairs prompts on `splits`, answers free or under the dataset's grammar."""
    zero = {s: baselines.run_prompt(kernel, data, data.split(s), [], grammar) for s in splits}
    return {
        "zero_shot": {s: _zero(r) for s, r in zero.items()},
        "few_shot": baselines.few_shot_baseline(kernel, data, splits, options.seeds, options.few_shot_k, grammar),
        "all_pairs": baselines.all_pairs_baseline(kernel, data, splits, grammar),
    }


def _zero(run: baselines.PromptRun) -> dict[str, Any]:
    note = "the same prompt as the empty experience's translation call (untrained runs find its answers cached)"
    return {
        "n": run.score.n,
        "loss": round(run.score.loss, 4),
        "exact": round(run.score.exact, 4),
        **({"valid": round(run.valid, 4)} if run.valid is not None else {}),
        "calls": run.calls,
        "cache_hits": run.cache_hits,
        "answer_cost": run.answer_cost,
        "note": note,
    }


def _peers(options: BenchOptions, subsets: dict[str, Path], work: Path, log: Log) -> dict[str, Any]:
    log("peers: DSPy BootstrapFewShot against llama_cpp.server")
    pairs = [(load_dataset(subsets[p.name]), p.eval_splits) for p in options.plans]
    dspy = peer.dspy_baseline(pairs, work / "peer", k=options.few_shot_k, train_size=options.peer_train_size)
    log(f"peers: DSPy {dspy.get('status')} {dspy.get('reason', '')}")
    textgrad = {"status": "not run", "reason": "DSPy ran; TextGrad is the fallback only when DSPy cannot run"}
    if dspy.get("status") in ("not run", "failed"):
        textgrad["reason"] = "not implemented in this bench yet (TextGrad's optimizer replies are unparseable with "
        textgrad["reason"] += "this model per spec/LOCAL-LLM.md)"
    return {"dspy": dspy, "textgrad": textgrad}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_outputs(result: dict[str, Any], out: Path, markdown_path: Path | None) -> str:
    """Write the JSON (and the markdown, if asked); returns the markdown text."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    text = markdown(result)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(text + "\n", encoding="utf-8")
    return text
