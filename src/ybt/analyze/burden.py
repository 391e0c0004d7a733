"""Burden: how much the grass roots type, per fill level and department, before and after 一表通.

Worked out from a compiled manifest (so ``--compare`` takes another project or a saved manifest):

* report kinds — collected reports a unit fills (derived ones are produced from ledgers);
* reports per month — collected report instances a unit fills in a month (frequency ÷ 12); derived
  reports are counted apart, since the system produces them and staff only review them;
* entries per year — values typed: columns × rows × periods, per unit, for collected reports; plus the
  upkeep of shared ledgers (fields × rows × ``ledger_update_share``), which is what replaces them;
* prefillable share — entries whose field a base library or a ledger already holds;
* hours per year — entries × ``minutes_per_entry`` + derived reports × ``review_minutes``;
* minutes per report — the average time one report instance takes.

Every assumption is a ``policy`` setting in ybt.yaml with a documented default.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ybt.model import LEVELS, PERIODS_PER_YEAR

LEVEL_ZH = {"district": "区县", "town": "镇街", "village": "村（社区）", "grid": "网格"}
#: How often a ledger is reviewed, by its update frequency (on_change: whenever things change ~ monthly).
LEDGER_PERIODS = {
    "realtime": 12.0,
    "daily": 12.0,
    "weekly": 12.0,
    "monthly": 12.0,
    "quarterly": 4.0,
    "semiannual": 2.0,
    "annual": 1.0,
    "on_change": 12.0,
    "once": 0.0,
}


@dataclass
class Row:
    """Burden of one department at one fill level, per unit of that level (a village, a town)."""

    level: str
    department: str
    units: int = 1
    report_kinds: int = 0
    derived_kinds: int = 0
    reports_per_month: float = 0.0
    derived_per_month: float = 0.0
    entries_per_year: float = 0.0
    prefillable_entries: float = 0.0
    ledger_entries_per_year: float = 0.0
    hours_per_year: float = 0.0
    instances_per_year: float = 0.0

    @property
    def prefillable_share(self) -> float:
        return self.prefillable_entries / self.entries_per_year if self.entries_per_year else 0.0

    @property
    def minutes_per_report(self) -> float:
        return 60 * self.hours_per_year / self.instances_per_year if self.instances_per_year else 0.0

    def add(self, other: Row) -> None:
        for name in (
            "report_kinds",
            "derived_kinds",
            "reports_per_month",
            "entries_per_year",
            "prefillable_entries",
            "ledger_entries_per_year",
            "hours_per_year",
            "instances_per_year",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "department": self.department,
            "units": self.units,
            "report_kinds": self.report_kinds,
            "derived_report_kinds": self.derived_kinds,
            "reports_per_month": round(self.reports_per_month, 2),
            "derived_reports_per_month": round(self.derived_per_month, 2),
            "entries_per_year": round(self.entries_per_year),
            "ledger_entries_per_year": round(self.ledger_entries_per_year),
            "prefillable_share": round(self.prefillable_share, 3),
            "hours_per_year": round(self.hours_per_year, 1),
            "minutes_per_report": round(self.minutes_per_report, 1),
        }


@dataclass
class Burden:
    project: str
    #: Where the figures come from (a project path or a manifest file), for people reading a comparison.
    source: str
    assumptions: dict[str, float]
    rows: list[Row] = field(default_factory=list)
    levels: dict[str, Row] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "source": self.source,
            "assumptions": self.assumptions,
            "levels": {lvl: r.to_dict() for lvl, r in self.levels.items()},
            "departments": [r.to_dict() for r in self.rows],
        }


def _held_fields(manifest: Mapping[str, Any]) -> set[str]:
    """Fields a base library or a ledger holds: what could be pre-filled."""
    held = {uid for uid, f in manifest["fields"].items() if f["source"]["kind"] != "collected"}
    for led in manifest["ledgers"].values():
        held.update(lf["field"] for lf in led["fields"])
    return held


def _units(manifest: Mapping[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for unit in manifest["org_units"].values():
        counts[unit["level"]] += 1
    return counts


def measure(manifest: Mapping[str, Any], source: str = "") -> Burden:
    policy = manifest["project"]["policy"]
    minutes = float(policy.get("minutes_per_entry", 0.5))
    review = float(policy.get("review_minutes", 10.0))
    default_rows = int(policy.get("default_roster_rows", 20))
    update_share = float(policy.get("ledger_update_share", 0.2))
    units = _units(manifest)
    held = _held_fields(manifest)
    rows: dict[tuple[str, str], Row] = {}

    def row(level: str, dept: str) -> Row:
        if (level, dept) not in rows:
            rows[(level, dept)] = Row(level, dept, max(1, units.get(level, 1)))
        return rows[(level, dept)]

    for rep in manifest["reports"].values():
        if rep["status"] == "retired" or (rep.get("admission") or {}).get("status") == "retired":
            continue
        r = row(rep["fill_level"], rep["department"])
        periods = PERIODS_PER_YEAR.get(rep["frequency"], 4.0)
        r.instances_per_year += periods
        if rep["mode"] == "derived":
            r.derived_kinds += 1
            r.derived_per_month += periods / 12
            r.hours_per_year += periods * review / 60
            continue
        r.report_kinds += 1
        r.reports_per_month += periods / 12
        n_rows = rep.get("expected_rows") or (default_rows if rep["form"] == "roster" else 1)
        cells = len(rep["columns"]) * n_rows * periods
        prefill = sum(1 for c in rep["columns"] if c["aggregate"] is None and c["field"] in held) * n_rows * periods
        r.entries_per_year += cells
        r.prefillable_entries += prefill
        r.hours_per_year += cells * minutes / 60
    for led in manifest["ledgers"].values():
        steward = led.get("steward") or "shared"
        level = led.get("org_level") or "village"
        periods = LEDGER_PERIODS.get(led.get("update_frequency") or "on_change", 12.0)
        if periods == 0:
            continue
        r = row(level, steward)
        # Upkeep: the share of values that change in a year, whatever the review rhythm.
        entries = len(led["fields"]) * default_rows * update_share
        r.ledger_entries_per_year += entries
        r.hours_per_year += entries * minutes / 60
    levels: dict[str, Row] = {}
    for (level, _), r in sorted(rows.items(), key=lambda kv: (LEVELS.index(kv[0][0]) if kv[0][0] in LEVELS else 9, kv[0][1])):
        total = levels.setdefault(level, Row(level, "*", r.units))
        total.add(r)
    ordered = sorted(rows.values(), key=lambda r: (LEVELS.index(r.level) if r.level in LEVELS else 9, -r.hours_per_year, r.department))
    return Burden(
        project=str(manifest["project"]["id"]),
        source=source or str(manifest["project"]["name"]),
        assumptions={
            "minutes_per_entry": minutes,
            "review_minutes": review,
            "default_roster_rows": default_rows,
            "ledger_update_share": update_share,
        },
        rows=ordered,
        levels=levels,
    )


def compare(before: Burden, after: Burden) -> dict[str, Any]:
    """Before → after per fill level, with the ratios the source reports quote (115 → 11)."""
    out: dict[str, Any] = {}
    for level in sorted(set(before.levels) | set(after.levels), key=lambda lv: LEVELS.index(lv) if lv in LEVELS else 9):
        b = before.levels.get(level, Row(level, "*"))
        a = after.levels.get(level, Row(level, "*"))
        out[level] = {
            "before": b.to_dict(),
            "after": a.to_dict(),
            "typed_entries_saved": round((b.entries_per_year + b.ledger_entries_per_year) - (a.entries_per_year + a.ledger_entries_per_year)),
            "hours_saved_per_unit": round(b.hours_per_year - a.hours_per_year, 1),
            "hours_ratio": round(a.hours_per_year / b.hours_per_year, 3) if b.hours_per_year else None,
        }
    return out
