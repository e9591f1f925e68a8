"""DSPy's BootstrapFewShot on the local model, run in a child process: JSON job on stdin, JSON result on stdout.

    python -m experience_bench.peer_dspy < job.json > result.json

The job names the OpenAI-compatible server (base_url, model alias), the task prompt, the training pairs
the optimizer may use, the evaluation splits and the settings. The result holds every raw prediction
(None where DSPy could not parse the model's answer), the parse failures, how many demos the optimizer
kept, the LM calls and tokens, and the seconds. Scoring happens in the parent, as for every method.
dspy is imported dynamically: it is an optional dependency (the `bench` extra).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any


def lm_usage(lm: Any) -> dict[str, int]:
    """Calls and tokens recorded in a dspy.LM's history (and the longest completion, to check max_tokens held)."""
    history = list(getattr(lm, "history", []) or [])
    prompt = completion = longest = 0
    for entry in history:
        usage = entry.get("usage") or {} if isinstance(entry, dict) else {}
        prompt += int(usage.get("prompt_tokens") or 0)
        completion += int(usage.get("completion_tokens") or 0)
        longest = max(longest, int(usage.get("completion_tokens") or 0))
    return {"calls": len(history), "prompt_tokens": prompt, "completion_tokens": completion, "longest": longest}


def predict_all(program: Any, sources: list[str]) -> tuple[list[str | None], list[str]]:
    """Run the program on each source; None and the error where DSPy raised (e.g. an adapter parse error)."""
    outputs: list[str | None] = []
    errors: list[str] = []
    for source in sources:
        try:
            outputs.append(str(program(source=source).target))
        except Exception as error:
            outputs.append(None)
            errors.append(f"{type(error).__name__}: {str(error)[:300]}")
    return outputs, errors


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Compile with BootstrapFewShot on the job's training pairs, then predict every evaluation split."""
    dspy = importlib.import_module("dspy")
    lm = dspy.LM(
        f"openai/{job['model']}",
        api_base=job["base_url"],
        api_key="local",
        temperature=0.0,
        max_tokens=int(job["max_tokens"]),
        cache=False,
        num_retries=0,
        engine="litellm",  # sends `max_tokens`; the native engine sends `max_completion_tokens`, which
    )  # llama_cpp.server ignores: generation then runs until the context is full
    dspy.configure(lm=lm)
    signature = dspy.Signature("source -> target", job["task_prompt"])
    trainset = [dspy.Example(source=s, target=t).with_inputs("source") for s, t in job["train"]]

    def metric(example: Any, prediction: Any, trace: Any = None) -> bool:
        return str(getattr(prediction, "target", "")).strip() == str(example.target).strip()

    optimizer = dspy.BootstrapFewShot(
        metric=metric,
        max_bootstrapped_demos=int(job["k"]),
        max_labeled_demos=int(job["k"]),
        max_rounds=1,
        max_errors=10_000,
    )
    started = time.perf_counter()
    compiled = optimizer.compile(dspy.Predict(signature), trainset=trainset)
    compile_s = time.perf_counter() - started
    compile_usage = lm_usage(lm)
    demos = list(getattr(compiled, "demos", []) or [])
    splits: dict[str, Any] = {}
    for name, sources in job["splits"].items():
        before = lm_usage(lm)["calls"]
        started = time.perf_counter()
        outputs, errors = predict_all(compiled, list(sources))
        splits[name] = {
            "outputs": outputs,
            "parse_failures": sum(o is None for o in outputs),
            "errors": errors[:5],
            "seconds": round(time.perf_counter() - started, 3),
            "calls": lm_usage(lm)["calls"] - before,
        }
    return {
        "dspy": getattr(dspy, "__version__", None),
        "compile_seconds": round(compile_s, 3),
        "compile_usage": compile_usage,
        "demos": len(demos),
        "bootstrapped_demos": sum(1 for d in demos if getattr(d, "augmented", False)),
        "usage": lm_usage(lm),
        "splits": splits,
    }


def main() -> int:
    """Read the job from stdin, write the result (or the error) to stdout as JSON."""
    job = json.loads(sys.stdin.read())
    try:
        result = run(job)
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
