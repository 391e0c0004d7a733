"""The resolved model that every stage after ``resolve`` shares: typed, immutable, references resolved.

Every reference is stored as the unique id of its target (``field.shared.resident_id``); a
:class:`Project` maps unique ids to objects. Objects keep the :class:`~ybt.load.Document` they came
from, so later stages can point at the exact line and column of any node inside them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ybt.diagnostics import Location
from ybt.load import Document, PathKey

Kind = Literal["field", "codelist", "entity", "ledger", "report"]
Level = Literal["district", "town", "village", "grid"]
LEVELS: tuple[Level, ...] = ("district", "town", "village", "grid")

#: Periods per year of each report frequency (adhoc: an estimate used for burden figures).
PERIODS_PER_YEAR: Mapping[str, float] = MappingProxyType(
    {"daily": 250.0, "weekly": 52.0, "monthly": 12.0, "quarterly": 4.0, "semiannual": 2.0, "annual": 1.0, "adhoc": 4.0}
)

#: Base type of each field type, as stored in a database.
BASE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "string": "string",
        "text": "string",
        "integer": "integer",
        "decimal": "decimal",
        "date": "date",
        "datetime": "datetime",
        "year_month": "string",
        "boolean": "boolean",
        "code": "string",
        "resident_id": "string",
        "uscc": "string",
        "phone": "string",
        "division_code": "string",
        "postal_code": "string",
        "email": "string",
        "bank_account": "string",
    }
)


def uid(kind: str, namespace: str, ident: str) -> str:
    return f"{kind}.{namespace}.{ident}"


SHARED = "shared"


def ref_candidates(kind: str, ref: str, from_ns: str, uses: tuple[str, ...] | list[str], library: str | None = None) -> list[str]:
    """Unique ids a reference may mean, in lookup order; the first that exists wins.

    ``ns.id`` names its namespace. A bare ``id`` is looked up in the referring namespace, then
    ``shared``, then each library in ``uses``; inside a library only in the library itself.
    """
    if "." in ref:
        ns, ident = ref.split(".", 1)
        return [uid(kind, ns, ident)]
    scopes = [library] if library is not None else list(dict.fromkeys([from_ns, SHARED, *uses]))
    return [uid(kind, scope, ref) for scope in scopes]


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SpecObject:
    uid: str
    kind: Kind
    namespace: str
    id: str
    #: The library the object comes from (``std``), or None when it is the project's own.
    library: str | None
    doc: Document = field(compare=False, repr=False)

    @property
    def location(self) -> Location:
        return self.doc.loc(())

    def loc(self, *path: str | int, key: bool = False) -> Location:
        """Location of a node inside the object's document, e.g. ``report.loc("columns", 2, "field")``."""
        p: PathKey = tuple(path)
        return self.doc.loc(p, key=key)

    @property
    def qualified(self) -> str:
        return f"{self.namespace}.{self.id}"


@dataclass(frozen=True, slots=True)
class Constraints:
    required: bool = False
    min: float | None = None
    max: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    scale: int | None = None
    unique: bool = False


@dataclass(frozen=True, slots=True)
class Source:
    """Where a field's value comes from."""

    kind: Literal["collected", "base_library", "ledger", "derived"] = "collected"
    base_library: str | None = None
    ledger: str | None = None
    expression: str | None = None

    @property
    def prefillable(self) -> bool:
        return self.kind != "collected"


@dataclass(frozen=True, slots=True)
class Field(SpecObject):
    label: str = ""
    type: str = "string"
    aliases: tuple[str, ...] = ()
    description: str | None = None
    filling_rule: str | None = None
    codelist: str | None = None
    multiple: bool = False
    unit: str | None = None
    entity: str | None = None
    role: str = "self"
    constraints: Constraints = Constraints()
    sensitivity: str = "internal"
    source: Source = Source()
    steward: str | None = None
    update_frequency: str | None = None
    status: str = "standard"
    superseded_by: str | None = None
    standard: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def base_type(self) -> str:
        return BASE_TYPES[self.type]


