"""`experience`: the headless CLI (train, eval, show) — a thin shell over the service API."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from experience.events import CancelToken, Log
from experience.kernel import KernelError
from experience.storage.serialize import TensorDirectoryError
from experience.tasks.dataset import DatasetError
from experience.train.journal import JournalError
from experience.train.options import RUN_SETTINGS, RunOptions, new_run_defaults
from experience.train.run_dir import NEW_RUN_QUERY, RunError
from experience_daemon import cli_serving
from experience_daemon.progress import ProgressRenderer
from experience_daemon.service import Service

NEW, OPTIONS = new_run_defaults(), RunOptions()  # the defaults `train` shows and uses: defined in core only
BENCH_MISSING = (
    "`experience bench` needs the benchmark package experience_bench (bench/experience_bench in a checkout), which "
    "this Python cannot import; install it from the checkout with: pip install -e '.[bench]'"
)
KNOWN_ERRORS = (
    RunError,
    DatasetError,
    KernelError,
    TensorDirectoryError,
    JournalError,
    FileNotFoundError,
    PermissionError,  # UnsafePathError (a link in a run dir), a read-only folder
)


def _add_backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=["local", "openai", "claude-agent"],
        default=None,
        help="LLM backend (default: the run's, else local)",
    )
    p.add_argument("--model", default=None, help="model name (openai/claude-agent) or GGUF path (local)")
    p.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint (default $LLM_BASE_URL)")
    p.add_argument("--cache", default=None, help="response cache file (default ~/.cache/experience/llm-cache.sqlite)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    p.add_argument(
        "--executor",
        choices=["inprocess", "ray"],
        default=None,
        help="where the LLM calls run: inprocess, or ray (a local Ray instance, or the cluster at $RAY_ADDRESS; "
        "pip install -e '.[ray]'); default: the run's, else inprocess",
    )
    p.add_argument("--workers", type=int, default=None, help="Ray workers, one backend each (default: the run's)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `experience`."""
    parser = argparse.ArgumentParser(prog="experience", description="Train models whose weights are text.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a run's experience on a dataset")
    train.add_argument("--dataset", help="dataset folder (manifest.json + train/ val/)")
    train.add_argument("--run-dir", required=True, help="run directory (the checkpoint)")
    train.add_argument("--epochs", type=int, default=OPTIONS.epochs)
    train.add_argument("--seed", type=int, default=NEW["seed"])
    train.add_argument("--topk", type=int, default=NEW["topk"], help="experience rows retrieved per input")
    train.add_argument("--rows", type=int, default=NEW["rows"], help="experience rows for a new run")
    train.add_argument("--batch-size", type=int, default=NEW["batch_size"])
    train.add_argument("--lr", type=float, default=NEW["lr"])
    train.add_argument("--max-calls", type=int, default=None, help="stop cleanly after this many LLM calls")
    train.add_argument("--max-tokens", type=int, default=None, help="stop cleanly after this many tokens")
    train.add_argument("--max-cost", type=float, default=None, help="stop cleanly after this many USD")
    train.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (resumable)")
    train.add_argument(
        "--concurrency",
        type=int,
        default=OPTIONS.concurrency,
        help="LLM calls in flight at once (an endpoint backend uses at least 4)",
    )
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    train.add_argument("--review", action="store_true", help="stage patches for review instead of applying")
    train.add_argument(
        "--grad",
        choices=["example", "llm"],
        default=NEW["grad"],
        help="gradient mode of a new run: example (a wrong sample becomes a row) or llm (the LLM rewrites rows)",
    )
    train.add_argument(
        "--query",
        choices=["llm", "lexical"],
        default=None,
        help="query column of a new run: llm (a keyword call per input) or lexical (identifiers and syntax, no "
        f"call); default: the dataset manifest's 'query', else {NEW_RUN_QUERY}",
    )
    train.add_argument(
        "--retriever",
        choices=["jaccard", "embedding", "hybrid"],
        default=NEW["retriever"],
        help="how a new run retrieves rows per input: jaccard (keywords), embedding (MiniLM + FAISS, offline) or "
        f"hybrid (rank fusion of both); default {NEW['retriever']}",
    )
    train.add_argument(
        "--grammar",
        choices=["on", "off"],
        default=None,
        help="decode answers under the dataset's GBNF grammar (manifest 'grammar'); default: on when the dataset "
        "has one",
    )
    train.add_argument(
        "--capacity",
        choices=["evict", "merge"],
        default=NEW["capacity"],
        help="when no row is free: evict the least trusted row, or merge the sample into its best row",
    )
    train.add_argument("--quiet", action="store_true")
    _add_backend_args(train)
    ev = sub.add_parser("eval", help="evaluate a run (an empty run = the zero-shot baseline)")
    ev.add_argument("--run-dir", required=True)
    ev.add_argument("--dataset", default=None, help="dataset folder or a flat folder of <name>.py + <name>.viba")
    ev.add_argument("--split", default="val")
    ev.add_argument("--json", action="store_true", help="print {loss, exact, valid, n} as JSON (valid: with a checker)")
    ev.add_argument(
        "--grammar",
        choices=("on", "off"),
        default=None,
        help="answer under the dataset's grammar or free (default: the run's setting, from run.json)",
    )
    ev.add_argument("--quiet", action="store_true")
    _add_backend_args(ev)
    show = sub.add_parser("show", help="list the learned experience entries")
    show.add_argument("--run-dir", required=True)
    show.add_argument("--json", action="store_true")
    back = sub.add_parser("rollback", help="restore a run's experience as it was after a step")
    back.add_argument("--run-dir", required=True)
    back.add_argument("--to-step", type=int, required=True, help="the step to go back to (0: the empty start)")
    cli_serving.add_parsers(sub)
    bench = sub.add_parser("bench", help="measure learning, baselines and system figures (see bench/README.md)")
    bench.add_argument("--out", required=True, help="JSON file to write")
    bench.add_argument("--quick", action="store_true", help="system figures only (a few minutes, no learning runs)")
    bench.add_argument("--seeds", type=int, default=3, help="seeds of the learning runs and few-shot draws")
    bench.add_argument("--markdown", default=None, help="also write the markdown table to this file")
    bench.add_argument("--cache", default=None, help="response cache for the learning runs (default: a fresh one)")
    bench.add_argument("--no-peers", action="store_true", help="skip the peer method (DSPy)")
    bench.add_argument(
        "--variants",
        choices=("learning", "retrieval", "grammar"),
        default="learning",
        help="Experience runs to compare: learning (gradient modes and rows), retrieval (retrievers x query modes) "
        "or grammar (answers under the dataset's grammar vs free, default variant)",
    )
    return parser


