"""Facts: the small, picklable summaries of a project that the whole-project lint rules work on.

Rules come in three scopes (see :mod:`ybt.check.rules`): per report, catalog-only, and whole
project. Whole-project rules (quotas, duplicate reports, unused fields …) read every report, so they
work on :class:`ReportFacts` — one small record per report — and on :class:`CatalogFacts`, never on the
full report objects. The incremental check (:mod:`ybt.check.incremental`) keeps these facts in its
cache and updates only those of the reports that changed, which is what lets it re-check one edited
report of a province-sized project without reading the other 2,500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ybt.diagnostics import Location
from ybt.model import Codelist, Field, Project, Report

#: (field, op, repr(value)) of one condition, with the field as its unique id.
ConditionFacts = tuple[str, str, str]
#: (field, aggregate, conditions) of one column.
ColumnFacts = tuple[str | None, str | None, tuple[ConditionFacts, ...]]
#: (line, column) of a node.
Position = tuple[int, int]
#: One of the project's own catalog objects: (unique id, status, qualified id, label, file, position
#: of its ``id``), all a whole-project rule needs to point at it.
OwnObject = tuple[str, str, str, str, str, Position]


def _at(loc: Location) -> Position:
    return (loc.line, loc.column)


class ReportState(NamedTuple):
    """What a report is, where, and under which admission, without its columns: all that the rules
    scanning every report (quotas, duplicate reports) read. The first fields of :class:`ReportFacts`,
    in the same order; the incremental check keeps a province's states at hand and reads a report's
    columns only when something asks for them."""

    uid: str
    library: str | None
    department: str
    status: str
    mode: str
    frequency: str
    admission_status: str | None
    approved_on: str | None
    # Where findings about the report point, so that whole-project rules need not load it.
    file: str
    qualified: str
    title: str
    title_at: Position
    department_at: Position

    def location(self, at: Position) -> Location:
        return Location(self.file, at[0], at[1])

    @property
    def live(self) -> bool:
        """Reaches the grass roots: the project's own, active, not retired by an admission record."""
        return _live(self.library, self.status, self.admission_status)

    @property
    def collected(self) -> bool:
        return self.live and self.mode == "collected"


class ReportFacts(NamedTuple):
    """One report as the whole-project rules see it: its :class:`ReportState`'s fields, then its
    columns (a named tuple: the incremental check rebuilds one from its cache in one step)."""

    uid: str
    library: str | None
    department: str
    status: str
    mode: str
    frequency: str
    admission_status: str | None
    approved_on: str | None
    file: str
    qualified: str
    title: str
    title_at: Position
    department_at: Position
    columns: tuple[ColumnFacts, ...]
    #: Every field the report mentions: columns, conditions, consumers' uses and grants.
    refs: tuple[str, ...]
    #: Position of each column's ``field`` (or of the column when it has none).
    columns_at: tuple[Position, ...]

    def location(self, at: Position) -> Location:
        return Location(self.file, at[0], at[1])

    @property
    def live(self) -> bool:
        return _live(self.library, self.status, self.admission_status)

    @property
    def collected(self) -> bool:
        return self.live and self.mode == "collected"

    def state(self) -> ReportState:
        return _new(ReportState, self[:STATE_FIELDS])


#: How many of :class:`ReportFacts`' fields are the :class:`ReportState`'s (the first, in order).
STATE_FIELDS = len(ReportState._fields)
_new = tuple.__new__


def report_facts(r: Report) -> ReportFacts:
    refs: set[str] = set()
    columns: list[ColumnFacts] = []
    for c in r.columns:
        conds = tuple((w.field, w.op, repr(w.value)) for w in c.where)
        columns.append((c.field, c.aggregate, conds))
        if c.field:
            refs.add(c.field)
        refs.update(w.field for w in c.where)
    refs.update(w.field for w in r.where)
    for consumer in r.consumers:
        refs.update(consumer.uses)
        refs.update(consumer.grants)
    a = r.admission
    return ReportFacts(
        uid=r.uid,
        library=r.library,
        department=r.department,
        status=r.status,
        mode=r.mode,
        frequency=r.frequency,
        admission_status=a.status if a is not None else None,
        approved_on=a.approved_on if a is not None else None,
        columns=tuple(columns),
        refs=tuple(sorted(refs)),
        file=r.doc.file,
        qualified=r.qualified,
        title=r.title,
        title_at=_at(r.loc("title")),
        department_at=_at(r.loc("department")),
        columns_at=_columns_at(r),
    )


def _columns_at(r: Report) -> tuple[Position, ...]:
    positions = r.doc.positions
    out: list[Position] = []
    for i in range(len(r.columns)):
        at = positions.get(("columns", i, "field"))
        out.append(at if at is not None else _at(r.loc("columns", i, "field")))
    return tuple(out)


def is_live(r: Report) -> bool:
    """:attr:`ReportFacts.live` of a report object."""
    return _live(r.library, r.status, r.admission.status if r.admission is not None else None)


def _live(library: str | None, status: str, admission_status: str | None) -> bool:
    return library is None and status != "retired" and admission_status != "retired"


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    """What whole-project rules need to know about the non-report objects."""

    #: Fields a base library or a ledger already holds → where (for messages).
    held: Mapping[str, str]
    #: Fields served by a base library (姓名、身份证号 …).
    basics: frozenset[str]
    #: The project's own fields and codelists.
    own_fields: Sequence[OwnObject]
    own_codelists: Sequence[OwnObject]
    #: Field → its codelist, for every field with one.
    field_codelist: Mapping[str, str]
    #: Fields referenced by ledgers, entity keys and superseded_by; codelists by superseded_by.
    catalog_field_refs: frozenset[str]
    catalog_codelist_refs: frozenset[str]


def catalog_facts(project: Project) -> CatalogFacts:
    held: dict[str, str] = {}
    for f in project.fields.values():
        if f.source.kind == "base_library" and f.source.base_library:
            held[f.uid] = f"基础库 {f.source.base_library}"
    for led in project.ledgers.values():
        for u in led.field_uids():
            held.setdefault(u, f"台账 {led.qualified}（{led.label}）")
    refs: set[str] = set()
    for led in project.ledgers.values():
        refs.update(led.field_uids())
    for e in project.entities.values():
        refs.update(e.key)
    for f in project.fields.values():
        if f.superseded_by:
            refs.add(f.superseded_by)
    return CatalogFacts(
        held=held,
        basics=frozenset(f.uid for f in project.fields.values() if f.source.kind == "base_library"),
        own_fields=tuple(_own(f) for f in project.fields.values() if f.library is None),
        own_codelists=tuple(_own(c) for c in project.codelists.values() if c.library is None),
        field_codelist={f.uid: f.codelist for f in project.fields.values() if f.codelist},
        catalog_field_refs=frozenset(refs),
        catalog_codelist_refs=frozenset(c.superseded_by for c in project.codelists.values() if c.superseded_by),
    )


def _own(o: Field | Codelist) -> OwnObject:
    return (o.uid, o.status, o.qualified, o.label, o.doc.file, _at(o.loc("id")))
