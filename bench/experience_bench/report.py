"""The bench report: the markdown tables made from the bench JSON (the README's table comes from here)."""

from __future__ import annotations

from typing import Any

CAPTION = (
    "Per task and split, on held-out data. loss: mean edit-distance ratio to the target (0 = equal) ± sample std "
    "over seeds (no ± where one deterministic run suffices); exact: exact-match rate (mean over seeds); valid: "
    "share of answers the dataset's checker accepts (an answer cut at the token limit is invalid; — where not "
    "measured). "
    "train req, train ptok: LLM requests and prompt tokens per training sample per step (every request, answered "
    "by the model or by the cache, so later seeds do not look free). answer req, answer ptok: the same per "
    "answered held-out sample. Best loss in bold."
)
HEADER = (
    "| method | loss | exact | valid | train req/sample/step | train ptok/sample/step "
    "| answer req/sample | answer ptok/sample |"
)
RULE = "|---|---|---:|---:|---:|---:|---:|---:|"


def loss_text(loss: Any) -> str:
    """`mean ± std` of a spread (just the mean when it holds one value), a plain number, or '—'."""
    if loss is None:
        return "—"
    if isinstance(loss, dict):
        return f"{loss['mean']:.3f}" if loss.get("n", 1) <= 1 else f"{loss['mean']:.3f} ± {loss['std']:.3f}"
    return f"{float(loss):.3f}"


def _mean(value: Any) -> float | None:
    if value is None:
        return None
    return float(value["mean"]) if isinstance(value, dict) else float(value)


def _num(value: Any, digits: int) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


def _row(
    label: str, got: dict[str, Any], train: dict[str, Any] | None, answer: dict[str, Any] | None
) -> dict[str, Any]:
    train, answer = train or {}, answer or {}
    return {
        "label": label,
        "loss": got.get("loss"),
        "cells": [
            loss_text(got.get("loss")),
            _num(_mean(got.get("exact")), 2),
            _num(_mean(got.get("valid")), 2),
            _num(train.get("requests_per_sample_per_step"), 2),
            _num(train.get("prompt_tokens_per_sample_per_step"), 0),
            _num(answer.get("requests_per_sample"), 2),
            _num(answer.get("prompt_tokens_per_sample"), 0),
        ],
    }


def variant_label(entry: dict[str, Any], retrieval: bool = False) -> str:
    """`Experience, grad=llm, rows=3 (ceil(train pairs / 3))`, plus query and retriever when `retrieval`."""
    v = entry.get("variant", {})
    rule = v.get("rows_rule", "")
    bound = f" (= ceil({v.get('train_pairs')}/3))" if rule.startswith("ceil") else ""
    label = f"Experience, grad={v.get('grad', '?')}, rows={v.get('rows', '?')}{bound}"
    if retrieval:
        label += f", query={v.get('query', '?')}, retriever={v['retriever']}"
    if v.get("grammar", "auto") != "auto":
        label += f", grammar={v['grammar']}"
    return label


def method_rows(result: dict[str, Any], dataset: str, split: str) -> list[dict[str, Any]]:
    """Every method's row for one dataset split: prompt baselines, the DSPy peer, then each Experience variant."""
    base = result.get("baselines", {}).get(dataset, {})
    rows = _prompt_rows(base, split, "")
    if "grammar_on" in base:  # --variants grammar: the same prompts with answers under the dataset's grammar
        rows = [{**r, "label": r["label"] + ", grammar=off"} for r in rows]
        rows += _prompt_rows(base["grammar_on"], split, ", grammar=on")
    peer = result.get("peers", {}).get("dspy", {}).get("datasets", {}).get(dataset, {}).get("splits", {}).get(split)
    if peer:
        row = _row("DSPy BootstrapFewShot (seed 0)", peer, None, None)
        if peer.get("parse_failures"):
            row["label"] += f" ({peer['parse_failures']}/{peer.get('n', '?')} unparsed)"
        rows.append(row)
    for entry in learning_entries(result, dataset):
        after = entry.get("splits", {}).get(split, {}).get("after")
        if after:
            cost = entry.get("train_cost_per_sample_per_step")
            label = variant_label(entry, result.get("variant_set") == "retrieval")
            rows.append(_row(label, after, cost, entry.get("answer_cost", {}).get(split)))
    return rows


def _prompt_rows(base: dict[str, Any], split: str, suffix: str) -> list[dict[str, Any]]:
    """The zero-shot, few-shot and all-pairs rows of one split, each label ending in `suffix`."""
    rows = []
    zero = base.get("zero_shot", {}).get(split)
    if zero:
        rows.append(_row("zero-shot" + suffix, zero, None, zero.get("answer_cost")))
    few = base.get("few_shot", {})
    if split in few.get("splits", {}):
        got = few["splits"][split]
        rows.append(_row(f"few-shot k={few.get('k', '?')}{suffix}", got, None, got.get("answer_cost")))
    every = base.get("all_pairs", {})
    if split in every.get("splits", {}):
        got = every["splits"][split]
        label = f"all {len(every.get('shots', []))} train pairs in prompt{suffix}"
        rows.append(_row(label, got, None, got.get("answer_cost")))
    return rows


