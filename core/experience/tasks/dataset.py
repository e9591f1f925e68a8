"""Datasets of (source, target) text pairs: a folder with manifest.json and split folders, or a flat folder."""

from __future__ import annotations

import importlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experience.storage.paths import UnsafePathError, check_ext, check_inside, read_regular_bytes
from experience.text.gbnf import GbnfError, parse_gbnf

ALLOW_SYMLINKS_ENV = "EXPERIENCE_ALLOW_DATASET_SYMLINKS"


class DatasetError(ValueError):
    """A dataset folder that cannot be used; the message names the problem and the fix."""


@dataclass(frozen=True)
class Pair:
    """One example: a name (file stem), its source text and its target text."""

    name: str
    source: str
    target: str


@dataclass
class Dataset:
    """Splits of pairs plus what the task needs: extensions and the task prompt."""

    name: str
    source_ext: str
    target_ext: str
    task_prompt: str
    splits: dict[str, list[Pair]] = field(default_factory=dict)
    path: Path | None = None
    verifier: str | None = None  # "module:function" taking (source, prediction, target) -> bool
    query: str | None = None  # the manifest's choice of query column ("llm" or "lexical"), None: the default
    checker: str | None = None  # "module:function" taking (text) -> bool: does an answer parse in the target language
    grammar: str | None = None  # GBNF text of a bare answer (manifest 'grammar': a file in the dataset folder)

    def check(self) -> Callable[[str], bool] | None:
        """The syntax checker named in the manifest, or None (then no `valid` metric)."""
        found: Callable[[str], bool] | None = _import(self.checker, "checker") if self.checker else None
        return found

    def valid_share(self, outputs: Sequence[str | None], cut: Sequence[bool] = ()) -> float | None:
        """The share of `outputs` the checker accepts, an answer cut at the token limit (`cut[i]`) or missing
        counting as invalid; None when the dataset names no checker or there are no outputs."""
        check = self.check()
        if check is None or not outputs:
            return None
        stopped = list(cut) + [False] * (len(outputs) - len(cut))
        return sum(bool(o) and not c and check(o or "") for o, c in zip(outputs, stopped, strict=True)) / len(outputs)

    def verify(self) -> Callable[[str, str, str], bool] | None:
        """The task's exact-match verifier named in the manifest, or None (then exact = equal text)."""
        found: Callable[[str, str, str], bool] | None = _import(self.verifier, "verifier") if self.verifier else None
        return found

    def split(self, name: str) -> list[Pair]:
        """Pairs of one split; a clear error if the split is missing or empty."""
        pairs = self.splits.get(name)
        if not pairs:
            have = ", ".join(sorted(k for k, v in self.splits.items() if v)) or "none"
            raise DatasetError(f"dataset {self.name!r} has no {name!r} pairs (splits with pairs: {have})")
        return pairs


def _import(spec: str, what: str) -> Any:
    """The function a manifest names as "module:function"; DatasetError when it cannot be imported."""
    module, _, name = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise DatasetError(
            f'manifest {what} {spec!r} cannot be imported ({error}); name an importable "module:function"'
        ) from error
    if not callable(found):
        raise DatasetError(f'manifest {what} {spec!r} is not a function; name an importable "module:function"')
    return found


def _read_grammar(folder: Path, name: object, root: Path, allow_symlinks: bool) -> str:
    """The manifest's GBNF grammar file, parsed once so a mistake is reported with its file and line."""
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(f"{folder / 'manifest.json'}: 'grammar' must name a .gbnf file in the dataset folder")
    path = folder / name
    if not path.is_file():
        raise DatasetError(f"grammar file {path} named by manifest.json does not exist; add it or remove 'grammar'")
    text = _read_file(path, root, allow_symlinks)
    try:
        parse_gbnf(text, str(path))
    except GbnfError as error:
        raise DatasetError(f"grammar {error}") from error
    return text


def _read_file(path: Path, root: Path, allow_symlinks: bool) -> str:
    """Text of one dataset file; DatasetError when it leads out of `root` (unless allowed) or is not UTF-8."""
    try:
        if not allow_symlinks:
            check_inside(root, path)
        data = read_regular_bytes(path)
    except UnsafePathError as error:
        raise DatasetError(
            f"dataset file {path} is refused: {error}. A dataset is untrusted input; copy the file into the "
            f"dataset folder, or set {ALLOW_SYMLINKS_ENV}=1 (load_dataset(..., allow_symlinks=True)) to follow links"
        ) from error
    except OSError as error:
        raise DatasetError(f"dataset file {path} cannot be read ({error}); fix or remove it") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"dataset file {path} is not UTF-8 text ({error}); convert it (e.g. iconv -t UTF-8) or remove it"
        ) from error


