"""docs/reference/*.md are generated (spec schema, rules, command line) and must match the code.

After an intended change to a schema, a rule or a command's help, run ``python docs/generate.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from ybt.portal.reference import GENERATORS


@pytest.mark.parametrize("rel", sorted(GENERATORS))
def test_generated_reference_is_current(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YBT_LANG", raising=False)
    path = REPO / "docs" / rel
    assert path.is_file(), f"docs/{rel} is missing: run python docs/generate.py"
    assert path.read_text(encoding="utf-8") == GENERATORS[rel](), f"docs/{rel} is out of date: run python docs/generate.py"


def test_reference_covers_every_kind_rule_and_command() -> None:
    from ybt import registry, schemas

    schema_md = (REPO / "docs" / "reference" / "spec-schema.md").read_text(encoding="utf-8")
    for kind in schemas.ALL_KINDS:
        assert f'<a id="kind-{kind}"></a>' in schema_md
    rules_md = (REPO / "docs" / "reference" / "rules.md").read_text(encoding="utf-8")
    for r in registry.all_rules():
        assert f"## {r.code} `{r.name}`" in rules_md
    cli_md = (REPO / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    for name in ("compile", "check", "docs", "schema", "rule"):
        assert f"## `ybt {name}`" in cli_md


def test_generate_script_check_mode() -> None:
    run = subprocess.run([sys.executable, str(REPO / "docs" / "generate.py"), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_getting_started_project_behaves_as_described(tmp_path: Path) -> None:
    """docs/getting-started.md: its project validates, check rejects the report (YBT110, YBT205) until the
    two documented keys are added, then passes with the one warning (YBT107)."""
    import re

    from typer.testing import CliRunner

    from ybt.cli import app

    text = (REPO / "docs" / "getting-started.md").read_text(encoding="utf-8")
    blocks = {m.group(1): m.group(2) for m in re.finditer(r"```yaml\n# ([^\n]+)\n(.*?)```", text, re.S)}
    (tmp_path / "reports").mkdir()
    (tmp_path / "ybt.yaml").write_text(blocks["ybt.yaml"], encoding="utf-8")
    report = tmp_path / "reports" / "gljt.yaml"
    report.write_text(blocks["reports/gljt.yaml"], encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["validate", str(tmp_path)]).exit_code == 0
    first = runner.invoke(app, ["--lang", "en", "check", str(tmp_path), "--format", "json"])
    assert first.exit_code == 1
    assert sorted(f["code"] for f in json.loads(first.stdout)["findings"]) == ["YBT107", "YBT110", "YBT205"]
    report.write_text(blocks["reports/gljt.yaml"] + blocks["reports/gljt.yaml, continued"], encoding="utf-8")
    second = runner.invoke(app, ["--lang", "en", "check", str(tmp_path), "--format", "json"])
    assert second.exit_code == 0, second.output
    assert [f["code"] for f in json.loads(second.stdout)["findings"]] == ["YBT107"]
