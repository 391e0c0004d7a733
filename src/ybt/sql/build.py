"""Build the data pool's SQL for one dialect: tables, views, roles and grants, in dependency order.

Every statement is a sqlglot expression rendered with every identifier quoted; spec text (labels,
titles, codes, patterns) only ever enters SQL as a sqlglot literal node, so quotes, semicolons,
backslashes and Chinese are escaped by sqlglot for the dialect. The same model gives byte-identical
SQL: objects are ordered by kind, then by name, and nothing depends on time or dict order.

Naming (all lower-case ASCII, at most 63 characters, longer names shortened with a hash):

- ``org_units`` — the organisation tree, one row per unit, with the code of its ancestor at each level;
- ``codelist_<ns>_<id>`` — a code table: ``code`` (key), ``label``, ``parent``, ``position``;
- ``ledger_<ns>_<id>`` — a ledger: ``org_unit`` (FK to org_units) and one column per field;
- ``report_<dept>_<id>`` — the rows a collected report gathers (a report without ledger sources);
- ``view_<dept>_<id>`` — the report as a view (column names are the stable column ids),
  ``view_<dept>_<id>__masked`` with sensitive values masked, ``view_<dept>_<id>__<dept2>`` for a
  consumer granted only some of them;
- ``ybt_objects``, ``ybt_columns``, ``ybt_grants`` — metadata: the Chinese labels and the access design.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlglot import exp

from ybt import __version__, fork, jsonfmt
from ybt.diagnostics import Location, Text
from ybt.model import LEVELS, Column, Condition, Field, Ledger, Project, Report
from ybt.progress import progress
from ybt.sql import DEFAULT_DIALECT, DIALECTS
from ybt.sql.render import Renderer, literal, quoted

MAX_IDENT = 63
ORG_TABLE = "org_units"
META_OBJECTS, META_COLUMNS, META_GRANTS = "ybt_objects", "ybt_columns", "ybt_grants"
#: Column names ybt itself puts in tables and views; a field of that id gets its namespace as prefix.
RESERVED = frozenset({"org_unit", "org_unit_name", "period"})
#: Sensitive identifiers masked by keeping the first and last four characters; other sensitive values become NULL.
PARTIAL_MASK_TYPES = frozenset({"resident_id", "phone", "bank_account", "uscc", "email", "postal_code"})
STARS = "*" * 64
#: Dialects that run COMMENT ON statements; mysql and spark take comments inside CREATE TABLE.
COMMENT_ON = frozenset({"postgres", "duckdb"})
INLINE_COMMENT = frozenset({"mysql", "spark"})
#: Dialects with regular expressions in CHECK constraints.
REGEX = frozenset({"postgres", "duckdb", "mysql"})
#: Dialects that enforce PRIMARY KEY / FOREIGN KEY / CHECK in CREATE TABLE.
CONSTRAINTS = frozenset({"sqlite", "postgres", "duckdb", "mysql"})
#: Dialects with roles and GRANT.
GRANTS = frozenset({"postgres", "mysql", "spark"})


#: Short names used throughout (and by :mod:`ybt.sql.migrate` and :mod:`ybt.sql.pool`).
q = quoted
lit = literal


def ident_name(*parts: str) -> str:
    """A table, view or column name from id parts; names longer than 63 characters keep a hash."""
    name = "_".join(parts)
    if len(name) <= MAX_IDENT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENT - 9]}_{digest}"


def table(name: str) -> exp.Table:
    return exp.Table(this=q(name))


def col(name: str, alias: str | None = None) -> exp.Column:
    return exp.Column(this=q(name), table=q(alias) if alias else None)


def datatype(kind: str, *params: int) -> exp.DataType:
    """A data type built as a node (``datatype("DECIMAL", 20, 4)``): the same tree sqlglot parses, without parsing."""
    return exp.DataType(this=exp.DataType.Type[kind], expressions=[exp.DataTypeParam(this=exp.Literal.number(n)) for n in params] or None, nested=False)


def fresh(t: exp.DataType) -> exp.DataType:
    """A new node equal to ``t``, a type from :func:`datatype` (cheaper than a deep copy)."""
    return datatype(t.this.name, *(int(p.this.this) for p in t.expressions))


def alias(e: exp.Expr, name: str) -> exp.Alias:
    """``e AS "name"`` (``e`` becomes part of the alias: build it for this one place)."""
    return exp.Alias(this=e, alias=q(name))


#: A field's place in a view's FROM: (column, table alias), by field uid ("__org__": the row's org unit).
Fields = dict[str, tuple[str, str]]


# The build's small records are named tuples: a province has tens of thousands of them, and the
# forked child that renders the views sends them back pickled, which rebuilds a tuple in C.
class SqlColumn(NamedTuple):
    name: str
    type: str
    not_null: bool = False
    label: str = ""
    field: str | None = None
    sensitive: bool = False
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "not_null": self.not_null,
            "label": self.label,
            "field": self.field,
            "sensitive": self.sensitive,
        }


@dataclass(slots=True)
class SqlObject:
    """One database object and the statements that create it (plus its reference rows)."""

    name: str
    kind: str  # table | view
    role: str  # org_units | codelist | ledger | report_table | meta | view | masked_view | partial_view
    file: str
    create: str
    data: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    uid: str | None = None
    label: str = ""
    depends_on: tuple[str, ...] = ()
    columns: tuple[SqlColumn, ...] = ()
    primary_key: tuple[str, ...] = ()
    #: Reference rows (codelists, org units) as plain tuples, to migrate them.
    rows: tuple[tuple[Any, ...], ...] = ()
    location: Location | None = None
    #: Builds the column definitions with their constraints, for ALTER TABLE ADD COLUMN (only a migration
    #: asks: a province's tables would hold a hundred thousand of them in memory for nothing).
    make_defs: Callable[[], dict[str, exp.ColumnDef]] | None = field(default=None, repr=False)
    _defs: dict[str, exp.ColumnDef] | None = field(default=None, init=False, repr=False)

    @property
    def column_defs(self) -> dict[str, exp.ColumnDef]:
        if self._defs is None:
            self._defs = self.make_defs() if self.make_defs is not None else {}
        return self._defs

    @property
    def statements(self) -> list[str]:
        return [self.create, *self.data, *self.comments]

    def checksum(self) -> str:
        return hashlib.sha256("\n".join(self.statements).encode()).hexdigest()


class Grant(NamedTuple):
    department: str
    role: str
    object: str
    access: str  # unmasked | masked | partial | aggregate | reference


class Gap(NamedTuple):
    """Something the SQL cannot express exactly; listed in sql_manifest.json and docs."""

    object: str
    column: str | None
    what: str
    uid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "column": self.column, "what": self.what, "unique_id": self.uid}


@dataclass(slots=True)
class SqlBuild:
    dialect: str
    project_id: str
    objects: list[SqlObject] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # department id → role name
    grants: list[Grant] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    role_statements: list[str] = field(default_factory=list)
    grant_statements: list[str] = field(default_factory=list)
    meta_statements: list[str] = field(default_factory=list)

    def object(self, name: str) -> SqlObject | None:
        return next((o for o in self.objects if o.name == name), None)

    def statements(self, *, roles: bool = True) -> list[str]:
        """Every statement in order: tables, metadata, views, then roles and grants."""
        out: list[str] = []
        for obj in self.objects:
            out.extend(obj.statements)
        out.extend(self.meta_statements)
        if roles:
            out.extend(self.role_statements)
        out.extend(self.grant_statements)
        return out

    def files(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        notes: dict[str, list[str]] = {}
        for gap in self.gaps:
            # only ids and ybt's own words: spec text never goes into a comment either
            notes.setdefault(gap.object, []).append(f"-- ybt: {gap.column + ': ' if gap.column else ''}{gap.what}")
        for obj in self.objects:
            files[obj.file] = _sql_file(obj.statements, sorted(set(notes.get(obj.name, []))))
        files["metadata.sql"] = _sql_file(self.meta_statements)
        header = [] if self.dialect in GRANTS else [f"-- {self.dialect} has no roles or GRANT: the access design is recorded in {META_GRANTS}"]
        files["roles.sql"] = _sql_file(self.role_statements, header)
        files["grants.sql"] = _sql_file(self.grant_statements, header)
        head = [f"-- ybt {__version__} · project {self.project_id} · dialect {self.dialect}"]
        if self.dialect == "sqlite":
            head.append("-- SQLite enforces the foreign keys only after PRAGMA foreign_keys = ON (on every connection)")
        files["all.sql"] = _sql_file(self.statements(), head)
        files["sql_manifest.json"] = jsonfmt.readable(self.manifest(), depth=3).encode("utf-8")
        return files

    def manifest(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "project_id": self.project_id,
            "ybt_version": __version__,
            "order": [o.name for o in self.objects],
            "objects": {
                o.name: {
                    "kind": o.kind,
                    "role": o.role,
                    "file": o.file,
                    "unique_id": o.uid,
                    "label": o.label,
                    "depends_on": list(o.depends_on),
                    "primary_key": list(o.primary_key),
                    "columns": [c.to_dict() for c in o.columns],
                    "checksum": o.checksum(),
                }
                for o in self.objects
            },
            "roles": dict(sorted(self.roles.items())),
            "grants": [{"department": g.department, "role": g.role, "object": g.object, "access": g.access} for g in self.grants],
            "gaps": [g.to_dict() for g in self.gaps],
            "statements": len(self.statements()),
        }


def _sql_file(statements: Sequence[str], header: Sequence[str] = ()) -> bytes:
    parts = [*header, *(s + ";" for s in statements)]
    return ("\n\n".join(parts) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, project: Project, dialect: str, fast: bool = True) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
        self.p = project
        self.d = dialect
        self.out = SqlBuild(dialect, project.id)
        self.ledger_cols: dict[str, dict[str, str]] = {}  # ledger uid → field uid → column name
        self.types: dict[tuple[str | int, ...], exp.DataType] = {}
        self.type_sqls: dict[exp.DataType, str] = {}
        self.render = Renderer(dialect, fast)
        self.sql = self.render.sql
        #: Called once per ledger and twice per report (its table, its views): the progress bar.
        self.advance: Callable[[int], None] = lambda n: None

    # -- types and constraints ---------------------------------------------------------------------

    def type(self, kind: str, *params: int) -> exp.DataType:
        """The builder's one node of each type (shared: put :func:`fresh` copies into trees)."""
        key: tuple[str | int, ...] = (kind, *params)
        hit = self.types.get(key)
        if hit is None:
            hit = self.types[key] = datatype(kind, *params)
        return hit

    def dtype(self, f: Field | None, aggregate: str | None = None) -> exp.DataType:
        """The column type of a field (or an aggregate); shared, see :meth:`type`."""
        if aggregate in ("count", "count_distinct"):
            return self.type("BIGINT")
        if aggregate == "avg":
            return self.type("DECIMAL", 20, 4)
        if f is None:
            return self.type("TEXT")
        base = f.base_type
        if base == "integer":
            return self.type("BIGINT")
        if base == "decimal":
            scale = f.constraints.scale if f.constraints.scale is not None else 4
            return self.type("DECIMAL", 20, scale)
        if base == "date":
            return self.type("DATE")
        if base == "datetime":
            return self.type("TIMESTAMP")
        if base == "boolean":
            return self.type("BOOLEAN")
        if self.d == "mysql" and f.type != "text":
            # MySQL cannot index TEXT (keys, foreign keys): bounded strings there.
            return self.type("VARCHAR", f.constraints.max_length or (64 if f.type == "code" else 255))
        return self.type("TEXT")

    def type_sql(self, t: exp.DataType) -> str:
        hit = self.type_sqls.get(t)  # a few distinct types, tens of thousands of columns
        if hit is None:
            hit = self.type_sqls[t] = t.sql(dialect=self.d)
        return hit

    def checks(self, f: Field, name: str, obj: str) -> list[tuple[str, exp.Expr]]:
        c = f.constraints
        column = col(name)
        out: list[exp.Expr] = []
        if f.base_type in ("integer", "decimal"):
            if c.min is not None:
                out.append(exp.GTE(this=column.copy(), expression=lit(c.min)))
            if c.max is not None:
                out.append(exp.LTE(this=column.copy(), expression=lit(c.max)))
        if f.base_type == "string":
            if c.min_length:
                out.append(exp.GTE(this=exp.Length(this=column.copy()), expression=lit(c.min_length)))
            if c.max_length is not None and (self.d != "mysql" or f.type == "text"):  # MySQL strings are VARCHAR(max_length)
                out.append(exp.LTE(this=exp.Length(this=column.copy()), expression=lit(c.max_length)))
            if c.pattern:
                if self.d in REGEX:
                    out.append(exp.RegexpLike(this=column.copy(), expression=lit(c.pattern)))
                else:
                    self.out.gaps.append(Gap(obj, name, f"pattern not enforced: {self.d} has no regular expressions in CHECK", f.uid))
        return [(name, e) for e in out]

    def column_def(self, name: str, t: exp.DataType, not_null: bool, label: str) -> exp.ColumnDef:
        constraints = []
        if not_null:
            constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        if self.d in INLINE_COMMENT and label:
            constraints.append(exp.ColumnConstraint(kind=exp.CommentColumnConstraint(this=lit(label))))
        return exp.ColumnDef(this=q(name), kind=fresh(t), constraints=constraints or None)

    def column_item(self, name: str, t: exp.DataType, not_null: bool, label: str, key: bool) -> exp.Expr:
        """A column of CREATE TABLE; the same definition in many tables is rendered once (key columns are
        left to the dialect's printer, which may rewrite them)."""
        if key:
            return self.column_def(name, t, not_null, label)
        comment = label if self.d in INLINE_COMMENT else ""
        return self.render.fragment(("column", name, t, not_null, comment), lambda: self.column_def(name, t, not_null, label))

    def foreign_key(self, column: str, reference: exp.Reference) -> exp.Expr:
        return self.render.fragment(("fk", column, reference), lambda: exp.ForeignKey(expressions=[q(column)], reference=reference))

    def check_item(self, check: exp.Expr) -> exp.Expr:
        return self.render.fragment(("check", check), lambda: exp.CheckColumnConstraint(this=check))

    def create_table(
        self,
        name: str,
        cols: Sequence[tuple[str, exp.DataType, bool, str]],
        pk: Sequence[str] = (),
        fks: Sequence[tuple[str, str, str]] = (),
        checks: Sequence[tuple[str, exp.Expr]] = (),
        label: str = "",
    ) -> tuple[str, Callable[[], dict[str, exp.ColumnDef]]]:
        """CREATE TABLE; the column definitions returned carry their own FK and CHECK (for ALTER TABLE ADD COLUMN)."""
        # The statement's trees are its own: rendering may rewrite them (SQLite moves a key into its column).
        items: list[exp.Expr] = [self.column_item(n, t, nn, lbl, n in pk) for n, t, nn, lbl in cols]
        if self.d in CONSTRAINTS:
            if pk:
                items.append(exp.PrimaryKey(expressions=[q(c) for c in pk]))
            for column, ref_table, ref_col in fks:
                reference = exp.Reference(this=exp.Schema(this=table(ref_table), expressions=[q(ref_col)]))
                items.append(self.foreign_key(column, reference))
            items += [self.check_item(check) for _, check in checks]
        else:
            if pk or fks or checks:
                self.out.gaps.append(Gap(name, None, f"keys, foreign keys and CHECK constraints are not enforced on {self.d}"))
        props = None
        if self.d in INLINE_COMMENT and label:
            props = exp.Properties(expressions=[exp.SchemaCommentProperty(this=lit(label))])
        create = exp.Create(this=exp.Schema(this=table(name), expressions=items), kind="TABLE", properties=props)

        def make_defs() -> dict[str, exp.ColumnDef]:
            defs = {n: self.column_def(n, t, nn, lbl) for n, t, nn, lbl in cols}
            if self.d in CONSTRAINTS:
                for column, ref_table, ref_col in fks:
                    self.add_constraint(defs, column, exp.Reference(this=exp.Schema(this=table(ref_table), expressions=[q(ref_col)])))
                for column, check in checks:
                    self.add_constraint(defs, column, exp.CheckColumnConstraint(this=check.copy()))
            return defs

        return self.sql(create), make_defs

    @staticmethod
    def add_constraint(defs: dict[str, exp.ColumnDef], column: str, kind: exp.Expr) -> None:
        """Keep a table constraint on its column's definition too, for ALTER TABLE ADD COLUMN."""
        if column in defs:
            defs[column].append("constraints", exp.ColumnConstraint(kind=kind))

    def comments(self, kind: str, name: str, label: str, cols: Iterable[tuple[str, str]]) -> list[str]:
        if self.d not in COMMENT_ON:
            return []
        out = [self.render.comment(kind, name, None, label)] if label else []
        out += [self.render.comment("COLUMN", name, column, text) for column, text in cols if text]
        return out

    def insert(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
        if not rows:
            return []
        return [self.render.insert(name, columns, rows)]

    # -- objects -----------------------------------------------------------------------------------

    def org_units(self) -> None:
        units = self.p.org_units
        lvl_cols = [f"{lvl}_code" for lvl in LEVELS]
        cols = [("code", self.str_key(), True, "代码"), ("name", self.text(), True, "名称"), ("level", self.str_key(), True, "层级")]
        cols += [("parent", self.str_key(), False, "上级单位代码")]
        cols += [(c, self.str_key(), False, f"所属{zh}代码") for c, zh in zip(lvl_cols, ("区县", "镇街", "村（社区）", "网格"), strict=True)]
        create, defs = self.create_table(ORG_TABLE, cols, pk=["code"], fks=[("parent", ORG_TABLE, "code")], label="组织机构")

        def depth(code: str) -> int:
            n, u = 0, units[code]
            while u.parent:
                n, u = n + 1, units[u.parent]
            return n

        rows: list[tuple[Any, ...]] = []
        for code in sorted(units, key=lambda c: (depth(c), c)):
            u = units[code]
            anc: dict[str, str] = {}
            cur: str | None = code
            while cur:
                anc.setdefault(units[cur].level, cur)
                cur = units[cur].parent
            rows.append((u.code, u.name, u.level, u.parent, *(anc.get(lvl) for lvl in LEVELS)))
        names = [c[0] for c in cols]
        self.add(
            SqlObject(
                ORG_TABLE,
                "table",
                "org_units",
                f"tables/{ORG_TABLE}.sql",
                create,
                # one INSERT per depth: a unit's parent is in the table before the unit (DuckDB checks per statement)
                data=[s for dep in sorted({depth(r[0]) for r in rows}) for s in self.insert(ORG_TABLE, names, [r for r in rows if depth(r[0]) == dep])],
                comments=self.comments("TABLE", ORG_TABLE, "组织机构", [(c[0], c[3]) for c in cols]),
                label="组织机构",
                columns=tuple(SqlColumn(n, self.type_sql(t), nn, lbl) for n, t, nn, lbl in cols),
                primary_key=("code",),
                rows=tuple(rows),
                make_defs=defs,
            )
        )

    def str_key(self) -> exp.DataType:
        return self.type("VARCHAR", 64) if self.d == "mysql" else self.type("TEXT")

    def text(self) -> exp.DataType:
        return self.type("VARCHAR", 255) if self.d == "mysql" else self.type("TEXT")

    def codelist_table(self, uid: str) -> str:
        cl = self.p.codelists[uid]
        return ident_name("codelist", cl.namespace, cl.id)

    def codelists(self) -> None:
        used = sorted({f.codelist for f in self.p.fields.values() if f.codelist and f.codelist in self.p.codelists})
        for uid in used:
            cl = self.p.codelists[uid]
            name = self.codelist_table(uid)
            cols = [
                ("code", self.str_key(), True, "代码"),
                ("label", self.text(), True, "名称"),
                ("parent", self.str_key(), False, "上级代码"),
                ("position", datatype("INT"), True, "顺序"),
                ("deprecated", datatype("BOOLEAN"), True, "已停用"),
            ]
            create, defs = self.create_table(name, cols, pk=["code"], label=cl.label)
            rows = tuple((v.code, v.label, v.parent, i + 1, v.deprecated) for i, v in enumerate(cl.values))
            self.add(
                SqlObject(
                    name,
                    "table",
                    "codelist",
                    f"tables/{name}.sql",
                    create,
                    data=self.insert(name, [c[0] for c in cols], rows),
                    comments=self.comments("TABLE", name, cl.label, [(c[0], c[3]) for c in cols]),
                    uid=uid,
                    label=cl.label,
                    columns=tuple(SqlColumn(n, self.type_sql(t), nn, lbl) for n, t, nn, lbl in cols),
                    primary_key=("code",),
                    rows=rows,
                    location=cl.location,
                    make_defs=defs,
                )
            )

    def field_columns(self, fields: Sequence[str]) -> dict[str, str]:
        """Column name of each field: its id, or ``<ns>_<id>`` when two fields share an id (or it is reserved)."""
        ids: dict[str, int] = {}
        for uid in fields:
            ids[self.p.fields[uid].id] = ids.get(self.p.fields[uid].id, 0) + 1
        out: dict[str, str] = {}
        for uid in fields:
            f = self.p.fields[uid]
            out[uid] = f.id if ids[f.id] == 1 and f.id not in RESERVED else ident_name(f.namespace, f.id)
        return out

    def field_table_parts(
        self, obj: str, uid_cols: Sequence[tuple[str, str, bool, str]]
    ) -> tuple[list[tuple[str, exp.DataType, bool, str]], list[tuple[str, str, str]], list[tuple[str, exp.Expr]], list[SqlColumn]]:
        """Columns, foreign keys and checks for (field uid, column name, not null, label) items."""
        cols: list[tuple[str, exp.DataType, bool, str]] = []
        fks: list[tuple[str, str, str]] = []
        checks: list[tuple[str, exp.Expr]] = []
        meta: list[SqlColumn] = []
        for fuid, name, not_null, label in uid_cols:
            f = self.p.fields[fuid]
            t = self.dtype(f)
            cols.append((name, t, not_null, label))
            meta.append(SqlColumn(name, self.type_sql(t), not_null, label, fuid, f.sensitivity == "sensitive", f.unit))
            if f.codelist and f.codelist in self.p.codelists:
                if f.multiple:
                    self.out.gaps.append(Gap(obj, name, "several codes in one value: no foreign key to the code table", fuid))
                else:
                    fks.append((name, self.codelist_table(f.codelist), "code"))
            checks.extend(self.checks(f, name, obj))
        return cols, fks, checks, meta

    def ledgers(self) -> None:
        for uid in sorted(self.p.ledgers):
            self.advance(1)
            led = self.p.ledgers[uid]
            name = ident_name("ledger", led.namespace, led.id)
            names = self.field_columns(led.field_uids())
            self.ledger_cols[uid] = names
            items = [
                (
                    lf.field,
                    names[lf.field],
                    lf.required or lf.field in led.key or self.p.fields[lf.field].constraints.required,
                    lf.label or self.p.field_label(lf.field),
                )
                for lf in led.fields
            ]
            cols, fks, checks, meta = self.field_table_parts(name, items)
            org = ("org_unit", self.str_key(), True, "所属组织单位代码")
            unique = [names[lf.field] for lf in led.fields if self.p.fields[lf.field].constraints.unique and lf.field not in led.key]
            create, defs = self.create_table(
                name,
                [org, *cols],
                pk=[names[k] for k in led.key if k in names],
                fks=[("org_unit", ORG_TABLE, "code"), *fks],
                checks=checks,
                label=led.label,
            )
            if unique and self.d in CONSTRAINTS:
                self.out.gaps.append(Gap(name, None, "unique fields are checked by ybt, not by a UNIQUE constraint: rows of one entity may repeat per period"))
            deps = sorted({ORG_TABLE, *(f[1] for f in fks)})
            self.add(
                SqlObject(
                    name,
                    "table",
                    "ledger",
                    f"tables/{name}.sql",
                    create,
                    comments=self.comments("TABLE", name, led.label, [("org_unit", org[3]), *((c[0], c[3]) for c in cols)]),
                    uid=uid,
                    label=led.label,
                    depends_on=tuple(deps),
                    columns=(SqlColumn("org_unit", self.type_sql(org[1]), True, org[3]), *meta),
                    primary_key=tuple(names[k] for k in led.key if k in names),
                    location=led.location,
                    make_defs=defs,
                )
            )

    def report_tables(self) -> None:
        for uid in sorted(self.p.reports):
            self.advance(1)
            r = self.p.reports[uid]
            if r.sources:
                continue
            name = ident_name("report", r.department, r.id)
            cols: list[tuple[str, exp.DataType, bool, str]] = [
                ("period", self.str_key(), True, "填报期别"),
                ("org_unit", self.str_key(), True, "填报单位代码"),
            ]
            meta = [SqlColumn(c[0], self.type_sql(c[1]), True, c[3]) for c in cols]
            fks: list[tuple[str, str, str]] = [("org_unit", ORG_TABLE, "code")]
            checks: list[tuple[str, exp.Expr]] = []
            for c in r.columns:
                f = self.p.fields.get(c.field) if c.field else None
                if f is not None and c.aggregate is None:
                    fc, ffk, fch, fm = self.field_table_parts(name, [(f.uid, c.id, c.required, c.label)])
                    cols += fc
                    fks += ffk
                    checks += fch
                    meta += fm
                else:
                    t = self.dtype(f, c.aggregate)
                    cols.append((c.id, t, c.required, c.label))
                    meta.append(SqlColumn(c.id, self.type_sql(t), c.required, c.label, c.field, False, c.unit))
            pk = ["period", "org_unit"] if r.form == "summary" else []
            create, defs = self.create_table(name, cols, pk=pk, fks=fks, checks=checks, label=r.title)
            self.add(
                SqlObject(
                    name,
                    "table",
                    "report_table",
                    f"tables/{name}.sql",
                    create,
                    comments=self.comments("TABLE", name, r.title, [(c[0], c[3]) for c in cols]),
                    uid=uid,
                    label=r.title,
                    depends_on=tuple(sorted({f[1] for f in fks})),
                    columns=tuple(meta),
                    primary_key=tuple(pk),
                    location=r.location,
                    make_defs=defs,
                )
            )

    # -- views -------------------------------------------------------------------------------------

    def condition(self, c: Condition, expr: exp.Expr) -> exp.Expr:
        f = self.p.fields.get(c.field)
        numeric = f is not None and f.base_type in ("integer", "decimal")

        def v(x: Any) -> exp.Expr:
            if isinstance(x, bool):
                return exp.Boolean(this=x) if f is not None and f.base_type == "boolean" else lit(str(x).lower())
            if numeric and isinstance(x, int | float):
                return lit(x)
            if numeric:
                try:
                    return lit(float(x) if "." in str(x) else int(x))
                except ValueError:
                    return lit(str(x))
            return lit(str(x) if not isinstance(x, bool) else x)

        ops: dict[str, type[exp.Binary]] = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "ge": exp.GTE, "lt": exp.LT, "le": exp.LTE}
        if c.op in ops:
            return ops[c.op](this=expr, expression=v(c.value))
        if c.op in ("in", "not_in"):
            inside = exp.In(this=expr, expressions=[v(x) for x in c.value])
            return exp.Not(this=inside) if c.op == "not_in" else inside
        if c.op == "between":
            return exp.Between(this=expr, low=v(c.value[0]), high=v(c.value[1]))
        if c.op == "is_null":
            return exp.Is(this=expr, expression=exp.Null())
        if c.op == "not_null":
            return exp.Not(this=exp.Is(this=expr, expression=exp.Null()))
        raise ValueError(f"unknown operator {c.op!r}")

    def conjunction(self, conds: Sequence[Condition], resolve: Any) -> exp.Expr | None:
        parts = [self.condition(c, resolve(c.field)) for c in conds]
        if not parts:
            return None
        out = parts[0]
        for p in parts[1:]:
            out = exp.And(this=out, expression=p)
        return out

    def null_of(self, fuid: str | None) -> exp.Expr:
        return exp.Cast(this=exp.Null(), to=fresh(self.dtype(self.p.fields.get(fuid) if fuid else None)))

    def source_plan(self, r: Report, view: str) -> tuple[exp.Select, Fields, list[str]]:
        """FROM/JOIN over the report's ledgers; the expression of every field they hold."""
        ledgers: list[Ledger] = [self.p.ledgers[s] for s in r.sources if s in self.p.ledgers]
        base = ledgers[0]
        base_name = ident_name("ledger", base.namespace, base.id)
        sel = exp.select().from_(exp.Table(this=q(base_name), alias=exp.TableAlias(this=q("t0"))))
        fields: Fields = {}
        deps = [base_name]
        for fuid, column in self.ledger_cols[base.uid].items():
            fields.setdefault(fuid, (column, "t0"))
        fields["__org__"] = ("org_unit", "t0")
        for i, led in enumerate(ledgers[1:], start=1):
            t = f"t{i}"
            cols = self.ledger_cols[led.uid]
            keys = [k for k in base.key if k in cols] or [k for k in led.key if k in self.ledger_cols[base.uid]]
            name = ident_name("ledger", led.namespace, led.id)
            if not keys:
                self.out.gaps.append(Gap(view, None, f"ledger {led.uid} shares no key field with {base.uid}: not joined", r.uid))
                continue
            on: exp.Expr | None = None
            for k in keys:
                eq = exp.EQ(this=col(cols[k], t), expression=col(self.ledger_cols[base.uid][k], "t0"))
                on = eq if on is None else exp.And(this=on, expression=eq)
            sel = sel.join(exp.Table(this=q(name), alias=exp.TableAlias(this=q(t))), on=on, join_type="inner", copy=False)
            deps.append(name)
            for fuid, column in cols.items():
                fields.setdefault(fuid, (column, t))
        return sel, fields, deps

    def resolver(self, fields: Fields, view: str, r: Report, column: str | None) -> Any:
        def resolve(fuid: str) -> exp.Expr:
            if fuid in fields:
                return col(*fields[fuid])
            self.out.gaps.append(Gap(view, column, f"field {fuid} is in none of the report's sources: NULL", r.uid))
            return self.null_of(fuid)

        return resolve

    def report_views(self) -> None:
        for uid in sorted(self.p.reports):
            self.advance(1)
            r = self.p.reports[uid]
            view = ident_name("view", r.department, r.id)
            if r.sources and all(s in self.p.ledgers for s in r.sources):
                sel, fields, deps = self.source_plan(r, view)
            else:
                tname = ident_name("report", r.department, r.id)
                sel = exp.select().from_(exp.Table(this=q(tname), alias=exp.TableAlias(this=q("t0"))))
                fields = {c.field: (c.id, "t0") for c in r.columns if c.field and c.aggregate is None}
                fields["__org__"] = ("org_unit", "t0")
                deps = [tname]
            # A collected report's rows are already in its scope: the filler applied its ``where``.
            where = None if not r.sources else self.conjunction(r.where, self.resolver(fields, view, r, None))
            if where is not None:
                sel = sel.where(where, copy=False)
            meta: list[SqlColumn] = []
            collected = not r.sources
            if r.form == "summary" and not collected:
                level = r.group_by or r.fill_level
                sel = sel.join(
                    exp.Table(this=q(ORG_TABLE), alias=exp.TableAlias(this=q("ou"))), on=exp.EQ(this=col("code", "ou"), expression=col(*fields["__org__"]))
                )
                sel = sel.join(
                    exp.Table(this=q(ORG_TABLE), alias=exp.TableAlias(this=q("g"))),
                    on=exp.EQ(this=col("code", "g"), expression=col(f"{level}_code", "ou")),
                    join_type="left",
                )
                deps.append(ORG_TABLE)
                for led in (self.p.ledgers[s] for s in r.sources[:1]):
                    if LEVELS.index(led.org_level) < LEVELS.index(level):
                        self.out.gaps.append(Gap(view, "org_unit", f"ledger rows belong to a {led.org_level}, finer {level} rows are NULL", r.uid))
                projections: list[exp.Expr] = [
                    alias(col(f"{level}_code", "ou"), "org_unit"),
                    alias(col("name", "g"), "org_unit_name"),
                ]
                meta += [
                    SqlColumn("org_unit", self.type_sql(self.str_key()), False, "组织单位代码"),
                    SqlColumn("org_unit_name", self.type_sql(self.text()), False, "组织单位"),
                ]
                for c in r.columns:
                    projections.append(alias(self.aggregate(c, fields, view, r), c.id))
                    f = self.p.fields.get(c.field) if c.field else None
                    meta.append(SqlColumn(c.id, self.type_sql(self.dtype(f, c.aggregate)), False, c.label, c.field, False, c.unit))
                sel = sel.select(*projections, copy=False).group_by(col(f"{level}_code", "ou"), col("name", "g"), copy=False)
            else:
                projections = []
                if collected:
                    projections.append(self.projection("period", "t0", "period"))
                    meta.append(SqlColumn("period", self.type_sql(self.str_key()), True, "填报期别"))
                projections.append(self.projection(*fields["__org__"], "org_unit"))
                meta.append(SqlColumn("org_unit", self.type_sql(self.str_key()), True, "组织单位代码"))
                for c in r.columns:
                    f = self.p.fields.get(c.field) if c.field else None
                    if collected:
                        projections.append(self.projection(c.id, "t0", c.id))
                    elif c.field in fields:
                        projections.append(self.projection(*fields[c.field], c.id))
                    else:  # NULL, and a gap when the field is in none of the sources
                        e = self.resolver(fields, view, r, c.id)(c.field) if c.field else self.null_of(None)
                        projections.append(alias(e, c.id))
                    sens = f is not None and f.sensitivity == "sensitive" and c.aggregate is None
                    meta.append(SqlColumn(c.id, self.type_sql(self.dtype(f, c.aggregate)), False, c.label, c.field, sens, c.unit))
                sel = sel.select(*projections, copy=False)
            self.add_view(view, "view", r, sel, deps, meta)
            self.variants(view, r, meta)

    def aggregate(self, c: Column, fields: Fields, view: str, r: Report) -> exp.Expr:
        resolve = self.resolver(fields, view, r, c.id)
        cond = self.conjunction(c.where, resolve)
        value: exp.Expr = resolve(c.field) if c.field else lit(1)
        if cond is not None:
            value = exp.Case(ifs=[exp.If(this=cond, true=value)])
        agg = c.aggregate or "max"
        if agg == "count":
            return exp.Count(this=value) if (c.field or cond is not None) else exp.Count(this=exp.Star())
        if agg == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[value]))
        if c.aggregate is None:
            self.out.gaps.append(Gap(view, c.id, "a summary column without an aggregate: MAX of the group's values", r.uid))
        fn: dict[str, type[exp.Func]] = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}
        out: exp.Expr = fn[agg](this=value)
        if agg == "avg":
            out = exp.Cast(this=out, to=datatype("DECIMAL", 20, 4))
        return out

    def add_view(self, name: str, role: str, r: Report, sel: exp.Select, deps: Sequence[str], meta: Sequence[SqlColumn], label: str | None = None) -> None:
        create = self.sql(exp.Create(this=table(name), kind="VIEW", expression=sel))
        title = label or r.title
        comments = self.comments("VIEW", name, title, [(m.name, m.label) for m in meta]) if self.d == "postgres" else []
        if self.d == "duckdb":
            comments = self.comments("VIEW", name, title, [])
        self.add(
            SqlObject(
                name,
                "view",
                role,
                f"views/{name}.sql",
                create,
                comments=comments,
                uid=r.uid,
                label=title,
                depends_on=tuple(sorted(set(deps))),
                columns=tuple(meta),
                location=r.location,
            )
        )

    def mask(self, m: SqlColumn) -> exp.Expr:
        c = col(m.name, "v")
        f = self.p.fields.get(m.field) if m.field else None
        if f is None or f.type not in PARTIAL_MASK_TYPES:
            return exp.Cast(this=exp.Null(), to=fresh(self.dtype(f)))
        n = exp.Length(this=c.copy())

        def stars(k: exp.Expr) -> exp.Expr:
            return exp.Substring(this=lit(STARS), start=lit(1), length=k)

        keep = exp.DPipe(
            this=exp.DPipe(this=exp.Substring(this=c.copy(), start=lit(1), length=lit(4)), expression=stars(exp.Sub(this=n.copy(), expression=lit(8)))),
            expression=exp.Substring(this=c.copy(), start=exp.Sub(this=n.copy(), expression=lit(3)), length=lit(4)),
        )
        return exp.Case(ifs=[exp.If(this=exp.LTE(this=n.copy(), expression=lit(8)), true=stars(n.copy()))], default=keep)

    def variants(self, view: str, r: Report, meta: Sequence[SqlColumn]) -> None:
        sensitive = {m.field for m in meta if m.sensitive and m.field}
        depts = self.departments_of(r)
        if not sensitive:
            for d in depts:
                self.grant(d, view, "aggregate" if r.form == "summary" else "unmasked")
            return
        masked = ident_name(view + "__masked")
        self.variant(masked, "masked_view", r, view, meta, sensitive)
        granted: dict[str, set[str]] = {}
        for consumer in r.consumers:
            granted.setdefault(consumer.department, set()).update(g for g in consumer.grants if g in sensitive)
        for d in depts:
            self.grant(d, masked, "masked")
            g = granted.get(d, set())
            if g >= sensitive:
                self.grant(d, view, "unmasked")
            elif g:
                partial = ident_name(f"{view}__{d}")
                self.variant(
                    partial,
                    "partial_view",
                    r,
                    view,
                    meta,
                    sensitive - g,
                    label=f"{r.title}（{self.p.departments[d].name}）" if d in self.p.departments else None,
                )
                self.grant(d, partial, "partial")

    def masked(self, m: SqlColumn) -> exp.Expr:
        """A masked column of a variant view (the same in every view of that column and field)."""
        return self.render.fragment(("mask", m.name, m.field), lambda: alias(self.mask(m), m.name))

    def projection(self, column: str, table_alias: str, name: str) -> exp.Expr:
        """``"table_alias"."column" AS "name"``: thousands of views repeat the same few thousand."""
        return self.render.fragment(("projection", column, table_alias, name), lambda: alias(col(column, table_alias), name))

    def variant(self, name: str, role: str, r: Report, view: str, meta: Sequence[SqlColumn], masked: set[str], label: str | None = None) -> None:
        projections = [self.masked(m) if m.field in masked and m.sensitive else self.projection(m.name, "v", m.name) for m in meta]
        sel = exp.select(*projections, copy=False).from_(exp.Table(this=q(view), alias=exp.TableAlias(this=q("v"))))
        vmeta = [SqlColumn(m.name, m.type, m.not_null, m.label, m.field, m.sensitive and m.field not in masked, m.unit) for m in meta]
        self.add_view(name, role, r, sel, [view], vmeta, label=label)

    def departments_of(self, r: Report) -> list[str]:
        return sorted({r.department, *(c.department for c in r.consumers)} & set(self.p.departments))

    def grant(self, dept: str, obj: str, access: str) -> None:
        self.out.grants.append(Grant(dept, self.out.roles[dept], obj, access))

    # -- roles, grants, metadata -------------------------------------------------------------------

    def roles(self) -> None:
        for d in sorted(self.p.departments):
            self.out.roles[d] = ident_name(self.p.id, d)

    def finish(self) -> None:
        reference = [o.name for o in self.out.objects if o.role in ("org_units", "codelist")] + [META_OBJECTS, META_COLUMNS, META_GRANTS]
        for d in sorted(self.out.roles):
            for name in reference:
                self.out.grants.append(Grant(d, self.out.roles[d], name, "reference"))
        # metadata tables
        t = self.text()
        k = self.str_key()
        specs: dict[str, list[tuple[str, exp.DataType, bool, str]]] = {
            META_OBJECTS: [
                ("name", k, True, "对象名"),
                ("kind", k, True, "种类"),
                ("role", k, True, "用途"),
                ("unique_id", t, False, "规格对象"),
                ("label", t, False, "中文名称"),
            ],
            META_COLUMNS: [
                ("object_name", k, True, "对象名"),
                ("column_name", k, True, "栏目名"),
                ("position", datatype("INT"), True, "顺序"),
                ("label", t, False, "中文名称"),
                ("field", t, False, "字段"),
                ("sensitive", datatype("BOOLEAN"), True, "敏感"),
                ("unit", t, False, "计量单位"),
            ],
            META_GRANTS: [("department", k, True, "部门"), ("role", k, True, "数据库角色"), ("object_name", k, True, "对象名"), ("access", k, True, "权限")],
        }
        pks = {META_OBJECTS: ["name"], META_COLUMNS: ["object_name", "column_name"], META_GRANTS: ["role", "object_name"]}
        rows: dict[str, list[tuple[Any, ...]]] = {
            META_OBJECTS: [(o.name, o.kind, o.role, o.uid, o.label) for o in self.out.objects],
            META_COLUMNS: [(o.name, c.name, i + 1, c.label, c.field, c.sensitive, c.unit) for o in self.out.objects for i, c in enumerate(o.columns)],
            META_GRANTS: [(g.department, g.role, g.object, g.access) for g in self.out.grants],
        }
        labels = {META_OBJECTS: "ybt 对象目录", META_COLUMNS: "ybt 栏目目录（中文名称）", META_GRANTS: "ybt 访问授权设计"}
        meta_objs = []
        for name, cols in specs.items():
            create, defs = self.create_table(name, cols, pk=pks[name], label=labels[name])
            meta_objs.append(
                SqlObject(
                    name,
                    "table",
                    "meta",
                    f"tables/{name}.sql",
                    create,
                    comments=self.comments("TABLE", name, labels[name], [(c[0], c[3]) for c in cols]),
                    label=labels[name],
                    columns=tuple(SqlColumn(n, self.type_sql(tp), nn, lbl) for n, tp, nn, lbl in cols),
                    primary_key=tuple(pks[name]),
                    make_defs=defs,
                )
            )
            self.out.meta_statements.append(self.sql(exp.Delete(this=table(name))))
            for chunk in range(0, len(rows[name]), 500):
                self.out.meta_statements += self.insert(name, [c[0] for c in cols], rows[name][chunk : chunk + 500])
        # metadata tables go right after the reference tables, before the ledgers
        n_ref = sum(1 for o in self.out.objects if o.role in ("org_units", "codelist"))
        self.out.objects[n_ref:n_ref] = meta_objs
        if self.d in GRANTS:
            for role in sorted(self.out.roles.values()):  # in role-name order: migrate and pool pair them up that way
                self.out.role_statements.append(self.sql(exp.Command(this="CREATE", expression=exp.Literal.string("ROLE " + q(role).sql(dialect=self.d)))))
            for g in self.out.grants:
                self.out.grant_statements.append(
                    self.sql(
                        exp.Grant(
                            privileges=[exp.GrantPrivilege(this=exp.Var(this="SELECT"))],
                            kind="TABLE" if self.d != "mysql" else None,
                            securable=table(g.object),
                            principals=[exp.GrantPrincipal(this=q(g.role))],
                        )
                    )
                )

    def add(self, obj: SqlObject) -> None:
        self.out.objects.append(obj)

    def build(self) -> SqlBuild:
        self.roles()
        self.org_units()
        self.codelists()
        self.ledgers()
        if self.render.fast and len(self.p.reports) >= fork.MIN_ITEMS and fork.jobs() >= 2:
            # The reports' views do not depend on their tables: a forked child renders the views while
            # this process renders the tables, then they are put in the order one process gives.
            _, views = fork.in_two(self.report_tables, self._views_there, pickle.loads, lambda: self._appended(self._quiet_views))
            self.out.objects += views[0]
            self.out.grants += views[1]
            self.out.gaps += views[2]
            self.advance(len(self.p.reports))
        else:
            self.report_tables()
            self.report_views()
        self.finish()
        return self.out

    def _appended(self, part: Callable[[], None]) -> tuple[list[SqlObject], list[Grant], list[Gap]]:
        """Run ``part`` and take back out of the build the objects, grants and gaps it added."""
        out = self.out
        marks = len(out.objects), len(out.grants), len(out.gaps)
        part()
        added = out.objects[marks[0] :], out.grants[marks[1] :], out.gaps[marks[2] :]
        del out.objects[marks[0] :], out.grants[marks[1] :], out.gaps[marks[2] :]
        return added

    def _quiet_views(self) -> None:
        """The reports' views without moving the progress bar (the caller counts them; in the forked
        child the terminal is the parent's)."""
        advance, self.advance = self.advance, lambda n: None
        try:
            self.report_views()
        finally:
            self.advance = advance

    def _views_there(self) -> bytes:
        """In the forked child: the reports' views, pickled."""
        return pickle.dumps(self._appended(self._quiet_views), protocol=pickle.HIGHEST_PROTOCOL)


