"""The bench report: the markdown tables made from the bench JSON (the README's table comes from here)."""

from __future__ import annotations

from typing import Any

METHODS = (
    ("before", "zero-shot (= untrained)"),
    ("few_shot", "few-shot k=3"),
    ("dspy", "DSPy BootstrapFewShot"),
    ("after", "Experience, trained"),
)

CAPTION = (
    "Cells: mean loss (edit-distance ratio to the target, 0 = equal) ± std over seeds · exact-match rate. "
    "Zero-shot is the untrained run (empty experience: the same prompt in every seed); DSPy ran once (seed 0)."
)


def cell(loss: Any, exact: Any) -> str:
    """`loss ± std · exact` from spreads (dicts with mean/std) or plain numbers; '—' when missing."""
    if loss is None or exact is None:
        return "—"
    if isinstance(loss, dict):
        text = f"{loss['mean']:.3f} ± {loss['std']:.3f}"
    else:
        text = f"{float(loss):.3f}"
    value = exact["mean"] if isinstance(exact, dict) else exact
    return f"{text} · {float(value):.2f}"


def method_cells(result: dict[str, Any], dataset: str, split: str) -> dict[str, str]:
    """Every method's cell for one dataset split."""
    learned = result.get("learning", {}).get(dataset, {}).get("splits", {}).get(split, {})
    baselines = result.get("baselines", {}).get(dataset, {})
    few = baselines.get("few_shot", {}).get("splits", {}).get(split, {})
    peer = result.get("peers", {}).get("dspy", {}).get("datasets", {}).get(dataset, {}).get("splits", {}).get(split, {})
    cells = {
        "few_shot": cell(few.get("loss"), few.get("exact")),
        "dspy": cell(peer.get("loss"), peer.get("exact")),
        "before": cell(learned.get("before", {}).get("loss"), learned.get("before", {}).get("exact")),
        "after": cell(learned.get("after", {}).get("loss"), learned.get("after", {}).get("exact")),
    }
    if peer.get("parse_failures"):
        cells["dspy"] += f" ({peer['parse_failures']}/{peer.get('n', '?')} unparsed)"
    return cells


def learning_table(result: dict[str, Any]) -> list[str]:
    """One row per dataset split, one column per method."""
    learning = result.get("learning", {})
    if not learning or "skipped" in learning:
        return [f"Learning runs skipped ({learning.get('skipped', 'not run')})."]
    lines = [
        CAPTION,
        "",
        "| task / split | n | " + " | ".join(label for _, label in METHODS) + " |",
        "|---|---:|" + "---|" * len(METHODS),
    ]
    for dataset, data in learning.items():
        for split, scores in data.get("splits", {}).items():
            cells = method_cells(result, dataset, split)
            row = [f"{dataset} {split}", str(scores.get("after", {}).get("n", ""))]
            lines.append("| " + " | ".join(row + [cells[key] for key, _ in METHODS]) + " |")
    return lines


def cost_lines(result: dict[str, Any]) -> list[str]:
    """Training cost per sample per epoch, per dataset: the first seed (cold cache) and the mean over seeds."""
    lines = []
    for dataset, data in result.get("learning", {}).items():
        if not isinstance(data, dict) or not data.get("seeds"):
            continue
        first = data["per_seed"][str(data["seeds"][0])]["cost_per_epoch"]
        for label, costs in (("first seed, cold cache", first), ("mean over seeds", data["cost_per_sample_per_epoch"])):
            for c in costs:
                lines.append(
                    f"- {dataset}, epoch {c['epoch'] + 1}, {label}: {c['calls_per_sample']:g} real calls + "
                    f"{c['cache_hits_per_sample']:g} cache hits, {c['prompt_tokens_per_sample']:.0f} prompt + "
                    f"{c['completion_tokens_per_sample']:.0f} completion tokens, {c['seconds_per_sample']:.2f} s"
                )
    return lines


def system_table(result: dict[str, Any]) -> list[str]:
    """One row per system figure with its target and verdict."""
    lines = ["| figure | value | target | ok |", "|---|---:|---|---|"]
    for f in result.get("system", {}).get("figures", []):
        value = "—" if f["value"] is None else f"{f['value']:g} {f['unit']}"
        ok = {True: "yes", False: "**no**", None: ""}[f["ok"]]
        lines.append(f"| {f['name']} | {value} | {f['target'] or ''} | {ok} |")
    return lines


def markdown(result: dict[str, Any]) -> str:
    """The whole report: header facts, learning table, costs, peers' status, system table."""
    model = result.get("model", {})
    seeds = result.get("seeds", [])
    lines = [
        f"Bench of {result.get('created', '?')} on {result.get('machine', {}).get('cpus', '?')} CPUs, "
        f"model {model.get('name', '?')} ({model.get('backend', '?')}), seeds {seeds}, "
        f"{'quick' if result.get('quick') else 'full'} run in {result.get('duration_s', 0):.0f} s.",
        "",
        *learning_table(result),
        "",
    ]
    costs = cost_lines(result)
    if costs:
        lines += [
            "Training cost per sample per epoch (later seeds find earlier seeds' answers in the cache):",
            "",
            *costs,
            "",
        ]
    for name, peer in result.get("peers", {}).items():
        if peer.get("status") != "ok":
            lines.append(f"- peer {name}: {peer.get('status')}: {peer.get('reason', '')}".rstrip())
        for dataset, got in peer.get("datasets", {}).items():
            failures = sum(int(s.get("parse_failures", 0)) for s in got.get("splits", {}).values())
            lines.append(
                f"- peer {name} on {dataset}: {got.get('demos')} demos ({got.get('bootstrapped_demos')} bootstrapped), "
                f"{failures} unparsed answers, max_tokens held: {got.get('max_tokens_held')}"
                if "error" not in got
                else f"- peer {name} on {dataset}: {got['error']}"
            )
    if result.get("peers"):
        lines.append("")
    lines += ["System figures (targets from DESIGN.md):", "", *system_table(result), ""]
    return "\n".join(lines)
