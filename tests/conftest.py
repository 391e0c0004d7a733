"""Shared fixtures: small throw-away spec projects and a CLI runner."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ybt.cli import app
from ybt.diagnostics import Diagnostic
from ybt.pipeline import CompileResult, compile_project

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

PROJECT_YAML = """\
kind: project
id: demo
name: 测试区
uses: [std]
org:
  code: "500199"
  name: 测试区
  level: district
  children:
    - code: "500199100"
      name: 青石镇
      level: town
      children:
        - {code: "500199100201", name: 青石村, level: village}
departments:
  - {id: mz, name: 民政局}
  - {id: cl, name: 残联}
  - {id: jcjf, name: 基层减负办, office: true}
policy:
  admission_office: jcjf
"""


def report_yaml(columns: str, extra: str = "", *, dept: str = "mz", rid: str = "r", form: str = "roster", frequency: str = "monthly") -> str:
    """A small report document; ``columns`` are block-list lines starting on line 9."""
    return f"kind: report\nid: {rid}\ndepartment: {dept}\ntitle: 表\nform: {form}\nfrequency: {frequency}\nfill_level: village\ncolumns:\n{columns}{extra}"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project (ybt.yaml defaults to PROJECT_YAML) and return its root."""

    def make(files: dict[str, str], project_yaml: str | None = PROJECT_YAML) -> Path:
        root = tmp_path / "proj"
        root.mkdir(exist_ok=True)
        if project_yaml is not None:
            (root / "ybt.yaml").write_text(textwrap.dedent(project_yaml), encoding="utf-8")
        return write(root, files)

    return make


@pytest.fixture
def compiled(make_project: Callable[..., Path]) -> Callable[..., CompileResult]:
    def run(files: dict[str, str], project_yaml: str | None = PROJECT_YAML) -> CompileResult:
        return compile_project(make_project(files, project_yaml))

    return run


@pytest.fixture
def example_copy(tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns("target"))
        return dest

    return copy


@pytest.fixture
def cli() -> Callable[..., object]:
    runner = CliRunner()

    def invoke(*args: str) -> object:
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def codes(diags: tuple[Diagnostic, ...] | list[Diagnostic]) -> list[str]:
    return [d.code for d in diags]


def only(diags: tuple[Diagnostic, ...], code: str) -> Diagnostic:
    hits = [d for d in diags if d.code == code]
    assert len(hits) == 1, f"expected one {code}, got {[(d.code, str(d.location), d.message.en) for d in diags]}"
    return hits[0]


def at(diag: Diagnostic) -> tuple[int, int]:
    assert diag.location is not None
    return diag.location.line, diag.location.column


def count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the processes forked from now on in this test (``os.fork`` still forks)."""
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting_fork)
    return forks
