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
import json
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_rowcol_to_cell  # type: ignore[import-untyped]

from ybt import values
from ybt.diagnostics import Diagnostic, Location, Severity, Text
from ybt.excel.forms import ORG_COLUMN, Form, FormColumn, forms_of
from ybt.excel.rules import BAD_VALUE, FORMULA, INCONSISTENT, NOT_TEMPLATE, REQUIRED, TEMPLATE_CHANGED
from ybt.excel.template import FORMAT_TAG, META_SHEET, Layout, layout_of
from ybt.model import Project
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


def formula_cells(path: Path, sheet: str) -> dict[str, str]:
    """Cells of ``sheet`` holding a formula (calamine reads only their cached values): reference → formula."""
    try:
        with zipfile.ZipFile(path) as z:
            ns = {
                "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
            }
            wbx = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rid = next((s.get(f"{{{ns['r']}}}id") for s in wbx.iter(f"{{{ns['m']}}}sheet") if s.get("name") == sheet), None)
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
            if target is None:
                return {}
            member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            raw = z.read(member)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return {}
    if b"<f" not in raw and b":f>" not in raw and b":f " not in raw:
        return {}
    out: dict[str, str] = {}
    ref = ""
    for event, el in ElementTree.iterparse(_bytes_io(raw), events=("start", "end")):
        tag = el.tag.rsplit("}", 1)[-1]
        if event == "start" and tag == "c":
            ref = el.get("r", "")
        elif event == "end" and tag == "f":
            out[ref] = "=" + (el.text or "")
        elif event == "end" and tag == "row":
            el.clear()
    return out


def _bytes_io(raw: bytes) -> Any:
    import io

    return io.BytesIO(raw)


# -- values ----------------------------------------------------------------------------------------


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _canon(c: FormColumn, v: Any) -> Any:
    """A comparable form of a value, whether it came from a cell or the pool."""
    if v is None:
        return None
    if c.type == "boolean":
        return bool(v) if not isinstance(v, str) else v.lower() in ("1", "true", "t")
    if c.type in ("integer", "decimal"):
        try:
            d = Decimal(str(v))
        except ArithmeticError:
            return str(v)
        return format(d.normalize(), "f") if d != 0 else "0"
    if c.type == "date":
        return v.isoformat()[:10] if isinstance(v, date) else str(v)[:10]
    if c.type == "datetime":
        return v.isoformat(sep=" ") if isinstance(v, datetime) else str(v).replace("T", " ")
    return str(v)


