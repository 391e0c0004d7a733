"""Session fixtures for the SQL tests: the example district before and after its reviewed merge plan.

Test modules load them with ``pytest_plugins = ["sqlfixtures"]``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLES
from ybt.cli import app
from ybt.model import Project
from ybt.pipeline import compile_project


@pytest.fixture(scope="session")
def qingxi_pre() -> Project:
    project = compile_project(EXAMPLES / "qingxi").project
    assert project is not None
    return project


@pytest.fixture(scope="session")
def qingxi_post_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("post") / "qingxi"
    shutil.copytree(EXAMPLES / "qingxi", root, ignore=shutil.ignore_patterns("target"))
    result = CliRunner().invoke(app, ["merge", str(root), "--apply", str(EXAMPLES / "qingxi-merge-plan.yaml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="session")
def qingxi_post(qingxi_post_root: Path) -> Project:
    project = compile_project(qingxi_post_root).project
    assert project is not None
    return project
