"""Value checks shared by Excel ingest and the importers: identifiers, phones, dates, codes.

Every parser returns ``(value, None)`` when the input is good and ``(None, Problem)`` when it is not;
a :class:`Problem` carries a Chinese and an English sentence saying what is wrong and how to fix it.
Nothing here knows about workbooks or the spec model beyond a code list's (code, label, aliases).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
PHONE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
#: Characters that make a spreadsheet treat a typed value as a formula (formula / CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[-+]?[\d\s.,]+$")
#: "-" or "--" written for "none" is not a formula.
_DASHES = re.compile(r"^[-\s]+$")
#: Excel's day zero for serial dates (the 1900 system, with its leap-year bug already folded in).
EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True, slots=True)
class Problem:
    zh: str
    en: str


def resident_id_check(first17: str) -> str:
    """The check character of the first 17 digits of a resident ID number (GB 11643)."""
    if len(first17) != 17:
        raise ValueError(f"17 digits expected, got {len(first17)}")
    return ID_CHECK[sum(map(operator.mul, map(int, first17), ID_WEIGHTS)) % 11]


def parse_resident_id(raw: str) -> tuple[str | None, Problem | None]:
    s = raw.strip().replace(" ", "").upper()
    if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return None, Problem(
            f"身份证号码应为 18 位（前 17 位为数字，末位为数字或 X），现为 {len(s)} 位",
            f"a resident ID number has 18 characters (17 digits, then a digit or X); this one has {len(s)}",
        )
    if birth_date_of(s) is None:
        return None, Problem(f"身份证号码第 7–14 位 {s[6:14]} 不是有效的出生日期", f"characters 7–14 of the ID number ({s[6:14]}) are not a valid birth date")
    expect = resident_id_check(s[:17])
    if s[17] != expect:
        return None, Problem(
            f"身份证号码校验位错误：末位应为 {expect}，请核对是否抄错某一位",
            f"the ID number's check digit is wrong: the last character should be {expect}; check for a mistyped digit",
        )
    return s, None


def birth_date_of(resident_id: str) -> date | None:
    try:
        return date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))
    except ValueError:
        return None


def sex_of(resident_id: str) -> str:
    """GB/T 2261.1 sex code implied by the ID number: ``1`` male (odd), ``2`` female (even)."""
    return "1" if int(resident_id[16]) % 2 else "2"


def uscc_check(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def parse_uscc(raw: str) -> tuple[str | None, Problem | None]:
    s = raw.strip().replace(" ", "").upper()
    if len(s) == 15 and s.isdigit():  # old registration numbers still occur
        return s, None
    if len(s) != 18 or any(c not in USCC_CHARS for c in s):
        return None, Problem(
            "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）",
            "a unified social credit code has 18 digits or capital letters (no I, O, Z, S, V)",
        )
    expect = uscc_check(s[:17])
    if s[17] != expect:
        return None, Problem(
            f"统一社会信用代码校验位错误：末位应为 {expect}，请核对营业执照",
            f"the credit code's check character is wrong: it should end in {expect}; check the licence",
        )
    return s, None


def parse_phone(raw: str) -> tuple[str | None, Problem | None]:
    s = re.sub(r"[\s\-()（）]", "", raw.strip())
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    if PHONE.match(s):
        return s, None
    if re.fullmatch(r"0\d{2,3}\d{7,8}", s):  # fixed line with area code
        return s, None
    return None, Problem(
        "电话号码格式不对：手机号为 11 位（1 开头），固定电话请带区号",
        "not a phone number: mobiles have 11 digits starting with 1; landlines need the area code",
    )


_DATE_FORMS = (
    re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_FORMS = (re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*月?$"), re.compile(r"^(\d{4})(\d{2})$"))


def excel_serial_date(serial: float) -> date | None:
    if not 1 <= serial < 2958466:
        return None
    return EXCEL_EPOCH + timedelta(days=int(serial))


def _bad_date(raw: str) -> Problem:
    return Problem(
        f"“{raw}”不是有效日期，请写成 2024-03-15、2024.03.15 或 2024年3月15日",
        f"'{raw}' is not a valid date; write it as 2024-03-15, 2024.03.15 or 2024年3月15日",
    )


def parse_date(raw: object) -> tuple[date | None, Problem | None]:
    """A date from a real Excel date, an Excel serial number, or the usual written forms."""
    if isinstance(raw, datetime):
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        d = excel_serial_date(float(raw))
        return (d, None) if d else (None, _bad_date(str(raw)))
    s = str(raw).strip()
    for form in _DATE_FORMS:
        m = form.match(s)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3])), None
            except ValueError:
                return None, _bad_date(s)
    return None, _bad_date(s)


def parse_year_month(raw: object) -> tuple[str | None, Problem | None]:
    """``YYYY-MM`` from 1957.01, 1957-1, 1957年1月, 195701, a full date or an Excel date."""
    if isinstance(raw, datetime | date):
        return f"{raw.year:04d}-{raw.month:02d}", None
    s = str(raw).strip()
    if isinstance(raw, float) and s.count(".") == 1:
        y, _, m = s.partition(".")
        s = f"{y}.{m.ljust(2, '0')}" if len(m) == 1 and m != "1" else s  # 1957.1 typed as a number means October
    for form in _MONTH_FORMS:
        hit = form.match(s)
        if hit and 1 <= int(hit[2]) <= 12:
            return f"{int(hit[1]):04d}-{int(hit[2]):02d}", None
    d, _ = parse_date(raw if not isinstance(raw, float) else s)
    if d is not None:
        return f"{d.year:04d}-{d.month:02d}", None
    return None, Problem(f"“{s}”不是有效年月，请写成 1957-01 或 1957.01", f"'{s}' is not a valid year and month; write it as 1957-01 or 1957.01")


def parse_integer(raw: object) -> tuple[int | None, Problem | None]:
    if isinstance(raw, bool):
        return None, Problem("应填整数", "a whole number is expected")
    if isinstance(raw, int):
        return raw, None
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw), None
        return None, Problem(f"应填整数，不能有小数：{raw}", f"a whole number is expected, not {raw}")
    s = str(raw).strip().replace(",", "")
    if re.fullmatch(r"[-+]?\d+(\.0+)?", s):
        return int(float(s)) if "." in s else int(s), None
    return None, Problem(f"“{s}”不是整数，只填阿拉伯数字", f"'{s}' is not a whole number; use digits only")


def parse_decimal(raw: object, scale: int | None = None) -> tuple[Decimal | None, Problem | None]:
    if isinstance(raw, bool):
        return None, Problem("应填数字", "a number is expected")
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        return None, Problem(f"“{raw}”不是数字，只填数字，不要带单位", f"'{raw}' is not a number; digits only, no units")
    if not value.is_finite():
        return None, Problem(f"“{raw}”不是数字", f"'{raw}' is not a number")
    exponent = value.as_tuple().exponent
    if scale is not None and isinstance(exponent, int) and -exponent > scale and value != value.quantize(Decimal(1).scaleb(-scale)):
        return None, Problem(f"最多保留 {scale} 位小数：{raw}", f"at most {scale} decimal places: {raw}")
    return value, None


def parse_boolean(raw: object) -> tuple[bool | None, Problem | None]:
    if isinstance(raw, bool):
        return raw, None
    s = str(raw).strip().lower()
    if s in ("是", "y", "yes", "true", "1", "1.0", "有", "√"):
        return True, None
    if s in ("否", "n", "no", "false", "0", "0.0", "无", "×"):
        return False, None
    return None, Problem(f"“{raw}”应填“是”或“否”", f"'{raw}' should be 是 (yes) or 否 (no)")


def code_lookup(values: Iterable[tuple[str, str, Iterable[str]]]) -> dict[str, str]:
    """Map every way of writing a code (the code, its label, aliases, ``code label``) to the code."""
    out: dict[str, str] = {}
    labels: dict[str, list[str]] = {}
    entries = [(c, lbl, tuple(a)) for c, lbl, a in values]
    for code, label, aliases in entries:
        for alias in (label, *aliases):
            labels.setdefault(alias.strip(), []).append(code)
    for written, codes in labels.items():
        if len(set(codes)) == 1:
            out[written] = codes[0]
    for code, label, _ in entries:
        out[code] = code
        for sep in (" ", "-", "·", "|", "："):
            out[f"{code}{sep}{label}"] = code
    return out


def parse_code(raw: object, lookup: dict[str, str], codelist_label: str = "") -> tuple[str | None, Problem | None]:
    s = str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():
        s = str(int(raw))
    if s in lookup:
        return lookup[s], None
    return None, Problem(
        f"“{s}”不在代码表{('“' + codelist_label + '”') if codelist_label else ''}中，请从下拉列表中选择",
        f"'{s}' is not in the code list{(' ' + codelist_label) if codelist_label else ''}; pick a value from the drop-down list",
    )


def formula_like(value: object) -> bool:
    """True for text a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+1``, ``-2+3``, ``@SUM``)."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value) and not _DASHES.match(value)


def neutralise(value: object) -> object:
    """Text safe to put in a spreadsheet cell: formula-like text gets a leading apostrophe."""
    if formula_like(value):
        return "'" + str(value)
    return value
