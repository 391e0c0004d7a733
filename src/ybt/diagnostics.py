"""Errors and findings as data: a code, a severity, a bilingual message, a location and a hint.

Every stage reports problems by appending :class:`Diagnostic` objects; every output format
(text, JSON, SARIF, GitHub annotations, JUnit) renders these same objects.

:class:`Text`, :class:`Location`, :class:`Related` and :class:`Diagnostic` are immutable named
tuples rather than frozen dataclasses: a province's check hands back tens of thousands of findings,
and the incremental check (:mod:`ybt.check.incremental`) rebuilds those of unchanged files from its
cache; a named tuple is made in one step (``tuple.__new__``), about three times faster than a
frozen dataclass that sets each field through ``object.__setattr__``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import repeat
from typing import Any, NamedTuple


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    @property
    def zh(self) -> str:
        return {"error": "错误", "warning": "警告", "info": "提示"}[self.value]


class Text(NamedTuple):
    """A message in Chinese and English. Users see both unless they pick one language."""

    zh: str
    en: str

    def render(self, lang: str = "both", sep: str = " / ") -> str:
        if lang == "zh":
            return self.zh
        if lang == "en":
            return self.en
        return f"{self.zh}{sep}{self.en}"

    def to_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


class Location(NamedTuple):
    """Where something is: a file with 1-based line and column, or a workbook sheet and cell.

    ``line == 0`` means the file as a whole. Locations order by file, line, column, sheet, cell.
    """

    file: str
    line: int = 0
    column: int = 0
    sheet: str | None = None
    cell: str | None = None

    def __str__(self) -> str:
        if self.sheet is not None:
            return f"{self.file}!{self.sheet}!{self.cell}" if self.cell else f"{self.file}!{self.sheet}"
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{max(self.column, 1)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file}
        if self.sheet is not None:
            out["sheet"] = self.sheet
            out["cell"] = self.cell
        else:
            out["line"] = self.line
            out["column"] = self.column
        return out


class Related(NamedTuple):
    """A second place that explains a diagnostic (e.g. the first of two duplicate ids)."""

    location: Location
    message: Text


class Diagnostic(NamedTuple):
    code: str
    severity: Severity
    message: Text
    location: Location | None = None
    hint: Text | None = None
    related: tuple[Related, ...] = ()
    #: Unique id of the spec object concerned, when there is one (used by baselines and --state).
    object_id: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        if loc is None:
            return ("", 0, 0, self.code)
        return (loc.file, loc.line, loc.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message.to_dict(),
            "location": self.location.to_dict() if self.location else None,
            "hint": self.hint.to_dict() if self.hint else None,
        }
        if self.related:
            out["related"] = [{"location": r.location.to_dict(), "message": r.message.to_dict()} for r in self.related]
        if self.object_id:
            out["object_id"] = self.object_id
        return out


@dataclass
class Diagnostics:
    """An append-only collector that stages share; it never stops at the first problem."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diag: Diagnostic) -> None:
        self.items.append(diag)

    def error(
        self,
        code: str,
        message: Text,
        location: Location | None,
        hint: Text | None = None,
        related: tuple[Related, ...] = (),
        object_id: str | None = None,
    ) -> None:
        self.items.append(Diagnostic(code, Severity.ERROR, message, location, hint, related, object_id))

    def extend(self, other: Diagnostics | list[Diagnostic]) -> None:
        self.items.extend(other.items if isinstance(other, Diagnostics) else other)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=Diagnostic.sort_key)

    def __len__(self) -> int:
        return len(self.items)


class YbtError(Exception):
    """A problem that stops a command before any stage can run (bad path, unreadable project)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message.en)
        self.diagnostic = diagnostic


# --- as builtins: for marshal (the check cache, the parallel loader's pipe) ---------------------------

_new = tuple.__new__
_SEVERITIES = {s.value: s for s in Severity}
#: Between the messages' texts in a packed batch; YAML allows no NUL in a document, so no message of a
#: spec has one (a batch with one keeps its texts as a list, see :func:`pack_diagnostics`).
_SEP = "\0"


def pack_diagnostics(groups: Sequence[Sequence[Diagnostic]]) -> tuple[Any, ...]:
    """Groups of diagnostics (a file's, a report's …) as builtins only, for :mod:`marshal`, column by column.

    A province's check cache holds thousands of findings; column by column they are rebuilt in a few
    C-level passes (:func:`unpack_diagnostics`) instead of one Python step each. The messages' texts
    travel as one UTF-16 string: decoding that and cutting it at the separators is several times
    cheaper than decoding thousands of separate UTF-8 strings of Chinese. Hints and related places are
    few and repeat: each distinct hint is stored once and referred to by number.
    """
    texts: list[str] = []
    codes: list[str] = []
    severities: list[str] = []
    locations: list[tuple[Any, ...] | None] = []
    hints: dict[tuple[str, str], int] = {}
    hint_of: list[int] = []
    related: dict[int, tuple[Any, ...]] = {}
    ids: list[str | None] = []
    i = 0
    for group in groups:
        for d in group:
            codes.append(d.code)
            severities.append(d.severity.value)
            texts += d.message
            locations.append(None if d.location is None else tuple(d.location))
            hint_of.append(0 if d.hint is None else hints.setdefault((d.hint.zh, d.hint.en), len(hints) + 1))
            if d.related:
                related[i] = tuple((tuple(r.location), tuple(r.message)) for r in d.related)
            ids.append(d.object_id)
            i += 1
    return ([len(g) for g in groups], codes, severities, _pack_texts(texts), locations, list(hints), hint_of, related, ids)


def _pack_texts(texts: list[str]) -> bytes | list[str]:
    joined = _SEP.join(texts)
    if not texts or joined.count(_SEP) != len(texts) - 1:  # a text with a separator of its own
        return texts
    try:
        return joined.encode("utf-16-le")
    except UnicodeEncodeError:  # a lone surrogate: kept as it is, in the list
        return texts


def unpack_diagnostics(packed: Any) -> list[list[Diagnostic]]:
    """The groups :func:`pack_diagnostics` packed, as they were (raises on anything else)."""
    counts, codes, severities, texts, locations, hints, hint_of, related, ids = packed
    strings = texts.decode("utf-16-le").split(_SEP) if isinstance(texts, bytes) else texts
    n = len(codes)
    if len(strings) != 2 * n or sum(counts) != n:
        raise ValueError("a packed batch of diagnostics does not add up")
    messages = map(_new, repeat(Text), zip(strings[0::2], strings[1::2], strict=True))
    if None in locations:
        places: Iterable[Location | None] = [None if loc is None else _new(Location, loc) for loc in locations]
    else:
        places = map(_new, repeat(Location), locations)
    hint_texts = [None, *map(_new, repeat(Text), hints)]
    extra: list[tuple[Related, ...]] = [()] * n
    for i, rows in related.items():
        extra[i] = tuple(_new(Related, (_new(Location, loc), _new(Text, t))) for loc, t in rows)
    flat = list(
        map(
            _new,
            repeat(Diagnostic),
            zip(codes, map(_SEVERITIES.__getitem__, severities), messages, places, map(hint_texts.__getitem__, hint_of), extra, ids, strict=True),
        )
    )
    out, start = [], 0
    for count in counts:
        out.append(flat[start : start + count])
        start += count
    return out
