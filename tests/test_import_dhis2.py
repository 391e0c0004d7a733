"""``ybt import dhis2`` on the real WHO/DHIS2 metadata packages: what each DHIS2 object becomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ybt.cli import app
from ybt.pipeline import compile_project

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "who-dhis2"
runner = CliRunner()


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    if not CORPUS.is_dir():
        pytest.skip(f"the WHO/DHIS2 corpus is not at {CORPUS}")
    out = tmp_path_factory.mktemp("dhis2") / "draft"
    result = runner.invoke(app, ["import", "dhis2", str(CORPUS), "--out", str(out), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def _docs(out: Path, dept: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((out / "departments" / f"{dept}.yaml").read_text(encoding="utf-8")))


def test_every_package_becomes_a_department_and_the_draft_compiles(draft: tuple[Path, dict[str, Any]]) -> None:
    out, data = draft
    assert {p["department"] for p in data["packages"]} == {"hep", "hiv", "idsr", "mal", "ntd", "nut", "rmncah", "sti", "tb"}
    assert data["stats"]["fields"] == 1282 and data["stats"]["reports"] == 34 and data["stats"]["validation_rules"] == 289
    result = compile_project(out)
    assert result.ok, [(str(d.location), d.message.en) for d in result.diagnostics[:5]]


def test_data_elements_option_sets_and_categories(draft: tuple[Path, dict[str, Any]]) -> None:
    out, _data = draft
    docs = _docs(out, "tb")
    fields = {d["id"]: d for d in docs if d["kind"] == "field" and "indicator" not in d.get("tags", [])}
    codelists = {d["id"]: d for d in docs if d["kind"] == "codelist"}
    assert {f["type"] for f in fields.values()} >= {"integer", "code"}
    coded = next(f for f in fields.values() if f["type"] == "code")
    assert coded["codelist"] in codelists
    disaggregated = [f for f in fields.values() if "disaggregation" in f["meta"]]
    assert disaggregated
    for ref in disaggregated[0]["meta"]["disaggregation"]["codelists"]:
        assert ref.split(".", 1)[1] in codelists
    assert all(f["meta"]["dhis2"]["uid"] for f in fields.values())


def test_data_sets_validation_rules_and_indicators(draft: tuple[Path, dict[str, Any]]) -> None:
    out, _data = draft
    docs = _docs(out, "tb")
    reports = [d for d in docs if d["kind"] == "report"]
    assert all(r["form"] == "summary" for r in reports)
    assert {r["frequency"] for r in reports} >= {"quarterly", "annual"}
    rules = [rule for r in reports for rule in r["meta"].get("validation_rules", [])]
    assert rules and all("#{" not in rule["left"] or "tb." in rule["left"] for rule in rules[:20])
    indicators = [d for d in docs if d["kind"] == "field" and "indicator" in d.get("tags", [])]
    assert indicators and all("derived" in d["source"] for d in indicators)


def test_dupes_finds_the_shared_population_and_the_two_frequencies(draft: tuple[Path, dict[str, Any]]) -> None:
    out, _data = draft
    result = runner.invoke(app, ["dupes", str(out), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    dupes = json.loads(result.stdout)
    population = next(c for c in dupes["field_clusters"] if any(m["label"] == "GEN - Population" for m in c["members"]))
    assert {m["field"].split(".")[0] for m in population["members"]} == {"hiv", "idsr", "ntd", "sti", "tb"}
    freqs = [c for c in dupes["frequency_conflicts"] if any(r.startswith("report.tb.") for reps in c["frequencies"].values() for r in reps)]
    assert any({"quarterly", "annual"} <= set(c["frequencies"]) for c in freqs)


def test_not_a_package_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"foo": 1}', encoding="utf-8")
    result = runner.invoke(app, ["import", "dhis2", str(bad), "--out", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "x.json" in result.output and "dataElements" in result.output and "Traceback" not in result.output
