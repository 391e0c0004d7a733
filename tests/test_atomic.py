"""Atomic writes: whole files or none, staged trees flushed to disk before the first rename."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ybt import atomic


def _tree(n: int) -> dict[str, bytes]:
    return {f"{'tables' if i % 2 else 'views'}/obj_{i:03}.sql": f"-- {i}\nCREATE TABLE t{i} (x INT);\n".encode() for i in range(n)}


def _leftovers(out: Path) -> list[str]:
    return [p.name for p in out.rglob(".*")]


@pytest.mark.parametrize("n", [3, atomic.SYNCFS_FROM + 5])
def test_write_tree_writes_every_file_and_keeps_the_others(tmp_path: Path, n: int) -> None:
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "obj_001.sql").write_bytes(b"old")
    (out / "keep.txt").write_bytes(b"mine")
    files = _tree(n)
    written = atomic.write_tree(out, files)
    assert sorted(written) == sorted(out / rel for rel in files)
    assert all((out / rel).read_bytes() == data for rel, data in files.items())
    assert (out / "keep.txt").read_bytes() == b"mine"
    assert _leftovers(out) == []


@pytest.mark.parametrize(("n", "syncfs_works"), [(atomic.SYNCFS_FROM + 5, True), (atomic.SYNCFS_FROM + 5, False), (3, True)])
def test_every_staged_file_is_on_disk_before_the_first_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int, syncfs_works: bool) -> None:
    """Many files: one syncfs of the stage (or, where syncfs fails, an fsync each); few: an fsync each."""
    events: list[str] = []
    real_syncfs, real_fsync, real_replace = atomic._syncfs, os.fsync, os.replace

    def syncfs(directory: Path) -> bool:
        events.append("syncfs")
        return real_syncfs(directory) if syncfs_works else False

    def fsync(fd: int) -> None:
        os.fstat(fd)  # an open file
        events.append("fsync")
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(atomic, "_syncfs", syncfs)
    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    atomic.write_tree(tmp_path / "out", _tree(n))
    first_rename = events.index("replace")
    flushes = events[:first_rename]
    assert events[first_rename:] == ["replace"] * n
    if n < atomic.SYNCFS_FROM:
        assert flushes == ["fsync"] * n
    elif syncfs_works and os.name == "posix" and real_syncfs(tmp_path):
        assert flushes == ["syncfs"]
    else:
        assert flushes == ["syncfs"] + ["fsync"] * n


def test_a_failure_while_staging_leaves_every_target_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.sql").write_bytes(b"old a")
    files: dict[str, bytes] = {"a.sql": b"new a", "b.sql": "not bytes"}  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        atomic.write_tree(out, files)
    assert (out / "a.sql").read_bytes() == b"old a" and not (out / "b.sql").exists()
    assert _leftovers(out) == []


def test_write_tree_refuses_paths_outside_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="outside"):
        atomic.write_tree(out, {"ok.sql": b"x", "../escape.sql": b"y"})
    assert not (tmp_path / "escape.sql").exists() and not (out / "ok.sql").exists()


def test_write_bytes_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "f.txt"
    atomic.write_bytes(target, b"one")
    atomic.write_text(target, "二")
    assert target.read_text(encoding="utf-8") == "二"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.txt"]
