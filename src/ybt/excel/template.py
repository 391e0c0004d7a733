"""Fillable Excel templates (发): one workbook per ledger or collected report.

A template has the data sheet (title, a multi-row merged header from the column groups, frozen
panes, a protected header, data validations and text formats), a 填表说明 sheet written from the
fields' filling rules, a hidden 代码表 sheet that the drop-down lists point at (lists longer than
Excel's 255-character inline limit work), and a very hidden ``_ybt`` meta sheet telling ingest which
form, definition checksum, organisation unit and period came back. Written with xlsxwriter in
constant-memory mode, row by row, so large prefilled templates stream.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import xlsxwriter  # type: ignore[import-untyped]
from xlsxwriter.utility import xl_col_to_name  # type: ignore[import-untyped]

from ybt import __version__, atomic
from ybt.diagnostics import Text
from ybt.excel.forms import LAYOUT_VERSION, ORG_COLUMN, TEXT_TYPES, Form, FormColumn
from ybt.model import Codelist, Project
from ybt.progress import progress

META_SHEET = "_ybt"
CODES_SHEET = "代码表"
GUIDE_SHEET = "填表说明"
FORMAT_TAG = "ybt-template"
#: Data validations and the unlocked area reach this many rows below the header (or the prefill plus this).
SPARE_ROWS = 2000
TYPE_ZH = {
    "string": "文本",
    "text": "长文本",
    "integer": "整数",
    "decimal": "数字",
    "date": "日期",
    "datetime": "日期时间",
    "year_month": "年月",
    "boolean": "是/否",
    "code": "代码（下拉选择）",
    "resident_id": "身份证号码（18 位）",
    "uscc": "统一社会信用代码（18 位）",
    "phone": "电话号码",
    "division_code": "行政区划代码",
    "postal_code": "邮政编码",
    "email": "电子邮箱",
    "bank_account": "银行账号",
}


def text_width(s: str) -> int:
    """Display width: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def sheet_name(title: str) -> str:
    name = re.sub(r"[\[\]:*?/\\']", "", title).strip() or "填报"
    return name[:31]


