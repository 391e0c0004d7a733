"""The duplicate analysis on real public WHO/DHIS2 metadata, through a small test adapter.

Each DHIS2 package stands for one department: its data elements become that department's fields and
its data sets become summary reports. (The real importer is `ybt import dhis2`; this adapter keeps
only what the analysis needs.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ybt.analyze.dupes import DupesResult, find_duplicates
from ybt.pipeline import compile_project

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "who-dhis2"
PERIODS = {"Weekly": "weekly", "Monthly": "monthly", "Quarterly": "quarterly", "SixMonthly": "semiannual", "Yearly": "annual"}
TYPES = {"NUMBER": "decimal", "INTEGER": "integer", "INTEGER_POSITIVE": "integer", "INTEGER_ZERO_OR_POSITIVE": "integer", "PERCENTAGE": "decimal"}


def _ident(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"
    base = base if base[0].isalpha() else f"d_{base}"
    base = base[:55]
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def adapt(packages: list[Path], root: Path) -> None:
    departments = []
    for path in packages:
        dept = _ident(path.stem.split("_")[0], set())
        departments.append({"id": dept, "name": path.stem})
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        taken: set[str] = set()
        ids: dict[str, str] = {}
        fields = []
        for de in meta.get("dataElements", []):
            ident = _ident(de.get("code") or de["id"], taken)
            ids[de["id"]] = ident
            fields.append({"kind": "field", "id": ident, "namespace": dept, "label": de["name"], "type": TYPES.get(de.get("valueType"), "string")})
        reports = []
        report_ids: set[str] = set()
        for ds in meta.get("dataSets", []):
            cols = [{"field": ids[e["dataElement"]["id"]]} for e in ds.get("dataSetElements", []) if e["dataElement"]["id"] in ids]
            if not cols:
                continue
            reports.append(
                {
                    "kind": "report",
                    "id": _ident(ds.get("code") or ds["name"], report_ids),
                    "department": dept,
                    "title": ds["name"],
                    "form": "summary",
                    "frequency": PERIODS.get(ds.get("periodType"), "adhoc"),
                    "fill_level": "town",
                    "columns": cols,
                }
            )
        (root / f"{dept}.yaml").write_text(yaml.safe_dump_all(fields + reports, allow_unicode=True, sort_keys=False), encoding="utf-8")
    project = {
        "kind": "project",
        "id": "who",
        "name": "WHO DHIS2 packages",
        "org": {"code": "100000", "name": "District", "level": "district"},
        "departments": departments,
    }
    (root / "ybt.yaml").write_text(yaml.safe_dump(project, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def who(tmp_path_factory: pytest.TempPathFactory) -> DupesResult:
    if not CORPUS.is_dir():
        pytest.skip(f"the WHO/DHIS2 corpus is not at {CORPUS}")
    root = tmp_path_factory.mktemp("who")
    adapt(sorted(CORPUS.glob("*.json")), root)
    result = compile_project(root)
    assert result.ok, [(str(d.location), d.message.en) for d in result.diagnostics[:5]]
    assert result.project is not None and len(result.project.fields) >= 1282
    return find_duplicates(result.project)


def test_population_is_one_element_reused_by_five_packages(who: DupesResult) -> None:
    cluster = next(c for c in who.field_clusters if any(m.label == "GEN - Population" for m in c.members))
    assert {m.label for m in cluster.members} == {"GEN - Population"}
    assert {m.qualified.split(".")[0] for m in cluster.members} == {"hiv", "idsr", "ntd", "sti", "tb"}


def test_population_under_15_is_a_different_element(who: DupesResult) -> None:
    under15 = next(c for c in who.field_clusters if any(m.label == "GEN - Population < 15years" for m in c.members))
    assert all(m.label == "GEN - Population < 15years" for m in under15.members)


def test_same_elements_collected_at_two_frequencies(who: DupesResult) -> None:
    namespaces = {r.split(".")[1] for c in who.frequency_conflicts for reports in c.frequencies.values() for r in reports}
    assert {"tb", "ntd"} <= namespaces
    tb = [c for c in who.frequency_conflicts if any(r.startswith("report.tb.") for reps in c.frequencies.values() for r in reps)]
    assert any({"quarterly", "annual"} <= set(c.frequencies) for c in tb)


def test_subset_forms_are_found(who: DupesResult) -> None:
    assert any(o.a_within_b and o.a.startswith("report.idsr.") and o.b.startswith("report.idsr.") for o in who.report_overlaps)
