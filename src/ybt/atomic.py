"""Atomic writes: a reader sees the old file or the new one, never half of either.

Each file is written to a temporary file in the same directory, flushed to disk and renamed over the
target (``os.replace`` is atomic on POSIX and Windows). A set of files is staged completely before
the first one is moved into place, so a failure while rendering leaves every target untouched.
"""

from __future__ import annotations

import os
import shutil
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


def write_tree(out_dir: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write several files below ``out_dir``: all are staged first, then each is renamed into place."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".ybt-stage-", dir=out_dir))
    written: list[Path] = []
    try:
        staged: list[tuple[Path, Path]] = []
        for rel, data in sorted(files.items()):
            target = out_dir / rel
            if out_dir.resolve() not in target.resolve().parents:
                raise ValueError(f"refusing to write outside {out_dir}: {rel}")
            tmp = stage / rel
            tmp.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            staged.append((tmp, target))
        for tmp, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            written.append(target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return written
