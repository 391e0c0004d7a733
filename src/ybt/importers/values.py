"""What the values of a column say about its type: ID numbers, credit codes, phones, dates, amounts, codes.

Check digits decide identity types (GB 11643 resident IDs, GB 32100 credit codes; old 15-digit
business registration numbers count with credit codes); written dates are recognised in every
common form (2024-03-15, 2024/3/15, 2024.03.15, 2024年3月15日, 20240315, 1957.01, 1957年1月, real
Excel dates). A column's type is the one that most of its non-empty values fit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ybt import values as shared

_MOBILE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(?:\(?0\d{2,3}\)?[- ]?)?[2-9]\d{6,7}(?:-\d{1,4})?$")
_NUMBER = re.compile(r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_TIME_OF_DAY = re.compile(r"(?<=\d)[ T]\d{1,2}:\d{2}(?::\d{2})?$")
_YEAR_MONTH_PATTERNS = (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月?$"), re.compile(r"^(\d{4})(\d{2})$"))
_SPACES = re.compile(r"\s+")


def resident_id_ok(text: str) -> bool:
    """An 18-character GB 11643 number with a valid check character and birth date (or an old 15-digit one)."""
    t = text.upper()
    if len(t) == 15 and t.isdigit():
        return _real_date(1900 + int(t[6:8]), int(t[8:10]), int(t[10:12]))
    if len(t) != 18 or not t[:17].isdigit() or not (t[17].isdigit() or t[17] == "X"):
        return False
    born = shared.birth_date_of(t)
    return shared.resident_id_check(t[:17]) == t[17] and born is not None and 1900 <= born.year <= 2100


def uscc_ok(text: str) -> bool:
    """An 18-character GB 32100 unified social credit code with a valid check character."""
    t = text.upper()
    return len(t) == 18 and all(ch in shared.USCC_CHARS for ch in t) and shared.uscc_check(t[:17]) == t[17]


def old_registration_ok(text: str) -> bool:
    """An old 15-digit business registration number (before credit codes), starting with a division code."""
    return len(text) == 15 and text.isdigit() and 11 <= int(text[:2]) <= 82


def _real_date(y: int, m: int, d: int) -> bool:
    if not 1900 <= y <= 2100:
        return False
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def parse_date(text: str) -> dt.date | None:
    """A written date (shared with ingest, :func:`ybt.values.parse_date`), with an optional time of day."""
    if not text[:1].isdigit():
        return None
    day, problem = shared.parse_date(_TIME_OF_DAY.sub("", text).replace("号", "日"))
    return day if problem is None and day is not None and 1900 <= day.year <= 2100 else None


def parse_year_month(text: str) -> tuple[int, int] | None:
    for pat in _YEAR_MONTH_PATTERNS:
        m = pat.match(text)
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
            if 1900 <= y <= 2100 and 1 <= mo <= 12:
                return y, mo
    return None


def cell_text(value: object) -> str:
    """A cell value as the text a person would read (numbers without a spurious .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if value.is_integer():
            return f"{value:.0f}"
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if (value.hour, value.minute, value.second) != (0, 0, 0) else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def kind_of(value: object) -> str:
    """The kind of one non-empty value: resident_id, uscc, phone, date, year_month, integer, decimal, text."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dt.datetime):
        return "datetime" if (value.hour, value.minute, value.second) != (0, 0, 0) else "date"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            return "decimal"
        if abs(value) >= 1e16:
            return "long_number"  # an 18-digit number stored as a float: an ID that lost its last digits
        digits = str(int(value))
        if _MOBILE.match(digits):
            return "mobile"
        if len(digits) >= 10:
            return "code_digits"  # a 12-digit division code or an account typed as a number, not a quantity
        if len(digits) == 15 and resident_id_ok(digits):
            return "resident_id"
        if len(digits) == 8 and parse_date(digits) is not None and digits.startswith(("19", "20")):
            return "date"
        return "integer"
    text = _SPACES.sub("", str(value))
    if not text:
        return "empty"
    if len(text) in (15, 18) and text[:-1].isdigit() and resident_id_ok(text):
        return "resident_id"
    if len(text) == 18 and uscc_ok(text):
        return "uscc"
    if old_registration_ok(text):
        return "registration_no"
    if _MOBILE.match(text):
        return "mobile"
    if parse_date(text) is not None and not (text.isdigit() and len(text) == 8 and not text.startswith(("19", "20"))):
        return "date"
    if parse_year_month(text) is not None and not text.isdigit():
        return "year_month"
    if _NUMBER.match(text):
        if text.isdigit() and (len(text) >= 9 or (len(text) >= 6 and text.startswith("0"))):
            return "code_digits"
        if len(text) >= 16 and text.isdigit():
            return "long_digits"
        if _LANDLINE.match(text) and len(text) >= 7 and text.startswith("0"):
            return "landline"
        return "decimal" if "." in text else "integer"
    if _LANDLINE.match(text):
        return "landline"
    return "text"


@dataclass
class ColumnValues:
    """What the values of one column say."""

    count: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    distinct: set[str] = field(default_factory=set)
    samples: list[str] = field(default_factory=list)
    max_len: int = 0
    #: Distinct values kept for cross-form value evidence (identity-like and text columns), capped.
    keep: int = 5000

    def add(self, value: object) -> None:
        text = cell_text(value)
        if not text:
            return
        self.count += 1
        self.kinds[kind_of(value)] += 1
        if len(self.distinct) < self.keep:
            self.distinct.add(text.upper() if len(text) == 18 else text)
        if len(self.samples) < 5 and text not in self.samples:
            self.samples.append(text)
        self.max_len = max(self.max_len, len(text))

    def infer(self) -> tuple[str | None, float]:
        """The spec type the values fit (``None`` without values) and the share of values that fit it."""
        if self.count == 0:
            return None, 0.0
        k = self.kinds
        n = self.count

        def share(*names: str) -> float:
            return sum(k[x] for x in names) / n

        if share("resident_id") >= 0.8:
            return "resident_id", share("resident_id")
        if share("uscc", "registration_no") >= 0.8 and k["uscc"]:
            return "uscc", share("uscc", "registration_no")
        if share("mobile", "landline") >= 0.8:
            return "phone", share("mobile", "landline")
        if share("date", "datetime") >= 0.8:
            return ("datetime" if k["datetime"] > k["date"] else "date"), share("date", "datetime")
        if share("year_month", "date") >= 0.8 and k["year_month"]:
            return "year_month", share("year_month", "date")
        if share("integer") >= 0.9:
            return "integer", share("integer")
        if share("integer", "decimal") >= 0.9:
            return "decimal", share("integer", "decimal")
        if share("boolean") >= 0.9:
            return "boolean", share("boolean")
        if share("long_number") >= 0.5:
            return "string", share("long_number")
        if share("code_digits", "long_digits") >= 0.8:
            return "string", share("code_digits", "long_digits")
        return ("text" if self.max_len > 60 else "string"), 1.0 - share("integer", "decimal", "date")

    def low_cardinality(self) -> bool:
        return self.count >= 8 and 1 <= len(self.distinct) <= 12 and len(self.distinct) * 3 <= self.count


def overlap(a: Iterable[str], b: Iterable[str]) -> float:
    """Share of the smaller set of values found in the other."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))
