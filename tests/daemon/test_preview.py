"""experience/previewPatch over stdio: the text it shows is the text acceptPatch writes, conflicts included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from daemon_client import Daemon, StartDaemon
from pygls.exceptions import JsonRpcException


async def staged_key(daemon: Daemon, run_dir: Path, dataset: Path) -> dict[str, Any]:
    """Train one epoch in review mode; the first staged patch of a key."""
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 2, "review": True}
    await daemon.request("experience/train", train)
    staged = await daemon.request("experience/patches", {"runDir": str(run_dir), "step": 1, "state": "staged"})
    patch: dict[str, Any] = next(p for p in staged if p["column"] == "key")
    return patch


def rewrite_record(run_dir: Path, patch_id: str, **fields: Any) -> None:
    """Change a stored patch record (as a hand-edited or older run would hold it)."""
    path = run_dir / "patches" / "000001.json"
    stored = json.loads(path.read_text("utf-8"))
    for record in stored:
        if record["id"] == patch_id:
            record.update(fields)
    path.write_text(json.dumps(stored), encoding="utf-8")


async def test_preview_equals_what_accept_writes(start: StartDaemon, run_dir: Path, dataset: Path) -> None:
    daemon = await start()
    patch = await staged_key(daemon, run_dir, dataset)
    where = {"runDir": str(run_dir), "row": patch["row"], "column": "key"}
    preview = await daemon.request("experience/previewPatch", {"runDir": str(run_dir), "patchId": patch["id"]})
    entry = await daemon.request("experience/readEntry", where)
    assert preview["patch"] == patch and preview["version"] == entry["version"]
    assert preview["outcome"] == "applied" and preview["rejectedHunks"] == [] and preview["conflict"] is None
    assert entry["text"] == "" and preview["text"].startswith("def ")  # nothing written by the preview
    await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": patch["id"]})
    assert (await daemon.request("experience/readEntry", where))["text"] == preview["text"]
    before = {"runDir": str(run_dir), "patchId": patch["id"], "side": "before"}
    assert (await daemon.request("experience/previewPatch", before))["text"] == ""  # undone: the empty entry


async def test_a_rebased_preview_equals_the_rebased_accept(start: StartDaemon, run_dir: Path, dataset: Path) -> None:
    daemon = await start()
    patch = await staged_key(daemon, run_dir, dataset)
    where = {"runDir": str(run_dir), "row": patch["row"], "column": "key"}
    base = "head\nold\ntail\n"
    rewrite_record(run_dir, patch["id"], base=base, diff="--- a\n+++ b\n@@ -1,3 +1,3 @@\n head\n-old\n+new\n tail\n")
    current = await daemon.request("experience/readEntry", where)
    moved = "added on top\n" + base.replace("tail", "tail changed")  # offset, and the last context line differs
    await daemon.request("experience/writeEntry", {**where, "text": moved, "version": current["version"]})
    preview = await daemon.request("experience/previewPatch", {"runDir": str(run_dir), "patchId": patch["id"]})
    assert preview["text"] == "added on top\nhead\nnew\ntail changed\n" and preview["outcome"] == "fuzzed"
    await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": patch["id"]})
    assert (await daemon.request("experience/readEntry", where))["text"] == preview["text"]


async def test_a_conflict_previews_the_entry_unchanged(start: StartDaemon, run_dir: Path, dataset: Path) -> None:
    daemon = await start()
    patch = await staged_key(daemon, run_dir, dataset)
    where = {"runDir": str(run_dir), "row": patch["row"], "column": "key"}
    rewrite_record(run_dir, patch["id"], diff="--- a\n+++ b\n@@ -1,2 +1,1 @@\n-not there\n-nor this\n+new\n")
    current = await daemon.request("experience/readEntry", where)
    await daemon.request("experience/writeEntry", {**where, "text": "kept\n", "version": current["version"]})
    preview = await daemon.request("experience/previewPatch", {"runDir": str(run_dir), "patchId": patch["id"]})
    assert preview["text"] == "kept\n" and preview["outcome"] == "rejected"
    assert len(preview["rejectedHunks"]) == 1 and "no longer applies" in preview["conflict"]
    with pytest.raises(JsonRpcException) as caught:  # accept refuses and writes nothing, as the preview said
        await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": patch["id"]})
    assert caught.value.code == -32005
    assert (await daemon.request("experience/readEntry", where))["text"] == "kept\n"


async def test_preview_names_a_missing_patch(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    await staged_key(daemon, run_dir, dataset)
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/previewPatch", {"runDir": str(run_dir), "patchId": "1:99:key"})
    assert caught.value.code == -32004 and "no patch '1:99:key'" in caught.value.message
