"""Where ybt's shipped resources live: the JSON Schemas and the standard libraries.

In a wheel, ``specs/`` is packaged as ``ybt/_specs``; in a source checkout or an editable install
it is the repository's top-level ``specs/`` directory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def specs_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_specs", here.parent.parent / "specs"):
        if (candidate / "schema").is_dir():
            return candidate
    raise RuntimeError("ybt is installed without its specs/ directory; reinstall the package")


def schema_dir() -> Path:
    return specs_dir() / "schema"


def library_names() -> list[str]:
    root = specs_dir()
    return sorted(p.name for p in root.iterdir() if (p / "library.yaml").is_file())


def library_dir(name: str) -> Path | None:
    if name not in library_names():
        return None
    return specs_dir() / name
