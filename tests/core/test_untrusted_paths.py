"""Run folders and datasets are untrusted input: no path derived from them leaves them, no link is followed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import experience as ex
from experience.storage.layout import ExperienceLayout, layout_from_json
from experience.storage.paths import UnsafePathError, check_ext, check_inside, read_entry_file
from experience.storage.serialize import TensorDirectoryError
from experience.tasks.dataset import ALLOW_SYMLINKS_ENV, DatasetError, load_dataset
from learning_fixtures import write_dataset

BAD_EXTS = ["viba/../../../../outside.txt", "..", "", "a.b", "/etc", "x" * 17, "a b", 5, None]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A saved [3, 3] experience with text in row 1, inside `tmp_path/run` (outside files go in tmp_path)."""
    e = ex.Experience.empty(rows=3, root=tmp_path / "run", source_ext="py", target_ext="viba")
    e.set_text((1, 1), "def f(x):\n    return x\n")
    e.set_text((1, 2), "f :=\n")
    return tmp_path / "run" / "experience"


def set_layout(folder: Path, **layout: object) -> None:
    """Rewrite the layout in a tensor's tensor.json (as a crafted run folder would hold)."""
    meta = json.loads((folder / "tensor.json").read_text(encoding="utf-8"))
    meta["layout"] = layout
    (folder / "tensor.json").write_text(json.dumps(meta), encoding="utf-8")


# -- extensions ----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", BAD_EXTS)
def test_an_extension_must_be_a_plain_name(ext: object) -> None:
    with pytest.raises(ValueError, match="plain name"):
        check_ext(ext)
    with pytest.raises(ValueError, match="plain name"):
        layout_from_json({"kind": "experience", "source_ext": "py", "target_ext": ext})
    with pytest.raises(ValueError, match="plain name"):
        ExperienceLayout("py", ext)  # type: ignore[arg-type]


@pytest.mark.parametrize("ext", ["py", "viba", "c++", "tar_gz", "x-y", "A1"])
def test_plain_extensions_pass(ext: str) -> None:
    assert check_ext(ext) == ext
    layout = layout_from_json({"kind": "experience", "source_ext": ext, "target_ext": "txt"})
    assert layout.relpath((2, 1)) == f"0002/key.{ext}"


