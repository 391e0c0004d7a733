"""The code stays ruff-clean and mypy --strict clean (the same checks a reviewer runs)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def _tool(name: str) -> list[str]:
    if shutil.which(name) is None and subprocess.run([sys.executable, "-m", name, "--version"], capture_output=True).returncode:
        pytest.skip(f"{name} is not installed: install the dev extra (pip install -e '.[dev]')")
    return [sys.executable, "-m", name]


def test_ruff_is_clean() -> None:
    run = subprocess.run([*_tool("ruff"), "check", "src", "tests", "benchmarks"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    fmt = subprocess.run([*_tool("ruff"), "format", "--check", "src", "tests", "benchmarks"], cwd=REPO, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    run = subprocess.run([*_tool("mypy"), "--strict", "src"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