def learning_entries(result: dict[str, Any], dataset: str) -> list[dict[str, Any]]:
    """The learning runs of one dataset (each Experience variant), in run order."""
    learning = result.get("learning", {})
    return [e for e in learning.values() if isinstance(e, dict) and e.get("dataset") == dataset]


def datasets_and_splits(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(dataset, split) pairs found in the baselines or the learning runs, in order."""
    found: dict[tuple[str, str], None] = {}
    for dataset, base in result.get("baselines", {}).items():
        for split in base.get("zero_shot", {}):
            found[(dataset, split)] = None
    for entry in result.get("learning", {}).values():
        if isinstance(entry, dict) and "dataset" in entry:
            for split in entry.get("splits", {}):
                found[(entry["dataset"], split)] = None
    return list(found)


def split_table(result: dict[str, Any], dataset: str, split: str) -> list[str]:
    """One markdown table: a row per method, the lowest mean loss in bold."""
    rows = method_rows(result, dataset, split)
    losses = [m for m in (_mean(r["loss"]) for r in rows) if m is not None]
    best = min(losses, default=None)
    n = result.get("baselines", {}).get(dataset, {}).get("zero_shot", {}).get(split, {}).get("n")
    for entry in learning_entries(result, dataset):
        n = n if n is not None else entry.get("splits", {}).get(split, {}).get("after", {}).get("n")
    lines = [f"**{dataset} {split}** (n = {n if n is not None else '?'})", "", HEADER, RULE]
    for r in rows:
        cells = list(r["cells"])
        if best is not None and _mean(r["loss"]) == best:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join([r["label"], *cells]) + " |")
    return lines


def learning_tables(result: dict[str, Any]) -> list[str]:
    """The caption and one table per dataset split."""
    learning = result.get("learning", {})
    if not learning or "skipped" in learning:
        return [f"Learning runs skipped ({learning.get('skipped', 'not run')})."]
    lines = [CAPTION, ""]
    for dataset, split in datasets_and_splits(result):
        lines += [*split_table(result, dataset, split), ""]
    return lines


def run_lines(result: dict[str, Any]) -> list[str]:
    """Per Experience variant: untrained scores, train wall time, filled rows, routing actions, requests by tag."""
    lines = []
    for name, entry in result.get("learning", {}).items():
        if not isinstance(entry, dict) or not entry.get("seeds"):
            continue
        before = ", ".join(
            f"{split} {loss_text(s.get('before', {}).get('loss'))}{_valid_text(s.get('before', {}).get('valid'))}"
            for split, s in entry.get("splits", {}).items()
        )
        wall, filled = entry.get("train_wall_seconds") or {}, entry.get("filled_rows") or {}
        actions: dict[str, int] = {}
        for seed in entry.get("per_seed", {}).values():
            for action, count in seed.get("row_actions", {}).items():
                actions[action] = actions.get(action, 0) + count
        tags = entry.get("train_cost_per_sample_per_step", {}).get("requests_by_tag_per_sample_per_step", {})
        lines.append(
            f"- {name}: untrained loss {before}; training {wall.get('mean', 0):.0f} s per seed (mean), "
            f"{filled.get('mean', 0):.1f} of {entry.get('plan', {}).get('rows', '?')} rows filled; row writes "
            f"{_pairs(actions) or 'none'}; requests per sample per step {_pairs(tags) or 'none'}"
        )
    return lines


def _valid_text(valid: Any) -> str:
    return "" if valid is None else f" (valid {_mean(valid):.2f})"


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in counts.items())


def system_table(result: dict[str, Any]) -> list[str]:
    """One row per system figure with its target and verdict."""
    lines = ["| figure | value | target | ok |", "|---|---:|---|---|"]
    for f in result.get("system", {}).get("figures", []):
        value = "—" if f["value"] is None else f"{f['value']:g} {f['unit']}"
        ok = {True: "yes", False: "**no**", None: ""}[f["ok"]]
        lines.append(f"| {f['name']} | {value} | {f['target'] or ''} | {ok} |")
    return lines


def markdown(result: dict[str, Any]) -> str:
    """The whole report: header facts, learning tables, per-variant facts, peers' status, system table."""
    model = result.get("model", {})
    seeds = result.get("seeds", [])
    lines = [
        f"Bench of {result.get('created', '?')} on {result.get('machine', {}).get('cpus', '?')} CPUs, "
        f"model {model.get('name', '?')} ({model.get('backend', '?')}), seeds {seeds}, "
        f"{'quick' if result.get('quick') else 'full'} run in {result.get('duration_s', 0):.0f} s.",
        "",
        *learning_tables(result),
    ]
    runs = run_lines(result)
    if runs:
        lines += ["Experience runs (row writes summed over seeds, by routing action):", "", *runs, ""]
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
