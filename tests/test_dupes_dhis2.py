"""The duplicate analysis on real public WHO/DHIS2 metadata, imported with `ybt import dhis2`.

Each DHIS2 package stands for one department: its data elements become that department's fields and
its data sets become summary reports (see :mod:`ybt.importers.dhis2`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ybt.analyze.dupes import DupesResult, find_duplicates
from ybt.importers import ImportFailure
from ybt.importers.dhis2 import import_packages
from ybt.pipeline import compile_project

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "who-dhis2"


@pytest.fixture(scope="module")
def who(tmp_path_factory: pytest.TempPathFactory) -> DupesResult:
    if not CORPUS.is_dir():
        pytest.skip(f"the WHO/DHIS2 corpus is not at {CORPUS}")
    root = tmp_path_factory.mktemp("who")
    failures: list[ImportFailure] = []
    import_packages(sorted(CORPUS.glob("*.json")), root, failures)
    assert not failures
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
