"""Ingest filled templates into the data pool (填、审): check every cell, then load all or nothing.

The workbook says what it is through its hidden ``_ybt`` sheet; the pool says what the form is now
(the manifest it was built from). A template of another definition, or one whose header was edited
or whose columns were moved, is refused with the reason. Every cell is checked (type, code list,
required, length, range, pattern, resident-ID and credit-code check digits, phone, dates in the usual
written forms, cross-field agreement with the ID number, formula injection) and every problem is
reported at ``file!sheet!cell``. Only a file without problems is written, in one transaction, as a
difference against the pool: unchanged rows are left alone (ingesting the same file twice changes
nothing), changed rows are updated by key, and every change is recorded in ``ybt_ingest_history``
with who, when, which file and the old values.
"""

from __future__ import annotations

import getpass
import hashlib
import html
import json
import re
import sys
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell  # type: ignore[import-untyped]

from ybt import values
from ybt.diagnostics import Diagnostic, Location, Severity, Text
from ybt.excel.forms import TEXT_TYPES, Form, FormColumn, forms_of
from ybt.excel.rules import BAD_VALUE, FORMULA, INCONSISTENT, NOT_TEMPLATE, REQUIRED, TEMPLATE_CHANGED
from ybt.excel.template import FORMAT_TAG, META_SHEET, Layout, layout_of
from ybt.model import Project
from ybt.progress import progress
from ybt.sql.frommanifest import project_from_manifest
from ybt.sql.pool import Pool, PoolError

HISTORY = "ybt_ingest_history"


@dataclass(slots=True)
class IngestResult:
    file: str
    form: str | None = None
    table: str | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    written: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "form": self.form,
            "table": self.table,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "written": self.written,
            "ok": self.ok,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


class _Stop(Exception):
    pass


@dataclass(slots=True)
class _Ctx:
    file: str
    sheet: str
    out: list[Diagnostic]

    def add(self, code: str, zh: str, en: str, row: int | None = None, col: int | None = None, hint: tuple[str, str] | None = None) -> None:
        cell = xl_rowcol_to_cell(row, col) if row is not None and col is not None else None
        loc = Location(self.file, sheet=self.sheet, cell=cell) if self.sheet else Location(self.file)
        self.out.append(Diagnostic(code, Severity.ERROR, Text(zh, en), loc, Text(*hint) if hint else None))

    def stop(self, code: str, zh: str, en: str, row: int | None = None, col: int | None = None, hint: tuple[str, str] | None = None) -> _Stop:
        self.add(code, zh, en, row, col, hint)
        return _Stop()


REGENERATE = (
    "请用 ybt template 重新生成模板，把数据复制到新模板的对应列后再导入",
    "make a new template with ybt template, copy the data into its columns and ingest that",
)


def pool_project(pool: Pool) -> Project:
    meta = pool.meta()
    if meta is None or "manifest" not in meta:
        where = pool.url.target
        raise PoolError(
            f"数据池 {where} 尚未建立：先运行 ybt db init PROJECT --db URL / the pool at {where} is not initialised: run ybt db init PROJECT --db URL"
        )
    return project_from_manifest(json.loads(meta["manifest"]))


def read_meta(wb: CalamineWorkbook) -> dict[str, str] | None:
    if META_SHEET not in wb.sheet_names:
        return None
    rows = wb.get_sheet_by_name(META_SHEET).to_python()
    meta = {str(r[0]): str(r[1]) for r in rows if len(r) >= 2 and r[0] != ""}
    return meta if meta.get("format") == FORMAT_TAG else None


def _sheet_member(z: zipfile.ZipFile, sheet: str) -> str | None:
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    wbx = ElementTree.fromstring(z.read("xl/workbook.xml"))
    rid = next((s.get(f"{{{ns['r']}}}id") for s in wbx.iter(f"{{{ns['m']}}}sheet") if s.get("name") == sheet), None)
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)


_NAME = rb"(?:[A-Za-z_][\w.-]*:)?"
#: A formula element (``<f>``, ``<f t="shared" …/>``, ``<x:f>``) — not ``<formula1>`` of a data validation.
_FORMULA = re.compile(rb"<" + _NAME + rb"f[\s/>]")
#: The same test, coarser (``…:f>`` without the ``<prefix``) and about ten times faster: the regex engine looks for "f".
_FORMULA_QUICK = re.compile(rb"f(?<=[<:]f)[\s/>]")
_FORMULA_BODY = re.compile(rb"<" + _NAME + rb"f\b[^>]*?(?:/>|>(.*?)</" + _NAME + rb"f>)", re.S)
_CELL_START = re.compile(rb"<" + _NAME + rb"c[\s>]")
_CELL_REF = re.compile(rb'\sr="([A-Za-z]{1,3}[0-9]{1,7})"')
_CHUNK = 1 << 20


def formula_cells(path: Path, sheet: str) -> dict[str, str]:
    """Cells of ``sheet`` holding a formula (calamine reads only their cached values): reference → formula.

    The sheet's XML is streamed in chunks cut at row boundaries and searched for formula elements;
    a sheet without any (every template ybt makes) costs one pass of a regular expression.
    """
    out: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as z:
            member = _sheet_member(z, sheet)
            if member is None:
                return {}
            with z.open(member) as fh:
                carry = b""
                while True:
                    chunk = fh.read(_CHUNK)
                    buf = carry + chunk
                    cut = _row_boundary(buf) if chunk else len(buf)
                    part, carry = buf[:cut], buf[cut:]
                    if _FORMULA_QUICK.search(part) and _FORMULA.search(part):
                        _formulas_in(part, out)
                    if not chunk:
                        break
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError, EOFError, zlib.error):
        return {}
    return out


def _row_boundary(buf: bytes) -> int:
    """Just after the last ``</row>`` (or ``</x:row>``) in ``buf``, 0 if none: no cell straddles it."""
    pos = buf.rfind(b"row>")
    while pos > 0 and buf[pos - 1 : pos] not in (b"/", b":"):
        pos = buf.rfind(b"row>", 0, pos)
    return pos + 4 if pos > 0 else 0


def _formulas_in(part: bytes, out: dict[str, str]) -> None:
    for m in _FORMULA_BODY.finditer(part):
        window = part[max(0, m.start() - 4096) : m.start()]
        starts = list(_CELL_START.finditer(window))
        ref = ""
        if starts:
            tag = window[starts[-1].start() :]
            tag = tag[: tag.find(b">") + 1] if b">" in tag else tag
            hit = _CELL_REF.search(tag)
            ref = hit.group(1).decode("ascii").upper() if hit else ""
        body = m.group(1)
        out[ref] = "=" + (html.unescape(body.decode("utf-8", "replace")) if body else "")


# -- values ----------------------------------------------------------------------------------------

