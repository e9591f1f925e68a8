"""The `experience infer`, `serve` and `merge` subcommands: use and combine what runs learned."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from experience_daemon.service import Service
from experience_daemon.validation import InvalidParams

API_KEY_ENV = "EXPERIENCE_API_KEY"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `infer` and `serve`."""
    infer = sub.add_parser("infer", help="answer inputs with a trained run (the run dir is only read)")
    infer.add_argument("--run-dir", required=True)
    infer.add_argument("inputs", nargs="*", help="source files to answer ('-' or none: read one from stdin)")
    infer.add_argument("--json", action="store_true", help="print the answers with the rows they used as JSON")
    serve = sub.add_parser("serve", help="serve a run as an OpenAI-compatible endpoint (/v1/chat/completions)")
    serve.add_argument("--run-dir", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--api-key", default=None, help=f"require this bearer key (default: ${API_KEY_ENV}, else none)")
    serve.add_argument("--concurrency", type=int, default=4, help="answers computed at once (more wait, then 503)")
    merge = sub.add_parser("merge", help="merge runs of one task into a new run (the inputs are only read)")
    merge.add_argument("runs", nargs="+", help="run directories to merge (two or more)")
    merge.add_argument("--out", required=True, help="the new run directory (must not exist)")
    merge.add_argument(
        "--policy",
        choices=("both", "trust", "llm"),
        default="trust",
        help="rows on the same input: keep both, keep the most trusted (lowest loss signal), or let the LLM combine",
    )
    merge.add_argument("--rows", type=int, default=None, help="rows of the merged run (default: the largest input's)")
    merge.add_argument(
        "--eval", action="store_true", help="also report held-out loss of every input run and of the merged run"
    )
    merge.add_argument("--dataset", default=None, help="dataset for --eval (default: the merged run's)")
    merge.add_argument("--split", default="val", help="split for --eval")
    merge.add_argument("--cache", default=None, help="response cache for --eval (default: the shared one)")


def _read_inputs(names: list[str]) -> list[str]:
    if not names or names == ["-"]:
        return [sys.stdin.read()]
    texts = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"input file not found: {path} (pass source files, or '-' to read stdin)")
        texts.append(path.read_text(encoding="utf-8"))
    return texts


def run_infer(args: argparse.Namespace, service: Service) -> int:
    """Print the run's answer to each input (or the JSON result with the rows used)."""
    result = service.infer(args.run_dir, _read_inputs(list(args.inputs)))
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    for index, answer in enumerate(result["answers"]):
        if len(result["answers"]) > 1:
            print(f"== {args.inputs[index]} (rows {', '.join(str(r['row']) for r in answer['rows']) or 'none'})")
        print(answer["answer"].rstrip("\n"))
    return 0


def run_serve(args: argparse.Namespace, service: Service) -> int:
    """Serve the run until interrupted."""
    import uvicorn

    from experience_daemon.http_api import create_app

    if not 1 <= args.port <= 65535 or args.concurrency < 1:
        raise InvalidParams("--port must be 1..65535 and --concurrency at least 1")
    key = args.api_key or os.environ.get(API_KEY_ENV) or None
    app = create_app(service.inference, args.run_dir, api_key=key, concurrency=args.concurrency)
    name = service.inference.model(args.run_dir).name
    print(f"serving {args.run_dir} as model {name!r} at http://{args.host}:{args.port}/v1", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def run_merge(args: argparse.Namespace, service: Service) -> int:
    """Merge, then (with --eval) score each input run and the merged run on one held-out split."""
    result = service.merge_runs(list(args.runs), args.out, policy=args.policy, rows=args.rows)
    if args.eval:
        scores = {}
        for run in [*args.runs, args.out]:
            got = service.evaluate(run, args.dataset, split=args.split, record=False, cache=args.cache)
            scores[run] = got.as_dict()  # loss, exact, n (and valid when the dataset has a checker)
        result["eval"] = {"split": args.split, "runs": scores}
        for run, score in scores.items():
            line = f"{run}: {args.split} loss {score['loss']:.4f} exact {score['exact']:.2f} n {score['n']}"
            print(line, file=sys.stderr)
    print(json.dumps(result, sort_keys=True))
    return 0


HANDLERS = {"infer": run_infer, "serve": run_serve, "merge": run_merge}
