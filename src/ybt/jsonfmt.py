"""JSON for large machine-written files that people still read and diff.

``json.dumps(..., indent=2)`` runs Python's pure-Python encoder (the C one does not indent), which
took several seconds for a province's ``sql_manifest.json``. :func:`readable` indents only the outer
levels — one entry per line, so diffs stay line-per-object — and encodes everything inside a line
with the C encoder. Keys are sorted; the output is deterministic.
"""

from __future__ import annotations

import json
from typing import Any

_INNER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def readable(obj: Any, depth: int = 2) -> str:
    """``obj`` as JSON, indented by two spaces for the outer ``depth`` levels, ending in a newline."""
    return _walk(obj, 0, depth) + "\n"


def _walk(obj: Any, level: int, depth: int) -> str:
    if level >= depth or not isinstance(obj, dict | list) or not obj:
        return _INNER.encode(obj)
    pad = "  " * (level + 1)
    if isinstance(obj, dict):
        body = ",\n".join(f"{pad}{_INNER.encode(str(k))}: {_walk(obj[k], level + 1, depth)}" for k in sorted(obj))
        return "{\n" + body + "\n" + "  " * level + "}"
    body = ",\n".join(pad + _walk(v, level + 1, depth) for v in obj)
    return "[\n" + body + "\n" + "  " * level + "]"