class _Checker:
    def __init__(self, project: Project, form: Form, lay: Layout, ctx: _Ctx, org: str | None) -> None:
        self.p = project
        self.form = form
        self.lay = lay
        self.ctx = ctx
        self.org = org
        self.lookups: dict[str, dict[str, str]] = {}
        for c in lay.columns:
            if c.codelist is not None and c.codelist.uid not in self.lookups:
                self.lookups[c.codelist.uid] = values.code_lookup((v.code, v.label, v.aliases) for v in c.codelist.values if not v.deprecated)
        org_vals = [(u.code, u.name, (f"{u.code} {u.name}",)) for u in project.org_units.values()]
        self.org_lookup = values.code_lookup(org_vals)
        self.patterns = {c.name: re.compile(c.field.constraints.pattern) for c in lay.columns if c.field is not None and c.field.constraints.pattern}
        self.id_col = next((c for c in lay.columns if c.type == "resident_id" and c.field is not None and c.field.role == "self"), None)
        self.sex_col = next((c for c in lay.columns if c.codelist is not None and "性别" in c.label and {"1", "2"} <= c.codelist.codes()), None)
        self.birth_col = next((c for c in lay.columns if c.type in ("date", "year_month") and "出生" in c.label), None)

    def bad(self, row: int, col: int, raw: Any, c: FormColumn, p: values.Problem, code: str = BAD_VALUE) -> None:
        shown = str(raw)
        self.ctx.add(
            code,
            f"“{c.label}”的值“{shown}”有误：{p.zh}",
            f"{c.label}: the value '{shown}' is wrong: {p.en}",
            row,
            col,
        )

    def cell(self, row: int, col: int, c: FormColumn, raw: Any) -> Any:
        """The value to store, or None (after reporting) when the cell is wrong or empty."""
        if isinstance(raw, str):
            raw = raw.strip()
            if values.formula_like(raw):
                self.bad(
                    row,
                    col,
                    raw,
                    c,
                    values.Problem("不能以 = + - @ 开头（会被当作公式执行）", "must not start with = + - @ (it would run as a formula)"),
                    FORMULA,
                )
                return None
        if _blank(raw):
            if c.required:
                self.ctx.add(REQUIRED, f"“{c.label}”是必填栏目，不能为空", f"{c.label} is required and is empty", row, col)
            return None
        t = c.type
        k = c.field.constraints if c.field is not None else None
        value: Any
        problem: values.Problem | None
        if t == "org":
            value, problem = values.parse_code(raw, self.org_lookup, "填报单位")
            if value is not None and self.org is not None and value != self.org:
                problem = values.Problem(f"本模板只能填报 {self.org} 的数据", f"this template is for {self.org} only")
        elif c.codelist is not None and c.field is not None and c.field.multiple:
            parts = [x for x in re.split(r"[、,，;；\s]+", str(raw)) if x]
            codes = []
            problem = None
            for part in parts:
                v1, pr = values.parse_code(part, self.lookups[c.codelist.uid], c.codelist.label)
                problem = problem or pr
                if v1 is not None:
                    codes.append(v1)
            value = ",".join(codes)
        elif c.codelist is not None:
            value, problem = values.parse_code(raw, self.lookups[c.codelist.uid], c.codelist.label)
        elif t in ("resident_id", "bank_account") and isinstance(raw, float) and raw >= 1e15:
            value, problem = (
                None,
                values.Problem(
                    "号码被 Excel 存成了数字，第 16 位以后已经丢失；请把这一列设为“文本”后重新输入（或在号码前加英文单引号）",
                    "Excel stored the number as a number and lost the digits after the 15th; format the column as text and type it again",
                ),
            )
        elif t == "resident_id":
            value, problem = values.parse_resident_id(_text(raw))
        elif t == "uscc":
            value, problem = values.parse_uscc(_text(raw))
        elif t == "phone":
            value, problem = values.parse_phone(_text(raw))
        elif t == "date":
            value, problem = values.parse_date(raw)
        elif t == "datetime":
            if isinstance(raw, datetime):
                value, problem = raw, None
            else:
                d, problem = values.parse_date(raw)
                value = datetime(d.year, d.month, d.day) if d is not None else None
        elif t == "year_month":
            value, problem = values.parse_year_month(raw)
        elif t == "integer":
            value, problem = values.parse_integer(raw)
        elif t == "decimal":
            value, problem = values.parse_decimal(raw, k.scale if k is not None else None)
        elif t == "boolean":
            value, problem = values.parse_boolean(raw)
        else:
            value, problem = _text(raw), None
        if problem is None and k is not None:
            problem = self.constraint(c, value)
        if problem is not None:
            self.bad(row, col, raw, c, problem)
            return None
        return value

    def constraint(self, c: FormColumn, value: Any) -> values.Problem | None:
        k = c.field.constraints if c.field is not None else None
        if k is None:
            return None
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            if k.min is not None and value < Decimal(str(k.min)):
                return values.Problem(f"不能小于 {k.min:g}", f"must be at least {k.min:g}")
            if k.max is not None and value > Decimal(str(k.max)):
                return values.Problem(f"不能大于 {k.max:g}", f"must be at most {k.max:g}")
        if isinstance(value, str) and c.codelist is None and c.type not in ("resident_id", "uscc"):
            if k.max_length is not None and len(value) > k.max_length:
                return values.Problem(f"最多 {k.max_length} 个字，现有 {len(value)} 个", f"at most {k.max_length} characters, this has {len(value)}")
            if k.min_length is not None and len(value) < k.min_length:
                return values.Problem(f"至少 {k.min_length} 个字，现有 {len(value)} 个", f"at least {k.min_length} characters, this has {len(value)}")
            pat = self.patterns.get(c.name)
            if pat is not None and not pat.search(value):
                return values.Problem("格式不符合填表规范，请查看“填表说明”", "the format breaks the filling rule; see the 填表说明 sheet")
        return None

    def cross(self, row: int, rec: dict[str, Any]) -> None:
        if self.id_col is None or rec.get(self.id_col.name) is None:
            return
        rid = str(rec[self.id_col.name])
        cols = {c.name: j for j, c in enumerate(self.lay.columns)}
        if self.sex_col is not None and rec.get(self.sex_col.name) in ("1", "2"):
            implied = values.sex_of(rid)
            if rec[self.sex_col.name] != implied:
                zh_sex = "男" if implied == "1" else "女"
                self.ctx.add(
                    INCONSISTENT,
                    f"性别与身份证号码不符：按身份证号码第 17 位应为“{zh_sex}”",
                    f"sex disagrees with the ID number: its 17th digit says {'male' if implied == '1' else 'female'}",
                    row,
                    cols[self.sex_col.name],
                    ("核对身份证号码和性别，改正填错的一项", "check the ID number and the sex and correct the wrong one"),
                )
        b = rec.get(self.birth_col.name) if self.birth_col is not None else None
        if self.birth_col is not None and b is not None:
            born = values.birth_date_of(rid)
            if born is not None:
                got = b.isoformat() if isinstance(b, date) else str(b)
                want = born.isoformat() if self.birth_col.type == "date" else born.isoformat()[:7]
                if got[: len(want)] != want:
                    self.ctx.add(
                        INCONSISTENT,
                        f"出生日期与身份证号码不符：按身份证号码应为 {want}",
                        f"the birth date disagrees with the ID number, which says {want}",
                        row,
                        cols[self.birth_col.name],
                        ("核对身份证号码第 7–14 位和出生日期", "check digits 7–14 of the ID number against the birth date"),
                    )


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


