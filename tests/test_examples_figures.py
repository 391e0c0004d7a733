"""The before/after figures quoted in examples/qingxi/README.md are what ybt measures today."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import EXAMPLES

README = EXAMPLES / "qingxi" / "README.md"


def test_readme_figures_match_ybt(example_copy: Callable[[str], Path], cli: Callable[..., Any]) -> None:
    text = README.read_text(encoding="utf-8")
    dupes = json.loads(cli("dupes", EXAMPLES / "qingxi", "--format", "json").stdout)
    stats = dupes["stats"]
    assert f"{stats['clusters']} 组重复字段" in text and f"{stats['duplicate_fields']} 个重复声明的字段" in text
    assert f"{len(dupes['report_overlaps'])} 对报表重叠" in text
    assert f"{len(dupes['frequency_conflicts'])} 个字段被以不同频次重复采集" in text
    after = example_copy("qingxi")
    applied = json.loads(cli("merge", after, "--apply", EXAMPLES / "qingxi-merge-plan.yaml", "--format", "json").stdout)
    counts = applied["counts"]
    assert f"{counts['fields_superseded']} 个部门字段" in text and f"新建 {counts['ledgers_created']} 个共享台账" in text
    assert f"{counts['reports_derived']} 张报表改为由台账生成" in text
    cmp = json.loads(cli("burden", after, "--compare", EXAMPLES / "qingxi", "--format", "json").stdout)["comparison"]
    for level, name in (("town", "镇街 town"), ("village", "村（社区）village"), ("grid", "网格 grid")):
        b, a = cmp[level]["before"], cmp[level]["after"]
        row = (
            f"| {name} | {b['reports_per_month']:.1f} → {a['reports_per_month']:.1f} | "
            f"{b['entries_per_year'] + b['ledger_entries_per_year']:,} → {a['entries_per_year'] + a['ledger_entries_per_year']:,} | "
            f"{b['hours_per_year']:,.1f} → {a['hours_per_year']:,.1f} | {b['minutes_per_report']:.0f} → {a['minutes_per_report']:.0f} |"
        )
        assert row in text, row
