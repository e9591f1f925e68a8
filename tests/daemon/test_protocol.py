"""The protocol module: one table of methods, param checking with clear messages, the JSON dump."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from daemon_client import ROOT

from experience_daemon.protocol import ERROR_CODES, METHODS, ParamsError, decode_params

REQUESTS = {
    "openRun", "closeRun", "listEntries", "readEntry", "writeEntry", "train", "step", "cancel", "status",
    "evaluate", "patches", "previewPatch", "acceptPatch", "rejectPatch", "rollback", "infer", "mergeRuns",
}  # fmt: skip


def test_the_table_names_every_request_and_notification_of_the_issue() -> None:
    requests = {m.name.removeprefix("experience/") for m in METHODS.values() if m.kind == "request"}
    notes = {m.name for m in METHODS.values() if m.kind == "notification"}
    assert requests == REQUESTS
    assert notes == {"experience/metrics", "experience/entryChanged"}


def test_json_dump_from_the_command_line() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "core"), str(ROOT / "daemon")])}
    done = subprocess.run(
        [sys.executable, "-m", "experience_daemon.protocol", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    dumped = json.loads(done.stdout)
    read = dumped["methods"]["experience/readEntry"]
    assert read["params"]["required"] == ["runDir", "row", "column"]
    assert read["params"]["properties"]["column"] == {"enum": ["query", "key", "value"]}
    assert read["result"]["properties"]["version"] == {"type": "integer"}
    assert dumped["methods"]["experience/train"]["progress"] is True
    assert "result" not in dumped["methods"]["experience/entryChanged"]
    assert dumped["errors"]["staleVersion"] == ERROR_CODES["staleVersion"] == -32001


def test_decode_accepts_good_params_and_the_lsp_progress_token() -> None:
    params = {"runDir": "r", "row": 2, "column": "key", "workDoneToken": "t"}
    assert decode_params("experience/readEntry", params) == params
    assert decode_params("experience/status", None) == {}
    assert decode_params("experience/train", {"runDir": "r", "lr": 1})["lr"] == 1  # an int is a number


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"runDir": "r", "row": "2", "column": "key"}, "params.row must be an integer, got '2'"),
        ({"runDir": "r", "row": True, "column": "key"}, "params.row must be an integer, got True"),
        ({"runDir": "r", "row": 2}, "params is missing the field(s) column"),
        ({"runDir": "r", "row": 2, "column": "keys"}, "params.column must be one of 'query', 'key', 'value'"),
        ({"run_dir": "r", "row": 2, "column": "key"}, "unknown field(s) run_dir; the fields are runDir"),
        ([1, 2], "params must be an object, got [1, 2]"),
    ],
)
def test_decode_names_the_first_problem(params: object, message: str) -> None:
    with pytest.raises(ParamsError) as caught:
        decode_params("experience/readEntry", params)
    assert message in str(caught.value)


def test_nested_and_optional_fields_are_checked() -> None:
    with pytest.raises(ParamsError, match=r"params.step must be an integer"):
        decode_params("experience/patches", {"runDir": "r", "step": 1.5})
    with pytest.raises(ParamsError, match=r"params.state must be one of 'staged'"):
        decode_params("experience/patches", {"runDir": "r", "state": "pending"})
    assert decode_params("experience/patches", {"runDir": "r"}) == {"runDir": "r"}
