"""Burden figures: computed by hand on a small project, and before/after the example's merge."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, PROJECT_YAML
from ybt.analyze.burden import compare, measure
from ybt.emit.manifest import build_manifest
from ybt.pipeline import CompileResult

Compiled = Callable[..., CompileResult]
Cli = Callable[..., Any]

POLICY = PROJECT_YAML.replace(
    "policy:\n  admission_office: jcjf\n",
    "policy:\n  admission_office: jcjf\n  minutes_per_entry: 0.5\n  review_minutes: 6\n  default_roster_rows: 20\n  ledger_update_share: 0.25\n",
)
ROSTER = """\
kind: report
id: roster
department: mz
title: 花名册
form: roster
frequency: monthly
fill_level: village
expected_rows: 10
columns: [{field: std.name}, {field: std.resident_id}, {field: shared.subsidy}]
"""
SUMMARY = """\
kind: report
id: summary
department: mz
title: 汇总表
form: summary
frequency: quarterly
fill_level: village
columns: [{id: n, label: 人数, aggregate: count}, {field: shared.subsidy, aggregate: sum}]
"""
DERIVED = """\
kind: report
id: view
department: cl
title: 自动生成的表
form: roster
mode: derived
frequency: monthly
fill_level: village
columns: [{field: std.name}]
"""
FIELD = "kind: field\nid: subsidy\nlabel: 补贴金额\ntype: decimal\nunit: 元\n"
LEDGER = "kind: ledger\nid: people\nlabel: 人口台账\nentity: std.person\nsteward: cl\nupdate_frequency: on_change\nfields: [std.name, std.sex]\n"


def burden_of(compiled: Compiled, files: dict[str, str]) -> Any:
    result = compiled(files, POLICY)
    assert result.ok, [d.message.en for d in result.diagnostics]
    assert result.project is not None
    return measure(build_manifest(result.project))


def test_figures_by_hand(compiled: Compiled) -> None:
    b = burden_of(compiled, {"f.yaml": FIELD, "r1.yaml": ROSTER, "r2.yaml": SUMMARY, "r3.yaml": DERIVED, "l.yaml": LEDGER})
    mz = next(r for r in b.rows if r.department == "mz")
    # roster: 3 columns × 10 rows × 12 months; summary: 2 cells × 1 row × 4 quarters
    assert mz.entries_per_year == 3 * 10 * 12 + 2 * 1 * 4 == 368
    assert mz.report_kinds == 2 and mz.reports_per_month == pytest.approx(12 / 12 + 4 / 12)
    # std.name and std.resident_id are held by a base library (自然人库) or the ledger; subsidy is not
    assert mz.prefillable_entries == 2 * 10 * 12
    assert mz.hours_per_year == pytest.approx(368 * 0.5 / 60)
    cl = next(r for r in b.rows if r.department == "cl")
    # derived report: no typing, 6 minutes of review per instance;
    # ledger upkeep: 3 fields (the entity key resident_id joins name and sex) × 20 rows × 25 %
    assert cl.entries_per_year == 0 and cl.derived_kinds == 1 and cl.derived_per_month == 1
    assert cl.ledger_entries_per_year == 3 * 20 * 0.25
    assert cl.hours_per_year == pytest.approx(12 * 6 / 60 + 15 * 0.5 / 60)
    village = b.levels["village"]
    assert village.units == 1 and village.entries_per_year == 368
    assert village.minutes_per_report == pytest.approx(60 * village.hours_per_year / (12 + 4 + 12))


def test_retired_reports_do_not_count(compiled: Compiled) -> None:
    b = burden_of(compiled, {"f.yaml": FIELD, "r1.yaml": ROSTER + "status: retired\n"})
    assert not b.rows


def test_compare_reports_the_saving(compiled: Compiled) -> None:
    before = burden_of(compiled, {"f.yaml": FIELD, "r1.yaml": ROSTER, "r2.yaml": SUMMARY})
    after = burden_of(compiled, {"f.yaml": FIELD, "r1.yaml": ROSTER.replace("form: roster", "form: roster\nmode: derived"), "r2.yaml": SUMMARY})
    c = compare(before, after)["village"]
    assert c["before"]["reports_per_month"] > c["after"]["reports_per_month"]
    assert c["typed_entries_saved"] == 360
    assert c["hours_ratio"] == pytest.approx((12 * 6 / 60 + 8 * 0.5 / 60) / (368 * 0.5 / 60), abs=1e-3)


def test_example_before_and_after_the_merge(example_copy: Callable[[str], Path], cli: Cli, tmp_path: Path) -> None:
    after = example_copy("qingxi")
    assert cli("merge", after, "--apply", EXAMPLES / "qingxi-merge-plan.yaml").exit_code == 0
    r = cli("burden", after, "--compare", EXAMPLES / "qingxi", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    for level in ("town", "village"):
        c = data["comparison"][level]
        assert c["after"]["reports_per_month"] < c["before"]["reports_per_month"]
        assert c["typed_entries_saved"] > 0 and c["hours_ratio"] < 0.7
    # A saved manifest works as the "before" side too.
    assert cli("compile", EXAMPLES / "qingxi", "--out", tmp_path / "before").exit_code == 0
    by_manifest = json.loads(cli("burden", after, "--compare", tmp_path / "before" / "manifest.json", "--format", "json").stdout)
    assert by_manifest["comparison"] == data["comparison"]
    text = cli("--lang", "zh", "burden", after, "--compare", EXAMPLES / "qingxi").stdout
    assert "对比" in text and "→" in text and "假设" in text