#: A checked cell: the value to store and the problem (None when the value is good).
Checked = tuple[Any, values.Problem | None]
Check = Callable[[Any], Checked]
_FORMULA_FIRST = frozenset(values.FORMULA_START)
#: A cell that _Checker.accepted leaves to _Checker.row (it could not take it as it is).
_TODO: Any = object()
#: Rows read before their cells are checked, a column at a time (see _Checker.accepted).
_ROWS_AT_ONCE = 1024
#: Types whose cells are stored as the text typed (after the length and pattern checks).
_PLAIN_TEXT = frozenset({"string", "text", "division_code", "postal_code", "email"})
_NOT_A_FORMULA = values.Problem("单元格里是公式，只能填写数据本身", "the cell holds a formula; enter the data itself")
_FORMULA_TEXT = values.Problem("不能以 = + - @ 开头（会被当作公式执行）", "must not start with = + - @ (it would run as a formula)")
_LOST_DIGITS = values.Problem(
    "号码被 Excel 存成了数字，第 16 位以后已经丢失；请把这一列设为“文本”后重新输入（或在号码前加英文单引号）",
    "Excel stored the number as a number and lost the digits after the 15th; format the column as text and type it again",
)


#: A resident ID number as _Checker.accepted takes it without _Checker.row: 17 ASCII digits and a digit or X.
_ID_FAST = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
#: A phone number as _Checker.accepted takes it: what values.parse_phone accepts unchanged, ASCII digits only.
_PHONE_FAST = re.compile(r"(?:86)?1[3-9][0-9]{9}|0[0-9]{9,11}", re.ASCII)
#: The sex implied by the 17th character of a resident ID (odd: 1, even: 2).
_SEX_OF_DIGIT = {d: "1" if int(d) % 2 else "2" for d in "0123456789"}
_SEXES = frozenset(_SEX_OF_DIGIT.values())
#: The 17th character of a resident ID, and its birth date (YYYYMMDD).
_DIGIT_17 = itemgetter(16)
_BIRTH_DIGITS = itemgetter(slice(6, 14))


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _canonical(c: FormColumn) -> Callable[[Any], Any]:
    """The function giving a comparable form of the column's values, whether from a cell or the pool."""
    t = c.type
    if t == "boolean":
        return lambda v: None if v is None else (bool(v) if not isinstance(v, str) else v.lower() in ("1", "true", "t"))
    if t in ("integer", "decimal"):

        def number(v: Any) -> Any:
            if v is None:
                return None
            if v.__class__ is int:
                return str(v)
            try:
                d = Decimal(str(v))
            except ArithmeticError:
                return str(v)
            return format(d.normalize(), "f") if d != 0 else "0"

        return number
    if t == "date":
        return lambda v: None if v is None else (v.isoformat()[:10] if isinstance(v, date) else str(v)[:10])
    if t == "datetime":
        return lambda v: None if v is None else (v.isoformat(sep=" ") if isinstance(v, datetime) else str(v).replace("T", " "))
    return lambda v: v if v is None or v.__class__ is str else str(v)


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _constraint_check(c: FormColumn, pattern: re.Pattern[str] | None) -> Callable[[Any], values.Problem | None] | None:
    """The column's min/max, length and pattern check of a parsed value (None when it has none)."""
    k = c.field.constraints if c.field is not None else None
    if k is None:
        return None
    lo = Decimal(str(k.min)) if k.min is not None else None
    hi = Decimal(str(k.max)) if k.max is not None else None
    texts = c.codelist is None and c.type not in ("resident_id", "uscc")
    max_len, min_len = (k.max_length, k.min_length) if texts else (None, None)
    pat = pattern if texts else None
    if lo is None and hi is None and max_len is None and min_len is None and pat is None:
        return None

    def check(value: Any) -> values.Problem | None:
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            if lo is not None and value < lo:
                return values.Problem(f"不能小于 {k.min:g}", f"must be at least {k.min:g}")
            if hi is not None and value > hi:
                return values.Problem(f"不能大于 {k.max:g}", f"must be at most {k.max:g}")
        if texts and isinstance(value, str):
            if max_len is not None and len(value) > max_len:
                return values.Problem(f"最多 {max_len} 个字，现有 {len(value)} 个", f"at most {max_len} characters, this has {len(value)}")
            if min_len is not None and len(value) < min_len:
                return values.Problem(f"至少 {min_len} 个字，现有 {len(value)} 个", f"at least {min_len} characters, this has {len(value)}")
            if pat is not None and not pat.search(value):
                return values.Problem("格式不符合填表规范，请查看“填表说明”", "the format breaks the filling rule; see the 填表说明 sheet")
        return None

    return check


def _parser(c: FormColumn, lookups: dict[str, dict[str, str]], org_lookup: dict[str, str], org: str | None) -> Check:
    """The column's type check of a non-blank cell (text already stripped): value and problem."""
    t = c.type
    k = c.field.constraints if c.field is not None else None
    if t == "org":
        only = org

        def org_unit(raw: Any) -> Checked:
            hit = org_lookup.get(raw) if raw.__class__ is str else None
            value, problem = (hit, None) if hit is not None else values.parse_code(raw, org_lookup, "填报单位")
            if value is not None and only is not None and value != only:
                return value, values.Problem(f"本模板只能填报 {only} 的数据", f"this template is for {only} only")
            return value, problem

        return org_unit
    if c.codelist is not None:
        lookup, label = lookups[c.codelist.uid], c.codelist.label
        if c.field is not None and c.field.multiple:

            def several(raw: Any) -> Checked:
                codes, problem = [], None
                for part in (x for x in re.split(r"[、,，;；\s]+", str(raw)) if x):
                    v1, pr = values.parse_code(part, lookup, label)
                    problem = problem or pr
                    if v1 is not None:
                        codes.append(v1)
                return ",".join(codes), problem

            return several

        def code(raw: Any) -> Checked:
            hit = lookup.get(raw) if raw.__class__ is str else None
            return (hit, None) if hit is not None else values.parse_code(raw, lookup, label)

        return code
    if t in ("resident_id", "bank_account"):
        inner: Callable[[str], tuple[Any, values.Problem | None]] = values.parse_resident_id if t == "resident_id" else (lambda s: (s, None))

        def identifier(raw: Any) -> Checked:
            if isinstance(raw, float) and raw >= 1e15:
                return None, _LOST_DIGITS
            return inner(raw if raw.__class__ is str else _text(raw))

        return identifier
    if t == "uscc":
        return lambda raw: values.parse_uscc(raw if raw.__class__ is str else _text(raw))
    if t == "phone":
        return lambda raw: values.parse_phone(raw if raw.__class__ is str else _text(raw))
    if t == "date":
        return values.parse_date
    if t == "datetime":

        def moment(raw: Any) -> Checked:
            if isinstance(raw, datetime):
                return raw, None
            d, problem = values.parse_date(raw)
            return (datetime(d.year, d.month, d.day) if d is not None else None), problem

        return moment
    if t == "year_month":
        return values.parse_year_month
    if t == "integer":
        return values.parse_integer
    if t == "decimal":
        scale = k.scale if k is not None else None
        return lambda raw: values.parse_decimal(raw, scale)
    if t == "boolean":
        return values.parse_boolean
    return lambda raw: (raw if raw.__class__ is str else _text(raw), None)