def display_values(cl: Codelist) -> list[tuple[str, str]]:
    """(code, what the drop-down shows) for each live code: the label, or ``code label`` when labels repeat."""
    live = [v for v in cl.values if not v.deprecated]
    labels = [v.label for v in live]
    unique = len(set(labels)) == len(labels)
    return [(v.code, v.label if unique else f"{v.code} {v.label}") for v in live]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things are on the data sheet (0-based rows)."""

    columns: tuple[FormColumn, ...]
    header_first: int
    header_last: int

    @property
    def first_data_row(self) -> int:
        return self.header_last + 1

    def header_text(self, c: FormColumn) -> str:
        text = c.label + (f"（{c.unit}）" if c.unit else "")
        return ("*" + text) if c.required else text


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


ORG_FORM_COLUMN = FormColumn(ORG_COLUMN, "填报单位", "org", None, (), True)


def layout_of(form: Form, with_org: bool) -> Layout:
    cols = (ORG_FORM_COLUMN, *form.columns) if with_org else form.columns
    depth = max((len(c.group) for c in cols), default=0) + 1
    return Layout(tuple(cols), 2, 2 + depth - 1)


def org_units_at(project: Project, level: str, under: str | None = None) -> list[tuple[str, str]]:
    out = []
    for code in sorted(project.org_units):
        u = project.org_units[code]
        if u.level != level:
            continue
        if under is not None and not _is_under(project, code, under):
            continue
        out.append((code, f"{code} {u.name}"))
    return out


def _is_under(project: Project, code: str, ancestor: str) -> bool:
    cur: str | None = code
    while cur:
        if cur == ancestor:
            return True
        cur = project.org_units[cur].parent if cur in project.org_units else None
    return False


def _input_message(c: FormColumn) -> tuple[str, str]:
    title = c.label[:32]
    parts: list[str] = []
    if c.required:
        parts.append("必填。")
    if c.type in TYPE_ZH:
        parts.append(f"{TYPE_ZH[c.type]}。")
    if c.unit:
        parts.append(f"单位：{c.unit}。")
    if c.filling_rule:
        parts.append(" ".join(c.filling_rule.split()))
    msg = "".join(parts)
    return title, (msg[:252] + "…") if len(msg) > 255 else msg


def _validation(c: FormColumn, source: str | None, org_source: str | None) -> dict[str, Any]:
    f = c.field
    k = f.constraints if f is not None else None
    v: dict[str, Any]
    if c.type == "org" and org_source:
        v = {"validate": "list", "source": org_source, "error_message": "请从下拉列表中选择填报单位"}
    elif c.codelist is not None and source and not (f is not None and f.multiple):
        v = {"validate": "list", "source": source, "error_message": "请从下拉列表中选择"}
    elif c.type == "integer":
        lo = int(k.min) if k is not None and k.min is not None else -2147483647
        hi = int(k.max) if k is not None and k.max is not None else 2147483647
        v = {"validate": "integer", "criteria": "between", "minimum": lo, "maximum": hi, "error_message": f"请填 {lo}–{hi} 之间的整数"}
    elif c.type == "decimal":
        lo_d = k.min if k is not None and k.min is not None else -1e15
        hi_d = k.max if k is not None and k.max is not None else 1e15
        v = {"validate": "decimal", "criteria": "between", "minimum": lo_d, "maximum": hi_d, "error_message": "请填数字，不要带单位"}
    elif c.type in ("date", "datetime"):
        v = {
            "validate": "date",
            "criteria": "between",
            "minimum": date(1900, 1, 1),
            "maximum": date(2100, 12, 31),
            "error_type": "warning",
            "error_message": "请填日期，如 2024-03-15",
        }
    elif c.type == "resident_id":
        v = {"validate": "length", "criteria": "==", "value": 18, "error_message": "身份证号码为 18 位"}
    elif c.type == "uscc":
        v = {"validate": "length", "criteria": "between", "minimum": 15, "maximum": 18, "error_message": "统一社会信用代码为 18 位"}
    elif c.type == "phone":
        v = {"validate": "length", "criteria": "between", "minimum": 7, "maximum": 16, "error_message": "手机号为 11 位，固定电话请带区号"}
    elif k is not None and k.max_length is not None and c.type in TEXT_TYPES:
        lo_l = k.min_length or 0
        v = {"validate": "length", "criteria": "between", "minimum": lo_l, "maximum": k.max_length, "error_message": f"长度 {lo_l}–{k.max_length} 个字"}
    else:
        v = {"validate": "any"}
    title, msg = _input_message(c)
    if msg:
        v["input_title"] = title
        v["input_message"] = msg
    if "error_message" in v:
        v["error_title"] = "填写有误"
    return v


def _cell_value(c: FormColumn, value: Any, displays: dict[str, dict[str, str]]) -> Any:
    if value is None:
        return None
    if c.codelist is not None:
        return displays.get(c.codelist.uid, {}).get(str(value), str(value))
    if c.type in ("date", "datetime") and isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if c.type == "datetime" else date.fromisoformat(value[:10])
        except ValueError:
            return value
    if c.type == "boolean":
        return "是" if value in (True, 1, "1", "true") else "否"
    if c.type in TEXT_TYPES:
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if c.type == "integer" else float(value)
    return value


def _writer(ws: Any, j: int, c: FormColumn, fmt: Any, displays: dict[str, dict[str, str]]) -> Callable[[int, Any], None]:
    """How a prefilled value of column ``j`` is written (decided once per column, not per cell): what _cell_value says."""
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
    if c.codelist is not None:
        shown = displays.get(c.codelist.uid, {})

        def code(r: int, v: Any) -> None:
            s = v if v.__class__ is str else str(v)
            write_string(r, j, shown.get(s, s), fmt)

        return code
    if c.type in TEXT_TYPES or c.type == "org":
        return lambda r, v: write_string(r, j, v if v.__class__ is str else str(v), fmt)

    def other(r: int, v: Any) -> None:
        v = _cell_value(c, v, displays)
        if isinstance(v, datetime):
            write_datetime(r, j, v, fmt)
        elif isinstance(v, date):
            write_datetime(r, j, datetime(v.year, v.month, v.day), fmt)
        elif isinstance(v, bool):
            write_string(r, j, "是" if v else "否", fmt)
        elif isinstance(v, int | float):
            write_number(r, j, v, fmt)
        elif v is not None:
            write_string(r, j, str(v), fmt)

    return other


def _write_rows(ws: Any, lay: Layout, col_formats: list[Any], displays: dict[str, dict[str, str]], rows: Iterable[Sequence[Any]], advance: Any) -> int:
    """Prefill through xlsxwriter's public ``write_*`` calls (about 15 µs a cell)."""
    n = 0
    r = lay.first_data_row
    writers = [_writer(ws, j, c, col_formats[j], displays) for j, c in enumerate(lay.columns)]
    for values in rows:
        for write, v in zip(writers, values, strict=False):
            if v is not None:
                write(r, v)
        r += 1
        n += 1
        advance(1)
    return n


