"""The daemon over stdio: runs and entries, versions, hand edits on disk, bad input, two runs at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from daemon_client import Daemon, StartDaemon
from pygls.exceptions import JsonRpcException

TRAIN = {"epochs": 1, "rows": 6, "batchSize": 2}


async def train(daemon: Daemon, run_dir: Path, dataset: Path, **extra: Any) -> Any:
    """Train a fresh run for one epoch (2 steps) with the scripted backend."""
    params = {"runDir": str(run_dir), "dataset": str(dataset), **TRAIN, **extra}
    return await daemon.request("experience/train", params)


async def error_of(daemon: Daemon, method: str, params: Any) -> JsonRpcException:
    """The JSON-RPC error a request is answered with."""
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request(method, params)
    return caught.value


async def test_open_list_read_write_and_status(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    await train(daemon, run_dir, dataset)
    summary = await daemon.request("experience/openRun", {"runDir": str(run_dir)})
    assert summary["shape"] == [6, 3] and summary["step"] == 2 and summary["filled"] >= 1
    assert summary["lastMetrics"]["split"] == "val"
    entries = await daemon.request("experience/listEntries", {"runDir": str(run_dir)})
    filled = [e for e in entries if e["filled"]]
    assert len(entries) == 6 and filled and all(e["step"] in (1, 2) for e in filled)
    row = filled[0]["row"]
    key = await daemon.request("experience/readEntry", {"runDir": str(run_dir), "row": row, "column": "key"})
    assert key["text"] == Path(filled[0]["keyPath"]).read_text(encoding="utf-8")
    assert key["text"].startswith("def ")

    new = "def add(a):\n    return a + 100\n"
    written = await daemon.request(
        "experience/writeEntry",
        {"runDir": str(run_dir), "row": row, "column": "key", "text": new, "version": key["version"]},
    )
    assert written["version"] != key["version"]
    assert Path(filled[0]["keyPath"]).read_text(encoding="utf-8") == new
    again = await daemon.request("experience/readEntry", {"runDir": str(run_dir), "row": row, "column": "key"})
    assert again == {"text": new, "version": written["version"]}
    note = await daemon.wait_for(lambda: daemon.changes(row=row, column="key", origin="client"), "client change")
    assert note[0]["version"] == written["version"]

    status = await daemon.request("experience/status", {})
    assert [r["runDir"] for r in status["runs"]] == [str(run_dir)]
    assert status["runs"][0]["job"] is None and status["runs"][0]["lockedBy"] is None
    assert await daemon.request("experience/closeRun", {"runDir": str(run_dir)}) == {"closed": True}
    assert (await daemon.request("experience/status", {}))["runs"] == []


async def test_a_stale_write_is_rejected_with_the_current_version(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    await train(daemon, run_dir, dataset)
    where = {"runDir": str(run_dir), "row": 0, "column": "value"}
    first = await daemon.request("experience/readEntry", where)
    done = await daemon.request("experience/writeEntry", {**where, "text": "mine\n", "version": first["version"]})
    stale = await error_of(daemon, "experience/writeEntry", {**where, "text": "theirs\n", "version": first["version"]})
    assert stale.code == -32001
    assert "read it again" in stale.message
    assert stale.data == {"kind": "staleVersion", "current": done["version"]}
    # a hand edit on disk makes a version stale too, even before the watcher reports it
    value_file = run_dir / "experience" / "0000" / "value.viba"
    value_file.write_text("by hand\n", encoding="utf-8")
    stale = await error_of(daemon, "experience/writeEntry", {**where, "text": "x\n", "version": done["version"]})
    assert stale.code == -32001
    assert value_file.read_text(encoding="utf-8") == "by hand\n"


async def test_a_hand_edit_on_disk_is_reloaded_and_refreshes_keywords(
    daemon: Daemon, run_dir: Path, dataset: Path
) -> None:
    await train(daemon, run_dir, dataset)
    await daemon.request("experience/openRun", {"runDir": str(run_dir)})
    row_dir = run_dir / "experience" / "0005"
    (row_dir / "key.py").write_text("def triple(a):\n    return a * 3\n", encoding="utf-8")
    disk = await daemon.wait_for(lambda: daemon.changes(row=5, column="key", origin="disk"), "entryChanged (disk)")
    words = await daemon.wait_for(lambda: daemon.changes(row=5, column="query", origin="keywords"), "keywords")
    key = await daemon.request("experience/readEntry", {"runDir": str(run_dir), "row": 5, "column": "key"})
    assert key["text"] == "def triple(a):\n    return a * 3\n" and key["version"] == disk[0]["version"]
    query = await daemon.request("experience/readEntry", {"runDir": str(run_dir), "row": 5, "column": "query"})
    assert "triple" in query["text"].split() and query["version"] == words[-1]["version"]
    assert (row_dir / "query.txt").read_text(encoding="utf-8") == query["text"]
    entries = await daemon.request("experience/listEntries", {"runDir": str(run_dir)})
    assert "triple" in entries[5]["query"]  # the retrieval keywords follow the edit


async def test_the_daemons_own_writes_do_not_echo_back(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    await train(daemon, run_dir, dataset)
    where = {"runDir": str(run_dir), "row": 1, "column": "value"}
    current = await daemon.request("experience/readEntry", where)
    reported = len(daemon.changes(row=1, column="value"))  # training may have written row 1
    await daemon.request("experience/writeEntry", {**where, "text": "own write\n", "version": current["version"]})
    await daemon.wait_for(lambda: daemon.changes(row=1, column="value", origin="client"), "client change")
    # a hand edit elsewhere, reported after ours: the watcher has seen our write by then
    (run_dir / "experience" / "0002" / "value.viba").write_text("hand\n", encoding="utf-8")
    await daemon.wait_for(lambda: daemon.changes(row=2, column="value", origin="disk"), "the hand edit")
    await asyncio.sleep(0.3)
    assert daemon.changes(row=1, column="value", origin="disk") == []
    assert len(daemon.changes(row=1, column="value")) == reported + 1


async def test_bad_requests_get_errors_and_the_daemon_keeps_serving(
    daemon: Daemon, run_dir: Path, dataset: Path
) -> None:
    await train(daemon, run_dir, dataset)
    bad = await error_of(daemon, "experience/readEntry", {"runDir": str(run_dir), "row": "one", "column": "key"})
    assert bad.code == -32602 and "params.row must be an integer" in bad.message
    bad = await error_of(daemon, "experience/readEntry", [str(run_dir), 1])
    assert bad.code == -32602 and "params must be an object" in bad.message
    missing = await error_of(daemon, "experience/readEntry", {"runDir": str(run_dir), "row": 99, "column": "key"})
    assert missing.code == -32004 and "no row 99" in missing.message
    nowhere = await error_of(daemon, "experience/openRun", {"runDir": str(run_dir.parent / "none")})
    assert nowhere.code == -32803 and "run.json missing" in nowhere.message
    unknown = await error_of(daemon, "experience/nope", {})
    assert unknown.code == -32601

    answers: list[tuple[Any, Any]] = []
    protocol = daemon.client.protocol
    original = protocol._handle_response

    def spy(msg_id: Any, result: Any = None, error: Any = None) -> None:
        answers.append((msg_id, error))
        original(msg_id, result, error)

    protocol._handle_response = spy  # type: ignore[method-assign]
    body = b'{"jsonrpc": "2.0", "id": 7, "method": "experience/status", oops'
    protocol.writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    parse = await daemon.wait_for(lambda: [e for i, e in answers if i is None], "the parse error")
    assert parse[0].code == -32700 and "not JSON" in parse[0].message
    status = await daemon.request("experience/status", {"runDir": str(run_dir)})
    assert status["runs"][0]["step"] == 2


async def test_two_runs_at_once_do_not_interfere(start: StartDaemon, tmp_path: Path, dataset: Path) -> None:
    daemon = await start()
    first, second = tmp_path / "first", tmp_path / "second"
    results = await asyncio.gather(train(daemon, first, dataset), train(daemon, second, dataset, seed=1))
    assert [r["runDir"] for r in results] == [str(first), str(second)]
    metrics = daemon.notes["experience/metrics"]
    for run in (first, second):
        assert [m["record"]["split"] for m in metrics if m["runDir"] == str(run)] == ["train", "train", "val"]
    where = {"runDir": str(first), "row": 0, "column": "value"}
    before = await daemon.request("experience/readEntry", {**where, "runDir": str(second)})
    current = await daemon.request("experience/readEntry", where)
    await daemon.request("experience/writeEntry", {**where, "text": "only first\n", "version": current["version"]})
    after = await daemon.request("experience/readEntry", {**where, "runDir": str(second)})
    assert after == before
    assert (first / "experience" / "0000" / "value.viba").read_text(encoding="utf-8") == "only first\n"
    runs = (await daemon.request("experience/status", {}))["runs"]
    assert sorted(r["runDir"] for r in runs) == [str(first), str(second)]
