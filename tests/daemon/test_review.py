"""Review mode over stdio: staged patches persist across a daemon restart; accept applies, reject keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from daemon_client import StartDaemon
from pygls.exceptions import JsonRpcException


def records(run_dir: Path, step: int) -> list[dict[str, object]]:
    """The patch records of a step, as stored on disk."""
    data: list[dict[str, object]] = json.loads((run_dir / "patches" / f"{step:06d}.json").read_text("utf-8"))
    return data


async def test_staged_patches_survive_a_restart_and_are_accepted_or_rejected(
    start: StartDaemon, run_dir: Path, dataset: Path
) -> None:
    daemon = await start()
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 2}
    await daemon.request("experience/train", {**train, "review": True})
    staged = await daemon.request("experience/patches", {"runDir": str(run_dir), "step": 1})
    assert staged and {p["state"] for p in staged} == {"staged"} and {p["step"] for p in staged} == {1}
    assert {p["column"] for p in staged} == {"query", "key", "value"}
    entries = await daemon.request("experience/listEntries", {"runDir": str(run_dir)})
    assert not any(e["filled"] for e in entries)  # nothing touched the experience yet
    status = (await daemon.request("experience/status", {"runDir": str(run_dir)}))["runs"][0]
    everything = await daemon.request("experience/patches", {"runDir": str(run_dir)})
    assert status["review"] is True and status["staged"] == len(everything) > len(staged)
    await daemon.client.shutdown_session()
    await daemon.client.stop()

    daemon = await start()  # a new process: the staged patches come from the run directory
    after = await daemon.request("experience/patches", {"runDir": str(run_dir), "state": "staged"})
    assert after == everything
    key = next(p for p in after if p["column"] == "key" and p["step"] == 1)
    value = next(p for p in after if p["column"] == "value" and p["row"] == key["row"] and p["step"] == 1)

    accepted = await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": key["id"]})
    assert accepted["patch"]["state"] == "accepted" and accepted["patch"]["outcome"] == "applied"
    entry = await daemon.request("experience/readEntry", {"runDir": str(run_dir), "row": key["row"], "column": "key"})
    assert entry["text"].startswith("def ") and entry["version"] == accepted["version"]
    note = await daemon.wait_for(lambda: daemon.changes(row=key["row"], column="key", origin="review"), "review")
    assert note[0]["version"] == accepted["version"]
    assert next(r for r in records(run_dir, 1) if r["id"] == key["id"])["state"] == "accepted"

    rejected = await daemon.request("experience/rejectPatch", {"runDir": str(run_dir), "patchId": value["id"]})
    assert rejected == {"patch": {**value, "state": "rejected"}, "version": None}
    where = {"runDir": str(run_dir), "row": value["row"], "column": "value"}
    assert (await daemon.request("experience/readEntry", where))["text"] == ""
    assert next(r for r in records(run_dir, 1) if r["id"] == value["id"])["state"] == "rejected"

    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": value["id"]})
    assert caught.value.code == -32005 and "is rejected, not staged" in caught.value.message
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": "1:99:1"})
    assert caught.value.code == -32004
    left = await daemon.request("experience/patches", {"runDir": str(run_dir), "state": "staged"})
    assert len(left) == len(everything) - 2


async def test_a_patch_that_no_longer_applies_is_a_conflict(start: StartDaemon, run_dir: Path, dataset: Path) -> None:
    daemon = await start()
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 2}
    await daemon.request("experience/train", {**train, "review": True})
    patch = next(p for p in await daemon.request("experience/patches", {"runDir": str(run_dir), "step": 1})
                 if p["column"] == "key")  # fmt: skip
    where = {"runDir": str(run_dir), "row": patch["row"], "column": "key"}
    text = "def kept(a):\n    return a\n"
    current = await daemon.request("experience/readEntry", where)
    await daemon.request("experience/writeEntry", {**where, "text": text, "version": current["version"]})
    diff = "--- a\n+++ b\n@@ -1,2 +1,1 @@\n-old one\n-old two\n+new\n"  # removes lines that are not there
    stored = records(run_dir, 1)
    for record in stored:
        if record["id"] == patch["id"]:
            record["diff"] = diff
    (run_dir / "patches" / "000001.json").write_text(json.dumps(stored), encoding="utf-8")
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": patch["id"]})
    assert caught.value.code == -32005 and "no longer applies" in caught.value.message
    assert caught.value.data["rejectedHunks"]
    assert (await daemon.request("experience/readEntry", where))["text"] == text  # untouched
    assert next(r for r in records(run_dir, 1) if r["id"] == patch["id"])["state"] == "staged"
