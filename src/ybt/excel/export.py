"""One-click reports (报): a department's report from the data pool, in the department's own layout.

The rows come from the report's view in the pool: the full view for a department granted every
sensitive column, its own partial view for one granted some, the masked view otherwise. The workbook
has the title, the merged header from the column groups, codes shown as their labels and a 合计 row
for summaries. Any text a spreadsheet would run as a formula is stored as text with a quote prefix
(xlsx) or an apostrophe (csv). Rows are written as they are read (xlsxwriter constant-memory mode).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

from ybt import atomic, values
from ybt.diagnostics import Text
from ybt.excel.template import sheet_name, text_width, write_workbook
from ybt.model import Project, Report
from ybt.progress import progress
from ybt.sql.build import build, ident_name
from ybt.sql.pool import Pool


class ExportError(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass(frozen=True, slots=True)
class OutColumn:
    name: str
    label: str
    group: tuple[str, ...] = ()
    kind: str = "text"  # text | number | date | org
    codes: dict[str, str] | None = None
    total: bool = False
    masked: bool = False


@dataclass(slots=True)
class ExportResult:
    path: Path
    view: str
    rows: int
    masked: list[str]
    access: str


def find_report(project: Project, ref: str) -> Report:
    key = ref.removeprefix("report.")
    hits = [r for r in project.reports.values() if r.qualified == key or ("." not in key and r.id == key)]
    if len(hits) != 1:
        raise ExportError(
            f"找不到报表“{ref}”" + (f"（有 {len(hits)} 张同名，请写成 部门.表号）" if hits else ""),
            f"no report '{ref}'" + (f" ({len(hits)} share the name; write dept.id)" if hits else ""),
        )
    return hits[0]


def choose_view(project: Project, r: Report, as_dept: str | None) -> tuple[str, str, list[str]]:
    """(view name, access, masked column names) for the department reading the report."""
    b = build(project, "sqlite")
    view = ident_name("view", r.department, r.id)
    obj = b.object(view)
    if obj is None:
        raise ExportError(f"数据池中没有报表视图 {view}", f"the pool has no view {view}")
    sensitive = [c.name for c in obj.columns if c.sensitive]
    if not sensitive:
        return view, "unmasked", []
    masked_view = ident_name(view + "__masked")
    if as_dept is None:
        return masked_view, "masked", sensitive
    if as_dept not in project.departments:
        raise ExportError(f"没有部门“{as_dept}”", f"no department '{as_dept}'")
    grants = {g.object: g.access for g in b.grants if g.department == as_dept}
    if grants.get(view) == "unmasked":
        return view, "unmasked", []
    partial = ident_name(f"{view}__{as_dept}")
    if partial in grants:
        pobj = b.object(partial)
        still = [c.name for c in obj.columns if c.sensitive and pobj is not None and not next(x for x in pobj.columns if x.name == c.name).sensitive]
        return partial, "partial", still
    if masked_view in grants:
        return masked_view, "masked", sensitive
    raise ExportError(
        f"部门“{as_dept}”不是报表“{r.title}”的使用部门，无权取得其数据",
        f"department '{as_dept}' is not a consumer of '{r.title}' and may not read it",
    )


def _descendants(project: Project, code: str) -> list[str]:
    out, stack = [], [code]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(project.org_units[c].children if c in project.org_units else ())
    return sorted(out)


def columns_of(project: Project, r: Report, view_columns: Sequence[str], masked: Sequence[str]) -> list[OutColumn]:
    by_id = {c.id: c for c in r.columns}
    out: list[OutColumn] = []
    for name in view_columns:
        if name == "org_unit":
            out.append(OutColumn(name, "填报单位" if r.form == "roster" else "单位", kind="org"))
        elif name == "period":
            out.append(OutColumn(name, "填报期别"))
        elif name == "org_unit_name":
            continue
        elif name in by_id:
            c = by_id[name]
            f = project.fields.get(c.field) if c.field else None
            label = c.label + (f"（{c.unit}）" if c.unit else "")
            codes = None
            kind = "text"
            if c.aggregate in ("count", "count_distinct", "sum", "avg"):
                kind = "number"
            elif f is not None:
                if f.base_type in ("integer", "decimal"):
                    kind = "number"
                elif f.base_type in ("date", "datetime"):
                    kind = "date"
                if f.codelist and f.codelist in project.codelists and c.aggregate is None:
                    codes = {v.code: v.label for v in project.codelists[f.codelist].values}
            total = r.form == "summary" and kind == "number" and c.aggregate in ("count", "count_distinct", "sum")
            out.append(OutColumn(name, label, c.group, kind, codes, total, name in masked))
    return out


def _rows(pool: Pool, view: str, names: Sequence[str], period: str | None, orgs: list[str] | None, has_period: bool) -> Iterator[tuple[Any, ...]]:
    cols = ", ".join(f'"{n}"' for n in names)
    where, params = [], []
    if period is not None and has_period:
        where.append(f'"period" = {pool.param}')
        params.append(period)
    if orgs is not None:
        where.append(f'"org_unit" IN ({", ".join([pool.param] * len(orgs))})')
        params.extend(orgs)
    order = ", ".join(f'"{n}"' for n in names if n in ("period", "org_unit")) or "1"
    sql = f'SELECT {cols} FROM "{view}"' + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order}"
    cur = pool.con.execute(sql, tuple(params)) if params else pool.con.execute(sql)
    while True:
        batch = cur.fetchmany(2000)
        if not batch:
            return
        yield from (tuple(b) for b in batch)


def _display(c: OutColumn, v: Any, project: Project) -> Any:
    if v is None:
        return None
    if c.kind == "org":
        u = project.org_units.get(str(v))
        return u.name if u is not None else str(v)
    if c.codes is not None:
        return c.codes.get(str(v), str(v))
    if c.kind == "number":
        if isinstance(v, Decimal):
            return float(v)
        if isinstance(v, str):
            try:
                return float(v) if "." in v else int(v)
            except ValueError:
                return v
        return v
    if c.kind == "date" and isinstance(v, str):
        try:
            return date.fromisoformat(v[:10])
        except ValueError:
            return v
    return v


def export(
    project: Project,
    url: str,
    ref: str,
    out: Path,
    *,
    period: str | None = None,
    org: str | None = None,
    as_dept: str | None = None,
    lang: str = "both",
) -> ExportResult:
    """Write the report ``ref`` from the pool at ``url`` to ``out`` (.xlsx or .csv); ``lang`` is the progress bar's."""
    r = find_report(project, ref)
    view, access, masked = choose_view(project, r, as_dept)
    if org is not None and org not in project.org_units:
        raise ExportError(f"组织机构中没有单位 {org}", f"no organisation unit {org}")
    pool = Pool.connect(url)
    try:
        if not pool.has_table(view):
            raise ExportError(f"数据池中没有视图 {view}：先运行 ybt db init", f"the pool has no view {view}: run ybt db init first")
        names, _ = pool.query(f'SELECT * FROM "{view}" WHERE 1 = 0')
        if not names:
            cur = pool.con.execute(f'SELECT * FROM "{view}" LIMIT 0')
            names = [d[0] for d in cur.description]
        has_period = "period" in names
        cols = columns_of(project, r, names, masked)
        if has_period and period is not None:
            cols = [c for c in cols if c.name != "period"]
        orgs = _descendants(project, org) if org is not None else None
        rows = _rows(pool, view, [c.name for c in cols], period, orgs, has_period)
        subtitle = "　".join(
            x
            for x in (
                f"单位：{project.org_units[org].name}" if org else "",
                f"期别：{period}" if period and has_period else "",
                f"数据来源：{'、'.join(s.split('.')[-1] for s in r.sources) or '各单位填报'}",
                "敏感信息已脱敏" if masked else "",
            )
            if x
        )
        with progress(Text(f"导出 {r.title}", f"exporting {r.qualified}"), lang=lang) as advance:
            counted = _counted(rows, advance)
            if out.suffix.lower() == ".csv":
                n = _write_csv(out, cols, counted, project)
            else:
                n = _write_xlsx(out, r.title, subtitle, cols, counted, project, summary=r.form == "summary")
        return ExportResult(out, view, n, masked, access)
    finally:
        pool.close()


