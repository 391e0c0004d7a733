"""jsonfmt.readable: the same data as json.dumps, one outer entry per line, deterministic."""

from __future__ import annotations

import json

from ybt.jsonfmt import readable


def test_round_trips_and_sorts_keys() -> None:
    data = {"b": [1, {"x": "中文", "a": None}], "a": {"k": [], "j": {}, "z": 1.5}, "c": '引号"与\\反斜杠\n'}
    text = readable(data, depth=2)
    assert json.loads(text) == data
    assert text == readable(dict(reversed(list(data.items()))), depth=2)  # key order does not matter
    assert text.endswith("}\n") and "中文" in text  # UTF-8 kept, not \\u escapes


def test_outer_levels_one_entry_per_line() -> None:
    manifest = {"objects": {f"t{i}": {"kind": "table", "deps": [f"t{i - 1}"]} for i in range(1, 4)}, "dialect": "sqlite"}
    lines = readable(manifest, depth=2).splitlines()
    assert lines[0] == "{" and lines[1] == '  "dialect": "sqlite",' and lines[2] == '  "objects": {'
    assert lines[3] == '    "t1": {"deps": ["t0"], "kind": "table"},'  # inner values on one line
    assert lines[-1] == "}"
