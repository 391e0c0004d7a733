"""The forms a town or village fills in Excel: ledgers and collected reports, as the pool stores them.

A :class:`Form` is what a template shows and what ingest checks: the pool table, its columns in
order with the catalog's type, code list, constraints and filling rule, the key that identifies a
row, and a checksum of all of that. The column names follow the SQL generator's naming (a test
checks them against its tables), so a template always matches the table it is ingested into. Derived reports (built from ledgers) need no template:
their rows come from the ledgers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ybt.model import Codelist, Field, Project, Report
from ybt.sql.build import RESERVED, ident_name

#: Bumped when the template layout changes, so that old templates are refused, not misread.
LAYOUT_VERSION = "1"
ORG_COLUMN = "org_unit"


@dataclass(frozen=True, slots=True)
class FormColumn:
    name: str
    label: str
    type: str
    field: Field | None = None
    group: tuple[str, ...] = ()
    required: bool = False
    codelist: Codelist | None = None
    unit: str | None = None
    key: bool = False
    sensitive: bool = False

    @property
    def filling_rule(self) -> str | None:
        return self.field.filling_rule if self.field is not None else None

    def definition(self) -> dict[str, Any]:
        f = self.field
        c = f.constraints if f is not None else None
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "group": list(self.group),
            "required": self.required,
            "key": self.key,
            "unit": self.unit,
            "field": f.uid if f is not None else None,
            "multiple": f.multiple if f is not None else False,
            "codes": [[v.code, v.label] for v in self.codelist.values if not v.deprecated] if self.codelist else None,
            "constraints": [c.min, c.max, c.min_length, c.max_length, c.pattern, c.scale] if c is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Form:
    uid: str
    kind: str  # ledger | report
    title: str
    table: str
    level: str
    columns: tuple[FormColumn, ...]
    key: tuple[str, ...]
    #: Reports are filled per period; ledgers are standing registers.
    periodic: bool
    frequency: str | None = None
    department: str | None = None
    form: str = "roster"  # roster | summary

    @property
    def qualified(self) -> str:
        return self.uid.split(".", 1)[1]

    def definition(self) -> dict[str, Any]:
        return {
            "layout": LAYOUT_VERSION,
            "uid": self.uid,
            "title": self.title,
            "table": self.table,
            "form": self.form,
            "key": list(self.key),
            "columns": [c.definition() for c in self.columns],
        }

    def checksum(self) -> str:
        blob = json.dumps(self.definition(), ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


_CACHE: dict[int, tuple[Project, dict[str, Form]]] = {}


def _effective_type(f: Field | None, aggregate: str | None) -> str:
    if aggregate in ("count", "count_distinct"):
        return "integer"
    if aggregate == "avg":
        return "decimal"
    return f.type if f is not None else "string"


def forms_of(project: Project) -> dict[str, Form]:
    """Every form a template can be made for, by unique id: the ledgers and the collected reports."""
    hit = _CACHE.get(id(project))
    if hit is not None and hit[0] is project:
        return hit[1]
    out: dict[str, Form] = {}
    for uid in sorted(project.ledgers):
        led = project.ledgers[uid]
        names = column_names(project, led.field_uids())
        cols: list[FormColumn] = []
        lkey: list[str] = []
        for item in led.fields:
            lf = project.fields[item.field]
            is_key = item.field in led.key
            if is_key:
                lkey.append(names[item.field])
            lcl = project.codelists.get(lf.codelist) if lf.codelist else None
            not_null = item.required or is_key or lf.constraints.required
            label = item.label or lf.label
            cols.append(FormColumn(names[item.field], label, lf.type, lf, (), not_null, lcl, lf.unit, is_key, lf.sensitivity == "sensitive"))
        table = ident_name("ledger", led.namespace, led.id)
        out[uid] = Form(uid, "ledger", led.label, table, led.org_level, tuple(cols), tuple(lkey), False, led.update_frequency, led.steward)
    for uid in sorted(project.reports):
        r = project.reports[uid]
        if r.sources:
            continue
        key_fields = _roster_key(project, r)
        cols = []
        for column in r.columns:  # period and org_unit come from the template's meta sheet
            f = project.fields.get(column.field) if column.field else None
            cl = project.codelists.get(f.codelist) if f is not None and f.codelist and column.aggregate is None else None
            is_key = r.form == "roster" and f is not None and f.uid in key_fields
            cols.append(
                FormColumn(
                    column.id,
                    column.label,
                    _effective_type(f, column.aggregate),
                    f if column.aggregate is None or column.aggregate in ("sum", "min", "max") else None,
                    column.group,
                    column.required,
                    cl,
                    column.unit or (f.unit if f is not None else None),
                    is_key,
                    f is not None and f.sensitivity == "sensitive" and column.aggregate is None,
                )
            )
        key = tuple(c.name for c in cols if c.key)
        out[uid] = Form(
            uid, "report", r.title, ident_name("report", r.department, r.id), r.fill_level, tuple(cols), key, True, r.frequency, r.department, r.form
        )
    _CACHE.clear()
    _CACHE[id(project)] = (project, out)
    return out


def column_names(project: Project, fields: Sequence[str]) -> dict[str, str]:
    """The pool's column name of each ledger field, as :mod:`ybt.sql.build` names them (checked by a test)."""
    ids: dict[str, int] = {}
    for uid in fields:
        ids[project.fields[uid].id] = ids.get(project.fields[uid].id, 0) + 1
    out: dict[str, str] = {}
    for uid in fields:
        f = project.fields[uid]
        out[uid] = f.id if ids[f.id] == 1 and f.id not in RESERVED else ident_name(f.namespace, f.id)
    return out


