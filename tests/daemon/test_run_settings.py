"""A run's settings agree in every place they are spelled: RunConfig / RunOptions, the CLI, the protocol, the editor.

RunConfig (stored in run.json) defines a run's settings and RunOptions the options of one `train` call
(experience.train.options). Each RunConfig field is copied from the dataset, internal, recorded from an option, or a
run setting; every run setting and option must be a `train` flag, a TrainRequest key and an editor setting (or be
named below as deliberately absent there), with the same type, choices and default. Adding a field in one place only
fails here; so does a flag, a request key or an editor setting that maps to no field.
"""

from __future__ import annotations

import argparse
import json
import re
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from experience.train.options import FROM_DATASET, INTERNAL, RECORDED, RUN_SETTINGS, RunOptions, new_run_defaults
from experience.train.run_dir import RunConfig
from experience_daemon import protocol as p
from experience_daemon.cli import build_parser
from experience_daemon.validation import CHOICES

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = tuple(f.name for f in fields(RunOptions))
CLI_ONLY = {"run_dir", "help", "quiet"}  # the run folder is an argument of its own; output switches
NOT_IN_REQUEST = {"cache"}  # the daemon keeps one response cache
EDITOR_KEYS = {"train.grad": "grad", "train.capacity": "capacity", "train.retriever": "retriever",
               "train.query": "query", "train.grammar": "grammar", "backend": "backend", "model": "model",
               "endpoint": "base_url", "epochs": "epochs", "reviewMode": "review", "concurrency": "concurrency",
               "maxCost": "max_cost", "maxCalls": "max_calls", "maxTokens": "max_tokens"}  # fmt: skip
NOT_IN_EDITOR = {  # chosen in a dialog, by the command used, or not offered in the editor
    "dataset", "resume", "max_steps", "cache", "no_cache", "seed", "topk", "rows", "batch_size", "lr",
    "executor", "workers",
}  # fmt: skip
EDITOR_ONLY = {"pythonPath"}
SENTINELS = {"dataset"}  # an editor choice meaning "leave it to the dataset manifest"
UNSET = (None, "", 0)  # an editor default meaning "not sent": the daemon's default applies


def camel(name: str) -> str:
    """snake_case -> camelCase."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def snake(name: str) -> str:
    """camelCase -> snake_case."""
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)


def train_flags() -> dict[str, argparse.Action]:
    """The `experience train` options by destination."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


def request_fields() -> dict[str, Any]:
    """TrainRequest's keys (snake_case) and types."""
    return {snake(k): v for k, v in typing.get_type_hints(p.TrainRequest, include_extras=True).items()}


def field_types() -> dict[str, Any]:
    """The declared type of every run setting and option."""
    hints = typing.get_type_hints(RunOptions)
    return hints | {k: v for k, v in typing.get_type_hints(RunConfig).items() if k in RUN_SETTINGS}


def defaults() -> dict[str, Any]:
    """What a new run and a `train` call get unless told otherwise."""
    return new_run_defaults() | {f.name: f.default for f in fields(RunOptions) if f.default is not MISSING}


def base(annotation: Any) -> Any:
    """int for `NotRequired[int]`, `int | None`; str for `Literal["a", "b"]`."""
    while typing.get_origin(annotation) is typing.NotRequired:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return type(typing.get_args(annotation)[0])
    return annotation


def literal_choices(annotation: Any) -> set[str] | None:
    """The values of a (NotRequired) Literal annotation, else None."""
    while typing.get_origin(annotation) is typing.NotRequired:
        annotation = typing.get_args(annotation)[0]
    return set(typing.get_args(annotation)) if typing.get_origin(annotation) is typing.Literal else None


def editor_properties() -> dict[str, dict[str, Any]]:
    """The extension's settings (package.json), without the `experience.` prefix."""
    manifest = json.loads((ROOT / "vscode-extension" / "package.json").read_text(encoding="utf-8"))
    properties = manifest["contributes"]["configuration"]["properties"]
    return {key.removeprefix("experience."): spec for key, spec in properties.items()}


def test_every_run_config_field_has_one_kind() -> None:
    kinds = [*FROM_DATASET, *INTERNAL, *RECORDED, *RUN_SETTINGS]
    assert sorted(kinds) == sorted(f.name for f in fields(RunConfig)), "a RunConfig field of no kind, or of two"
    assert set(RECORDED) <= set(OPTIONS), "a recorded option is not a RunOptions field"
    clash = (set(RUN_SETTINGS) & set(OPTIONS)) | ((set(OPTIONS) & {f.name for f in fields(RunConfig)}) - set(RECORDED))
    assert clash == {"max_tokens"}, f"names that are both a run setting and an option: {clash}"  # a known clash