@dataclass(frozen=True, slots=True)
class CodeValue:
    code: str
    label: str
    aliases: tuple[str, ...] = ()
    description: str | None = None
    parent: str | None = None
    deprecated: bool = False


@dataclass(frozen=True, slots=True)
class Codelist(SpecObject):
    label: str = ""
    values: tuple[CodeValue, ...] = ()
    description: str | None = None
    standard: str | None = None
    steward: str | None = None
    status: str = "standard"
    superseded_by: str | None = None

    def codes(self) -> frozenset[str]:
        return frozenset(v.code for v in self.values)


@dataclass(frozen=True, slots=True)
class Entity(SpecObject):
    label: str = ""
    category: str = "person"
    key: tuple[str, ...] = ()
    parent: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerField:
    field: str
    label: str | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class Ledger(SpecObject):
    label: str = ""
    entity: str = ""
    key: tuple[str, ...] = ()
    fields: tuple[LedgerField, ...] = ()
    steward: str | None = None
    update_frequency: str | None = None
    org_level: Level = "village"
    status: str = "standard"
    description: str | None = None

    def field_uids(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Column:
    id: str
    label: str
    #: The label written on this form when it differs from the field's own label.
    local_label: str | None = None
    field: str | None = None
    group: tuple[str, ...] = ()
    required: bool = False
    aggregate: str | None = None
    where: tuple[Condition, ...] = ()
    unit: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Consumer:
    department: str
    purpose: str
    uses: tuple[str, ...] = ()
    grants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Admission:
    status: str
    record: str | None = None
    approved_by: str | None = None
    approved_on: str | None = None
    expires_on: str | None = None
    retires: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Report(SpecObject):
    department: str = ""
    title: str = ""
    form: Literal["roster", "summary"] = "roster"
    mode: Literal["collected", "derived"] = "collected"
    frequency: str = "monthly"
    fill_level: Level = "village"
    columns: tuple[Column, ...] = ()
    entity: str | None = None
    sources: tuple[str, ...] = ()
    group_by: Level | None = None
    where: tuple[Condition, ...] = ()
    consumers: tuple[Consumer, ...] = ()
    legal_basis: tuple[str, ...] = ()
    deadline_days: int | None = None
    expected_rows: int | None = None
    admission: Admission | None = None
    status: str = "active"
    description: str | None = None

    def field_uids(self) -> tuple[str, ...]:
        """Fields the report's columns ask for, in column order, without repeats."""
        return tuple(dict.fromkeys(c.field for c in self.columns if c.field is not None))


@dataclass(frozen=True, slots=True)
class Department:
    uid: str
    id: str
    name: str
    doc: Document = field(compare=False, repr=False)
    index: int = 0
    short: str | None = None
    level: Level | None = None
    office: bool = False

    @property
    def location(self) -> Location:
        return self.doc.loc(("departments", self.index))


@dataclass(frozen=True, slots=True)
class OrgUnit:
    uid: str
    code: str
    name: str
    level: Level
    parent: str | None = None
    children: tuple[str, ...] = ()
    path: PathKey = ()


@dataclass(frozen=True, slots=True)
class Quota:
    district: int | None = None
    department: int | None = None
    departments: Mapping[str, int] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Policy:
    admission_office: str | None = None
    quota: Quota = Quota()
    max_frequency: Mapping[str, str] = field(default_factory=_empty)
    max_fields: Mapping[str, int] = field(default_factory=_empty)
    min_deadline_days: Mapping[str, int] = field(default_factory=_empty)
    minutes_per_entry: float = 0.5
    duplicate_threshold: float = 0.8
    default_roster_rows: int = 20
    ledger_update_share: float = 0.2
    review_minutes: float = 10.0
    rules: Mapping[str, str] = field(default_factory=_empty)
    thresholds: Mapping[str, float] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Library:
    id: str
    name: str
    version: str | None
    root: Path
    synonyms: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Project:
    """The whole resolved project: what analyze, check and the generators work on."""

    id: str
    name: str
    root: Path
    doc: Document = field(compare=False, repr=False)
    description: str | None = None
    uses: tuple[str, ...] = ()
    libraries: Mapping[str, Library] = field(default_factory=_empty)
    synonyms: tuple[tuple[str, ...], ...] = ()
    policy: Policy = Policy()
    #: Departments by their id (``mz``), org units by their code.
    departments: Mapping[str, Department] = field(default_factory=_empty)
    org_units: Mapping[str, OrgUnit] = field(default_factory=_empty)
    org_root: str | None = None
    fields: Mapping[str, Field] = field(default_factory=_empty)
    codelists: Mapping[str, Codelist] = field(default_factory=_empty)
    entities: Mapping[str, Entity] = field(default_factory=_empty)
    ledgers: Mapping[str, Ledger] = field(default_factory=_empty)
    reports: Mapping[str, Report] = field(default_factory=_empty)
    #: sha256 of every file read, by path relative to the project root (library files: ``@std/…``).
    file_checksums: Mapping[str, str] = field(default_factory=_empty)

    def objects(self) -> Iterator[SpecObject]:
        yield from self.codelists.values()
        yield from self.fields.values()
        yield from self.entities.values()
        yield from self.ledgers.values()
        yield from self.reports.values()

    def get(self, unique_id: str) -> SpecObject | None:
        kind = unique_id.split(".", 1)[0]
        table: Mapping[str, SpecObject] | None = {
            "field": self.fields,
            "codelist": self.codelists,
            "entity": self.entities,
            "ledger": self.ledgers,
            "report": self.reports,
        }.get(kind)
        return table.get(unique_id) if table is not None else None

    def lookup(self, kind: str, ref: str, from_ns: str) -> str | None:
        """Resolve a reference written in namespace ``from_ns`` of this project (None if unknown)."""
        for candidate in ref_candidates(kind, ref, from_ns, self.uses):
            if self.get(candidate) is not None:
                return candidate
        return None

    def field_label(self, unique_id: str) -> str:
        f = self.fields.get(unique_id)
        return f.label if f is not None else unique_id


def dependencies(project: Project) -> dict[str, list[str]]:
    """Parent map: each object's unique id → the unique ids it depends on (sorted, no repeats)."""
    out: dict[str, list[str]] = {}

    def put(node: str, deps: list[str | None]) -> None:
        out[node] = sorted({d for d in deps if d})

    for dept in project.departments.values():
        put(dept.uid, [])
    for cl in project.codelists.values():
        put(cl.uid, [cl.superseded_by])
    for f in project.fields.values():
        put(f.uid, [f.codelist, f.entity, f.superseded_by, f.source.ledger, _dept(project, f.steward)])
    for e in project.entities.values():
        put(e.uid, [*e.key, e.parent])
    for led in project.ledgers.values():
        put(led.uid, [led.entity, *led.key, *led.field_uids(), _dept(project, led.steward)])
    for r in project.reports.values():
        deps: list[str | None] = [_dept(project, r.department), r.entity, *r.sources]
        for col in r.columns:
            deps.append(col.field)
            deps.extend(c.field for c in col.where)
        deps.extend(c.field for c in r.where)
        for consumer in r.consumers:
            deps.append(_dept(project, consumer.department))
            deps.extend(consumer.uses)
            deps.extend(consumer.grants)
        if r.admission is not None:
            deps.append(_dept(project, r.admission.approved_by))
            deps.extend(r.admission.retires)
        put(r.uid, deps)
    return out


def _dept(project: Project, dept_id: str | None) -> str | None:
    if dept_id is None:
        return None
    dept = project.departments.get(dept_id)
    return dept.uid if dept is not None else None


def child_map(parents: Mapping[str, list[str]]) -> dict[str, list[str]]:
    children: dict[str, set[str]] = {node: set() for node in parents}
    for node, deps in parents.items():
        for dep in deps:
            children.setdefault(dep, set()).add(node)
    return {k: sorted(v) for k, v in sorted(children.items())}