def test_a_crafted_target_ext_in_tensor_json_is_refused_at_load(run: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n", encoding="utf-8")
    set_layout(run, kind="experience", source_ext="py", target_ext="viba/../../../outside.txt")
    with pytest.raises(TensorDirectoryError) as caught:
        ex.Experience.load(run)
    message = str(caught.value)
    assert str(run / "tensor.json") in message and "layout" in message and "target_ext" in message
    assert "secret" not in message
    assert outside.read_text(encoding="utf-8") == "secret\n"


def test_a_layout_that_is_not_an_object_is_a_clear_error(run: Path) -> None:
    meta = json.loads((run / "tensor.json").read_text(encoding="utf-8"))
    meta["layout"] = "experience"
    (run / "tensor.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(TensorDirectoryError, match="layout"):
        ex.load(run)


# -- links and special files inside a tensor folder ------------------------------------------


def test_a_linked_entry_file_is_refused_when_loading(run: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n", encoding="utf-8")
    entry = run / "0001" / "value.viba"
    entry.unlink()
    entry.symlink_to(outside)
    with pytest.raises(TensorDirectoryError) as caught:
        ex.Experience.load(run)
    assert str(entry) in str(caught.value) and "symbolic link" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_a_linked_row_folder_is_refused_when_loading(run: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "key.py").write_text("stolen\n", encoding="utf-8")
    (run / "0002" / "query.txt").unlink()
    (run / "0002" / "key.py").unlink()
    (run / "0002" / "value.viba").unlink()
    (run / "0002").rmdir()
    (run / "0002").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(TensorDirectoryError) as caught:
        ex.Experience.load(run)
    assert str(run / "0002") in str(caught.value) and "symbolic link" in str(caught.value)


def test_a_linked_tensor_json_is_refused(run: Path, tmp_path: Path) -> None:
    real = tmp_path / "meta.json"
    real.write_bytes((run / "tensor.json").read_bytes())
    (run / "tensor.json").unlink()
    (run / "tensor.json").symlink_to(real)
    with pytest.raises(TensorDirectoryError, match="symbolic link"):
        ex.load(run)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_entry_is_refused_without_hanging(run: Path) -> None:
    entry = run / "0000" / "key.py"
    entry.unlink()
    os.mkfifo(entry)
    with pytest.raises(TensorDirectoryError, match="not a regular file"):
        ex.Experience.load(run)


def test_writes_through_a_row_folder_swapped_for_a_link_are_refused(run: Path, tmp_path: Path) -> None:
    e = ex.Experience.load(run)
    e.set_text((0, 2), "first\n")  # the row folder is known to this storage now
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    row = run / "0000"
    for child in row.iterdir():
        child.unlink()
    row.rmdir()
    row.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link") as caught:
        e.set_text((0, 2), "second\n")
    assert str(row) in str(caught.value)
    assert list(elsewhere.iterdir()) == []
    assert e.text(0, 2) == "first\n"  # the failed write changed nothing in memory either


def test_writes_to_a_new_row_folder_that_is_a_link_are_refused(run: Path, tmp_path: Path) -> None:
    e = ex.Experience.load(run)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    row = run / "0002"
    for child in row.iterdir():
        child.unlink()
    row.rmdir()
    row.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        e.storage.write_many([6, 7], ["q\n", "k\n"])
    assert list(elsewhere.iterdir()) == []


def test_writes_to_a_linked_entry_file_are_refused_and_its_target_kept(run: Path, tmp_path: Path) -> None:
    e = ex.Experience.load(run)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n", encoding="utf-8")
    entry = run / "0001" / "key.py"
    entry.unlink()
    entry.symlink_to(outside)
    with pytest.raises(UnsafePathError) as caught:
        e.set_text((1, 1), "overwrite\n")
    assert str(entry) in str(caught.value)
    assert entry.is_symlink() and outside.read_text(encoding="utf-8") == "keep me\n"


def test_reload_refuses_a_link_made_after_loading(run: Path, tmp_path: Path) -> None:
    e = ex.Experience.load(run)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n", encoding="utf-8")
    entry = run / "0001" / "value.viba"
    entry.unlink()
    entry.symlink_to(outside)
    slot = 1 * 3 + 2
    with pytest.raises(UnsafePathError, match="symbolic link"):
        e.storage.reload(slot)
    assert e.text(1, 2) == "f :=\n"


def test_a_missing_row_folder_reads_as_empty(run: Path) -> None:
    for child in (run / "0001").iterdir():
        child.unlink()
    (run / "0001").rmdir()
    back = ex.Experience.load(run)
    assert back.tolist()[1] == [None, None, None]
    back.set_text((1, 2), "refilled\n")  # writing makes the folder again
    assert (run / "0001" / "value.viba").read_text(encoding="utf-8") == "refilled\n"


def test_path_helpers(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "f.txt").write_bytes(b"caf\xc3\xa9\r\n")
    assert read_entry_file(root / "a" / "f.txt", root) == "café\r\n"
    assert read_entry_file(root / "b" / "f.txt", root) is None
    assert check_inside(root, root / "a" / "f.txt") == (root / "a" / "f.txt").resolve()
    with pytest.raises(UnsafePathError, match="outside"):
        check_inside(root, root / ".." / "x")
    with pytest.raises(UnsafePathError, match="not inside"):
        read_entry_file(root / ".." / "x.txt", root)
    (root / "a" / "bad.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(UnicodeDecodeError):
        read_entry_file(root / "a" / "bad.txt", root)


# -- datasets --------------------------------------------------------------------------------


def test_a_dataset_file_linking_outside_is_refused_unless_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_SYMLINKS_ENV, raising=False)
    dataset = write_dataset(tmp_path)
    outside = tmp_path / "outside.viba"
    outside.write_text("secret\n", encoding="utf-8")
    target = dataset / "train" / "add.viba"
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(DatasetError) as caught:
        load_dataset(dataset)
    assert str(target) in str(caught.value) and ALLOW_SYMLINKS_ENV in str(caught.value)
    allowed = load_dataset(dataset, allow_symlinks=True)
    assert {p.name: p.target for p in allowed.split("train")}["add"] == "secret\n"
    monkeypatch.setenv(ALLOW_SYMLINKS_ENV, "1")
    assert load_dataset(dataset).split("train")
    with pytest.raises(DatasetError):
        load_dataset(dataset, allow_symlinks=False)  # the parameter wins over the environment


def test_a_link_inside_the_dataset_folder_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_SYMLINKS_ENV, raising=False)
    dataset = write_dataset(tmp_path)
    (dataset / "train" / "sq.viba").unlink()
    (dataset / "train" / "sq.viba").symlink_to(dataset / "train" / "dbl.viba")
    pairs = {p.name: p.target for p in load_dataset(dataset).split("train")}
    assert pairs["sq"] == pairs["dbl"]


def test_a_split_outside_the_dataset_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_SYMLINKS_ENV, raising=False)
    dataset = write_dataset(tmp_path)
    other = write_dataset(tmp_path, name="other")
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    manifest["splits"]["val"] = "../other/val"
    (dataset / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(DatasetError, match="splits"):
        load_dataset(dataset)
    assert load_dataset(dataset, allow_symlinks=True).split("val")[0].target == other.joinpath(
        "val", "add_one.viba"
    ).read_text(encoding="utf-8")


def test_a_crafted_extension_in_a_manifest_is_refused(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path)
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    manifest["target_ext"] = "viba/../../x"
    (dataset / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_dataset(dataset)
    assert str(dataset / "manifest.json") in str(caught.value) and "plain name" in str(caught.value)


def test_a_non_utf8_dataset_file_names_the_file(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path)
    bad = dataset / "train" / "neg.py"
    bad.write_bytes(b"def neg(a):\n    return \xff\n")
    with pytest.raises(DatasetError) as caught:
        load_dataset(dataset)
    assert str(bad) in str(caught.value) and "UTF-8" in str(caught.value)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.py").write_text("x\n", encoding="utf-8")
    (flat / "a.viba").write_bytes(b"\xc3")
    with pytest.raises(DatasetError, match=r"a\.viba"):
        load_dataset(flat)