# -- the file --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Parsed:
    form: Form
    lay: Layout
    org: str | None
    period: str | None
    rows: list[dict[str, Any]]
    sha256: str


def parse(path: Path, project: Project, diags: list[Diagnostic], display: str | None = None) -> Parsed | None:
    """Read and check one workbook; problems go to ``diags``; None when it cannot be ingested."""
    shown = display or str(path)
    ctx = _Ctx(shown, "", diags)
    try:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's problem, said plainly
        ctx.add(NOT_TEMPLATE, f"无法读取工作簿：{exc}", f"cannot read the workbook: {exc}", hint=REGENERATE)
        return None
    try:
        return _parse(path, wb, project, ctx, sha)
    except _Stop:
        return None
    finally:
        close = getattr(wb, "close", None)  # python-calamine >= 0.3
        if close is not None:
            close()


def _parse(path: Path, wb: CalamineWorkbook, project: Project, ctx: _Ctx, sha: str) -> Parsed:
    meta = read_meta(wb)
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
    if sheet not in wb.sheet_names:
        raise ctx.stop(
            TEMPLATE_CHANGED, f"找不到数据工作表“{sheet}”（被改名或删除）", f"the data sheet '{sheet}' is missing (renamed or deleted)", hint=REGENERATE
        )
    ctx.sheet = sheet
    ws = wb.get_sheet_by_name(sheet)
    start = ws.start or (0, 0)
    formulas = formula_cells(path, sheet) if path.suffix.lower() in (".xlsx", ".xlsm") else {}
    rows_iter: Iterator[list[Any]] = iter(ws.iter_rows())
    row0, col0 = start
    header: dict[int, list[Any]] = {}
    records: list[dict[str, Any]] = []
    record_rows: list[int] = []
    checker = _Checker(project, form, lay, ctx, org)
    ncol = len(lay.columns)
    before = len(ctx.out)
    seen: dict[tuple[Any, ...], int] = {}
    key_cols = [c.name for c in lay.columns if c.key]
    r = row0 - 1
    for raw_row in rows_iter:
        r += 1
        cells = [None] * col0 + list(raw_row) if col0 else list(raw_row)
        if r <= lay.header_last:
            header[r] = cells
            if r == lay.header_last:
                _check_header(ctx, lay, header)
            continue
        if r < lay.first_data_row:
            continue
        for j in range(ncol, len(cells)):
            if not _blank(cells[j]):
                ctx.add(
                    TEMPLATE_CHANGED,
                    f"表格右侧多出了数据“{cells[j]}”：不要在模板外添加列",
                    f"data '{cells[j]}' right of the form: do not add columns",
                    r,
                    j,
                    REGENERATE,
                )
                break
        row_vals = cells[:ncol] + [None] * (ncol - len(cells[:ncol]))
        row_formulas = {j: formulas[xl_rowcol_to_cell(r, j)] for j in range(ncol) if formulas and xl_rowcol_to_cell(r, j) in formulas}
        if all(_blank(v) for v in row_vals) and not row_formulas:
            continue
        rec: dict[str, Any] = {}
        errors_before = len(ctx.out)
        for j, c in enumerate(lay.columns):
            if j in row_formulas:
                checker.bad(
                    r, j, row_formulas[j], c, values.Problem("单元格里是公式，只能填写数据本身", "the cell holds a formula; enter the data itself"), FORMULA
                )
                continue
            rec[c.name] = checker.cell(r, j, c, row_vals[j])
        if len(ctx.out) == errors_before:
            checker.cross(r, rec)
        if key_cols and all(rec.get(k) is not None for k in key_cols):
            kv = (rec.get(ORG_COLUMN, org) if form.kind == "report" else None, *(rec[k] for k in key_cols))
            if kv in seen:
                ctx.add(
                    INCONSISTENT,
                    f"与第 {seen[kv] + 1} 行重复（{'、'.join(str(x) for x in kv if x is not None)}）：同一对象只能填一行",
                    f"duplicates row {seen[kv] + 1} ({', '.join(str(x) for x in kv if x is not None)}): one row per entity",
                    r,
                    lay.columns.index(next(c for c in lay.columns if c.name == key_cols[0])),
                )
            else:
                seen[kv] = r
        records.append(rec)
        record_rows.append(r)
    if r < lay.header_last:
        _check_header(ctx, lay, header)
    if form.form == "summary" and form.kind == "report":
        per_org: dict[Any, int] = {}
        for rec, at in zip(records, record_rows, strict=True):
            o = rec.get(ORG_COLUMN, org)
            per_org[o] = per_org.get(o, 0) + 1
            if per_org[o] == 2:
                ctx.add(INCONSISTENT, f"汇总表每个填报单位只能填一行（{o}），这是第二行", f"a summary has one row per unit ({o}); this is a second one", at, 0)
    if len(ctx.out) > before:
        raise _Stop()
    period = meta.get("period") or None
    return Parsed(form, lay, org, period, records, sha)


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


