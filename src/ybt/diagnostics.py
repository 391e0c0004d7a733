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

from dataclasses import dataclass, field
from enum import StrEnum
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


class DiagnosticWriter:
    """Diagnostics as builtins only, for :mod:`marshal`: ``(code, severity, (zh, en), location tuple or
    None, hint or None, ((location, (zh, en)), …), object id)``. Texts that repeat (a rule's hint,
    thousands of times) come out as one shared tuple, which marshal stores once and refers back to."""

    def __init__(self) -> None:
        self.texts: dict[tuple[str, str], tuple[str, str]] = {}

    def text(self, t: Text) -> tuple[str, str]:
        key = (t.zh, t.en)
        return self.texts.setdefault(key, key)

    def __call__(self, d: Diagnostic) -> tuple[Any, ...]:
        return (
            d.code,
            d.severity.value,
            (d.message.zh, d.message.en),
            None if d.location is None else tuple(d.location),
            None if d.hint is None else self.text(d.hint),
            tuple((tuple(r.location), self.text(r.message)) for r in d.related),
            d.object_id,
        )


class DiagnosticReader:
    """Diagnostics back from :class:`DiagnosticWriter`'s tuples, in one step each (they are named
    tuples), sharing the Text objects that repeat."""

    def __init__(self) -> None:
        self.texts: dict[tuple[str, str], Text] = {}
        self.severities = {s.value: s for s in Severity}

    def text(self, t: tuple[str, str]) -> Text:
        found = self.texts.get(t)
        if found is None:
            found = self.texts[t] = _new(Text, t)
        return found

    def __call__(self, rows: list[tuple[Any, ...]]) -> list[Diagnostic]:
        sev, text = self.severities, self.text
        return [
            _new(
                Diagnostic,
                (
                    code,
                    sev[s],
                    _new(Text, message),
                    None if loc is None else _new(Location, loc),
                    None if hint is None else text(hint),
                    tuple(_new(Related, (_new(Location, r[0]), text(r[1]))) for r in related) if related else (),
                    obj,
                ),
            )
            for code, s, message, loc, hint, related, obj in rows
        ]