def _read_pairs(folder: Path, source_ext: str, target_ext: str, root: Path, allow_symlinks: bool) -> list[Pair]:
    if not allow_symlinks:
        try:
            check_inside(root, folder)
        except UnsafePathError as error:
            raise DatasetError(
                f"split folder {folder} is refused: {error}. Keep splits inside the dataset folder (fix manifest.json "
                f"'splits'), or set {ALLOW_SYMLINKS_ENV}=1 to follow links"
            ) from error
    if not folder.is_dir():
        raise DatasetError(f"split folder {folder} does not exist; create it or fix manifest.json 'splits'")
    pairs, missing = [], []
    for source in sorted(folder.glob(f"*.{source_ext}")):
        target = source.with_suffix(f".{target_ext}")
        if not target.exists():
            missing.append(target.name)
            continue
        source_text = _read_file(source, root, allow_symlinks)
        pairs.append(Pair(source.stem, source_text, _read_file(target, root, allow_symlinks)))
    if missing:
        raise DatasetError(f"{folder}: no target file for {', '.join(missing)}; add them or remove the sources")
    return pairs


def _extensions(source_ext: object, target_ext: object, where: Path) -> tuple[str, str]:
    try:
        return check_ext(source_ext), check_ext(target_ext)
    except ValueError as error:
        raise DatasetError(f"{where}: {error}; fix source_ext/target_ext") from error


def _symlinks_allowed(allow_symlinks: bool | None) -> bool:
    if allow_symlinks is not None:
        return allow_symlinks
    return os.environ.get(ALLOW_SYMLINKS_ENV, "").strip().lower() in ("1", "true", "yes")


def _infer_extensions(folder: Path) -> tuple[str, str]:
    counts = Counter(p.suffix.lstrip(".") for p in folder.iterdir() if p.is_file() and p.suffix)
    if "py" in counts and len(counts) >= 2:
        other = [ext for ext, _ in counts.most_common() if ext != "py"]
        return "py", other[0]
    common = [ext for ext, _ in counts.most_common(2)]
    if len(common) < 2:
        raise DatasetError(f"{folder} has no <name>.<src> + <name>.<tgt> pairs; add files or a manifest.json")
    return common[0], common[1]


def load_dataset(path: str | Path, *, allow_symlinks: bool | None = None) -> Dataset:
    """Load a dataset folder (manifest.json + split folders) or a flat folder of pairs (one 'val' split).

    Files and split folders that lead out of the dataset folder (symbolic links, '..') are refused unless
    `allow_symlinks` (default: the EXPERIENCE_ALLOW_DATASET_SYMLINKS environment variable is 1).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(f"no dataset folder at {folder}; pass --dataset DIR (e.g. datasets/viba)")
    allow = _symlinks_allowed(allow_symlinks)
    root = folder.resolve()
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        source_ext, target_ext = _extensions(*_infer_extensions(folder), folder)
        pairs = _read_pairs(folder, source_ext, target_ext, root, allow)
        if not pairs:
            raise DatasetError(f"{folder} holds no complete pairs")
        return Dataset(
            folder.name,
            source_ext,
            target_ext,
            "Translate the source into the target language.",
            {"val": pairs},
            folder,
        )
    try:
        manifest = json.loads(_read_file(manifest_path, root, allow))
        source_ext, target_ext = _extensions(manifest["source_ext"], manifest["target_ext"], manifest_path)
        splits_spec = dict(manifest.get("splits", {"train": "train", "val": "val"}))
        task_prompt = str(manifest["task_prompt"])
    except DatasetError:
        raise
    except (ValueError, KeyError, TypeError) as error:
        raise DatasetError(
            f"{manifest_path} is malformed ({error!r}); it needs source_ext, target_ext, task_prompt and splits"
        ) from error
    splits = {
        name: _read_pairs(folder / str(sub), source_ext, target_ext, root, allow) for name, sub in splits_spec.items()
    }
    if not any(splits.values()):
        raise DatasetError(f"dataset {folder} is empty: its split folders hold no pairs")
    verifier, query, checker = manifest.get("verifier"), manifest.get("query"), manifest.get("checker")
    if query is not None and query not in ("llm", "lexical"):
        raise DatasetError(f'{manifest_path}: \'query\' must be "llm" or "lexical", got {query!r}')
    grammar = _read_grammar(folder, manifest["grammar"], root, allow) if "grammar" in manifest else None
    return Dataset(
        str(manifest.get("name", folder.name)),
        source_ext,
        target_ext,
        task_prompt,
        splits,
        folder,
        str(verifier) if verifier else None,
        query,
        str(checker) if checker else None,
        grammar,
    )