# xlsxwriter's rules for inline strings (xmlwriter.py, utility.py): what needs escaping or xml:space.
_XML_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_LEADING_SPACE = re.compile(r"^\s")
_TRAILING_SPACE = re.compile(r"\s$")
_STRING_MAX = 32767  # UTF-16 units
_EXCEL_EPOCH = datetime(1899, 12, 31)


def _streams_rows(ws: Any, col_formats: list[Any]) -> bool:
    """Whether the rows can be streamed as XML into xlsxwriter's constant-memory row file (the internals it relies on are there)."""
    return (
        bool(getattr(ws, "constant_memory", False))
        and getattr(ws, "fh", None) is not None
        and ws.fh is getattr(ws, "row_data_fh", None)
        and callable(getattr(ws, "_write_single_row", None))
        and all(hasattr(ws, a) for a in ("previous_row", "table", "dim_rowmin", "dim_rowmax", "dim_colmin", "dim_colmax"))
        and all(callable(getattr(f, "_get_xf_index", None)) for f in col_formats)
    )


def _inline_string(cell: str, text: str) -> str:
    """``<c … t="inlineStr">`` exactly as xlsxwriter writes it in constant-memory mode."""
    if len(text) > _STRING_MAX // 2 and len(text.encode("utf-16-le")) // 2 > _STRING_MAX:
        text = text.encode("utf-16-le")[: _STRING_MAX * 2].decode("utf-16-le", "ignore")
    space = ""
    if _XML_SPECIAL.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", _ESCAPED_ESCAPE.sub(r"_x005F\1", text))
        if _LEADING_SPACE.search(text) or _TRAILING_SPACE.search(text):
            space = ' xml:space="preserve"'
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'{cell} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _excel_serial(v: date) -> float:
    """Excel's serial number of a date or datetime (1900 system, with its phantom 29 February 1900), as xlsxwriter computes it."""
    dt = v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)
    delta = dt.replace(tzinfo=None) - _EXCEL_EPOCH
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return serial + 1 if serial > 59 else serial


def _xml_cell(j: int, c: FormColumn, fmt: Any, displays: dict[str, dict[str, str]]) -> Callable[[str, Any], str | None]:
    """The XML of column ``j``'s prefilled cell in a row (the row number as text), the same as :func:`_writer` makes xlsxwriter write."""
    letter, style = xl_col_to_name(j), fmt._get_xf_index()

    def head(row: str) -> str:
        return f'<c r="{letter}{row}" s="{style}"'

    if c.codelist is not None:
        shown = displays.get(c.codelist.uid, {})

        def code(row: str, v: Any) -> str:
            s = v if v.__class__ is str else str(v)
            return _inline_string(head(row), shown.get(s, s))

        return code
    if c.type in TEXT_TYPES or c.type == "org":
        return lambda row, v: _inline_string(head(row), v if v.__class__ is str else str(v))

    def other(row: str, v: Any) -> str | None:
        v = _cell_value(c, v, displays)
        if isinstance(v, date):
            return f"{head(row)}><v>{_excel_serial(v):.16G}</v></c>"
        if isinstance(v, bool):
            return _inline_string(head(row), "是" if v else "否")
        if isinstance(v, int | float):
            if isinstance(v, float) and not math.isfinite(v):
                raise TypeError("NAN/INF not supported in write_number() without 'nan_inf_to_errors' Workbook() option")
            return f"{head(row)}><v>{v:.16G}</v></c>"
        return None if v is None else _inline_string(head(row), str(v))

    return other