#: Within ``"\0" + "\0".join(texts) + "\0"``: a text that starts with a space or a formula sign, or ends with a space.
#: Every match starts at a NUL, which the regex engine finds fast (4–5 times faster than ``\x00[\s=+\-@]|\s\x00``).
_NOT_PLAIN = re.compile(r"\x00(?:[\s=+\-@]|(?<=\s\x00))")


def _plain_column(col: Sequence[Any], most: int, blank_ok: bool) -> Sequence[Any] | None:
    """What _Checker.accepted takes from a column of plain text, tested on the whole column at once: the column
    itself when every value is text of 1 to ``most`` characters, without a space at either end, not starting
    with a formula sign (blanks as None where ``blank_ok``); None when any is not (the cells are then tested
    one by one)."""
    try:
        joined = "\x00".join(col)
    except TypeError:  # not all text
        return None
    if most < sys.maxsize and max(map(len, col), default=0) > most:
        return None
    joined = f"\x00{joined}\x00"
    if joined.count("\x00") != len(col) + 1 or _NOT_PLAIN.search(joined) is not None:
        return None
    if "\x00\x00" in joined:  # blanks
        return [v or None for v in col] if blank_ok else None
    return col


def _fast_ids(births: dict[str, bool]) -> Callable[[Any], bool]:
    """A test of a cell holding a good resident ID number exactly as values.parse_resident_id returns it.

    ``births`` caches which eight-digit birth dates exist. Anything else (spaces, lower-case x,
    other digits, a number) is left to the full check and its message.
    """
    match = _ID_FAST.fullmatch
    check = values.ID_CHECK

    def good(v: Any) -> bool:
        if v.__class__ is not str or match(v) is None:
            return False
        born = births.get(v[6:14])
        if born is None:
            born = births[v[6:14]] = values.birth_date_of(v) is not None
        # the weights are 2 ** (17 - i) mod 11, and 13 = 2 mod 11: the weighted sum is 2 * int(digits, 13) mod 11
        return born and check[2 * int(v[:17], 13) % 11] == v[17]

    return good