def _counted(rows: Iterator[tuple[Any, ...]], advance: Callable[[int], None]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield row
        advance(1)


def _header(c: OutColumn) -> str:
    return "/".join((*c.group, c.label))


def _write_csv(out: Path, cols: list[OutColumn], rows: Iterator[tuple[Any, ...]], project: Project) -> int:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([values.neutralise(_header(c)) for c in cols])
    n = 0
    for row in rows:
        vals = []
        for c, v in zip(cols, row, strict=True):
            d = _display(c, v, project)
            vals.append("" if d is None else values.neutralise(d.isoformat() if isinstance(d, date | datetime) else d))
        w.writerow(vals)
        n += 1
    atomic.write_bytes(out, ("\ufeff" + buf.getvalue()).encode("utf-8"))
    return n


def _write_xlsx(out: Path, title: str, subtitle: str, cols: list[OutColumn], rows: Iterator[tuple[Any, ...]], project: Project, *, summary: bool) -> int:
    return write_workbook(out, lambda wb: _fill_xlsx(wb, title, subtitle, cols, rows, project, summary))


def _fill_xlsx(
    wb: xlsxwriter.Workbook, title: str, subtitle: str, cols: list[OutColumn], rows: Iterator[tuple[Any, ...]], project: Project, summary: bool
) -> int:
    ws = wb.add_worksheet(sheet_name(title))
    ncol = max(len(cols), 1)
    title_f = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    head_f = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1, "bg_color": "#DDEBF7"})
    cell_f = wb.add_format({"border": 1})
    text_f = wb.add_format({"border": 1, "num_format": "@"})
    quoted_f = wb.add_format({"border": 1, "num_format": "@", "quote_prefix": True})
    date_f = wb.add_format({"border": 1, "num_format": "yyyy-mm-dd"})
    total_f = wb.add_format({"border": 1, "bold": True})
    if ncol > 1:
        ws.merge_range(0, 0, 0, ncol - 1, title, title_f)
        ws.merge_range(1, 0, 1, ncol - 1, subtitle, wb.add_format({"font_color": "#555555"}))
    else:
        ws.write_string(0, 0, title, title_f)
        ws.write_string(1, 0, subtitle)
    ws.set_row(0, 30)
    depth = max((len(c.group) for c in cols), default=0) + 1
    first, last = 2, 2 + depth - 1
    grid: dict[tuple[int, int], str] = {}
    for level in range(depth):
        row = first + level
        j = 0
        while j < len(cols):
            c = cols[j]
            if level < len(c.group):
                k = j
                while k + 1 < len(cols) and cols[k + 1].group[: level + 1] == c.group[: level + 1]:
                    k += 1
                for x in range(j, k + 1):
                    grid[(row, x)] = c.group[level] if x == j else ""
                if k > j:
                    ws.merge.append([row, j, row, k])
                j = k + 1
                continue
            if level == len(c.group):
                grid[(row, j)] = c.label
                for below in range(row + 1, last + 1):
                    grid[(below, j)] = ""
                if last > row:
                    ws.merge.append([row, j, last, j])
            j += 1
    for (hrow, j), text in sorted(grid.items()):
        if text:
            ws.write_string(hrow, j, text, head_f)
        else:
            ws.write_blank(hrow, j, None, head_f)
    for j, c in enumerate(cols):
        ws.set_column(j, j, min(max(text_width(c.label) + 2, 10 if c.kind != "org" else 14), 40))
    ws.freeze_panes(last + 1, 0)
    r = last + 1
    totals = [0.0] * len(cols)
    n = 0
    for values_row in rows:
        for j, (c, v) in enumerate(zip(cols, values_row, strict=True)):
            d = _display(c, v, project)
            if d is None:
                ws.write_blank(r, j, None, cell_f)
            elif isinstance(d, datetime):
                ws.write_datetime(r, j, d, date_f)
            elif isinstance(d, date):
                ws.write_datetime(r, j, datetime(d.year, d.month, d.day), date_f)
            elif isinstance(d, bool):
                ws.write_string(r, j, "是" if d else "否", cell_f)
            elif isinstance(d, int | float):
                ws.write_number(r, j, d, cell_f)
                if c.total:
                    totals[j] += float(d)
            else:
                s = str(d)
                ws.write_string(r, j, s, quoted_f if values.formula_like(s) else text_f)
        r += 1
        n += 1
    if summary:
        ws.write_string(r, 0, "合计", total_f)
        for j, c in enumerate(cols):
            if j == 0:
                continue
            if c.total:
                t = totals[j]
                ws.write_number(r, j, int(t) if t.is_integer() else round(t, 4), total_f)
            else:
                ws.write_blank(r, j, None, total_f)
    return n
