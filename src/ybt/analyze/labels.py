"""What a form label means: normalisation, units, roles and synonyms of this domain.

Form labels for the same data element differ in width (全角/半角), spaces and line breaks, brackets,
units, traditional characters, and wording (身份证号 / 公民身份号码 / 证件号码). Labels that *look* alike
may still mean different things: 户主姓名 is not 姓名, 监护人电话 is not 联系电话, an area in 亩 is
not one in ㎡. :func:`concept` reduces a label to a :class:`Concept` — role, core meaning, unit, and
whether it is a total — so that two labels with equal concepts name the same data element.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ybt._resources import specs_dir

try:  # opencc converts traditional to simplified characters phrase by phrase (see pyproject).
    import opencc

    _T2S = opencc.OpenCC("t2s")

    def _t2s(text: str) -> str:
        return str(_T2S.convert(text))

except ImportError:  # pragma: no cover - opencc is a declared dependency

    def _t2s(text: str) -> str:
        return text


@cache
def to_simplified(text: str) -> str:
    """Traditional → simplified, memoised: the same labels come back thousands of times."""
    return _t2s(text)


#: Units as written on forms → a canonical spelling. Different canonical units never match.
UNITS: dict[str, str] = {
    "元": "元",
    "人民币元": "元",
    "万元": "万元",
    "千元": "千元",
    "亿元": "亿元",
    "亩": "亩",
    "公顷": "公顷",
    "平方米": "㎡",
    "平米": "㎡",
    "m2": "㎡",
    "㎡": "㎡",
    "平方公里": "km²",
    "km2": "km²",
    "人": "人",
    "户": "户",
    "个": "个",
    "家": "家",
    "次": "次",
    "天": "天",
    "日": "天",
    "岁": "岁",
    "周岁": "岁",
    "年": "年",
    "月": "月",
    "%": "%",
    "百分比": "%",
    "公斤": "kg",
    "千克": "kg",
    "kg": "kg",
    "斤": "斤",
    "吨": "吨",
    "头": "头",
    "只": "只",
    "套": "套",
    "间": "间",
    "栋": "栋",
    "处": "处",
    "件": "件",
    "辆": "辆",
    "张": "张",
    "台": "台",
    "千瓦": "kW",
    "小时": "小时",
    "米": "米",
    "公里": "公里",
    "立方米": "m³",
    "m3": "m³",
}

#: Label prefixes that name whose value it is. Longest first when matching.
ROLE_PREFIXES: dict[str, str] = {
    "户主": "household_head",
    "监护人": "guardian",
    "法定监护人": "guardian",
    "代领人": "agent",
    "代办人": "agent",
    "代理人": "agent",
    "委托代理人": "agent",
    "受托人": "agent",
    "配偶": "spouse",
    "申请人": "applicant",
    "联系人": "contact",
    "紧急联系人": "contact",
    "法定代表人": "legal_rep",
    "法人代表": "legal_rep",
    "法人": "legal_rep",
    "经营者": "operator",
    "负责人": "principal",
    "主要负责人": "principal",
    "产权人": "owner",
    "权利人": "owner",
    "房主": "owner",
    "承包方代表": "contractor",
    "承包方": "contractor",
    "承包户主": "contractor",
    "父亲": "father",
    "母亲": "mother",
    "赡养人": "supporter",
    "抚养人": "supporter",
    "填表人": "filler",
    "填报人": "filler",
    "调查员": "filler",
    "审核人": "reviewer",
    "联络员": "liaison",
}
_ROLE_ORDER = sorted(ROLE_PREFIXES, key=len, reverse=True)


def _by_first_char(prefixes: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Prefixes grouped by their first character, each group in the given order: only those can match."""
    out: dict[str, list[str]] = {}
    for prefix in prefixes:
        out.setdefault(prefix[0], []).append(prefix)
    return {k: tuple(v) for k, v in out.items()}


_ROLE_BY_CHAR = _by_first_char(_ROLE_ORDER)

