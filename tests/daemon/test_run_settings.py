"""A run's settings agree in every place they are spelled: RunConfig, TrainParams, the CLI, the protocol, the editor.

Adding a setting in one place only fails here: each RunConfig field is either a user setting (then it must be a
TrainParams field, a `train` flag and a TrainRequest key with the same choices and default) or listed below as
derived from the dataset or internal.
"""

from __future__ import annotations

import argparse
import json
import re
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from experience.train.run_dir import RunConfig
from experience_daemon import protocol as p
from experience_daemon.cli import build_parser
from experience_daemon.service import TrainParams

ROOT = Path(__file__).resolve().parents[2]
DERIVED = {"source_ext", "target_ext", "task_prompt"}  # from the dataset's manifest
INTERNAL = {"noise_std", "max_tokens", "baseline"}  # kept in run.json, not offered to users
INVOCATION = {  # per command, not stored with the run
    "run_dir", "epochs", "max_calls", "max_tokens", "max_cost", "max_steps", "resume", "cache", "no_cache",
    "concurrency",
}  # fmt: skip
CLI_ONLY = {"cache", "help", "quiet"}  # the daemon keeps one response cache; output switches
EDITOR_KEYS = {"train.grad": "grad", "train.capacity": "capacity", "train.retriever": "retriever",
               "train.query": "query", "train.grammar": "grammar", "backend": "backend", "model": "model",
               "endpoint": "base_url", "epochs": "epochs", "reviewMode": "review", "concurrency": "concurrency",
               "maxCost": "max_cost", "maxCalls": "max_calls", "maxTokens": "max_tokens"}  # fmt: skip
EDITOR_ONLY = {"pythonPath"}
SENTINELS = {"dataset"}  # an editor choice meaning "leave it to the dataset manifest"


def camel(name: str) -> str:
    """snake_case -> camelCase."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def run_settings() -> set[str]:
    """RunConfig fields a user chooses."""
    return {f.name for f in fields(RunConfig)} - DERIVED - INTERNAL


def train_flags() -> dict[str, argparse.Action]:
    """The `experience train` options by destination."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


def literal_choices(annotation: Any) -> set[str] | None:
    """The values of a (NotRequired) Literal annotation, else None."""
    while typing.get_origin(annotation) is typing.NotRequired:
        annotation = typing.get_args(annotation)[0]
    return set(typing.get_args(annotation)) if typing.get_origin(annotation) is typing.Literal else None


def test_every_run_setting_is_a_train_param_a_flag_and_a_request_field() -> None:
    params = {f.name for f in fields(TrainParams)}
    flags = train_flags()
    request = typing.get_type_hints(p.TrainRequest, include_extras=True)
    for name in sorted(run_settings()):
        assert name in params, f"RunConfig.{name} is not a TrainParams field"
        assert name in flags, f"RunConfig.{name} has no `experience train --{name.replace('_', '-')}` flag"
        assert camel(name) in request, f"RunConfig.{name} is not TrainRequest.{camel(name)}"


def test_nothing_is_spelled_in_one_place_only() -> None:
    params = {f.name for f in fields(TrainParams)}
    stray = params - run_settings() - INVOCATION
    assert not stray, f"TrainParams fields of no kind: {stray}"
    request = set(typing.get_type_hints(p.TrainRequest))
    assert {re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), k) for k in request} <= params
    assert set(train_flags()) <= params | CLI_ONLY, f"train flags of no kind: {set(train_flags()) - params - CLI_ONLY}"


def test_choices_and_defaults_agree() -> None:
    flags = train_flags()
    request = typing.get_type_hints(p.TrainRequest, include_extras=True)
    defaults = {f.name: f.default for f in fields(TrainParams) if f.default is not MISSING}
    for name in run_settings() & set(flags):
        choices = literal_choices(request.get(camel(name)))
        if choices is not None:
            assert set(flags[name].choices or ()) == choices, f"--{name} choices differ from TrainRequest.{camel(name)}"
        if name in defaults and flags[name].default is not None:
            assert flags[name].default == defaults[name], f"--{name} defaults to {flags[name].default!r}"


def test_the_editor_settings_are_run_settings_with_the_same_choices_and_defaults() -> None:
    manifest = json.loads((ROOT / "vscode-extension" / "package.json").read_text(encoding="utf-8"))
    properties = manifest["contributes"]["configuration"]["properties"]
    request = typing.get_type_hints(p.TrainRequest, include_extras=True)
    defaults = {f.name: f.default for f in fields(TrainParams) if f.default is not MISSING}
    for key, spec in properties.items():
        short = key.removeprefix("experience.")
        if short in EDITOR_ONLY:
            continue
        assert short in EDITOR_KEYS, f"{key} maps to no run setting or option: add it to EDITOR_KEYS"
        name = EDITOR_KEYS[short]
        choices = literal_choices(request.get(camel(name)))
        if spec.get("enum") is not None and choices is not None:
            assert set(spec["enum"]) - SENTINELS == choices, f"{key} offers {spec['enum']}, the protocol {choices}"
        if spec.get("default") not in (None, "", 0, *SENTINELS) and name in defaults:
            wanted = defaults[name]
            assert spec["default"] == wanted, f"{key} defaults to {spec['default']!r}, runs to {wanted!r}"