def _write_rows_xml(ws: Any, lay: Layout, col_formats: list[Any], displays: dict[str, dict[str, str]], rows: Iterable[Sequence[Any]], advance: Any) -> int:
    """Prefill by writing each row's XML straight into the worksheet's constant-memory row file (under 1 µs a cell).

    The cells are byte for byte what xlsxwriter's ``write_*`` would write (a test compares the two);
    its bookkeeping (the pending header row, dimensions, the last row written) is kept as its own
    writes keep it, so the rest of the workbook is assembled by xlsxwriter as usual.
    """
    first = lay.first_data_row
    ws._write_single_row(first)  # flush the header's last row: the row file is now ours up to the data
    cells = [_xml_cell(j, c, col_formats[j], displays) for j, c in enumerate(lay.columns)]
    write = ws.fh.write
    n = 0
    last = None
    used: set[int] = set()
    r = first
    for values in rows:
        row = str(r + 1)
        parts = []
        for j, (cell, v) in enumerate(zip(cells, values, strict=False)):
            if v is not None:
                xml = cell(row, v)
                if xml is not None:
                    parts.append(xml)
                    used.add(j)
        if parts:
            write(f'<row r="{row}">{"".join(parts)}</row>')
            last = r
        r += 1
        n += 1
        advance(1)
    if last is not None:
        ws.dim_rowmin = first if ws.dim_rowmin is None else min(ws.dim_rowmin, first)
        ws.dim_rowmax = last if ws.dim_rowmax is None else max(ws.dim_rowmax, last)
        ws.dim_colmin = min(used) if ws.dim_colmin is None else min(ws.dim_colmin, min(used))
        ws.dim_colmax = max(used) if ws.dim_colmax is None else max(ws.dim_colmax, max(used))
        ws.previous_row = last
    ws.table.clear()
    return n


def write_template(
    project: Project,
    form: Form,
    out: Path,
    *,
    org: str | None = None,
    period: str | None = None,
    rows: Iterable[Sequence[Any]] = (),
    total: int | None = None,
    lang: str = "both",
) -> Path:
    """Write the template of ``form`` to ``out`` (atomically). ``rows`` prefill the data area (values in column order).

    ``total`` (the number of rows, when known) and ``lang`` are for the progress bar on stderr.
    """
    lay = layout_of(form, org is None)
    if total is None and isinstance(rows, Sized):
        total = len(rows)
    write_workbook(out, lambda wb: _fill(wb, project, form, lay, org, period, rows, total, lang))
    return out


T = TypeVar("T")