#: Prefixes naming the roster's own subject: 残疾人姓名 is the person's 姓名.
SUBJECT_PREFIXES = (
    "困难残疾人",
    "重度残疾人",
    "残疾人",
    "老年人",
    "老人",
    "患者",
    "病人",
    "救助对象",
    "申请对象",
    "优抚对象",
    "保障对象",
    "供养对象",
    "对象",
    "退役军人",
    "居民",
    "人员",
    "家庭成员",
    "成员",
    "村民",
    "儿童",
    "学生",
    "职工",
    "参保人员",
    "参保人",
    "被调查人",
    "本人",
    "个人",
)
_SUBJECT_BY_CHAR = _by_first_char(SUBJECT_PREFIXES)

#: Cores that describe an unnamed business event rather than the subject: 民政's 申请日期 (for 低保) and
#: 残联's 申请日期 (for a subsidy) are different data, however alike they look. They never cluster on
#: their label alone.
GENERIC_CORES = frozenset(
    {
        "日期", "时间", "年度", "月份", "期间", "备注", "说明", "原因", "状态", "情况", "类别", "类型", "金额", "数量",
        "编号", "序号", "名称", "标准", "意见", "结果", "依据", "次数", "天数",
        "申请日期", "申请时间", "审批日期", "审批时间", "审核日期", "登记日期", "登记时间", "发放日期", "发放时间",
        "填报日期", "填表日期", "调查日期", "变更日期", "变更时间", "变更原因", "办理日期", "受理日期", "开始日期",
        "结束日期", "截止日期", "有效期", "发放金额", "补贴金额", "补助金额", "发放标准", "补贴标准", "补助标准",
        "审核意见", "审批意见", "处理结果", "办理结果", "认定日期", "核查日期", "走访日期", "入户日期",
    }
)  # fmt: skip

#: Words that make a label a total of other values (合计 is not the value it sums).
TOTAL_MARKERS = ("合计", "总计", "小计", "累计", "汇总")

_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_LEADING = re.compile(r"^(?:[*※★☆#＊]+|[0-9]+[.、)]|\([0-9一二三四五六七八九十]+\)|[一二三四五六七八九十]+、)+")
_TRAILING = re.compile(r"[*※★:：;；,，。.、]+$")
_BRACKET = re.compile(r"[(\[{【〔［]([^()\[\]{}【】〔〕［］]*)[)\]}】〕］]")
_OPENING = re.compile(r"[(\[{【〔［]")
_UNIT_WORDS = re.compile(r"^(?:单位|计量单位)[:：]?")


@cache
def normalize(label: str) -> str:
    """Width, spacing, traditional characters and decoration removed; brackets kept as ( ).

    Memoised (labels repeat across departments and aliases)."""
    text = unicodedata.normalize("NFKC", label)
    text = to_simplified(text)
    text = _SPACE.sub("", text)
    text = text.replace("【", "(").replace("】", ")").replace("〔", "(").replace("〕", ")").replace("[", "(").replace("]", ")")
    text = _LEADING.sub("", text)
    text = _TRAILING.sub("", text)
    return text


def split_unit(text: str) -> tuple[str, str | None]:
    """``面积(亩)`` → (``面积``, ``亩``). Bracketed text that is not a unit stays, without brackets."""
    unit: str | None = None
    if not _OPENING.search(text):  # nothing in brackets: the common case
        return text, None

    def repl(m: re.Match[str]) -> str:
        nonlocal unit
        inner = _UNIT_WORDS.sub("", m.group(1))
        canon = UNITS.get(inner) or UNITS.get(inner.lower())
        if canon is not None:
            unit = canon
            return ""
        return inner

    core = _BRACKET.sub(repl, text)
    return core, unit


@dataclass(frozen=True, slots=True, order=True)
class Concept:
    """What a label means, reduced: two labels with equal concepts name the same data element."""

    role: str
    core: str
    unit: str | None = None
    total: bool = False


