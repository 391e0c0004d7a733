"""Recover the layout of legacy Excel forms: title, fill-in lines, header block, numbering row, data rows.

A district form is rarely a clean table. Above the table sit a (merged or not) title, fill-in lines such
as ``填报单位（盖章）：___ 填报日期：``, and a unit line; the header has one to three rows of merged groups
above the leaf labels, sometimes followed by a column-numbering row (``甲 乙 1 2 3``); below the data
come 合计 rows and footers (制表人 / 审核人 / 负责人, notes). A workbook may hold several forms and
instruction sheets (填表说明) anywhere.

Values come from python-calamine (fast, also for 10,000-row forms); merged ranges too. Hidden columns
are read from the sheet's XML head (the ``<cols>`` element precedes the cell data), so openpyxl is
never needed to read a workbook.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path, PurePosixPath
from typing import Any

from ybt.analyze.labels import UNITS
from ybt.diagnostics import Text
from ybt.importers import ImportFailure
from ybt.importers.values import ColumnValues, cell_text, kind_of

#: Sheet names that hold instructions, not forms (checked on the normalised name).
INSTRUCTION_SHEET = re.compile(r"说明|须知|指标解释|填报要求|注意事项|填报口径|口径|目录|封面|示例|样表说明|readme|instruction|代码表|字典|参数", re.I)
_FILL_IN = re.compile(r"[:：]|年\s*月\s*日|盖\s*章|^\s*单位\s*[（(]")
_NUMBERING_TOKEN = re.compile(r"^(?:[甲乙丙丁戊己庚辛壬癸]|[①-⑳]|[(（]?\d{1,3}[)）]?|[A-Z]|栏次|栏号|序|[一二三四五六七八九十]{1,3}|\d{1,3}\s*[=＝].*)$")
_TOTAL = re.compile(r"^(?:总\s*计|合\s*计|小\s*计|累\s*计|共\s*计|本页小计|本页合计|全\S{0,6}合计|\S{0,8}(?:合计|总计|小计))$")
_FILL_IN_WORDS = re.compile(
    r"^(?:(?:填报|填表|报送|报表|统计|制表|报出)(?:单位|日期|时间|人|机关|截止)\S{0,6}|(?:单位|日期|时间)|年月日|\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|"
    r"附件\s*\d*|附表\s*\d*|表\s*[0-9一二三四五六七八九十]+(?:[-－]\d+)?|[(（][^()（）]{1,12}[)）])$"
)
_NOT_TITLE = re.compile(r"^(?:附件|附表|表\s*[0-9一二三四五六七八九十]|编号|密级|[(（])")
_FOOTER_START = re.compile(
    r"^(?:制表人|制表|填表人|填报人|审核人|审核|复核人|负责人|单位负责人|统计负责人|主管领导|分管领导|经办人|报出日期|填表日期|填报日期|"
    r"统计人|审批人|核实人|调查人|联系人\s*[:：]|填报单位|填表单位|单位\s*[（(]\s*盖章|"
    r"以下空白|以下无|此页空白|联系电话\s*[:：]|注\s*[:：、]|注\s*\d|备注\s*[:：]|说明\s*[:：]|填表说明|附注)"
)
_SIGNATURE = re.compile(r"(?:制表人|填表人|填报人|审核人|复核人|负责人|经办人|统计人|审批人|联系人|签字|签名|盖章)\s*(?:（[^）]*）)?\s*[:：]")
_SERIAL = re.compile(r"^(?:序号|序|编号序|顺序号|No\.?|NO\.?|行次|栏次)$")
_REMARK = re.compile(r"^(?:备注|说明|备考|其他说明)$")
_STRUCTURAL_LEAF = re.compile(r"^(?:序号|序|备注|说明|备考)$")
_SIGNATURE_COLUMN = re.compile(r"签字|签名|签章|盖章|手印|指印|本人确认")
_SUMMARY_TITLE = re.compile(r"汇总|统计表|统计报表|情况表|情况统计|一览表|进度表|月报|季报|年报")
_ROSTER_TITLE = re.compile(r"花名册|名册|名单|明细|台账|登记表|信息表|清单|调查表|申请表|档案")
_ORG_LABEL = re.compile(r"^(?:乡镇|镇街|街道|镇|村|社区|村（社区）|村\(社区\)|单位|单位名称|地区|区域|行政区划|镇（街道）|乡镇（街道）|所在镇街|所属村)")
_PERSON_LABEL = re.compile(r"姓名|身份证|身份號|名字|公民身份")
HEADER_SEARCH_ROWS = 40
MAX_HEADER_ROWS = 5


def col_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass
class ImportedColumn:
    index: int
    label: str
    path: list[str]
    cell: str
    hidden: bool = False
    values: ColumnValues = dc_field(default_factory=ColumnValues)
    #: serial (序号), remark (备注), signature: structural columns that need no field.
    structural: str | None = None
    field: str | None = None
    type: str | None = None
    type_share: float = 0.0
    evidence: list[dict[str, Any]] = dc_field(default_factory=list)

    @property
    def col(self) -> str:
        return col_letter(self.index)


@dataclass
class Form:
    file: str
    path: Path
    sheet: str
    title: str | None
    title_cell: str | None
    kind: str
    header_rows: tuple[int, int]  # 1-based, label rows only
    numbering_row: int | None
    data_rows: tuple[int, int] | None
    data_row_count: int
    fill_in: dict[str, str]
    columns: list[ImportedColumn]
    footer: list[str]
    skipped_rows: dict[str, list[int]]
    notes: list[Text] = dc_field(default_factory=list)
    #: The last sheet row (1-based) the form takes, footer included: another form may follow below.
    end_row: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "title": self.title,
            "kind": self.kind,
            "header_rows": list(self.header_rows),
            "numbering_row": self.numbering_row,
            "data_rows": list(self.data_rows) if self.data_rows else None,
            "data_row_count": self.data_row_count,
            "fill_in": self.fill_in,
            "columns": [
                {
                    "col": c.col,
                    "label": c.label,
                    "path": list(c.path),
                    "field": c.field,
                    "type": c.type,
                    "cell": c.cell,
                    "hidden": c.hidden,
                    "structural": c.structural,
                    "evidence": c.evidence,
                }
                for c in self.columns
            ],
            "footer": self.footer,
            "notes": [n.to_dict() for n in self.notes],
        }


@dataclass
class SkippedSheet:
    file: str
    sheet: str
    reason: Text


@dataclass
class WorkbookResult:
    forms: list[Form]
    skipped: list[SkippedSheet]


# --------------------------------------------------------------------------------------------
# Reading


def _hidden_columns(path: Path) -> dict[str, set[int]]:
    """Sheet name → 0-based indexes of hidden columns, read from the head of each sheet's XML."""
    out: dict[str, set[int]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            wb = zf.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            targets = {m.group(1): m.group(2) for m in re.finditer(r'<Relationship[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}
            targets.update({m.group(2): m.group(1) for m in re.finditer(r'<Relationship[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
            for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb):
                attrs = m.group(1)
                name_m = re.search(r'\bname="([^"]*)"', attrs)
                rid_m = re.search(r'\br:id="([^"]*)"', attrs) or re.search(r'\b\w+:id="([^"]*)"', attrs)
                if not name_m or not rid_m or rid_m.group(1) not in targets:
                    continue
                target = targets[rid_m.group(1)]
                member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
                head = b""
                try:
                    with zf.open(member) as fh:
                        while b"<sheetData" not in head and len(head) < 4_000_000:
                            chunk = fh.read(65536)
                            if not chunk:
                                break
                            head += chunk
                except KeyError:
                    continue
                hidden: set[int] = set()
                for col in re.finditer(rb"<(?:\w+:)?col\b([^>]*)/?>", head.split(b"<sheetData", 1)[0]):
                    a = col.group(1)
                    if re.search(rb'\bhidden="(?:1|true)"', a):
                        lo = re.search(rb'\bmin="(\d+)"', a)
                        hi = re.search(rb'\bmax="(\d+)"', a)
                        if lo and hi:
                            hidden.update(range(int(lo.group(1)) - 1, min(int(hi.group(1)), 16384)))
                out[_xml_unescape(name_m.group(1))] = hidden
    except (OSError, KeyError, zipfile.BadZipFile):
        return out
    return out


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


def open_workbook(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFailure(
            str(path),
            Text("不支持旧版 Excel 97-2003 格式（.xls）", "the old Excel 97-2003 format (.xls) is not supported"),
            Text("请在 Excel 或 WPS 中“另存为” .xlsx 后再导入", "save it as .xlsx in Excel or WPS (Save As) and import that"),
        )
    if suffix not in (".xlsx", ".xlsm"):
        raise ImportFailure(str(path), Text(f"不是 Excel 工作簿（{suffix or '无扩展名'}）", f"not an Excel workbook ({suffix or 'no extension'})"))
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportFailure(
            str(path), Text("缺少 python-calamine", "python-calamine is not installed"), Text("pip install python-calamine", "pip install python-calamine")
        ) from exc
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:8] if path.is_file() else b""
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFailure(
                str(path),
                Text("文件实际是旧版 .xls 格式或已加密（只是扩展名为 .xlsx）", "the file is really an old .xls workbook or encrypted (only named .xlsx)"),
                Text("请在 Excel 或 WPS 中另存为 .xlsx（并去掉打开密码）", "save it as .xlsx in Excel or WPS (without an open password)"),
            )
        raise ImportFailure(str(path), Text("文件已损坏或不是 .xlsx 工作簿", "the file is damaged or not an .xlsx workbook"))
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise ImportFailure(str(path), Text(f"无法读取工作簿：{exc}", f"cannot read the workbook: {exc}")) from exc


def read_workbook(path: Path, display: str | None = None) -> WorkbookResult:
    """Every form of one workbook, and the sheets skipped with the reason."""
    name = display or path.name
    wb = open_workbook(path)
    hidden = _hidden_columns(path)
    forms: list[Form] = []
    skipped: list[SkippedSheet] = []
    try:
        meta = {m.name: m for m in wb.sheets_metadata}
        for sheet_name in wb.sheet_names:
            m = meta.get(sheet_name)
            if m is not None and str(getattr(m.typ, "name", m.typ)) not in ("WorkSheet", "SheetTypeEnum.WorkSheet"):
                skipped.append(SkippedSheet(name, sheet_name, Text("不是工作表（图表页等）", "not a worksheet (a chart sheet or similar)")))
                continue
            if m is not None and str(getattr(m.visible, "name", m.visible)) not in ("Visible", "SheetVisibleEnum.Visible"):
                skipped.append(SkippedSheet(name, sheet_name, Text("隐藏的工作表（多为下拉选项等辅助数据）", "a hidden sheet (usually lookup lists)")))
                continue
            if INSTRUCTION_SHEET.search(sheet_name):
                skipped.append(SkippedSheet(name, sheet_name, Text("说明类工作表", "an instruction sheet")))
                continue
            try:
                sheet = wb.get_sheet_by_name(sheet_name)
                rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
                merges = [((a[0], a[1]), (b[0], b[1])) for a, b in (sheet.merged_cell_ranges or [])]
            except Exception as exc:  # noqa: BLE001
                skipped.append(SkippedSheet(name, sheet_name, Text(f"无法读取：{exc}", f"cannot be read: {exc}")))
                continue
            begin = 0
            while True:  # several forms may stand one below another on one sheet
                try:
                    result = analyse_sheet(name, path, sheet_name, rows, merges, hidden.get(sheet_name, set()), begin)
                except Exception as exc:  # noqa: BLE001 - one odd sheet must not stop the import of the others
                    result = Text(f"无法识别此工作表（{type(exc).__name__}: {exc}）", f"cannot make out this sheet ({type(exc).__name__}: {exc})")
                if isinstance(result, Text):
                    if begin == 0:
                        skipped.append(SkippedSheet(name, sheet_name, result))
                    break
                if begin and result.data_rows is None:
                    break  # below a form, a header without data is a note or a signature block, not a form
                forms.append(result)
                if result.end_row <= begin or result.end_row >= len(rows) or result.data_rows is None:
                    break
                begin = result.end_row
    finally:
        with contextlib.suppress(Exception):
            wb.close()
    return WorkbookResult(forms, skipped)


# --------------------------------------------------------------------------------------------
# Layout


class _Grid:
    """Cell texts with merged ranges resolved to their anchor."""

    def __init__(self, rows: list[list[Any]], merges: Sequence[tuple[tuple[int, int], tuple[int, int]]], top: int, begin: int = 0) -> None:
        self.rows = rows
        self.width = max((len(r) for r in rows[begin : begin + top + 200]), default=0)
        self.anchor: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        self.merges = [(a[0], a[1], b[0], b[1]) for a, b in merges]
        for r1, c1, r2, c2 in self.merges:
            if r1 > begin + top or r2 < begin or (r2 - r1 + 1) * (c2 - c1 + 1) > 20000:
                continue
            for r in range(max(r1, begin), min(r2, begin + top) + 1):
                for c in range(c1, c2 + 1):
                    self.anchor[(r, c)] = (r1, c1, r2, c2)

    def raw(self, r: int, c: int) -> Any:
        if r >= len(self.rows) or c >= len(self.rows[r]):
            return None
        return self.rows[r][c]

    def text(self, r: int, c: int) -> str:
        a = self.anchor.get((r, c))
        if a is not None:
            return cell_text(self.raw(a[0], a[1]))
        return cell_text(self.raw(r, c))

    def key(self, r: int, c: int) -> tuple[int, int]:
        a = self.anchor.get((r, c))
        return (a[0], a[1]) if a is not None else (r, c)

    def merged(self, r: int, c: int) -> tuple[int, int, int, int] | None:
        return self.anchor.get((r, c))

    def anchors(self, r: int) -> list[tuple[int, int, str]]:
        """Distinct non-empty cells of a row: (column of the anchor, last column covered, text)."""
        out: list[tuple[int, int, str]] = []
        seen: set[tuple[int, int]] = set()
        row = self.rows[r] if r < len(self.rows) else []
        for c in range(max(len(row), self.width)):
            k = self.key(r, c)
            if k in seen:
                continue
            seen.add(k)
            t = self.text(r, c)
            if t:
                m = self.merged(r, c)
                out.append((c, m[3] if m else c, t))
        return out


def _label_like(text: str) -> bool:
    if not text or len(text) > 50:
        return False
    k = kind_of(text)
    return k in ("text", "year_month") or (k in ("integer",) and False)


def _is_fill_in(cells: list[tuple[int, int, str]]) -> bool:
    if not cells:
        return False
    hits = sum(1 for _, _, t in cells if (_FILL_IN.search(t) and not t.lstrip().startswith("其中")) or _FILL_IN_WORDS.match(re.sub(r"\s+", "", t)))
    return hits * 2 >= len(cells) and hits >= 1


def _is_numbering(cells: list[tuple[int, int, str]]) -> bool:
    if len(cells) < 2:
        return False
    hits = [re.sub(r"[①-⑳]", lambda m: str(ord(m.group(0)) - 0x245F), t.replace(" ", "")) for _, _, t in cells if _NUMBERING_TOKEN.match(t.replace(" ", ""))]
    if len(hits) * 10 < len(cells) * 7:
        return False
    digits = [int(re.sub(r"\D", "", t)) for t in hits if re.sub(r"\D", "", t).isdigit() and len(re.sub(r"\D", "", t)) <= 3]
    return (len(digits) >= 2 and digits == sorted(digits)) or any(t in ("甲", "乙", "栏次") for t in hits)


def _is_unit(text: str) -> bool:
    t = re.sub(r"\s+", "", text).strip("()（）[]【】")
    t = re.sub(r"^(?:计量)?单位[:：]?", "", t)
    return t in UNITS or t.lower() in UNITS or t in ("—", "-", "/", "元/月", "万元", "%")


def _fill_in_pairs(texts: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in texts:
        # 表    号： → 表号： (keys spaced out to fill the cell)
        t = re.sub(r"(^|\s)([\u4e00-\u9fff])\s+([\u4e00-\u9fff])(\s*[:：])", r"\1\2\3\4", text)
        for m in re.finditer(r"([^:：\s_]{2,16}?)\s*[:：]\s*([^:：]*?)(?=\s{2,}|\s*[^:：\s_]{2,16}[:：]|$)", t):
            key = m.group(1).strip()
            val = m.group(2).strip().strip("_").strip()
            if re.fullmatch(r"[\s_年月日]*", val):
                val = ""  # a blank to fill: ___ or 年 月 日
            if key:
                out[key] = val
    return out


def _find_header_start(g: _Grid, limit: int, begin: int = 0) -> int | None:
    for r in range(begin, min(begin + limit, len(g.rows))):
        cells = g.anchors(r)
        labels = [c for c in cells if _label_like(c[2])]
        if len(labels) < 2 or _is_fill_in(cells):
            continue
        if len(labels) * 10 < len(cells) * 6:
            continue
        return r
    return None


def _header_end(g: _Grid, start: int, span: tuple[int, int]) -> int:
    end = start
    r = start
    while r <= end:
        for c in range(span[0], span[1] + 1):
            m = g.merged(r, c)
            if m is not None and m[0] >= start:
                end = max(end, min(m[2], start + MAX_HEADER_ROWS - 1))
        r += 1
    # Groups written without merging: a label row over gaps that the next label row fills.
    while end - start + 1 < MAX_HEADER_ROWS and end + 1 < len(g.rows):
        nxt = end + 1
        cells = [c for c in g.anchors(nxt) if span[0] <= c[0] <= span[1]]
        if not cells or _is_numbering(cells) or not all(_label_like(t) for _, _, t in cells):
            break
        gaps = [c for c, _, _ in cells if not g.text(end, c) and g.merged(end, c) is None]
        leaves_blank = any(g.text(end, c) and not g.text(nxt, c) for c in range(span[0], span[1] + 1))
        if not gaps or (not leaves_blank and len(gaps) * 2 < len(cells)):
            break
        end = nxt
    return end


_TITLE_END = re.compile(r"(?:表|名册|名单|台账|清单)(?:[（(].*[)）])?$|^.{13,}$")


def _group_row_above(g: _Grid, start: int, span: tuple[int, int]) -> int:
    """A row of group labels above the first label row, over some of its columns only (基本情况 over 性别 年龄)."""
    if start == 0:
        return start
    cells = g.anchors(start - 1)
    if not cells or _is_fill_in(cells) or not all(_label_like(t) and not _TITLE_END.search(t) for _, _, t in cells):
        return start
    if any(c < span[0] or last > span[1] for c, last, _ in cells):
        return start
    covered = sum(last - c + 1 for c, last, _ in cells)
    if covered >= span[1] - span[0] + 1 or cells[0][0] == span[0]:
        return start
    # Each group must stand over label cells of the row below.
    if all(any(g.text(start, c) for c in range(c0, last + 1)) for c0, last, _ in cells):
        return start - 1
    return start


def _span(g: _Grid, start: int, end: int) -> tuple[int, int]:
    lo, hi = 10**9, -1
    for r in range(start, end + 1):
        for c, last, _t in g.anchors(r):
            lo, hi = min(lo, c), max(hi, last)
    return lo, hi


def analyse_sheet(
    file: str,
    path: Path,
    sheet: str,
    rows: list[list[Any]],
    merges: Sequence[tuple[tuple[int, int], tuple[int, int]]],
    hidden_cols: set[int] | None = None,
    begin: int = 0,
) -> Form | Text:
    """The form on one sheet from row ``begin`` (0-based) on, or why there is none."""
    if not rows or all(not cell_text(v) for row in rows[begin : begin + HEADER_SEARCH_ROWS] for v in row):
        return Text("空工作表", "an empty sheet")
    g = _Grid(rows, merges, HEADER_SEARCH_ROWS + MAX_HEADER_ROWS + 2, begin)
    start = _find_header_start(g, HEADER_SEARCH_ROWS, begin)
    if start is None:
        return Text("没有找到表头（说明或空白页）", "no header found (instructions or a blank page)")
    span = _span(g, start, start)
    start = _group_row_above(g, start, span)
    span = _span(g, start, start + 1 if start + 1 < len(rows) else start)
    end = _header_end(g, start, span)
    span = _span(g, start, end)
    end = _header_end(g, start, span)
    # Above the header: title, fill-in lines, unit lines.
    title: str | None = None
    title_cell: str | None = None
    fill_texts: list[str] = []
    for r in range(begin, start):
        cells = g.anchors(r)
        if not cells:
            continue
        if title is None:
            # A title may share its row with 表号： / 制表机关： cells: the one cell that is not a fill-in.
            lone = [c for c in cells if not _FILL_IN.search(c[2]) and not _FILL_IN_WORDS.match(re.sub(r"\s+", "", c[2]))]
            if len(lone) == 1 and len(cells) > 1 and _TITLE_END.search(lone[0][2].strip()) and not _NOT_TITLE.match(lone[0][2].strip()):
                title, title_cell = re.sub(r"\s+", " ", lone[0][2]).strip(), f"{col_letter(lone[0][0])}{r + 1}"
                fill_texts.extend(t for c, _, t in cells if c != lone[0][0])
                continue
        if _is_fill_in(cells):
            fill_texts.extend(t for _, _, t in cells)
            continue
        if title is None and len(cells) <= 2 and len(cells[0][2]) >= 3 and not _NOT_TITLE.match(cells[0][2].strip()):
            title, title_cell = re.sub(r"\s+", " ", cells[0][2]).strip(), f"{col_letter(cells[0][0])}{r + 1}"
        elif title is not None and len(cells) == 1:
            fill_texts.append(cells[0][2])
    # Leaf labels and group paths per column.
    header: dict[tuple[int, int], tuple[str, tuple[int, int]]] = {}
    for r in range(start, end + 1):
        for c in range(span[0], span[1] + 1):
            t = g.text(r, c)
            if t:
                header[(r, c)] = (t, g.key(r, c))

    def has_below(r: int, c: int) -> bool:
        return any((r2, c) in header for r2 in range(r + 1, end + 1))

    for r in range(start, end):
        last: tuple[str, tuple[int, int]] | None = None
        for c in range(span[0], span[1] + 1):
            if (r, c) in header:
                last = header[(r, c)] if has_below(r, c) and g.merged(r, c) is None else None
                if g.merged(r, c) is not None:
                    last = None
                continue
            leaf_below = next((header[(r2, c)][0] for r2 in range(end, r, -1) if (r2, c) in header), "")
            if last is not None and g.merged(r, c) is None and has_below(r, c) and not _STRUCTURAL_LEAF.match(re.sub(r"\s+", "", leaf_below)):
                header[(r, c)] = last
            else:
                last = None
    hidden_cols = hidden_cols or set()
    columns: list[ImportedColumn] = []
    unlabelled: list[str] = []
    for c in range(span[0], span[1] + 1):
        seq: list[tuple[str, tuple[int, int]]] = []
        for r in range(start, end + 1):
            h = header.get((r, c))
            if h is not None and (not seq or seq[-1][1] != h[1]):
                seq.append(h)
        if not seq:
            unlabelled.append(col_letter(c))
            continue
        leaf, key = seq[-1]
        label = leaf.strip()
        col = ImportedColumn(c, label, [s[0].strip() for s in seq[:-1]], f"{col_letter(key[1])}{key[0] + 1}", hidden=c in hidden_cols)
        plain = re.sub(r"\s+", "", label)
        if _SERIAL.match(plain):
            col.structural = "serial"
        elif _REMARK.match(plain):
            col.structural = "remark"
        elif _SIGNATURE_COLUMN.search(plain):
            col.structural = "signature"
        columns.append(col)
    if len(columns) < 2:
        return Text("表头少于两栏，不像一张表", "fewer than two header columns: not a form")
    numbering: int | None = None
    unit_rows: list[int] = []
    first = end + 1
    for _ in range(2):  # a numbering row and a row of units (人 / 户 / 元), in either order
        if first >= len(rows):
            break
        numbering_cells = [c for c in g.anchors(first) if span[0] <= c[0] <= span[1]]
        if numbering is None and _is_numbering(numbering_cells):
            numbering = first
        elif len(numbering_cells) >= 2 and all(_is_unit(t) for _, _, t in numbering_cells):
            unit_rows.append(first + 1)
        else:
            break
        first += 1
    # Data rows, 合计 rows and footers.
    data_first = data_last = -1
    last_row = first - 1
    count = 0
    footer: list[str] = []
    skipped_rows: dict[str, list[int]] = {"total": [], "blank": []}
    by_index = {col.index: col for col in columns}
    lo, hi = span
    r = first
    n = len(rows)
    while r < n:
        row = rows[r]
        raw_cells = [(c, cell_text(row[c])) for c in range(lo, min(hi + 1, len(row))) if row[c] is not None and row[c] != ""]
        row_cells = [(c, t) for c, t in raw_cells if t]
        if not row_cells:
            skipped_rows["blank"].append(r + 1)
            nxt = next((k for k in range(r + 1, min(n, r + 4)) if any(cell_text(v) for v in rows[k])), None)
            if data_first >= 0 and nxt is not None and _next_form_title([t for t in (cell_text(v) for v in rows[nxt]) if t]):
                break  # a blank row, then the title of another form on the same sheet
            r += 1
            continue
        head = row_cells[0][1].replace(" ", "").replace("\u3000", "")
        if _FOOTER_START.match(head) or any(_SIGNATURE.search(t) for _, t in row_cells):
            footer.extend(t for _, t in row_cells)
            last_row = r
            blank = 0
            for r2 in range(r + 1, min(n, r + 30)):
                texts = [t for t in (cell_text(v) for v in rows[r2]) if t]
                if not texts:
                    blank += 1
                    if blank >= 2:
                        break
                    continue
                if blank and _next_form_title(texts):
                    break
                blank = 0
                footer.extend(texts)
                last_row = r2
            break
        if len(row_cells) == 1 and len(head) > 40 and count:
            footer.append(row_cells[0][1])
            last_row = r
            break
        if any(_TOTAL.match(t.replace(" ", "").replace("\u3000", "")) for _, t in row_cells[:3]):
            skipped_rows["total"].append(r + 1)
            last_row = r
            r += 1
            continue
        if data_first < 0:
            data_first = r
        data_last = last_row = r
        count += 1
        for c, _t in row_cells:
            target = by_index.get(c)
            if target is not None:
                target.values.add(row[c])
        r += 1
    skipped_rows["blank"] = [b for b in skipped_rows["blank"] if data_first >= 0 and data_first + 1 < b < data_last + 1]
    for col in columns:
        col.type, col.type_share = col.values.infer()
    kind = _kind(title, columns)
    notes: list[Text] = []
    if data_first < 0:
        notes.append(Text("表中没有数据行，类型只能按表头推断", "the form has no data rows: types come from labels only"))
    if unlabelled:
        notes.append(Text(f"没有栏目名的列已跳过：{'、'.join(unlabelled)}", f"columns without a heading were skipped: {', '.join(unlabelled)}"))
    if end - start + 1 > 3:
        notes.append(Text(f"表头有 {end - start + 1} 行，请核对分组", f"the header has {end - start + 1} rows: check the groups"))
    if any(c.type == "uscc" and c.values.kinds["registration_no"] for c in columns):
        notes.append(Text("信用代码栏中混有 15 位旧工商注册号", "the credit-code column also holds old 15-digit registration numbers"))
    hidden = [c.col for c in columns if c.hidden]
    if hidden:
        notes.append(Text(f"隐藏的列：{'、'.join(hidden)}", f"hidden columns: {', '.join(hidden)}"))
    return Form(
        file=file,
        path=path,
        sheet=sheet,
        title=title,
        title_cell=title_cell,
        kind=kind,
        header_rows=(start + 1, end + 1),
        numbering_row=numbering + 1 if numbering is not None else None,
        data_rows=(data_first + 1, data_last + 1) if data_first >= 0 else None,
        data_row_count=count,
        fill_in=_fill_in_pairs(fill_texts),
        columns=columns,
        footer=footer[:40],
        skipped_rows={**skipped_rows, "units": unit_rows},
        end_row=last_row + 1,
        notes=notes,
    )


def _next_form_title(texts: list[str]) -> bool:
    return len(texts) <= 2 and bool(re.search(r"(?:表|名册|名单|台账|清单)(?:[（(].*[)）])?$", texts[0].strip())) and len(texts[0].strip()) >= 4


def _kind(title: str | None, columns: list[ImportedColumn]) -> str:
    plain = [re.sub(r"\s+", "", c.label) for c in columns if c.structural is None]
    person = any(_PERSON_LABEL.search(p) for p in plain) or any(c.type in ("resident_id", "uscc") for c in columns)
    t = title or ""
    if re.search(r"花名册|名册|名单|明细|清单|台账", t):
        return "roster"
    if _ROSTER_TITLE.search(t) and not re.search(r"汇总", t):
        return "roster"
    if person and not re.search(r"汇总", t):
        return "roster"
    numeric = sum(
        1
        for c in columns
        if c.structural is None
        and (c.type in ("integer", "decimal") or re.search(r"(?:数|人数|户数|金额|合计|个数|面积|总额|比例|率)(?:[（(].*[)）])?$", c.label))
    )
    org_first = bool(plain) and bool(_ORG_LABEL.match(plain[0]))
    if re.search(r"汇总", t) or (_SUMMARY_TITLE.search(t) and numeric * 2 >= len(plain)) or (org_first and numeric * 2 >= len(plain)):
        return "summary"
    return "roster"
