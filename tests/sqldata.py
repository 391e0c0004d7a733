"""Sample rows for the SQL tests: valid by construction for every table ybt generates.

Values follow each column's field: resident IDs with a correct check character, codes taken from
the code table, numbers inside min/max, strings generated from the field's pattern. Row ``i`` of
every person ledger is the same person, so ledgers join on the resident ID.
"""

from __future__ import annotations

import re._parser as sre  # the standard library's regex parser, to generate matching strings
from datetime import date, timedelta
from typing import Any

from ybt.model import Field, Project
from ybt.sql.build import SqlBuild, SqlObject
from ybt.sql.pool import Pool

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(i: int) -> str:
    """A valid 18-character resident ID (GB 11643): 17 digits and the check character."""
    born = date(1940, 1, 1) + timedelta(days=(i * 379) % 25000)
    body = f"500199{born:%Y%m%d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def from_pattern(pattern: str, seed: int) -> str:
    """A string matching ``pattern`` (first branch of alternatives, fewest repeats, class members by seed)."""

    def gen(items: Any) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "IN":
                out.append(pick(arg))
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                lo, _hi, sub = arg
                out.append("".join(gen(sub) for _ in range(lo)))
            elif name == "SUBPATTERN":
                out.append(gen(arg[-1]))
            elif name == "BRANCH":
                out.append(gen(arg[1][0]))
            elif name == "ANY":
                out.append("x")
        return "".join(out)

    def pick(arg: Any) -> str:
        chars: list[str] = []
        for op, a in arg:
            name = str(op)
            if name == "LITERAL":
                chars.append(chr(a))
            elif name == "RANGE":
                chars.extend(chr(c) for c in range(a[0], a[1] + 1))
            elif name == "CATEGORY":
                chars.extend("0123456789" if "DIGIT" in str(a) else "abc")
        return chars[seed % len(chars)] if chars else "0"

    return gen(sre.parse(pattern))


def value(project: Project, f: Field | None, i: int, codes: dict[str, list[str]]) -> Any:
    if f is None:
        return i
    c = f.constraints
    if f.type == "resident_id":
        return resident_id(i)
    if f.codelist and f.codelist in codes and not f.multiple:
        pool = codes[f.codelist]
        return pool[i % len(pool)]
    if f.multiple and f.codelist in codes:
        return codes[f.codelist][0]
    base = f.base_type
    if base == "integer":
        lo = int(c.min) if c.min is not None else 0
        hi = int(c.max) if c.max is not None else lo + 100
        return lo + i % max(hi - lo + 1, 1)
    if base == "decimal":
        lo = c.min if c.min is not None else 0
        hi = c.max if c.max is not None else lo + 1000
        return round(lo + (i * 37.5) % max(hi - lo, 1), 2)
    if base == "date":
        return (date(2020, 1, 1) + timedelta(days=i * 11)).isoformat()
    if base == "datetime":
        return f"{date(2024, 1, 1) + timedelta(days=i):%Y-%m-%d} 08:00:00"
    if base == "boolean":
        return i % 2 == 0
    if f.type == "year_month":
        return f"2025-{1 + i % 12:02d}"
    if c.pattern:
        return from_pattern(c.pattern, i)
    text = f"{f.label}{i}"
    if f.type == "phone":
        text = f"139{i:08d}"
    elif f.type == "uscc":
        text = f"91500199MA{i:08d}"[:18]
    elif f.type == "bank_account":
        text = f"6222{i:012d}"
    if c.max_length is not None:
        text = text[: c.max_length]
    if c.min_length is not None and len(text) < c.min_length:
        text = text + "0" * (c.min_length - len(text))
    return text


def code_lists(b: SqlBuild) -> dict[str, list[str]]:
    return {o.uid: [r[0] for r in o.rows if not r[4]] for o in b.objects if o.role == "codelist" and o.uid}


def rows_for(project: Project, b: SqlBuild, obj: SqlObject, n: int, offset: int = 0) -> list[dict[str, Any]]:
    codes = code_lists(b)
    level = "village"
    if obj.uid and obj.uid in project.ledgers:
        level = project.ledgers[obj.uid].org_level
    units = sorted(u.code for u in project.org_units.values() if u.level == level) or sorted(project.org_units)
    out = []
    for i in range(offset, offset + n):
        row: dict[str, Any] = {}
        for c in obj.columns:
            if c.name == "org_unit":
                row[c.name] = units[i % len(units)]
            elif c.name == "period":
                row[c.name] = f"2026-{1 + i // len(units) % 12:02d}"
            else:
                f = project.fields.get(c.field) if c.field else None
                row[c.name] = value(project, f, i, codes)
        out.append(row)
    return out


def insert_rows(pool: Pool, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    qi = '"' if pool.dialect != "mysql" else "`"
    names = ", ".join(f"{qi}{c}{qi}" for c in cols)
    marks = ", ".join([pool.param] * len(cols))
    sql = f"INSERT INTO {qi}{table}{qi} ({names}) VALUES ({marks})"
    pool.executemany(sql, [tuple(row[c] for c in cols) for row in rows])


def load(project: Project, b: SqlBuild, pool: Pool, n: int = 12, offset: int = 0) -> dict[str, int]:
    """Insert ``n`` rows into every ledger and collected-report table; returns rows per table."""
    counts: dict[str, int] = {}
    for obj in b.objects:
        if obj.role not in ("ledger", "report_table"):
            continue
        rows = rows_for(project, b, obj, n, offset)
        if obj.role == "report_table" and obj.primary_key:
            seen: set[tuple[Any, ...]] = set()
            rows = [r for r in rows if not (tuple(r[k] for k in obj.primary_key) in seen or seen.add(tuple(r[k] for k in obj.primary_key)))]
        insert_rows(pool, obj.name, rows)
        counts[obj.name] = len(rows)
    return counts
