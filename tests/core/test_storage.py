"""Storage: run directories, files a person can open, atomic writes, save/load, views, temp dirs."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
import torch

import experience as ex


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A run directory whose path has spaces and non-ASCII characters."""
    path = tmp_path / "my runs é 日本" / "run 1"
    path.mkdir(parents=True)
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` (hidden ones too) by relative path, with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def temp_leftovers(directory: Path) -> list[str]:
    """Names of atomic-write temp files left under `directory`."""
    return [str(p) for p in directory.rglob("*") if p.name.endswith(".tmp")]


def meta(directory: Path) -> dict[str, object]:
    """Parsed tensor.json of a tensor folder."""
    data: dict[str, object] = json.loads((directory / "tensor.json").read_text(encoding="utf-8"))
    return data


# -- layout on disk ---------------------------------------------------------------------


def test_named_tensors_live_in_files_a_person_can_open(root: Path) -> None:
    t = ex.tensor([["alpha\n", "beta"], ["γάμμα 日本\n", None]], root, name="weights")
    u = ex.tensor(["one", "two"], root, name="other")
    assert sorted(p.name for p in root.iterdir()) == ["other", "weights"]
    folder = root / "weights"
    assert (folder / "0" / "0.txt").read_bytes() == b"alpha\n"
    assert (folder / "0" / "1.txt").read_bytes() == b"beta"
    assert (folder / "1" / "0.txt").read_bytes() == "γάμμα 日本\n".encode()
    assert (folder / "1" / "1.txt").read_bytes() == b""  # empty element: an empty file to fill in
    assert t.path(1, 0) == folder / "1" / "0.txt"
    assert (root / "other" / "1.txt").read_text(encoding="utf-8") == "two"
    assert u.name == "other"
    assert meta(folder)["shape"] == [2, 2]
    assert meta(folder)["coeff"] == [1.0, 1.0, 1.0, 0.0]


def test_making_a_tensor_twice_under_one_name_is_refused(root: Path) -> None:
    ex.tensor(["a"], root, name="w")
    before = snapshot(root)
    with pytest.raises(FileExistsError, match="already lives"):
        ex.tensor(["b"], root, name="w")
    assert snapshot(root) == before


def test_experience_rows_are_folders_with_role_files(root: Path) -> None:
    e = ex.Experience.empty(rows=24, root=root, source_ext="py", target_ext="viba")
    folder = root / "experience"
    rows = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert rows == [f"{r:04d}" for r in range(24)]
    for row in rows:
        assert sorted(p.name for p in (folder / row).iterdir()) == [
            "key.py",
            "query.txt",
            "value.viba",
        ]
    assert e.shape == torch.Size([24, 3])
    assert e.requires_grad
    e.set_text((7, 0), "loop\nsum\n")
    e.set_text((7, 1), "def f(x):\n    return x\n")
    e.set_text((7, 2), "f x = x\n")
    assert (folder / "0007" / "query.txt").read_text(encoding="utf-8") == "loop\nsum\n"
    assert (folder / "0007" / "key.py").read_text(encoding="utf-8") == "def f(x):\n    return x\n"
    assert (folder / "0007" / "value.viba").read_text(encoding="utf-8") == "f x = x\n"
    assert e.path(7, 2) == folder / "0007" / "value.viba"
    layout = meta(folder)["layout"]
    assert layout == {"kind": "experience", "source_ext": "py", "target_ext": "viba"}
    assert ex.Experience.filled_rows(e) == [7]


def test_experience_rejects_dotted_extensions(root: Path) -> None:
    with pytest.raises(ValueError, match="bare"):
        ex.Experience.empty(rows=2, root=root, source_ext=".py", target_ext="viba")


# -- atomic writes ----------------------------------------------------------------------


def test_writes_leave_no_temp_files(root: Path) -> None:
    t = ex.tensor([[f"r{i}c{j}" for j in range(30)] for i in range(30)], root, name="t")
    for k in range(20):
        t.set_text((k, k), f"edited {k}\n")
    stats = ex.patch(t, ex.diff(t, ex.tensor([[f"x{i}{j}\n" for j in range(30)] for i in range(30)])))
    assert stats.applied == 900
    ex.save(t, root / "copy")
    assert temp_leftovers(root) == []
    assert (root / "t" / "29" / "29.txt").read_text(encoding="utf-8") == "x2929\n"


def test_a_write_that_cannot_encode_leaves_the_old_file(root: Path) -> None:
    t = ex.tensor(["old text\n", "b"], root, name="t")
    before = snapshot(root)
    with pytest.raises(UnicodeEncodeError):
        t.set_text((0,), "lone surrogate \ud800")
    assert snapshot(root) == before
    assert t.text(0) == "old text\n"  # memory agrees with the file


def test_a_failing_rename_leaves_the_old_file_and_no_temp(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = ex.tensor(["old\n"] * 300, root, name="t")  # 300: the parallel many-files path too
    before = snapshot(root)

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        t.set_text((0,), "new\n")
    with pytest.raises(OSError, match="No space"):
        ex.patch(t, ex.diff(t, ex.tensor(["new\n"] * 300)))
    monkeypatch.undo()
    assert snapshot(root) == before
    assert temp_leftovers(root) == []
    assert t.texts() == ["old\n"] * 300


# -- save / load ------------------------------------------------------------------------

TRICKY = ["no final newline", "crlf\r\nlines\r\n", "unicode é 日本 🙂\n", None, "\n", "  \t\n x"]


@pytest.mark.parametrize(
    ("data", "shape"),
    [
        ("a scalar without newline", []),
        (TRICKY, [6]),
        ([[TRICKY[:2], TRICKY[2:4]], [TRICKY[4:], ["x", ""]]], [2, 2, 2]),
        ([], [0]),
    ],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_save_load_round_trip_is_exact(root: Path, data: object, shape: list[int], dtype: torch.dtype) -> None:
    t = ex.tensor(data, dtype=dtype)
    flat = t.coeff.reshape(-1)
    flat[:] = torch.linspace(-0.3, 2.7, flat.numel(), dtype=dtype)  # non-1 values
    folder = ex.save(t, root / "saved")
    back = ex.load(folder)
    assert list(back.shape) == shape
    assert back.tolist() == t.tolist()
    assert back.coeff.dtype == dtype
    assert torch.equal(back.coeff, t.coeff)
    for i, text in enumerate(t.texts()):
        position = tuple(int(k) for k in torch.unravel_index(torch.tensor(i), t.shape))
        file = back.path(*position)
        assert file is not None
        assert file.read_bytes() == (text or "").encode()


def test_empty_string_is_an_empty_element(root: Path) -> None:
    t = ex.tensor(["", None, "x"], root, name="t")
    assert t.tolist() == [None, None, "x"]
    assert t.coeff.tolist() == [0.0, 0.0, 1.0]
    assert ex.load(root / "t").tolist() == [None, None, "x"]


def test_save_load_keeps_the_experience_layout(root: Path) -> None:
    e = ex.Experience.empty(rows=3, root=root, source_ext="py", target_ext="viba")
    e.set_text((1, 1), "print('hi')\r\n")
    with torch.no_grad():
        e.coeff[1] = torch.tensor([0.5, 0.25, 0.125])
    copy_dir = ex.save(e, root / "backup")
    assert (copy_dir / "0001" / "key.py").read_bytes() == b"print('hi')\r\n"
    back = ex.Experience.load(copy_dir)
    assert back.requires_grad
    assert back.tolist() == e.tolist()
    assert back.coeff[1].tolist() == [0.5, 0.25, 0.125]
    assert back.path(1, 2) == copy_dir / "0001" / "value.viba"


def test_saving_in_place_persists_coefficients(root: Path) -> None:
    t = ex.tensor([["a", "b"], ["c", "d"]], root, name="t")
    with torch.no_grad():
        t.coeff[0, 1] = 0.75
    ex.save(t, root / "t")
    assert meta(root / "t")["coeff"] == [1.0, 0.75, 1.0, 1.0]
    with pytest.raises(ValueError, match="view"):
        ex.save(t.view[0], root / "t")


def test_a_view_saves_as_a_grid_of_its_own_shape(root: Path) -> None:
    e = ex.Experience.empty(rows=4, root=root, target_ext="viba")
    e.set_text((2, 2), "v2\n")
    e.set_text((3, 2), "v3\n")
    column = ex.save(e.view[:, 2], root / "values")
    assert meta(column)["layout"] == {"kind": "grid"}
    assert (column / "3.txt").read_text(encoding="utf-8") == "v3\n"
    assert ex.load(column).tolist() == [None, None, "v2\n", "v3\n"]


def test_hand_edits_are_picked_up_by_reload(root: Path) -> None:
    t = ex.tensor(["a\n", "b\n"], root, name="t")
    (root / "t" / "1.txt").write_bytes(b"edited by hand\n")
    assert t.storage.reload_all() == [1]
    assert t.tolist() == ["a\n", "edited by hand\n"]


# -- views share storage ----------------------------------------------------------------


def test_views_share_storage_and_copies_do_not(root: Path) -> None:
    t = ex.tensor([["a", "b"], ["c", "d"]], root, name="t")
    view = t.view[1]
    assert view.storage is t.storage
    view.set_text((0,), "through the view")
    assert t.text(1, 0) == "through the view"
    assert (root / "t" / "1" / "0.txt").read_text(encoding="utf-8") == "through the view"
    t.set_text((1, 1), "through the base")
    assert view.text(1) == "through the base"

    before = snapshot(root)
    sliced, copied = t[0], t.copy()
    assert sliced.storage is not t.storage and copied.storage is not t.storage
    assert sliced.storage.directory is None and copied.storage.directory is None
    sliced.set_text((0,), "changed copy")
    copied.set_text((0, 1), "changed copy")
    assert t.tolist() == [["a", "b"], ["through the view", "through the base"]]
    assert snapshot(root) == before


def test_no_stray_temp_dirs(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    systemp = tmp_path / "system temp"
    systemp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systemp))
    monkeypatch.setenv("TMPDIR", str(systemp))
    assert tempfile.gettempdir() == str(systemp)
    t = ex.tensor([[f"{i}{j}\n" for j in range(3)] for i in range(3)], root, name="t")
    view, sliced = t.view[1:], t[::2]
    stacked = ex.stack([view, view], 0)
    grad = ex.diff(t, ex.tensor([[f"{i}{j}!\n" for j in range(3)] for i in range(3)]))
    ex.patch(t, grad)
    ex.load(ex.save(stacked, root / "stacked"))
    ex.load(root / "t")
    assert sliced.shape == torch.Size([2, 3])
    assert list(systemp.iterdir()) == []
    assert temp_leftovers(root) == []


# -- missing or corrupt run directories -------------------------------------------------


def _corrupt_json(folder: Path) -> None:
    (folder / "tensor.json").write_text('{"format": 1, "shape": [2', encoding="utf-8")


def _count_mismatch(folder: Path) -> None:
    data = meta(folder)
    data["coeff"] = [1.0, 1.0, 1.0]  # shape [2] needs 2
    (folder / "tensor.json").write_text(json.dumps(data), encoding="utf-8")


def _not_an_object(folder: Path) -> None:
    (folder / "tensor.json").write_text("[1, 2]", encoding="utf-8")


def _unknown_layout(folder: Path) -> None:
    data = meta(folder)
    data["layout"] = {"kind": "spiral"}
    (folder / "tensor.json").write_text(json.dumps(data), encoding="utf-8")


def _binary_element(folder: Path) -> None:
    (folder / "1.txt").write_bytes(b"\xff\xfe not utf-8")


@pytest.mark.parametrize(
    ("damage", "names"),
    [
        (_corrupt_json, "tensor.json"),
        (_count_mismatch, "tensor.json"),
        (_not_an_object, "tensor.json"),
        (_unknown_layout, "tensor.json"),
        (_binary_element, "1.txt"),
    ],
)
def test_corrupt_tensor_folder_is_a_clear_error(root: Path, damage: object, names: str) -> None:
    ex.tensor(["a", "b"], root, name="t")
    folder = root / "t"
    damage(folder)  # type: ignore[operator]
    before = snapshot(root)
    with pytest.raises(ex.TensorDirectoryError) as caught:
        ex.load(folder)
    assert str(folder / names) in str(caught.value)
    assert snapshot(root) == before


def test_missing_folder_or_metadata_is_a_clear_error(root: Path) -> None:
    with pytest.raises(ex.TensorDirectoryError, match="no tensor folder") as caught:
        ex.load(root / "nowhere")
    assert str(root / "nowhere") in str(caught.value)
    (root / "bare").mkdir()
    (root / "bare" / "0.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ex.TensorDirectoryError, match=r"no tensor\.json") as caught:
        ex.load(root / "bare")
    assert str(root / "bare") in str(caught.value)
    assert (root / "bare" / "0.txt").read_text(encoding="utf-8") == "x"


def test_loading_a_non_experience_as_experience_is_refused(root: Path) -> None:
    ex.tensor(["a", "b"], root, name="t")
    with pytest.raises(ValueError, match=r"not an \[N, 3\] experience"):
        ex.Experience.load(root / "t")
