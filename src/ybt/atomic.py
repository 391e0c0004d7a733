"""Atomic writes: a reader sees the old file or the new one, never half of either.

Each file is written to a temporary file in the same directory, flushed to disk and renamed over the
target (``os.replace`` is atomic on POSIX and Windows). A set of files is staged completely before
the first one is moved into place, so a failure while rendering leaves every target untouched.

A large tree (a province's SQL is a file per table and view, thousands of them) is flushed with one
``syncfs`` of the staging directory's file system on Linux instead of an ``fsync`` per file: the same
guarantee (every staged byte is on disk before the first rename) for one journal commit instead of
thousands. Elsewhere, or if ``syncfs`` is not there, each file is fsynced.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


# Below this many files, an fsync each costs less than flushing the whole file system.
SYNCFS_FROM = 32


def _syncfs(directory: Path) -> bool:
    """Flush the file system that holds ``directory`` (Linux ``syncfs(2)``); False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(directory, os.O_RDONLY)
    try:
        return bool(syncfs(fd) == 0)
    finally:
        os.close(fd)


def write_tree(out_dir: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write several files below ``out_dir``: all are staged first, then each is renamed into place."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".ybt-stage-", dir=out_dir))
    written: list[Path] = []
    try:
        staged: list[tuple[Path, Path]] = []
        root = out_dir.resolve()
        made: set[Path] = set()
        each = len(files) < SYNCFS_FROM  # else one syncfs below, when the platform has it
        for rel, data in sorted(files.items()):
            target = out_dir / rel
            if root not in (root / rel).resolve().parents:
                raise ValueError(f"refusing to write outside {out_dir}: {rel}")
            tmp = stage / rel
            if tmp.parent not in made:
                tmp.parent.mkdir(parents=True, exist_ok=True)
                made.add(tmp.parent)
            with open(tmp, "wb") as fh:
                fh.write(data)
                if each:
                    fh.flush()
                    os.fsync(fh.fileno())
            staged.append((tmp, target))
        if not each and not _syncfs(stage):
            for tmp, _ in staged:
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        target_dirs: set[Path] = set()
        for tmp, target in staged:
            if target.parent not in target_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                target_dirs.add(target.parent)
            os.replace(tmp, target)
            written.append(target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return written


def replace_files(files: Mapping[Path, bytes]) -> None:
    """Write several files, all or none: stage every file, then rename each into place; if any
    rename fails, the files already replaced are put back as they were."""
    staged: list[tuple[Path, Path]] = []
    originals: dict[Path, bytes | None] = {}
    try:
        for target, data in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            originals[target] = target.read_bytes() if target.exists() else None
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            staged.append((Path(tmp_name), target))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    done: list[Path] = []
    try:
        for tmp, target in staged:
            os.replace(tmp, target)
            done.append(target)
    except BaseException:
        for target in done:
            old = originals[target]
            if old is None:
                target.unlink(missing_ok=True)
            else:
                write_bytes(target, old)
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
