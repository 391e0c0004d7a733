"""A varied corpus of legacy district forms, built with openpyxl, with the layout and the same-field truth.

Each form is declared as data (title, fill-in lines, leaf columns with their header groups, rows, 合计 rows,
footers, where it starts) and :func:`write_form` lays it out the way district staff do: merged or
unmerged titles and groups, vertical merges for single-level columns, numbering rows. Every column
carries a *concept key*; two columns of different forms with the same key mean the same data element
(the truth for pair precision and recall), ``None`` marks structural columns (序号, 备注, 签字).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉春梅海燕德明"


def resident_id(rng: random.Random, birth: dt.date | None = None) -> str:
    birth = birth or dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 30000))
    body = f"500199{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def uscc(rng: random.Random) -> str:
    body = "91" + "500199" + "".join(rng.choice(_USCC) for _ in range(9))
    total = sum(_USCC.index(c) * (3**i % 31) for i, c in enumerate(body))
    return body + _USCC[(31 - total % 31) % 31]


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


@dataclass
class Col:
    label: str
    path: tuple[str, ...] = ()
    key: str | None = None  # concept key; None: structural
    value: Callable[[random.Random, int], Any] | None = None
    hidden: bool = False
    std: str | None = None  # the standard field it must map to, when there is one


@dataclass
class FormSpec:
    file: str
    sheet: str
    title: str | None
    columns: list[Col]
    rows: int = 12
    kind: str = "roster"
    start_row: int = 1  # 1-based row of the title (or of the header when there is no title)
    start_col: int = 1  # 1-based
    merge_title: bool = True
    fill_in: list[str] = field(default_factory=list)
    merge_groups: bool = True
    numbering: bool = False
    total_row: bool = False
    footer: list[str] = field(default_factory=list)
    blank_before_header: bool = False


@dataclass
class Truth:
    file: str
    sheet: str
    title: str | None
    kind: str
    header_rows: tuple[int, int]
    data_rows: tuple[int, int]
    columns: list[tuple[str, str, tuple[str, ...], str | None, str | None]]  # col, label, path, key, std


def write_form(ws: Worksheet, spec: FormSpec, rng: random.Random) -> Truth:
    c0 = spec.start_col
    width = len(spec.columns)
    r = spec.start_row
    if spec.title is not None:
        ws.cell(r, c0, spec.title)
        if spec.merge_title and width > 1:
            ws.merge_cells(start_row=r, start_column=c0, end_row=r, end_column=c0 + width - 1)
        r += 1
    for line in spec.fill_in:
        ws.cell(r, c0, line)
        r += 1
    if spec.blank_before_header:
        r += 1
    depth = max(len(c.path) for c in spec.columns) + 1
    h0 = r
    for j, col in enumerate(spec.columns):
        cidx = c0 + j
        leaf_row = h0 + len(col.path)
        ws.cell(leaf_row, cidx, col.label)
        if spec.merge_groups and leaf_row < h0 + depth - 1:
            ws.merge_cells(start_row=leaf_row, start_column=cidx, end_row=h0 + depth - 1, end_column=cidx)
        if col.hidden:
            ws.column_dimensions[get_column_letter(cidx)].hidden = True
    for level in range(depth - 1):
        j = 0
        while j < width:
            path = spec.columns[j].path
            if len(path) <= level:
                j += 1
                continue
            k = j
            while k + 1 < width and spec.columns[k + 1].path[: level + 1] == path[: level + 1] and len(spec.columns[k + 1].path) > level:
                k += 1
            ws.cell(h0 + level, c0 + j, path[level])
            if spec.merge_groups and k > j:
                ws.merge_cells(start_row=h0 + level, start_column=c0 + j, end_row=h0 + level, end_column=c0 + k)
            j = k + 1
    r = h0 + depth
    if spec.numbering:
        for j in range(width):
            ws.cell(r, c0 + j, "甲" if j == 0 else ("乙" if j == 1 else str(j - 1)))
        r += 1
    d0 = r
    for i in range(spec.rows):
        for j, col in enumerate(spec.columns):
            if col.value is not None:
                v = col.value(rng, i)
                if v is not None:
                    ws.cell(r, c0 + j, v)
        r += 1
    d1 = r - 1
    if spec.total_row:
        ws.cell(r, c0, "合计")
        for j, col in enumerate(spec.columns):
            if j and col.key and col.key.startswith("sum."):
                ws.cell(r, c0 + j, f"=SUM({get_column_letter(c0 + j)}{d0}:{get_column_letter(c0 + j)}{d1})")
        r += 1
    for line in spec.footer:
        ws.cell(r, c0, line)
        r += 1
    cols = [(get_column_letter(c0 + j), c.label, c.path, c.key, c.std) for j, c in enumerate(spec.columns)]
    return Truth(spec.file, spec.sheet, spec.title, spec.kind, (h0, h0 + depth - 1), (d0, d1), cols)


# --------------------------------------------------------------------------------------------
# The corpus


def _people(n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return [(name(rng), resident_id(rng), phone(rng)) for _ in range(n)]


PEOPLE = _people(400, 7)


def _serial(_rng: random.Random, i: int) -> int:
    return i + 1


def _person(k: int, offset: int = 0) -> Callable[[random.Random, int], Any]:
    return lambda _rng, i: PEOPLE[(i + offset) % len(PEOPLE)][k]


def _choice(*values: Any) -> Callable[[random.Random, int], Any]:
    return lambda rng, _i: rng.choice(values)


def _int(lo: int, hi: int) -> Callable[[random.Random, int], Any]:
    return lambda rng, _i: rng.randint(lo, hi)


def _money(lo: float, hi: float) -> Callable[[random.Random, int], Any]:
    return lambda rng, _i: round(rng.uniform(lo, hi), 2)


def _birth_text(fmt: str) -> Callable[[random.Random, int], Any]:
    def f(_rng: random.Random, i: int) -> str:
        rid = PEOPLE[i % len(PEOPLE)][1]
        y, m, d = int(rid[6:10]), int(rid[10:12]), int(rid[12:14])
        return fmt.format(y=y, m=m, d=d)

    return f


def _date_text(fmt: str) -> Callable[[random.Random, int], Any]:
    def f(rng: random.Random, _i: int) -> str:
        d = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 600))
        return fmt.format(y=d.year, m=d.month, d=d.day)

    return f


def _real_date(rng: random.Random, _i: int) -> dt.date:
    return dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 600))


def _address(rng: random.Random, _i: int) -> str:
    return f"清溪区{rng.choice(['石门镇', '龙潭镇', '清溪街道'])}{rng.choice(['青杠村', '双河村', '桂花社区'])}{rng.randint(1, 12)}组{rng.randint(1, 99)}号"


TOWNS = ["清溪街道", "石门镇", "龙潭镇", "白沙镇", "高峰乡"]


def corpus() -> list[FormSpec]:
    """The forms; the files group them (a workbook may hold several forms)."""
    S = Col
    return [
        # 1. 民政：低保花名册 — merged title, fill-in line, 2-level merged header, numbering row, 合计, footer.
        FormSpec(
            "mz_dibao.xlsx",
            "低保花名册",
            "清溪区城乡低保对象花名册（2024年第一季度）",
            [
                S("序号", (), None, _serial),
                S("姓名", (), "person.name", _person(0), std="std.name"),
                S("性别", ("基本情况",), "person.sex", _choice("男", "女"), std="std.sex"),
                S("身份证号码", ("基本情况",), "person.resident_id", _person(1), std="std.resident_id"),
                S("出生日期", ("基本情况",), "person.birth_date", _birth_text("{y}.{m:02d}.{d:02d}"), std="std.birth_date"),
                S("家庭人口数", ("家庭情况",), "household.size", _int(1, 6), std="std.household_size"),
                S("月保障金额（元）", ("家庭情况",), "mz.amount", _money(300, 900)),
                S("审批日期", (), "mz.approval_date", _date_text("{y}年{m}月{d}日")),
                S("备注", (), None),
            ],
            rows=20,
            fill_in=["填报单位（盖章）：                    填报日期：    年   月   日"],
            numbering=True,
            total_row=True,
            footer=["制表人：          审核人：          负责人："],
        ),
        # 2. 残联：困难残疾人生活补贴 — starts at B3, 监护人 group with a bare 联系电话, a hidden column, dates as text.
        FormSpec(
            "cl_butie.xlsx",
            "补贴名册",
            "困难残疾人生活补贴发放花名册",
            [
                S("序号", (), None, _serial),
                S("残疾人姓名", (), "person.name", _person(0, 3), std="std.name"),
                S("公民身份号码", (), "person.resident_id", _person(1, 3), std="std.resident_id"),
                S("残疾类别", (), "person.disability_category", _choice("视力", "听力", "肢体", "智力"), std="std.disability_category"),
                S("残疾等级", (), "person.disability_grade", _choice("一级", "二级", "三级", "四级"), std="std.disability_grade"),
                S("联系电话", (), "person.phone", _person(2, 3), std="std.phone"),
                S("姓名", ("监护人",), "guardian.name", lambda rng, _i: name(rng), std="std.guardian_name"),
                S("联系电话", ("监护人",), "guardian.phone", lambda rng, _i: phone(rng), std="std.guardian_phone"),
                S("内部编号", (), "cl.internal_no", lambda _rng, i: f"CL{i:05d}", hidden=True),
                S("发放日期", (), "cl.paid_on", _date_text("{y}/{m}/{d}")),
                S("本人签字", (), None),
            ],
            rows=15,
            start_row=3,
            start_col=2,
            merge_title=False,
            footer=["负责人：            经办人：", "注：本表一式两份。"],
        ),
        # 3. 卫健：繁体表头、三层表头、出生年月（年月）、真实 Excel 日期.
        FormSpec(
            "wj_jiankang.xlsx",
            "老年人健康档案",
            "老年人健康管理登记表",
            [
                S("序号", (), None, _serial),
                S("姓名", ("基本信息", "身份信息"), "person.name", _person(0, 5), std="std.name"),
                S("身份證號碼", ("基本信息", "身份信息"), "person.resident_id", _person(1, 5), std="std.resident_id"),
                S("聯繫電話", ("基本信息",), "person.phone", _person(2, 5), std="std.phone"),
                S("現住址", ("基本信息", "居住信息"), "person.residence_address", _address, std="std.residence_address"),
                S("出生年月", ("基本信息", "居住信息"), "person.birth_date", _birth_text("{y}.{m:02d}"), std="std.birth_date"),
                S("體檢日期", (), "wj.checkup_date", _real_date),
                S("备注", (), None),
            ],
            rows=18,
            fill_in=["填报单位：清溪区卫生健康委员会"],
        ),
        # 4. 农业：系统导出（无标题），户主 vs 本人 (near-miss roles; equal ID values), 公式列.
        FormSpec(
            "nyj_chengbao.xlsx",
            "Sheet1",
            None,
            [
                S("户主姓名", (), "head.name", _person(0, 0), std="std.household_head_name"),
                S("户主身份证号", (), "head.resident_id", _person(1, 0), std="std.household_head_resident_id"),
                S("家庭人口", (), "household.size", _int(1, 7), std="std.household_size"),
                S("承包面积（亩）", (), "land.contract_area_mu", _money(0.5, 12)),
                S("联系电话", (), "person.phone", _person(2, 0), std="std.phone"),
                S("组别", (), "nyj.group", _choice("1组", "2组", "3组", "4组")),
            ],
            rows=25,
            merge_groups=False,
            total_row=True,
        ),
        # 5. 民政：汇总表 — two groups with the same leaf labels; aggregates the roster, not the same fields.
        FormSpec(
            "mz_dibao.xlsx",
            "汇总表",
            "低保对象情况汇总表",
            [
                S("乡镇（街道）", (), "org.town", lambda _rng, i: TOWNS[i % len(TOWNS)], std="std.town"),
                S("户数", ("城市低保",), "sum.city_households", _int(10, 90)),
                S("人数", ("城市低保",), "sum.city_people", _int(20, 200)),
                S("保障金额（元）", ("城市低保",), "sum.city_amount", _money(1e4, 1e5)),
                S("户数", ("农村低保",), "sum.rural_households", _int(10, 90)),
                S("人数", ("农村低保",), "sum.rural_people", _int(20, 200)),
                S("保障金额（元）", ("农村低保",), "sum.rural_amount", _money(1e4, 1e5)),
            ],
            rows=5,
            kind="summary",
            total_row=True,
            numbering=True,
            footer=["填表人：       联系电话：       填报日期："],
        ),
        # 6. 市场监管：组织 — credit codes with old registration numbers, 法定代表人, a 负责人 group.
        FormSpec(
            "scj_qiye.xlsx",
            "个体工商户",
            "辖区市场主体基本情况登记表",
            [
                S("序号", (), None, _serial),
                S("单位名称", (), "org.name", lambda _rng, i: f"清溪区{i}号商行", std="std.org_name"),
                S("统一社会信用代码（注册号）", (), "org.uscc", lambda rng, i: uscc(rng) if i % 4 else f"500199{rng.randrange(10**8, 10**9)}", std="std.uscc"),
                S("法定代表人", (), "legal_rep.name", lambda rng, _i: name(rng), std="std.legal_rep_name"),
                S("姓名", ("安全负责人",), "principal.name", lambda rng, _i: name(rng)),
                S("手机号码", ("安全负责人",), "principal.phone", lambda rng, _i: phone(rng)),
                S("经营场所", (), "org.address", _address, std="std.business_address"),
                S("联系电话", (), "org.phone", lambda rng, _i: phone(rng)),
                S("从业人数", (), "org.employees", _int(1, 40), std="std.employee_count"),
            ],
            rows=16,
            blank_before_header=True,
            merge_title=True,
            fill_in=["统计时间：2024年6月30日                单位：户、人"],
        ),
        # 7. 退役军人：true negatives (审批日期 is another business event), synonyms 证件号码 / 手机号.
        FormSpec(
            "tyjr.xlsx",
            "优抚对象",
            "优抚对象信息采集表",
            [
                S("序号", (), None, _serial),
                S("姓名", (), "person.name", _person(0, 40), std="std.name"),
                S("证件号码", (), "person.resident_id", _person(1, 40), std="std.resident_id"),
                S("手机号", (), "person.phone", _person(2, 40), std="std.phone"),
                S("家庭住址", (), "person.residence_address", _address, std="std.residence_address"),
                S("优抚类别", (), "tyjr.category", _choice("伤残军人", "烈属", "在乡复员军人")),
                S("审批日期", (), "tyjr.approval_date", _date_text("{y}-{m:02d}-{d:02d}")),
            ],
            rows=14,
            numbering=False,
            footer=["审核人：            填表日期："],
        ),
        # 8. 应急：另一张组织表 — the shop's 联系电话 is the organisation's, not a resident's (std.phone).
        FormSpec(
            "yj_yinhuan.xlsx",
            "隐患排查",
            "生产经营单位安全隐患排查台账",
            [
                S("序号", (), None, _serial),
                S("企业名称", (), "org.name", lambda _rng, i: f"清溪区{i}号商行", std="std.org_name"),
                S("统一社会信用代码", (), "org.uscc", lambda rng, _i: uscc(rng), std="std.uscc"),
                S("法定代表人", (), "legal_rep.name", lambda rng, _i: name(rng), std="std.legal_rep_name"),
                S("联系电话", (), "org.phone", lambda rng, _i: phone(rng)),
                S("隐患等级", (), "yj.level", _choice("一般", "重大")),
                S("排查日期", (), "yj.found_on", _real_date),
            ],
            rows=10,
            numbering=True,
            footer=["检查人员签字：            企业负责人签字："],
        ),
    ]


def big_form(rows: int = 10_000) -> FormSpec:
    return FormSpec(
        "big_roster.xlsx",
        "全区人口",
        "全区常住人口信息台账",
        [
            Col("序号", (), None, _serial),
            Col("姓名", ("基本信息",), "person.name", _person(0), std="std.name"),
            Col("身份证号", ("基本信息",), "person.resident_id", _person(1), std="std.resident_id"),
            Col("性别", ("基本信息",), "person.sex", _choice("男", "女"), std="std.sex"),
            Col("出生日期", ("基本信息",), "person.birth_date", _real_date, std="std.birth_date"),
            Col("联系电话", ("联系方式",), "person.phone", _person(2), std="std.phone"),
            Col("现居住地址", ("联系方式",), "person.residence_address", _address, std="std.residence_address"),
            Col("月收入（元）", (), "big.income", _money(0, 9000)),
        ],
        rows=rows,
        fill_in=["填报单位（盖章）：             年   月   日"],
        numbering=True,
        total_row=False,
        footer=["制表人：     审核人："],
    )


def build(root: Path, specs: Sequence[FormSpec] | None = None, seed: int = 1) -> list[Truth]:
    """Write the workbooks below ``root``; every workbook gets an instruction sheet and an empty sheet."""
    specs = list(specs if specs is not None else corpus())
    rng = random.Random(seed)
    books: dict[str, openpyxl.Workbook] = {}
    truths: list[Truth] = []
    for spec in specs:
        wb = books.get(spec.file)
        if wb is None:
            wb = openpyxl.Workbook()
            wb.remove(wb.active)
            books[spec.file] = wb
            if len(books) % 2:
                notes = wb.create_sheet("填表说明")
                notes["A1"] = "填表说明"
                notes["A2"] = "1. 本表由村（社区）填报，每季度末前报镇街。"
                notes["A3"] = "2. 身份证号码填写 18 位，最后一位 X 大写。"
        ws = wb.create_sheet(spec.sheet)
        truths.append(write_form(ws, spec, rng))
    for i, wb in enumerate(books.values()):
        if i % 2:
            wb.create_sheet("Sheet3")  # empty
            notes = wb.create_sheet("说明")
            notes["A1"] = "指标解释：以上数据截至统计时点。"
        if i % 3 == 2:
            wb.worksheets[-1].protection.sheet = True
    for file, wb in books.items():
        wb.save(root / file)
    return truths
