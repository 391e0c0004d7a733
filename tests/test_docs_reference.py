"""docs/reference/*.md are generated (spec schema, rules, command line) and must match the code.

After an intended change to a schema, a rule or a command's help, run ``python docs/generate.py``.
"""

from __future__ import annotations

import subprocess
import sys

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