def _train(args: argparse.Namespace, service: Service) -> int:
    settings = {name: getattr(args, name) for name in RUN_SETTINGS}  # None: a new run's default
    options = RunOptions(**{f.name: getattr(args, f.name) for f in fields(RunOptions)})
    cancel = CancelToken()
    try:
        result = service.train(args.run_dir, options, settings, cancel)
    except KeyboardInterrupt:
        cancel.cancel()
        print("interrupted; the run is resumable with --resume", file=sys.stderr)
        return 130
    print(json.dumps(result, sort_keys=True))
    return 0


def _eval(args: argparse.Namespace, service: Service) -> int:
    result = service.evaluate(
        args.run_dir,
        args.dataset,
        split=args.split,
        backend=args.backend,
        model=args.model,
        base_url=args.base_url,
        cache=args.cache,
        no_cache=args.no_cache,
        executor=args.executor,
        workers=args.workers,
        grammar=args.grammar,
    )
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        valid = f"  valid {result.valid:.3f}" if result.valid is not None else ""
        print(f"loss {result.loss:.4f}  exact {result.exact:.3f}{valid}  n {result.n}")
    return 0


def _show(args: argparse.Namespace, service: Service) -> int:
    from pathlib import Path

    entries = service.list_entries(args.run_dir)
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    for e in entries:
        if e.get("missing"):
            folder = Path(e["queryPath"]).parent
            print(f"[{e['row']:4d}] row folder {folder} is missing: the row reads as empty (restore it from a copy)")
        if not e["filled"]:
            continue
        words = ", ".join(e["query"][:6])
        origin = f"step {e['step']}" if e["step"] is not None else "hand-written"
        shaped = f", shaped by {', '.join(e['samples'])}" if e.get("samples") else ""
        print(
            f"[{e['row']:4d}] {words}  (trust {e.get('trust', 0.0):.2f}, {origin}{shaped})\n"
            f"       key:   {e['keyPath']}\n       value: {e['valuePath']}"
        )
    filled = sum(1 for e in entries if e["filled"])
    missing = sum(1 for e in entries if e.get("missing"))
    print(f"{filled}/{len(entries)} rows filled" + (f", {missing} row folder(s) missing" if missing else ""))
    return 0


def _rollback(args: argparse.Namespace, service: Service) -> int:
    result = service.rollback(args.run_dir, args.to_step)
    print(json.dumps(result, sort_keys=True))
    return 0


def _bench(args: argparse.Namespace, service: Service) -> int:
    from pathlib import Path

    try:
        from experience_bench import BenchOptions, run_bench, write_outputs
        from experience_bench.runner import variant_options
    except ModuleNotFoundError as error:
        if error.name != "experience_bench":
            raise
        print(f"experience: error: {BENCH_MISSING}", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print("experience: error: --seeds must be at least 1", file=sys.stderr)
        return 2
    options = BenchOptions(
        quick=args.quick, seeds=tuple(range(args.seeds)), peers=not args.no_peers, **variant_options(args.variants)
    )
    options.cache = Path(args.cache) if args.cache else None
    out = Path(args.out)

    def log(line: str) -> None:
        service.events(Log(f"bench: {line}"))

    def checkpoint(partial: dict[str, Any]) -> None:
        write_outputs(partial | {"partial": True}, out, None)

    result = run_bench(options, log=log, events=service.events, checkpoint=checkpoint)
    print(write_outputs(result, out, Path(args.markdown) if args.markdown else None))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `experience` command."""
    args = build_parser().parse_args(argv)
    renderer = ProgressRenderer(quiet=getattr(args, "quiet", False))
    service = Service(events=renderer)
    handlers = {"train": _train, "eval": _eval, "show": _show, "rollback": _rollback, "bench": _bench}
    handlers |= cli_serving.HANDLERS
    try:
        return handlers[args.command](args, service)
    except KNOWN_ERRORS as error:
        renderer.close()
        print(f"experience: error: {error}", file=sys.stderr)
        return 2
    finally:
        renderer.close()


if __name__ == "__main__":
    sys.exit(main())