class SynonymTable:
    """Synonym groups of normalised labels; a term in two groups joins them."""

    def __init__(self, groups: Iterable[Iterable[str]] = ()) -> None:
        self._canon: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}
        #: :func:`concept` of (label, role) under this table; emptied whenever the table changes.
        self.concepts: dict[tuple[str, str | None], Concept] = {}
        for group in groups:
            self.add(group)

    def add(self, group: Iterable[str]) -> None:
        terms = [t for t in (normalize(g) for g in group) if t]
        if len(terms) < 2:
            return
        canon = terms[0]
        # Join with existing groups that share a term (the first group's canonical wins).
        existing = [self._canon[t] for t in terms if t in self._canon]
        if existing:
            canon = existing[0]
        members = {canon}
        for t in terms:
            members.add(t)
            old = self._canon.get(t)
            if old is not None and old != canon:
                members |= self._members.pop(old, {old})
        members |= self._members.get(canon, set())
        for m in members:
            self._canon[m] = canon
        self._members[canon] = members
        self.concepts.clear()

    def canonical(self, term: str) -> str | None:
        return self._canon.get(term)

    def same(self, a: str, b: str) -> bool:
        ca, cb = self._canon.get(a), self._canon.get(b)
        return ca is not None and ca == cb

    def __contains__(self, term: str) -> bool:
        return term in self._canon

    def __len__(self) -> int:
        return len(self._members)


@cache
def builtin_synonyms() -> tuple[tuple[str, ...], ...]:
    """The domain synonym groups shipped with ybt (the standard library's ``synonyms``)."""
    path = Path(specs_dir()) / "std" / "library.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(tuple(str(t) for t in g) for g in data.get("synonyms") or [] if isinstance(g, list))


def synonym_table(extra: Iterable[Iterable[str]] = ()) -> SynonymTable:
    return SynonymTable([*builtin_synonyms(), *extra])


def split_role(text: str) -> tuple[str, str]:
    for prefix in _ROLE_BY_CHAR.get(text[:1], ()):
        if text.startswith(prefix) and len(text) > len(prefix):
            return ROLE_PREFIXES[prefix], text[len(prefix) :]
    if text in ROLE_PREFIXES:  # a bare 户主 / 监护人 column holds that person's name
        return ROLE_PREFIXES[text], "姓名"
    return "self", text


def concept(label: str, synonyms: SynonymTable, role: str | None = None) -> Concept:
    """Reduce a label to its concept. ``role`` (from the spec) wins over a role read off the label.

    Memoised per synonym table: a province repeats the same few thousand labels."""
    key = (label, role)
    found = synonyms.concepts.get(key)
    if found is None:
        found = synonyms.concepts[key] = _concept(label, synonyms, role)
    return found


def _concept(label: str, synonyms: SynonymTable, role: str | None) -> Concept:
    text = normalize(label)
    total = any(m in text for m in TOTAL_MARKERS)
    if total:
        for marker in TOTAL_MARKERS:
            text = text.replace(marker, "")
    core, unit = split_unit(text)
    whole = synonyms.canonical(text) or synonyms.canonical(core)
    if whole is not None:
        core, unit2 = split_unit(whole)
        unit = unit or unit2
    found_role, base = split_role(core)
    if found_role == "self":
        for prefix in _SUBJECT_BY_CHAR.get(base[:1], ()):
            rest = base[len(prefix) :]
            if base.startswith(prefix) and rest and (rest in synonyms or rest in _GENERIC_BASES):
                base = rest
                break
    canon = synonyms.canonical(base)
    if canon is not None:
        base = split_unit(canon)[0]
    final_role = role if role not in (None, "self") else found_role
    return Concept(final_role or "self", base, unit, total)


_GENERIC_BASES = frozenset({"姓名", "性别", "年龄", "民族", "住址", "地址", "电话", "身份证号", "出生日期"})


def canonical_unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    text = unicodedata.normalize("NFKC", unit).strip()
    return UNITS.get(text, UNITS.get(text.lower(), text))
