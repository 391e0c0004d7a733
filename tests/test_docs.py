"""docs/spec-language.md cannot drift from the code.

Its YAML examples headed ``# 文件 file: PATH`` together form one project that must compile without a
problem; each example headed ``# ✗ … broken: PATH`` is dropped into a copy of that project and the
``text`` block after it must be exactly what ``ybt validate .`` prints. After an intended change of
wording, regenerate those blocks with ``YBT_UPDATE_DOCS=1 python -m pytest tests/test_docs.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

DOC = REPO / "docs" / "spec-language.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _blocks() -> tuple[dict[str, str], list[tuple[str, str, re.Match[str] | None, str]]]:
    text = DOC.read_text(encoding="utf-8")
    blocks = list(_BLOCK.finditer(text))
    good: dict[str, str] = {}
    bad: list[tuple[str, str, re.Match[str] | None, str]] = []
    for i, m in enumerate(blocks):
        if m.group(1) != "yaml":
            continue
        body = m.group(2)
        first = body.split("\n", 1)[0]
        if hit := re.match(r"# 文件 file: (\S+)", first):
            assert hit.group(1) not in good, f"{hit.group(1)} appears twice in the doc"
            good[hit.group(1)] = body
        elif hit := re.match(r"# ✗ .*broken[^:]*: (\S+)", first):
            nxt = blocks[i + 1] if i + 1 < len(blocks) and blocks[i + 1].group(1) == "text" else None
            bad.append((hit.group(1), body, nxt, first))
    return good, bad


def _validate(cwd: Path) -> str:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("YBT_LANG", None)
    run = subprocess.run([sys.executable, "-m", "ybt", "validate", "."], cwd=cwd, capture_output=True, text=True, env=env)
    return "$ ybt validate .\n" + run.stdout + run.stderr


@pytest.fixture(scope="module")
def doc_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    good, _ = _blocks()
    root = tmp_path_factory.mktemp("docproject")
    for rel, body in good.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return root


def test_the_documented_project_is_valid(doc_project: Path) -> None:
    good, _ = _blocks()
    assert "ybt.yaml" in good and len(good) >= 10
    out = _validate(doc_project)
    assert "没有发现问题 / no problems found" in out, out


def test_broken_examples_print_what_the_doc_says(doc_project: Path, tmp_path: Path) -> None:
    _, bad = _blocks()
    assert len(bad) >= 8
    text = DOC.read_text(encoding="utf-8")
    mismatches = []
    for n, (rel, body, expected, first) in enumerate(bad):
        work = tmp_path / f"case{n}"
        if rel == "ybt.yaml":
            work.mkdir()
        else:
            shutil.copytree(doc_project, work)
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body.replace("→   ", "\t") if "TAB" in first else body, encoding="utf-8")
        actual = _validate(work)
        assert expected is not None, f"no ```text block follows the broken example for {rel}"
        if expected.group(2).strip() != actual.strip():
            mismatches.append((expected, actual))
    if mismatches and os.environ.get("YBT_UPDATE_DOCS"):
        for expected, actual in sorted(mismatches, key=lambda m: -m[0].start()):
            text = text[: expected.start(2)] + actual.strip() + "\n" + text[expected.end(2) :]
        DOC.write_text(text, encoding="utf-8")
        pytest.skip("docs/spec-language.md updated; review the diff")
    assert not mismatches, "\n\n".join(f"--- doc\n{e.group(2)}--- ybt\n{a}" for e, a in mismatches)
