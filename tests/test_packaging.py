"""The wheel carries the spec language and the standard library, and works outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import EXAMPLES, REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("ybt-*.whl")
    return found


def test_wheel_contains_schemas_and_std(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in ("common", "field", "codelist", "entity", "ledger", "report", "project", "library"):
        assert f"ybt/_specs/schema/{kind}.schema.json" in names
    assert "ybt/_specs/std/library.yaml" in names
    assert any(n.startswith("ybt/_specs/std/codelists/") for n in names)
    assert "ybt/cli.py" in names


@pytest.mark.slow
def test_installed_wheel_compiles_an_example(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True, capture_output=True)
    # Run from an unrelated directory so nothing can come from the source checkout.
    probe = subprocess.run([py, "-c", "import ybt._resources as r; print(r.specs_dir())"], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert str(env_dir) in probe.stdout
    run = subprocess.run([py, "-m", "ybt", "validate", str(EXAMPLES / "minimal")], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