def _roster_key(project: Project, r: Report) -> set[str]:
    """Fields that identify a roster row: the entity's key if the form asks for it, else its unique fields."""
    asked = set(r.field_uids())
    ent = project.entities.get(r.entity) if r.entity else None
    if ent is not None and ent.key and set(ent.key) <= asked:
        return set(ent.key)
    return {u for u in asked if u in project.fields and project.fields[u].constraints.unique}


def find_form(project: Project, ref: str) -> tuple[Form | None, str | None]:
    """The form named ``ref`` (unique id, ``ns.id`` or a bare id); else None and why (derived, unknown, ambiguous)."""
    forms = forms_of(project)
    key = ref.strip()
    for kind in ("ledger", "report"):
        if key.startswith(kind + "."):
            key = key[len(kind) + 1 :]
    candidates = [u for u in (*project.ledgers, *project.reports) if u.split(".", 1)[1] == key or u.rsplit(".", 1)[1] == key]
    if len(candidates) > 1:
        exact = [u for u in candidates if u.split(".", 1)[1] == key]
        candidates = exact if len(exact) == 1 else candidates
    if not candidates:
        return None, "unknown"
    if len(candidates) > 1:
        return None, "ambiguous:" + ", ".join(sorted(c.split(".", 1)[1] for c in candidates))
    uid = candidates[0]
    if uid in forms:
        return forms[uid], None
    return None, "derived"


def default_period(frequency: str | None, today: date | None = None) -> str:
    """The period a report filled today is for: 2026-11 (monthly), 2026Q4, 2026H2, 2026, 2026-W47, 2026-11-23."""
    d = today or date.today()
    f = frequency or "monthly"
    if f == "quarterly":
        return f"{d.year}Q{(d.month - 1) // 3 + 1}"
    if f == "semiannual":
        return f"{d.year}H{1 if d.month <= 6 else 2}"
    if f == "annual":
        return str(d.year)
    if f == "weekly":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if f in ("daily", "adhoc"):
        return d.isoformat()
    return f"{d.year}-{d.month:02d}"


TEXT_TYPES = frozenset({"string", "text", "code", "resident_id", "uscc", "phone", "division_code", "postal_code", "email", "bank_account", "year_month"})