def write_workbook(out: Path, fill: Callable[[Any], T]) -> T:
    """Write an .xlsx with xlsxwriter and put it at ``out`` atomically; returns what ``fill`` returns.

    Rows stream to disk (constant memory) and user text is never turned into formulas, links or numbers.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        path = Path(tmp) / "book.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
        try:
            result = fill(wb)
        finally:
            wb.close()
        atomic.write_bytes(out, path.read_bytes())
    return result


def _fill(
    wb: xlsxwriter.Workbook,
    project: Project,
    form: Form,
    lay: Layout,
    org: str | None,
    period: str | None,
    rows: Iterable[Sequence[Any]],
    total: int | None,
    lang: str,
) -> int:
    data_name = sheet_name(form.title)
    ws = wb.add_worksheet(data_name)
    guide = wb.add_worksheet(GUIDE_SHEET)
    codes = wb.add_worksheet(CODES_SHEET)
    meta = wb.add_worksheet(META_SHEET)
    ncol = len(lay.columns)

    title_f = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter", "locked": True})
    info_f = wb.add_format({"font_size": 10, "align": "left", "valign": "vcenter", "locked": True, "font_color": "#555555"})
    head_f = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1, "bg_color": "#DDEBF7", "locked": True})
    req_f = wb.add_format(
        {"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1, "bg_color": "#DDEBF7", "font_color": "#C00000", "locked": True}
    )
    col_formats: list[Any] = []
    for c in lay.columns:
        spec: dict[str, Any] = {"locked": False}
        if c.type in TEXT_TYPES or c.type == "org":
            spec["num_format"] = "@"
        elif c.type == "date":
            spec["num_format"] = "yyyy-mm-dd"
        elif c.type == "datetime":
            spec["num_format"] = "yyyy-mm-dd hh:mm"
        elif c.type == "integer":
            spec["num_format"] = "0"
        elif c.type == "decimal":
            scale = c.field.constraints.scale if c.field is not None and c.field.constraints.scale is not None else 2
            spec["num_format"] = "0." + "0" * scale if scale else "0"
        col_formats.append(wb.add_format(spec))

    # -- code lists on the hidden sheet ------------------------------------------------------------
    sources: dict[str, str] = {}
    displays: dict[str, dict[str, str]] = {}
    code_cols: list[tuple[str, list[str]]] = []
    for c in lay.columns:
        if c.codelist is not None and c.codelist.uid not in sources:
            vals = display_values(c.codelist)
            displays[c.codelist.uid] = dict(vals)
            letter = xl_col_to_name(len(code_cols))
            sources[c.codelist.uid] = f"='{CODES_SHEET}'!${letter}$2:${letter}${len(vals) + 1}"
            code_cols.append((c.codelist.label or c.codelist.id, [d for _, d in vals]))
    org_source = None
    if org is None:
        units = org_units_at(project, form.level)
        letter = xl_col_to_name(len(code_cols))
        org_source = f"='{CODES_SHEET}'!${letter}$2:${letter}${max(len(units), 1) + 1}"
        code_cols.append(("填报单位", [d for _, d in units]))

    # -- data sheet --------------------------------------------------------------------------------
    unit = project.org_units.get(org) if org else None
    info = []
    if unit is not None:
        info.append(f"填报单位：{unit.name}（{unit.code}）")
    if form.periodic and period:
        info.append(f"填报期别：{period}")
    info.append(f"表号：{form.qualified}　带 * 的栏目必填；请勿改动表头、插入或移动列")
    ws.set_row(0, 30)
    if ncol > 1:
        ws.merge_range(0, 0, 0, ncol - 1, form.title, title_f)
        ws.merge_range(1, 0, 1, ncol - 1, "　".join(info), info_f)
    else:
        ws.write_string(0, 0, form.title, title_f)
        ws.write_string(1, 0, "　".join(info), info_f)
    # constant-memory mode writes rows in order: lay the header out as a grid first, then write it row by row
    grid: dict[tuple[int, int], tuple[str, Any]] = {}
    merges: list[tuple[int, int, int, int]] = []
    depth = lay.header_last - lay.header_first + 1
    for level in range(depth):
        row = lay.header_first + level
        j = 0
        while j < ncol:
            c = lay.columns[j]
            if level < len(c.group):
                prefix = c.group[: level + 1]
                k = j
                while k + 1 < ncol and lay.columns[k + 1].group[: level + 1] == prefix:
                    k += 1
                for x in range(j, k + 1):
                    grid[(row, x)] = (c.group[level] if x == j else "", head_f)
                if k > j:
                    merges.append((row, j, row, k))
                j = k + 1
                continue
            if level == len(c.group):
                fmt = req_f if c.required else head_f
                grid[(row, j)] = (lay.header_text(c), fmt)
                for below in range(row + 1, lay.header_last + 1):
                    grid[(below, j)] = ("", fmt)
                if lay.header_last > row:
                    merges.append((row, j, lay.header_last, j))
            j += 1
    for (row, j), (text, fmt) in sorted(grid.items()):
        if text:
            ws.write_string(row, j, text, fmt)
        else:
            ws.write_blank(row, j, None, fmt)
    ws.merge.extend([list(m) for m in merges])
    for j, c in enumerate(lay.columns):
        width = max(text_width(lay.header_text(c)) + 2, {"resident_id": 21, "uscc": 21, "date": 12, "phone": 14, "org": 26, "bank_account": 22}.get(c.type, 8))
        if c.codelist is not None:
            width = max(width, min(30, max((text_width(d) for d in displays[c.codelist.uid].values()), default=4) + 3))
        ws.set_column(j, j, min(width, 40), col_formats[j])
    ws.freeze_panes(lay.first_data_row, 1 if lay.columns and lay.columns[0].type == "org" else 0)
    with progress(Text(f"写入模板 {form.qualified}", f"writing template {form.qualified}"), total=total, lang=lang) as advance:
        if _streams_rows(ws, col_formats):
            n = _write_rows_xml(ws, lay, col_formats, displays, rows, advance)
        else:
            n = _write_rows(ws, lay, col_formats, displays, rows, advance)
    last = lay.first_data_row + n + SPARE_ROWS - 1
    for j, c in enumerate(lay.columns):
        src = sources.get(c.codelist.uid) if c.codelist is not None else None
        ws.data_validation(lay.first_data_row, j, last, j, _validation(c, src, org_source))
    ws.protect("", {"format_columns": True, "format_rows": True, "insert_rows": True, "delete_rows": True, "sort": True, "autofilter": True})

    # -- 填表说明 -----------------------------------------------------------------------------------
    g_head = wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top"})
    g_cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    guide.write_string(0, 0, f"{form.title} · 填表说明", wb.add_format({"bold": True, "font_size": 14}))
    guide.write_string(
        1,
        0,
        "带 * 的栏目必填；代码类栏目请从下拉列表选择；身份证号码、电话等按文本填写；日期写成 2024-03-15。"
        "请不要改动表头、插入或移动列、修改隐藏的工作表，否则无法导入。",
    )
    heads = ["序号", "栏目", "类型", "必填", "填表规范", "可选值", "长度/范围"]
    for j, h in enumerate(heads):
        guide.write_string(3, j, h, g_head)
    for i, c in enumerate(lay.columns):
        rng = ""
        cons = c.field.constraints if c.field is not None else None
        if cons is not None and (cons.min is not None or cons.max is not None):
            rng = f"{_num(cons.min)}–{_num(cons.max)}"
        elif c.type == "resident_id":
            rng = "18 位"
        elif cons is not None and cons.max_length is not None:
            rng = f"{cons.min_length or 0}–{cons.max_length} 个字"
        choices = ""
        if c.codelist is not None:
            vals = list(displays[c.codelist.uid].items())
            choices = "、".join(d if d.startswith(code + " ") else f"{code} {d}" for code, d in vals[:40]) + ("…（见下拉列表）" if len(vals) > 40 else "")
        elif c.type == "org":
            choices = "填报单位代码或名称（见下拉列表）"
        rule = " ".join((c.filling_rule or "").split()) or ("填写本单位的代码，可从下拉列表选择" if c.type == "org" else "")
        line = [str(i + 1), " / ".join((*c.group, c.label)), TYPE_ZH.get(c.type, "代码"), "是" if c.required else "", rule, choices, rng]
        for j, v in enumerate(line):
            guide.write_string(4 + i, j, v, g_cell)
    for j, w in enumerate((6, 24, 16, 6, 60, 40, 12)):
        guide.set_column(j, j, w)

    # -- code lists --------------------------------------------------------------------------------
    height = max((len(v) for _, v in code_cols), default=0)
    for crow in range(height + 1):
        for j, (label, shown) in enumerate(code_cols):
            if crow == 0:
                codes.write_string(0, j, label)
            elif crow - 1 < len(shown):
                codes.write_string(crow, j, shown[crow - 1])
    codes.hide()
    codes.protect("")

    # -- meta --------------------------------------------------------------------------------------
    entries = {
        "format": FORMAT_TAG,
        "layout": LAYOUT_VERSION,
        "ybt_version": __version__,
        "project_id": project.id,
        "form": form.uid,
        "kind": form.kind,
        "table": form.table,
        "checksum": form.checksum(),
        "org_unit": org or "",
        "period": period or "" if form.periodic else "",
        "data_sheet": data_name,
        "header_first": str(lay.header_first + 1),
        "header_last": str(lay.header_last + 1),
        "first_data_row": str(lay.first_data_row + 1),
        "columns": json.dumps([c.name for c in lay.columns]),
        "headers": json.dumps([lay.header_text(c) for c in lay.columns], ensure_ascii=False),
        "generated": datetime.now().replace(microsecond=0).isoformat(),
    }
    for i, (k2, v2) in enumerate(entries.items()):
        meta.write_string(i, 0, k2)
        meta.write_string(i, 1, v2)
    meta.very_hidden()
    meta.protect("")
    ws.activate()
    return n