class _Checker:
    """Per-column checks compiled once per file; :meth:`row` checks one row and reports at its cells."""

    def __init__(self, project: Project, form: Form, lay: Layout, ctx: _Ctx, org: str | None) -> None:
        self.form = form
        self.lay = lay
        self.ctx = ctx
        lookups: dict[str, dict[str, str]] = {}
        for c in lay.columns:
            if c.codelist is not None and c.codelist.uid not in lookups:
                lookups[c.codelist.uid] = values.code_lookup((v.code, v.label, v.aliases) for v in c.codelist.values if not v.deprecated)
        org_lookup = values.code_lookup((u.code, u.name, (f"{u.code} {u.name}",)) for u in project.org_units.values())
        #: per column: the column, its type check, its constraint check, and for the fast paths of text cells
        #: the code lookup (code lists) or the longest text accepted without further checks (plain text; -1: none).
        plan: list[tuple[FormColumn, Check, Callable[[Any], values.Problem | None] | None, dict[str, str] | None, int]] = []
        fast: list[tuple[Any, ...]] = []
        births: dict[str, bool] = {}
        for c in lay.columns:
            k = c.field.constraints if c.field is not None else None
            pattern = re.compile(k.pattern) if k is not None and k.pattern else None
            constraint = _constraint_check(c, pattern)
            lookup = lookups[c.codelist.uid] if c.codelist is not None and not (c.field is not None and c.field.multiple) and constraint is None else None
            plain = -1
            if c.type in _PLAIN_TEXT and c.codelist is None:
                simple = k is None or (k.min_length is None and pattern is None and k.min is None and k.max is None)
                plain = (k.max_length if k is not None and k.max_length is not None else sys.maxsize) if simple else -1
            plan.append((c, _parser(c, lookups, org_lookup, org), constraint, lookup, plain))
            # what accepted() takes as it is: codes (and units) as written in the list, plain text, real dates,
            # resident IDs and phone numbers written plainly (and good), blanks
            blank: dict[str, Any] = {} if c.required else {"": None}
            if lookup is not None:
                fast.append(("map", {**lookup, **blank}))
            elif c.type == "org":
                fast.append(("map", {**{k: v for k, v in org_lookup.items() if org is None or v == org}, **blank}))
            elif plain >= 0:
                fast.append(("plain", plain, bool(blank)))
            elif c.type == "date" and constraint is None:
                fast.append(("date", bool(blank)))
            elif c.codelist is None and c.type in ("resident_id", "phone"):
                good = _fast_ids(births) if c.type == "resident_id" else (lambda v: v.__class__ is str and _PHONE_FAST.fullmatch(v) is not None)
                fast.append(("test", good, constraint, bool(blank)))
            else:
                fast.append(("other", bool(blank)))
        self.plan = plan
        self.fast = fast
        cols = lay.columns
        self.id_at = next((j for j, c in enumerate(cols) if c.type == "resident_id" and c.field is not None and c.field.role == "self"), None)
        self.sex_at = next((j for j, c in enumerate(cols) if c.codelist is not None and "性别" in c.label and {"1", "2"} <= c.codelist.codes()), None)
        self.birth_at = next((j for j, c in enumerate(cols) if c.type in ("date", "year_month") and "出生" in c.label), None)
        self.birth_len = 10 if self.birth_at is not None and cols[self.birth_at].type == "date" else 7

    def bad(self, row: int, col: int, raw: Any, c: FormColumn, p: values.Problem, code: str = BAD_VALUE) -> None:
        shown = str(raw)
        self.ctx.add(
            code,
            f"“{c.label}”的值“{shown}”有误：{p.zh}",
            f"{c.label}: the value '{shown}' is wrong: {p.en}",
            row,
            col,
        )

    def accepted(self, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """Column by column, the values of the cells of ``rows`` good as they are (a code as the list shows it,
        plain text, a blank of an optional column: None), else :data:`_TODO`.

        Building these lists a column at a time costs a fraction of checking each cell on its own;
        :meth:`row` then checks only the rest, in the row's order.
        """
        columns = list(zip(*rows, strict=True))
        todo = repeat(_TODO)
        done: list[Sequence[Any]] = []
        for col, (kind, *how) in zip(columns, self.fast, strict=True):
            if kind == "map":
                done.append(list(map(how[0].get, col, todo)))
                continue
            blank = None if how[-1] else _TODO
            if kind == "plain":
                most = how[0]
                whole = _plain_column(col, most, how[1])
                if whole is not None:
                    done.append(whole)
                    continue
                done.append(
                    [
                        v if v.__class__ is str and 0 < len(v) <= most and v[0] not in _FORMULA_FIRST and v.strip() == v else blank if v == "" else _TODO
                        for v in col
                    ]
                )
            elif kind == "date":
                done.append([v if v.__class__ is date else blank if v == "" else _TODO for v in col])
            elif kind == "test":
                good, constraint = how[0], how[1]
                if constraint is None:
                    done.append([v if good(v) else blank if v == "" else _TODO for v in col])
                else:
                    done.append([v if good(v) and constraint(v) is None else blank if v == "" else _TODO for v in col])
            else:
                done.append([blank if v == "" else _TODO for v in col])
        return done

    def clean(self, columns: Sequence[Sequence[Any]]) -> bool:
        """Whether every cell was accepted and no row breaks a cross-field rule: then :meth:`row` has nothing to do.

        False says only that :meth:`row` must look (it reports what is wrong, if anything is).
        """
        if any(_TODO in col for col in columns):
            return False
        if self.id_at is None:
            return True
        ids = columns[self.id_at]
        # accepted IDs are 18-character text: when none is blank, whole columns are compared at once
        every_id = None not in ids
        if self.sex_at is not None:
            odd = _SEX_OF_DIGIT
            sexes = columns[self.sex_at]
            if every_id and {*sexes} <= _SEXES:
                if list(map(odd.__getitem__, map(_DIGIT_17, ids))) != list(sexes):
                    return False
            else:
                for rid, sex in zip(ids, sexes, strict=True):
                    if (sex == "1" or sex == "2") and rid is not None and odd.get(str(rid)[16:17]) != sex:
                        return False
        if self.birth_at is not None:
            n = self.birth_len
            births = columns[self.birth_at]
            if every_id and n == 10 and {*map(type, births)} == {date}:
                return "".join(map(_BIRTH_DIGITS, ids)) == "".join(map(date.isoformat, births)).replace("-", "")
            for rid, b in zip(ids, births, strict=True):
                if b is not None and rid is not None:
                    s = str(rid)
                    got = b.isoformat() if isinstance(b, date) else str(b)
                    if got[:n] != f"{s[6:10]}-{s[10:12]}-{s[12:14]}"[:n]:
                        return False
        return True

    def row(self, r: int, cells: Sequence[Any], formulas: dict[int, str] | None, accepted: Sequence[Any] | None = None) -> tuple[tuple[Any, ...], bool]:
        """The row's values to store, in column order (None for a wrong cell), and whether all were good (problems reported).

        ``accepted`` is the row's entry of :meth:`accepted`: those cells need no further check.
        """
        plan = self.plan
        if accepted is None:
            out: list[Any] = [None] * len(plan)
            todo: Iterable[int] = range(len(plan))
        else:
            out = list(accepted)
            todo = [j for j, v in enumerate(accepted) if v is _TODO]
            if formulas:
                todo = sorted({*todo, *formulas})
        ok = True
        for j in todo:
            c, parse, constraint, lookup, plain = plan[j]
            if formulas is not None and j in formulas:
                self.bad(r, j, formulas[j], c, _NOT_A_FORMULA, FORMULA)
                ok = False
                out[j] = None
                continue
            raw = cells[j]
            if raw.__class__ is str:
                raw = raw.strip()
                if not raw:
                    raw = None
                elif raw[0] in _FORMULA_FIRST and values.formula_like(raw):
                    self.bad(r, j, raw, c, _FORMULA_TEXT, FORMULA)
                    ok = False
                    out[j] = None
                    continue
                elif lookup is not None:  # fast paths: a code written as the list shows it, plain text
                    hit = lookup.get(raw)
                    if hit is not None:
                        out[j] = hit
                        continue
                elif len(raw) <= plain:
                    out[j] = raw
                    continue
            if raw is None:
                if c.required:
                    self.ctx.add(REQUIRED, f"“{c.label}”是必填栏目，不能为空", f"{c.label} is required and is empty", r, j)
                    ok = False
                out[j] = None
                continue
            value, problem = parse(raw)
            if problem is None and constraint is not None:
                problem = constraint(value)
            if problem is not None:
                self.bad(r, j, raw, c, problem)
                ok = False
                value = None
            out[j] = value
        if ok:
            ok = self.cross(r, out)
        return tuple(out), ok

    def cross(self, row: int, rec: list[Any]) -> bool:
        """Sex and birth date against the ID number; False (after reporting) when they disagree."""
        if self.id_at is None or rec[self.id_at] is None:
            return True
        rid = str(rec[self.id_at])
        ok = True
        sex = rec[self.sex_at] if self.sex_at is not None else None
        if self.sex_at is not None and sex in ("1", "2"):
            implied = values.sex_of(rid)
            if sex != implied:
                zh_sex = "男" if implied == "1" else "女"
                self.ctx.add(
                    INCONSISTENT,
                    f"性别与身份证号码不符：按身份证号码第 17 位应为“{zh_sex}”",
                    f"sex disagrees with the ID number: its 17th digit says {'male' if implied == '1' else 'female'}",
                    row,
                    self.sex_at,
                    ("核对身份证号码和性别，改正填错的一项", "check the ID number and the sex and correct the wrong one"),
                )
                ok = False
        b = rec[self.birth_at] if self.birth_at is not None else None
        if self.birth_at is not None and b is not None:
            born = values.birth_date_of(rid)
            if born is not None:
                got = b.isoformat() if isinstance(b, date) else str(b)
                want = born.isoformat() if self.lay.columns[self.birth_at].type == "date" else born.isoformat()[:7]
                if got[: len(want)] != want:
                    self.ctx.add(
                        INCONSISTENT,
                        f"出生日期与身份证号码不符：按身份证号码应为 {want}",
                        f"the birth date disagrees with the ID number, which says {want}",
                        row,
                        self.birth_at,
                        ("核对身份证号码第 7–14 位和出生日期", "check digits 7–14 of the ID number against the birth date"),
                    )
                    ok = False
        return ok


# -- the file --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Parsed:
    form: Form
    lay: Layout
    org: str | None
    period: str | None
    #: The checked rows, values in the layout's column order (填报单位 first when the template has no unit).
    rows: list[tuple[Any, ...]]
    sha256: str

    def data(self, rec: tuple[Any, ...]) -> tuple[Any, ...]:
        """The form's own columns of a row (without 填报单位)."""
        return rec[1:] if self.org is None else rec

    def org_of(self, rec: tuple[Any, ...]) -> str:
        return str(rec[0] if self.org is None else self.org)


class _Reading:
    """A workbook read in a thread of its own: its SHA-256, then the workbook and its ``_ybt`` sheet, then the
    data sheet that sheet names.

    python-calamine parses a sheet without holding the GIL, so the pool's project is loaded, the formula
    scan done and the checks prepared meanwhile. Whatever the reading raises is raised again where the
    reader asks for what failed, as if it had read it itself then. The workbook is not touched outside the
    thread until the thread is done (python-calamine refuses a second caller while a sheet is parsed).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sha = ""
        self.wb: CalamineWorkbook | None = None
        self.sheet_names: list[str] = []
        #: The file cannot be read (or is no workbook).
        self.error: Exception | None = None
        self._meta: dict[str, str] | Exception | None = None
        self._sheet: Any = None  # the data sheet, or what reading it raised
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"ybt-read-{path.name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            try:
                digest = hashlib.sha256()
                with self.path.open("rb") as fh:
                    for block in iter(lambda: fh.read(_CHUNK), b""):
                        digest.update(block)
                self.sha = digest.hexdigest()
                self.wb = wb = CalamineWorkbook.from_path(str(self.path))
                self.sheet_names = list(wb.sheet_names)
            except Exception as exc:  # noqa: BLE001 - reported by the reader as an unreadable file
                self.error = exc
                return
            try:
                self._meta = meta = read_meta(wb)
            except Exception as exc:  # noqa: BLE001 - raised again in the reader
                self._meta = exc
                return
            finally:
                self._opened.set()
            sheet = meta.get("data_sheet", "") if meta is not None else ""
            if sheet in self.sheet_names:
                try:
                    self._sheet = wb.get_sheet_by_name(sheet)
                except Exception as exc:  # noqa: BLE001 - raised again in the reader
                    self._sheet = exc
        finally:
            self._opened.set()

    def opened(self) -> bool:
        """Wait for the workbook; False when it cannot be read (see :attr:`error`)."""
        self._opened.wait()
        return self.error is None

    def meta(self) -> dict[str, str] | None:
        self._opened.wait()
        if isinstance(self._meta, Exception):
            raise self._meta
        return self._meta

    def sheet(self) -> Any:
        """The data sheet named in the ``_ybt`` sheet (the caller checked that the workbook has it)."""
        self._thread.join()
        if isinstance(self._sheet, Exception):
            raise self._sheet
        return self._sheet

    def close(self) -> None:
        self._thread.join()
        close = getattr(self.wb, "close", None)  # python-calamine >= 0.3
        if close is not None:
            close()


def parse(
    path: Path, project: Project, diags: list[Diagnostic], display: str | None = None, lang: str = "both", reading: _Reading | None = None
) -> Parsed | None:
    """Read and check one workbook; problems go to ``diags``; None when it cannot be ingested.

    ``reading`` is the workbook's reading if it was started already.
    """
    shown = display or str(path)
    ctx = _Ctx(shown, "", diags)
    reading = reading or _Reading(path)
    try:
        if not reading.opened():
            exc = reading.error
            ctx.add(NOT_TEMPLATE, f"无法读取工作簿：{exc}", f"cannot read the workbook: {exc}", hint=REGENERATE)
            return None
        return _parse(path, reading, project, ctx, lang)
    except _Stop:
        return None
    finally:
        reading.close()


def _parse(path: Path, reading: _Reading, project: Project, ctx: _Ctx, lang: str) -> Parsed:
    sha = reading.sha
    meta = reading.meta()
    if meta is None:
        raise ctx.stop(
            NOT_TEMPLATE,
            "这不是 ybt 生成的模板（缺少隐藏的 _ybt 工作表），无法确定是哪张表",
            "this is not a template made by ybt (the hidden _ybt sheet is missing), so ybt cannot tell which form it is",
            hint=("用 ybt template 生成模板，填好后原样导入", "make a template with ybt template, fill it and ingest it as it is"),
        )
    form = forms_of(project).get(meta.get("form", ""))
    if form is None:
        raise ctx.stop(
            TEMPLATE_CHANGED,
            f"数据池中没有模板所说的表“{meta.get('form')}”（已删除或改名）",
            f"the pool has no form '{meta.get('form')}' (removed or renamed)",
            hint=REGENERATE,
        )
    if meta.get("checksum") != form.checksum() or meta.get("layout") != form.definition()["layout"]:
        raise ctx.stop(
            TEMPLATE_CHANGED,
            f"模板版本与数据池中“{form.title}”的当前定义不一致（模板 {meta.get('checksum')}，当前 {form.checksum()}），不能按旧格式猜测",
            f"the template was made from another version of '{form.title}' (template {meta.get('checksum')}, now {form.checksum()}); ybt will not guess",
            hint=REGENERATE,
        )
    org = meta.get("org_unit") or None
    if org is not None and org not in project.org_units:
        raise ctx.stop(
            TEMPLATE_CHANGED, f"模板的填报单位 {org} 不在组织机构中", f"the template's organisation unit {org} is not in the org tree", hint=REGENERATE
        )
    lay = layout_of(form, org is None)
    if json.loads(meta.get("columns", "[]")) != [c.name for c in lay.columns]:
        raise ctx.stop(TEMPLATE_CHANGED, "模板的栏目清单被改动过", "the template's column list was edited", hint=REGENERATE)
    sheet = meta.get("data_sheet", "")
    if sheet not in reading.sheet_names:
        raise ctx.stop(
            TEMPLATE_CHANGED, f"找不到数据工作表“{sheet}”（被改名或删除）", f"the data sheet '{sheet}' is missing (renamed or deleted)", hint=REGENERATE
        )
    ctx.sheet = sheet
    formulas = _by_row(formula_cells(path, sheet)) if path.suffix.lower() in (".xlsx", ".xlsm") else {}  # while the sheet is read
    ws = reading.sheet()
    row0, col0 = ws.start or (0, 0)
    header: dict[int, list[Any]] = {}
    records: list[tuple[Any, ...]] = []
    checker = _Checker(project, form, lay, ctx, org)
    ncol = len(lay.columns)
    before = len(ctx.out)
    seen: dict[tuple[Any, ...], int] = {}
    key_at = [j for j, c in enumerate(lay.columns) if c.key]
    by_unit = form.kind == "report"
    org_at = 0 if org is None else None
    summary = form.form == "summary" and form.kind == "report"
    per_org: dict[Any, int] = {}
    second_rows: list[tuple[int, Any]] = []
    blank_row = [""] * ncol
    pending: list[tuple[int, list[Any], dict[int, str] | None]] = []

    def check(batch: list[tuple[int, list[Any], dict[int, str] | None]]) -> None:
        if not batch:
            return
        columns = checker.accepted([b[1] for b in batch])
        fast = not summary and not any(b[2] for b in batch) and checker.clean(columns)
        if fast and key_at:  # every cell good as it is: only duplicate keys are left to find, and none is when all keys are new
            unit = repeat(None) if not by_unit else columns[0] if org_at is not None else repeat(org)
            keys = list(zip(unit, *(columns[j] for j in key_at), strict=False))  # unit may repeat forever
            at = [b[0] for b in batch]
            if any(None in columns[j] for j in key_at):
                at = [r for r, kv in zip(at, keys, strict=True) if None not in kv[1:]]
                keys = [kv for kv in keys if None not in kv[1:]]
            fast = len(set(keys)) == len(keys) and seen.keys().isdisjoint(keys)
            if fast:
                seen.update(zip(keys, at, strict=True))
        if fast:
            if len(ctx.out) == before:
                records.extend(zip(*columns, strict=True))
            return
        for (r, cells, row_formulas), accepted in zip(batch, zip(*columns, strict=True), strict=True):
            rec, ok = checker.row(r, cells, row_formulas, accepted)
            if key_at and all(rec[j] is not None for j in key_at):
                kv = ((rec[0] if org_at is not None else org) if by_unit else None, *(rec[j] for j in key_at))
                if kv in seen:
                    ctx.add(
                        INCONSISTENT,
                        f"与第 {seen[kv] + 1} 行重复（{'、'.join(str(x) for x in kv if x is not None)}）：同一对象只能填一行",
                        f"duplicates row {seen[kv] + 1} ({', '.join(str(x) for x in kv if x is not None)}): one row per entity",
                        r,
                        key_at[0],
                    )
                else:
                    seen[kv] = r
            if summary:
                o = rec[0] if org_at is not None else org
                per_org[o] = per_org.get(o, 0) + 1
                if per_org[o] == 2:
                    second_rows.append((r, o))
            if ok and len(ctx.out) == before:  # once anything is wrong nothing is written: stop keeping rows
                records.append(rec)

    r = row0 - 1
    with progress(Text(f"检查 {ctx.file}", f"checking {ctx.file}"), total=max(ws.height - lay.first_data_row + row0, 0), lang=lang) as advance:
        for raw_row in ws.iter_rows():
            r += 1
            cells = [None] * col0 + raw_row if col0 else raw_row
            if r <= lay.header_last:
                header[r] = cells
                if r == lay.header_last:
                    _check_header(ctx, lay, header)
                continue
            if r < lay.first_data_row:
                continue
            advance(1)
            width = len(cells)
            if width > ncol:
                for j in range(ncol, width):
                    if not _blank(cells[j]):
                        check(pending)  # the rows above first: problems stay in reading order
                        pending.clear()
                        ctx.add(
                            TEMPLATE_CHANGED,
                            f"表格右侧多出了数据“{cells[j]}”：不要在模板外添加列",
                            f"data '{cells[j]}' right of the form: do not add columns",
                            r,
                            j,
                            REGENERATE,
                        )
                        break
                cells = cells[:ncol]
            elif width < ncol:
                cells = [*cells, *blank_row[width:]]
            row_formulas = formulas.get(r) if formulas else None
            if not row_formulas and all(map(_blank, cells)):  # a blank row (all() stops at the first filled cell)
                continue
            pending.append((r, cells, row_formulas))
            if len(pending) == _ROWS_AT_ONCE:
                check(pending)
                pending.clear()
        check(pending)
    if r < lay.header_last:
        _check_header(ctx, lay, header)
    for at, o in second_rows:
        ctx.add(INCONSISTENT, f"汇总表每个填报单位只能填一行（{o}），这是第二行", f"a summary has one row per unit ({o}); this is a second one", at, 0)
    if len(ctx.out) > before:
        raise _Stop()
    period = meta.get("period") or None
    return Parsed(form, lay, org, period, records, sha)


def _by_row(formulas: dict[str, str]) -> dict[int, dict[int, str]]:
    """Formula cells by 0-based row and column."""
    out: dict[int, dict[int, str]] = {}
    for ref, text in formulas.items():
        if ref:
            row, col = xl_cell_to_rowcol(ref)
            out.setdefault(row, {})[col] = text
    return out


def _check_header(ctx: _Ctx, lay: Layout, header: dict[int, list[Any]]) -> None:
    for j, c in enumerate(lay.columns):
        row = lay.header_first + len(c.group)
        cells = header.get(row, [])
        got = str(cells[j]).strip() if j < len(cells) and cells[j] is not None else ""
        want = lay.header_text(c)
        if got != want:
            raise ctx.stop(
                TEMPLATE_CHANGED,
                f"表头被改动：这一格应为“{want}”，现为“{got}”（列被插入、删除或移动过）；ybt 不会猜测各列的含义",
                f"the header was edited: this cell should read '{want}', not '{got}' (a column was inserted, deleted or moved); ybt will not guess",
                row,
                j,
                REGENERATE,
            )


# -- writing ---------------------------------------------------------------------------------------

#: Rows compared with the pool per query and written per batch.
BATCH = 500
_JSON = json.JSONEncoder(ensure_ascii=False)


def _converted(vals: Sequence[Any], converters: Sequence[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    """``vals`` with the values at the given positions passed through their converters."""
    if not converters:
        return tuple(vals)
    out = list(vals)
    for j, f in converters:
        out[j] = f(out[j])
    return tuple(out)


_JSON_KEY = json.JSONEncoder(ensure_ascii=False, default=str)
#: How both encoders write a string (ensure_ascii=False).
_JSON_STR = json.encoder.encode_basestring


def _json_values(col: Iterable[Any], encoder: json.JSONEncoder) -> list[str]:
    """Each value as ``encoder`` writes it inside an array or object (its own encode() of the value)."""
    esc = _JSON_STR
    return [esc(v) if v.__class__ is str else "null" if v is None else encoder.encode(v) for v in col]


def _json_objects(names: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """``_JSON.encode(dict(zip(names, row)))`` of each row, a column at a time."""
    if not names or not rows:
        return [_JSON.encode(dict(zip(names, row, strict=True))) for row in rows]
    template = "{" + ", ".join(_JSON_STR(n).replace("%", "%%") + ": %s" for n in names) + "}"
    columns = [_json_values(col, _JSON) for col in zip(*rows, strict=True)]
    return [template % values_ for values_ in zip(*columns, strict=True)]


def _json_arrays(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """``_JSON_KEY.encode(row)`` of each row (rows of one width), a column at a time."""
    if not rows or not rows[0]:
        return [_JSON_KEY.encode(row) for row in rows]
    template = "[" + ", ".join(["%s"] * len(rows[0])) + "]"
    columns = [_json_values(col, _JSON_KEY) for col in zip(*rows, strict=True)]
    return [template % values_ for values_ in zip(*columns, strict=True)]


def _db_value(pool: Pool, c: FormColumn, v: Any) -> Any:
    return _db_converter(pool.dialect, c)(v)


def _same(v: Any) -> Any:
    return v


def _db_converter(dialect: str, c: FormColumn) -> Callable[[Any], Any]:
    """How the column's checked values are passed to the database (SQLite has no dates, decimals or booleans)."""
    if dialect != "sqlite" or c.type in TEXT_TYPES or c.type == "org":
        return _same
    integer = c.type == "integer"

    def sqlite_value(v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() and integer else float(v)
        if isinstance(v, datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, date):
            return v.isoformat()
        return v

    return sqlite_value


def _ensure_history(pool: Pool) -> None:
    cols = ["at", "who", "file", "file_sha256", "form", "table_name", "org_unit", "period", "row_key", "action", "old", "new"]
    body = ", ".join(f'"{c}" TEXT' for c in cols)
    pool.execute(f'CREATE TABLE IF NOT EXISTS "{HISTORY}" ({body})')


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def _cols(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _where(pool: Pool, names: Sequence[str]) -> str:
    return " AND ".join(f'"{n}" = {pool.param}' for n in names)


def _batches(rows: Sequence[tuple[Any, ...]], size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


#: Rows an INSERT statement adds on SQLite (at most; fewer when the rows have more values than it takes).
ROWS_PER_INSERT = 100


class _Inserts:
    """Inserts rows in order: on SQLite :data:`ROWS_PER_INSERT` rows a statement (``VALUES (…), (…), …``), which
    costs less than a statement a row; elsewhere with ``executemany``. The same rows in the same order either way.
    """

    def __init__(self, pool: Pool, into: str, width: int) -> None:
        self.pool = pool
        self.into = into
        self.row = "(" + ", ".join([pool.param] * width) + ")"
        self.per = 1
        if pool.dialect == "sqlite":
            import sqlite3

            self.per = max(1, min(ROWS_PER_INSERT, pool.con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
        self.full = self.statement(self.per)

    def statement(self, n: int) -> str:
        return f"{self.into} VALUES {', '.join([self.row] * n)}"

    def __call__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        per = self.per
        if per == 1:
            self.pool.executemany(self.statement(1), rows)
            return
        for i in range(0, len(rows), per):
            part = rows[i : i + per]
            self.pool.con.execute(self.full if len(part) == per else self.statement(len(part)), list(chain.from_iterable(part)))


@dataclass(slots=True)
class _Changes:
    """What one batch does to the pool: statements' parameters in the order they run, and history rows."""

    updates: list[tuple[Any, ...]] = field(default_factory=list)
    deletes: list[tuple[Any, ...]] = field(default_factory=list)
    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    #: SQL of a per-unit replacement (a roster without a key): run before the deletes and inserts.
    replaced: list[tuple[Any, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.updates or self.deletes or self.inserts or self.replaced)


def write(pool: Pool, parsed: Parsed, file_label: str, who: str | None = None, dry_run: bool = False, lang: str = "both") -> tuple[int, int, int, int]:
    """Apply the file to the pool as a difference; returns (inserted, updated, deleted, unchanged).

    Rows are compared with the pool :data:`BATCH` at a time (one query per batch for a ledger with a
    key, one per unit and period for a report) and written with ``executemany``, all in one
    transaction that is only opened when something changes.
    """
    form = parsed.form
    cols = list(form.columns)
    names = [c.name for c in cols]
    canon = [_canonical(c) for c in cols]
    to_db = [_db_converter(pool.dialect, c) for c in cols]
    # checked text values are already str: only the other columns need converting, on the fast paths
    converted = [(j, canon[j]) for j, c in enumerate(cols) if c.type not in TEXT_TYPES]
    quick = [canon[j] if c.type not in TEXT_TYPES else None for j, c in enumerate(cols)]
    date_at = {j for j, c in enumerate(cols) if c.type == "date"}
    db_converted = [(j, f) for j, f in enumerate(to_db) if f is not _same]
    ncol = len(cols)
    p = pool.param
    t = f'"{form.table}"'
    scope_cols = ["org_unit", *(["period"] if form.periodic else [])]
    key_cols = list(form.key)
    key_at = [names.index(k) for k in key_cols]
    keyed = bool(key_cols) or form.form == "summary"
    ledger = form.kind == "ledger"
    period = parsed.period or ""
    select_cols = _cols(["org_unit", *names])
    now = datetime.now().astimezone().replace(microsecond=0).isoformat()
    user = who or _os_user()
    insert = _Inserts(pool, f"INSERT INTO {t} ({_cols([*scope_cols, *names])})", len(scope_cols) + ncol)
    where_cols = key_cols if ledger else scope_cols + key_cols
    upd_sql = f"UPDATE {t} SET {', '.join(f'{_cols([n])} = {p}' for n in ['org_unit', *names])} WHERE {_where(pool, where_cols)}"
    del_sql = f"DELETE FROM {t} WHERE {_where(pool, scope_cols + key_cols)}"
    scope_del_sql = f"DELETE FROM {t} WHERE {_where(pool, scope_cols)}"
    insert_history = _Inserts(pool, f'INSERT INTO "{HISTORY}"', 12)

    def scope_vals(o: str) -> tuple[Any, ...]:
        return (o, period) if form.periodic else (o,)

    def canon_of(vals: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(f(v) for f, v in zip(canon, vals, strict=True))

    def quick_canon(vals: Sequence[Any]) -> tuple[Any, ...]:
        """canon_of for checked rows, whose text values are str; for pool rows equal to canon_of whenever it equals a checked row's."""
        return _converted(vals, converted)

    def db_of(vals: Sequence[Any]) -> tuple[Any, ...]:
        return _converted(vals, db_converted)

    def columns_of(batch: Sequence[tuple[Any, ...]]) -> tuple[list[str], list[Sequence[Any]]]:
        """The rows' units and their own columns (without 填报单位)."""
        columns: list[Sequence[Any]] = list(zip(*batch, strict=True))
        if parsed.org is None:
            return list(map(str, columns[0])), columns[1:]
        return [str(parsed.org)] * len(batch), columns

    def converted_column(f: Callable[[Any], Any], col: Sequence[Any], j: int) -> list[Any]:
        """``f`` of each value; a date column's dates written directly (what the canonical and the SQLite forms of a date are)."""
        if j in date_at:
            return [v.isoformat() if v.__class__ is date else f(v) for v in col]
        return list(map(f, col))

    def quick_columns(columns: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """quick_canon, a column at a time."""
        return [col if f is None else converted_column(f, col, j) for j, (f, col) in enumerate(zip(quick, columns, strict=True))]

    def keys_of(units: Sequence[str], own: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows' keys from their units and the (canonical) values of the key columns."""
        if ledger:
            return list(zip(*own, strict=True)) if own else [()] * len(units)
        return list(zip(units, *own, strict=True))

    def js(canonical: tuple[Any, ...] | None) -> str | None:
        return None if canonical is None else _JSON.encode(dict(zip(names, canonical, strict=True)))

    def hist(ch: _Changes, org: str, key: Any, action: str, old: tuple[Any, ...] | None, new: tuple[Any, ...] | None) -> None:
        row_key = _JSON_KEY.encode(key)
        ch.history.append((now, user, file_label, parsed.sha256, form.uid, form.table, org, parsed.period, row_key, action, js(old), js(new)))

    orgs = sorted({parsed.org_of(rec) for rec in parsed.rows})
    counts = [0, 0, 0, 0]  # inserted, updated, deleted, unchanged
    began = False

    def apply(ch: _Changes) -> None:
        nonlocal began
        if dry_run or not ch:
            return
        if not began:
            pool.begin()
            began = True
            _ensure_history(pool)
        for params in ch.replaced:
            pool.execute(scope_del_sql, params)
        if ch.updates:
            pool.executemany(upd_sql, ch.updates)
        if ch.deletes:
            pool.executemany(del_sql, ch.deletes)
        if ch.inserts:
            insert(ch.inserts)
        if ch.history:
            insert_history(ch.history)

    Existing = dict[tuple[Any, ...], tuple[str, tuple[Any, ...], tuple[Any, ...]]]  # key → (unit, canonical values, values as stored)

    def diff(ch: _Changes, batch: Sequence[tuple[Any, ...]], existing: Existing, matched: set[Any]) -> None:
        units, data = columns_of(batch)
        canonical = quick_columns(data)
        news = list(zip(*canonical, strict=True))
        keys = keys_of(units, [canonical[j] for j in key_at])
        changed: list[tuple[int, tuple[Any, ...] | None]] = []  # row, old values (None: a new row), in the file's order
        if not existing:  # none of the rows is in the pool
            changed = [(i, None) for i in range(len(keys))]
        for i, k in enumerate(keys if existing else ()):
            old = existing.get(k)
            if old is None:
                changed.append((i, None))
                continue
            matched.add(k)
            old_org, old_canon, stored = old
            org, new = units[i], news[i]
            if old_org == org and old_canon == new:
                counts[3] += 1
                continue
            old_canon = canon_of(stored)
            if old_org == org and old_canon == new:
                counts[3] += 1
                continue
            changed.append((i, old_canon))
        if not changed:
            return
        db_rows = list(zip(*(col if f is _same else converted_column(f, col, j) for j, (f, col) in enumerate(zip(to_db, data, strict=True))), strict=True))
        new_js = _json_objects(names, [news[i] for i, _ in changed])
        key_js = _json_arrays([keys[i] for i, _ in changed])
        head = (now, user, file_label, parsed.sha256, form.uid, form.table)
        for (i, old_values), new_j, key_j in zip(changed, new_js, key_js, strict=True):
            org, db = units[i], db_rows[i]
            if old_values is None:
                ch.inserts.append((*scope_vals(org), *db))
                ch.history.append((*head, org, parsed.period, key_j, "insert", None, new_j))
                counts[0] += 1
            else:
                where_vals = tuple(db[j] for j in key_at) if ledger else (*scope_vals(org), *(db[j] for j in key_at))
                ch.updates.append((org, *db, *where_vals))
                ch.history.append((*head, org, parsed.period, key_j, "update", js(old_values), new_j))
                counts[1] += 1

    def existing_of(rows: Sequence[tuple[Any, ...]]) -> Existing:
        if not rows:
            return {}
        columns = list(zip(*rows, strict=True))
        units, stored = list(map(str, columns[0])), columns[1:]
        keys = keys_of(units, [list(map(canon[j], stored[j])) for j in key_at])
        return dict(zip(keys, zip(units, zip(*quick_columns(stored), strict=True), zip(*stored, strict=True), strict=True), strict=True))

    try:
        with progress(Text(f"写入 {form.table}", f"writing {form.table}"), total=len(parsed.rows), lang=lang) as advance:
            if keyed and ledger:  # a ledger's rows are found by key, a batch per query, wherever they are
                one = len(key_cols) == 1
                cond = f"{_cols(key_cols)} IN ({', '.join([p] * BATCH)})" if one else ""
                for batch in _batches(parsed.rows, BATCH):
                    data = columns_of(batch)[1]
                    key_values = [list(map(to_db[j], data[j])) for j in key_at]
                    if one:
                        sql_cond = cond if len(batch) == BATCH else f"{_cols(key_cols)} IN ({', '.join([p] * len(batch))})"
                        params: list[Any] = key_values[0]
                    else:
                        keys = list(zip(*key_values, strict=True))
                        sql_cond = " OR ".join(f"({_where(pool, key_cols)})" for _ in keys)
                        params = [v for k in keys for v in k]
                    _, got = pool.query(f"SELECT {select_cols} FROM {t} WHERE {sql_cond}", params)
                    ch = _Changes()
                    diff(ch, batch, existing_of(got), set())
                    apply(ch)
                    advance(len(batch))
            elif keyed:  # a report: the file is the unit's whole return for the period
                got = []
                for o in orgs if parsed.org is None else [parsed.org]:
                    got += pool.query(f"SELECT {select_cols} FROM {t} WHERE {_where(pool, scope_cols)}", [o, period])[1]
                existing = existing_of(got)
                del got
                matched: set[Any] = set()
                for batch in _batches(parsed.rows, BATCH):
                    ch = _Changes()
                    diff(ch, batch, existing, matched)
                    apply(ch)
                    advance(len(batch))
                ch = _Changes()
                for k, (old_org, _, stored) in existing.items():
                    if k not in matched and old_org in orgs:
                        ch.deletes.append((*scope_vals(old_org), *(to_db[j](stored[j]) for j in key_at)))
                        hist(ch, old_org, k, "delete", canon_of(stored), None)
                        counts[2] += 1
                apply(ch)
            else:  # a roster without a key: the file replaces the unit's rows for the period when anything differs
                by_org: dict[str, list[tuple[Any, ...]]] = {}
                for rec in parsed.rows:
                    by_org.setdefault(parsed.org_of(rec), []).append(parsed.data(rec))
                for org in orgs:
                    where = _where(pool, scope_cols)
                    _, got = pool.query(f"SELECT {select_cols} FROM {t} WHERE {where}", list(scope_vals(org)))
                    old_rows = [canon_of(row[1:]) for row in got]
                    new_rows = by_org[org]
                    new_canon = [quick_canon(v) for v in new_rows]
                    if sorted(map(repr, new_canon)) == sorted(map(repr, old_rows)):
                        counts[3] += len(new_rows)
                        advance(len(new_rows))
                        continue
                    ch = _Changes(replaced=[scope_vals(org)])
                    for i, old_canon in enumerate(old_rows):
                        hist(ch, org, i + 1, "delete", old_canon, None)
                    counts[2] += len(old_rows)
                    for i, (vals, new) in enumerate(zip(new_rows, new_canon, strict=True)):
                        ch.inserts.append((*scope_vals(org), *db_of(vals)))
                        hist(ch, org, i + 1, "insert", None, new)
                    counts[0] += len(new_rows)
                    apply(ch)
                    advance(len(new_rows))
        if began:
            pool.commit()
    except Exception:
        if began:
            pool.rollback()
        raise
    inserted, updated, deleted, unchanged = counts
    return inserted, updated, deleted, unchanged


def ingest(
    paths: Sequence[Path], url: str, *, dry_run: bool = False, who: str | None = None, display: dict[Path, str] | None = None, lang: str = "both"
) -> list[IngestResult]:
    """Check and load each file; a file with any problem writes nothing (the others still load)."""
    first = _Reading(paths[0]) if paths else None  # read while the pool's project is loaded
    try:
        pool = Pool.connect(url)
    except BaseException:
        if first is not None:
            first.close()
        raise
    try:
        project = pool_project(pool)
        out: list[IngestResult] = []
        for i, path in enumerate(paths):
            label = (display or {}).get(path, str(path))
            res = IngestResult(label)
            reading, first = (first, None) if i == 0 else (None, None)
            parsed = parse(path, project, res.diagnostics, label, lang, reading)
            if parsed is not None:
                res.form, res.table, res.rows = parsed.form.uid, parsed.form.table, len(parsed.rows)
                try:
                    res.inserted, res.updated, res.deleted, res.unchanged = write(pool, parsed, path.name, who, dry_run, lang)
                    res.written = not dry_run and (res.inserted + res.updated + res.deleted) > 0
                except Exception as exc:  # noqa: BLE001 - a database refusal is reported against the file
                    res.diagnostics.append(
                        Diagnostic(
                            BAD_VALUE,
                            Severity.ERROR,
                            Text(f"数据池拒绝写入，未写入任何数据：{exc}", f"the pool refused the rows; nothing was written: {exc}"),
                            Location(label),
                        )
                    )
            out.append(res)
        return out
    finally:
        if first is not None:  # the pool had no project
            first.close()
        pool.close()