def test_every_setting_and_option_is_a_flag_a_request_key_and_an_editor_setting() -> None:
    flags, request = train_flags(), request_fields()
    editor = set(EDITOR_KEYS.values())
    for name in (*RUN_SETTINGS, *OPTIONS):
        assert name in flags, f"{name} has no `experience train --{name.replace('_', '-')}` flag"
        assert name in request or name in NOT_IN_REQUEST, f"{name} is not TrainRequest.{camel(name)}"
        assert name in editor or name in NOT_IN_EDITOR, f"{name} has no experience.* editor setting (package.json)"


def test_nothing_is_spelled_in_one_place_only() -> None:
    known = {*RUN_SETTINGS, *OPTIONS}
    stray_flags = set(train_flags()) - known - CLI_ONLY
    assert not stray_flags, f"train flags that are no run setting or option: {stray_flags}"
    stray_keys = set(request_fields()) - known - {"run_dir"}
    assert not stray_keys, f"TrainRequest keys that are no run setting or option: {stray_keys}"
    for short in editor_properties():
        assert short in EDITOR_KEYS or short in EDITOR_ONLY, f"experience.{short} maps to no setting: see EDITOR_KEYS"
    assert set(EDITOR_KEYS.values()) <= known
    assert not (NOT_IN_EDITOR | NOT_IN_REQUEST) - known, "a name listed as absent that is no setting or option"
    assert not NOT_IN_EDITOR & set(EDITOR_KEYS.values()), "listed as absent from the editor, but offered there"


def test_types_choices_and_defaults_agree() -> None:
    flags, request, wanted, types_ = train_flags(), request_fields(), defaults(), field_types()
    for name in (*RUN_SETTINGS, *OPTIONS):
        kind, flag = base(types_[name]), flags[name]
        if name in request:
            assert base(request[name]) == kind, f"TrainRequest.{camel(name)} is not a {kind.__name__}"
        if kind is bool:
            assert isinstance(flag, argparse._StoreTrueAction), f"--{name} is not a switch"
        else:
            assert (flag.type or str) is kind, f"--{name} parses {flag.type}, the field is {kind.__name__}"
        choices = literal_choices(request.get(name))
        if choices is not None:
            assert set(flag.choices or ()) == choices, f"--{name} choices differ from TrainRequest.{camel(name)}"
        if name in CHOICES:
            assert set(CHOICES[name]) == choices, f"validation of {name} allows {CHOICES[name]}, TrainRequest {choices}"
        if flag.default is not None:
            assert flag.default == wanted[name], f"--{name} defaults to {flag.default!r}, not {wanted[name]!r}"


def test_the_editor_settings_have_the_same_choices_and_defaults() -> None:
    request, wanted = request_fields(), defaults()
    for short, spec in editor_properties().items():
        if short in EDITOR_ONLY:
            continue
        name = EDITOR_KEYS[short]
        choices = literal_choices(request.get(name))
        if spec.get("enum") is not None and choices is not None:
            assert set(spec["enum"]) - SENTINELS == choices, f"experience.{short} offers {spec['enum']}, not {choices}"
        if spec.get("default") not in (*UNSET, *SENTINELS):
            assert spec["default"] == wanted[name], f"experience.{short} defaults to {spec['default']!r}"
        elif spec.get("default") in SENTINELS:
            assert wanted[name] is None, f"experience.{short} leaves {name} to the dataset; a new run does not"


def test_the_extensions_own_defaults_are_the_manifests() -> None:
    source = (ROOT / "vscode-extension" / "src" / "common" / "settings.ts").read_text(encoding="utf-8")
    block = re.search(r"DEFAULT_SETTINGS: ExperienceSettings = \{(.*?)\n\};", source, re.S)
    assert block is not None, "DEFAULT_SETTINGS not found in settings.ts"
    ts_defaults = {k: json.loads(v) for k, v in re.findall(r"^\s+(\w+): (.+),$", block.group(1), re.M)}
    manifest = {short.removeprefix("train."): spec.get("default") for short, spec in editor_properties().items()}
    manifest = {k: v for k, v in manifest.items() if k not in EDITOR_ONLY}
    assert ts_defaults == manifest
