"""Prompt templates, kept as package-data files (`$name` placeholders, string.Template syntax)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from string import Template


@cache
def load_prompt(name: str) -> Template:
    """The template stored in `prompts/<name>.md`."""
    path = resources.files("experience.prompts").joinpath(f"{name}.md")
    if not path.is_file():
        raise FileNotFoundError(f"no prompt file {name}.md in experience/prompts (reinstall the package)")
    return Template(path.read_text(encoding="utf-8").rstrip("\n"))


def render(name: str, **values: str) -> str:
    """Fill a prompt template; a missing placeholder is an error, not a silent blank."""
    return load_prompt(name).substitute(**values)


@cache
def load_shots(name: str) -> tuple[tuple[str, str], ...]:
    """Few-shot (user, assistant) pairs stored in `prompts/<name>.json` as a list of [user, assistant]."""
    path = resources.files("experience.prompts").joinpath(f"{name}.json")
    pairs = json.loads(path.read_text(encoding="utf-8"))
    return tuple((str(u), str(a)) for u, a in pairs)
