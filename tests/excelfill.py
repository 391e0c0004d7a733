"""Helpers for the Excel tests: fill a template with openpyxl as a user would, with rows valid by construction."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from sqldata import resident_id, value
from ybt import values
from ybt.excel.forms import Form
from ybt.excel.template import META_SHEET, display_values
from ybt.model import Project


def meta_of(path: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(path)
    try:
        ws = wb[META_SHEET]
        return {str(r[0].value): str(r[1].value or "") for r in ws.iter_rows() if r[0].value}
    finally:
        wb.close()


def uscc(i: int) -> str:
    body = f"91500199MA{i:07d}"[:17]
    return body + values.uscc_check(body)


def good_value(project: Project, form: Form, name: str, i: int, rid: str | None) -> Any:
    c = next(c for c in form.columns if c.name == name)
    f = c.field
    if c.codelist is not None:
        shown = display_values(c.codelist)
        if rid and "性别" in c.label and {"1", "2"} <= c.codelist.codes():
            code = values.sex_of(rid)
            return dict(shown)[code]
        return shown[i % len(shown)][1]
    if c.type == "resident_id":
        return rid if f is not None and f.role == "self" and rid else resident_id(i + 500)
    if c.type == "uscc":
        return uscc(i)
    if c.type == "date":
        if rid and "出生" in c.label:
            b = values.birth_date_of(rid)
            assert b is not None
            return datetime(b.year, b.month, b.day)
        return datetime(2024, 3, 1 + i % 28)
    if c.type == "year_month":
        if rid and "出生" in c.label:
            return f"{rid[6:10]}.{rid[10:12]}"
        return f"2025.{1 + i % 12:02d}"
    if c.type == "integer" and f is None:
        return i + 1
    if c.type == "decimal" and f is None:
        return 10.5 + i
    v = value(project, f, i, {})
    if c.type == "boolean":
        return "是" if v else "否"
    if isinstance(v, str) and c.type == "date":
        return date.fromisoformat(v)
    return v


def good_rows(project: Project, form: Form, n: int, start: int = 0) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + n):
        id_cols = [c for c in form.columns if c.type == "resident_id" and c.field is not None and c.field.role == "self"]
        rid = resident_id(i) if id_cols else None
        out.append({c.name: good_value(project, form, c.name, i, rid) for c in form.columns})
    return out


def fill(template: Path, out: Path, rows: list[dict[str, Any]], extra: dict[tuple[int, str], Any] | None = None) -> dict[str, int]:
    """Write ``rows`` (column name → value) into the data sheet; returns column letters' indexes by name (1-based)."""
    meta = meta_of(template)
    wb = openpyxl.load_workbook(template)
    ws = wb[meta["data_sheet"]]
    names = json.loads(meta["columns"])
    col = {n: j + 1 for j, n in enumerate(names)}
    first = int(meta["first_data_row"])
    for i, row in enumerate(rows):
        for name, v in row.items():
            if name in col and v is not None:
                ws.cell(first + i, col[name], v)
    for (i, name), v in (extra or {}).items():
        ws.cell(first + i, col[name], v)
    wb.save(out)
    wb.close()
    return col
