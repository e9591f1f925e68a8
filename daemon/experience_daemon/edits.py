"""Hand edits on disk: reload the edited entries, report them, refresh keywords of edited keys."""

from __future__ import annotations

import logging
from pathlib import Path

from experience.events import Log
from experience.retrieval.query import generate_queries, identifiers, lexical_query
from experience_daemon.session import COLUMNS, RunSession
from experience_daemon.workspace import Workspace

log = logging.getLogger(__name__)
KEY = 1


def disk_changed(workspace: Workspace, session: RunSession, paths: list[Path]) -> list[tuple[int, str]]:
    """Reload the entries behind `paths` (not the daemon's own writes); returns those reported."""
    slots = []
    for path in paths:
        slot = session.slot_of_file(path)
        if slot is None or workspace.own_writes.is_own(path):
            continue
        workspace.own_writes.forget(path)
        slots.append(slot)
    changed = workspace.emit_changes(session, "disk", session.sync(slots))
    keys = [s for s in changed if s % 3 == KEY and s - 1 not in changed]  # hand-edited queries stay
    if keys and workspace.refresh_keywords and session.job is None and session.locked_elsewhere() is None:
        refresh_queries(workspace, session, keys)
        changed += workspace.emit_changes(session, "keywords", [s - 1 for s in keys])
    return [(s // 3, COLUMNS[s % 3]) for s in changed]


def refresh_queries(workspace: Workspace, session: RunSession, key_slots: list[int]) -> None:
    """Write new query keywords for each key slot (the key's identifiers if the LLM fails)."""
    keys = [session.experience.storage.read(s) for s in key_slots]
    if session.run.config.query == "lexical":
        for slot, key in zip(key_slots, keys, strict=True):
            session.set_text(slot - 1, lexical_query(key or ""), "keywords")
        return
    try:
        if session.keyword_kernel is None:
            cfg = session.run.config
            session.keyword_kernel = workspace.make_kernel(cfg.backend, cfg.model, cfg.base_url)
        queries = generate_queries(session.keyword_kernel, keys)
    except Exception as error:  # keywords are a convenience: never lose the edit over them
        log.warning("keyword generation failed for %s: %s", session.key, error, exc_info=True)
        note = f"keywords for the edited key(s) fell back to identifiers: {error}"
        workspace.emit(session.key, Log(note, "warning"))
        queries = ["\n".join(identifiers(k or "")) for k in keys]
    for slot, query in zip(key_slots, queries, strict=True):
        session.set_text(slot - 1, query, "keywords")