_CACHE: dict[tuple[str, str, str], SqlBuild] = {}
_CACHE_SIZE = 8


def build(project: Project, dialect: str = DEFAULT_DIALECT, *, lang: str | None = None, fast: bool = True) -> SqlBuild:
    """The data pool of ``project`` in ``dialect``: every object, its statements, grants and gaps.

    The result is read-only. A project compiled from files is built once per process: the same root and
    the same file checksums give the same SQL (``ybt db init`` and the tests build one project often).
    With ``lang`` (the CLI's message language) a long build shows a progress bar on stderr.
    ``fast=False`` renders every statement from its whole sqlglot tree: the same bytes, slower (for tests).
    """
    if not fast:
        return _Builder(project, dialect, fast=False).build()
    key = None
    if project.file_checksums:
        digest = hashlib.sha256(json.dumps(sorted(project.file_checksums.items())).encode()).hexdigest()
        key = (str(project.root), dialect, digest)
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
    builder = _Builder(project, dialect)
    if lang is None:
        out = builder.build()
    else:
        steps = len(project.ledgers) + 2 * len(project.reports)
        with progress(Text(f"生成 {dialect} SQL", f"generating {dialect} SQL"), total=steps, lang=lang) as advance:
            builder.advance = advance
            out = builder.build()
    if key is not None:
        while len(_CACHE) >= _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = out
    return out