def _db_value(pool: Pool, c: FormColumn, v: Any) -> Any:
    if v is None:
        return None
    if pool.dialect == "sqlite":
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() and c.type == "integer" else float(v)
        if isinstance(v, datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, date):
            return v.isoformat()
    return v


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


def write(pool: Pool, parsed: Parsed, file_label: str, who: str | None = None, dry_run: bool = False) -> tuple[int, int, int, int]:
    """Apply the file to the pool as a difference; returns (inserted, updated, deleted, unchanged)."""
    form = parsed.form
    data_cols = list(form.columns)
    names = [c.name for c in data_cols]
    by_name = {c.name: c for c in data_cols}
    p = pool.param
    t = f'"{form.table}"'
    scope_cols = ["org_unit", *(["period"] if form.periodic else [])]

    def org_of(rec: dict[str, Any]) -> str:
        return str(rec.get(ORG_COLUMN) or parsed.org)

    orgs = sorted({org_of(rec) for rec in parsed.rows})
    select_cols = _cols(["org_unit", *names])
    if form.kind == "ledger":
        sql = f"SELECT {select_cols} FROM {t}"
        _, existing_rows = pool.query(sql)
    else:
        existing_rows = []
        for o in orgs if parsed.org is None else [parsed.org]:
            _, got = pool.query(f"SELECT {select_cols} FROM {t} WHERE {_where(pool, scope_cols)}", [o, parsed.period or ""])
            existing_rows += got
    key_cols = list(form.key)
    keyed = bool(key_cols) or form.form == "summary"

    def canon_row(vals: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_canon(by_name[n], vals.get(n)) for n in names)

    def kf(org: str, vals: dict[str, Any]) -> tuple[Any, ...]:
        own = tuple(_canon(by_name[k], vals.get(k)) for k in key_cols)
        return own if form.kind == "ledger" else (org, *own)

    existing: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}
    existing_by_org: dict[str, list[dict[str, Any]]] = {}
    for row in existing_rows:
        vals = dict(zip(names, row[1:], strict=True))
        existing_by_org.setdefault(str(row[0]), []).append(vals)
        if keyed:
            existing[kf(str(row[0]), vals)] = (str(row[0]), vals)
    now = datetime.now().astimezone().replace(microsecond=0).isoformat()
    user = who or _os_user()
    history: list[tuple[Any, ...]] = []
    ops: list[tuple[str, list[Any]]] = []
    ins_sql = f"INSERT INTO {t} ({_cols([*scope_cols, *names])}) VALUES ({', '.join([p] * (len(scope_cols) + len(names)))})"

    def scope_vals(o: str) -> list[Any]:
        return [o, parsed.period or ""] if form.periodic else [o]

    inserted = updated = deleted = unchanged = 0

    def hist(org: str, key: Any, action: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        def js(d: dict[str, Any] | None) -> str | None:
            return None if d is None else json.dumps({k: _canon(by_name[k], v) for k, v in d.items() if k in by_name}, ensure_ascii=False)

        history.append(
            (
                now,
                user,
                file_label,
                parsed.sha256,
                form.uid,
                form.table,
                org,
                parsed.period,
                json.dumps(key, ensure_ascii=False, default=str),
                action,
                js(old),
                js(new),
            )
        )

    def insert(org: str, rec: dict[str, Any]) -> None:
        ops.append((ins_sql, [*scope_vals(org), *(_db_value(pool, by_name[n], rec.get(n)) for n in names)]))

    if keyed:
        matched: set[tuple[Any, ...]] = set()
        for rec in parsed.rows:
            org = org_of(rec)
            k = kf(org, rec)
            old = existing.get(k)
            if old is None:
                insert(org, rec)
                hist(org, k, "insert", None, rec)
                inserted += 1
                continue
            matched.add(k)
            old_org, old_vals = old
            if old_org == org and canon_row(old_vals) == canon_row(rec):
                unchanged += 1
                continue
            where_cols = ([] if form.kind == "ledger" else scope_cols) + key_cols
            where_vals = ([] if form.kind == "ledger" else scope_vals(org)) + [_db_value(pool, by_name[kc], rec.get(kc)) for kc in key_cols]
            sets = ", ".join(f'"{n}" = {p}' for n in ["org_unit", *names])
            ops.append(
                (f"UPDATE {t} SET {sets} WHERE {_where(pool, where_cols)}", [org, *(_db_value(pool, by_name[n], rec.get(n)) for n in names), *where_vals])
            )
            hist(org, k, "update", old_vals, rec)
            updated += 1
        if form.kind == "report":  # the file is the unit's whole return for the period
            for k, (old_org, old_vals) in existing.items():
                if k not in matched and old_org in orgs:
                    where_vals = [*scope_vals(old_org), *(_db_value(pool, by_name[kc], old_vals.get(kc)) for kc in key_cols)]
                    ops.append((f"DELETE FROM {t} WHERE {_where(pool, scope_cols + key_cols)}", where_vals))
                    hist(old_org, k, "delete", old_vals, None)
                    deleted += 1
    else:  # a roster without a key: the file replaces the unit's rows for the period when anything differs
        for org in orgs:
            new_rows = [rec for rec in parsed.rows if org_of(rec) == org]
            old_rows = existing_by_org.get(org, [])
            if sorted(map(repr, map(canon_row, new_rows))) == sorted(map(repr, map(canon_row, old_rows))):
                unchanged += len(new_rows)
                continue
            ops.append((f"DELETE FROM {t} WHERE {_where(pool, scope_cols)}", scope_vals(org)))
            for i, old_vals in enumerate(old_rows):
                hist(org, i + 1, "delete", old_vals, None)
            deleted += len(old_rows)
            for i, rec in enumerate(new_rows):
                insert(org, rec)
                hist(org, i + 1, "insert", None, rec)
            inserted += len(new_rows)
    if dry_run or not ops:
        return inserted, updated, deleted, unchanged
    pool.begin()
    try:
        _ensure_history(pool)
        inserts = [params for s, params in ops if s == ins_sql]
        for s, params in ops:
            if s != ins_sql:
                pool.execute(s, params)
        if inserts:
            pool.executemany(ins_sql, inserts)
        if history:
            pool.executemany(f'INSERT INTO "{HISTORY}" VALUES ({", ".join([p] * 12)})', history)
        pool.commit()
    except Exception:
        pool.rollback()
        raise
    return inserted, updated, deleted, unchanged


def ingest(paths: Sequence[Path], url: str, *, dry_run: bool = False, who: str | None = None, display: dict[Path, str] | None = None) -> list[IngestResult]:
    """Check and load each file; a file with any problem writes nothing (the others still load)."""
    pool = Pool.connect(url)
    try:
        project = pool_project(pool)
        out: list[IngestResult] = []
        for path in paths:
            label = (display or {}).get(path, str(path))
            res = IngestResult(label)
            parsed = parse(path, project, res.diagnostics, label)
            if parsed is not None:
                res.form, res.table, res.rows = parsed.form.uid, parsed.form.table, len(parsed.rows)
                try:
                    res.inserted, res.updated, res.deleted, res.unchanged = write(pool, parsed, path.name, who, dry_run)
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
        pool.close()
