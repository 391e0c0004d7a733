"""Schema evolution: the statements that take a pool built from old specs to the new ones, without losing data.

Both sides are compiled to SQL with the same generator (the old side from its ``manifest.json``) and
compared object by object:

- a new table is created (with its reference rows); a table that is gone is **kept** (it may hold
  data) and reported;
- a new column is added with ``ALTER TABLE … ADD COLUMN`` (nullable: existing rows have no value);
  a column that is gone is kept and reported; a changed type or primary key is an error (ybt does
  not guess how to convert data);
- codes and org units new in the specs are inserted, changed ones updated; removed ones are kept
  (rows may still use them) and reported;
- every view that changed, disappeared or depends on one that did is dropped (dependents first) and
  the new definitions created; the metadata tables are rewritten; grants follow the objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from ybt.diagnostics import Diagnostic, Location, Severity, Text
from ybt.model import Project
from ybt.sql.build import GRANTS, SqlBuild, SqlObject, ident_name, lit, q, table
from ybt.sql.rules import CONSTRAINT_CHANGE, DROPPED_COLUMN, DROPPED_TABLE, FIELD_MERGED, KEY_CHANGE, REMOVED_CODE, TYPE_CHANGE

__all__ = [
    "CONSTRAINT_CHANGE",
    "DROPPED_COLUMN",
    "DROPPED_TABLE",
    "FIELD_MERGED",
    "KEY_CHANGE",
    "REMOVED_CODE",
    "TYPE_CHANGE",
    "Migration",
    "migrate",
    "renames_of",
]


@dataclass(slots=True)
class Migration:
    dialect: str
    statements: list[str] = field(default_factory=list)
    role_statements: list[str] = field(default_factory=list)
    new_roles: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    def all_statements(self) -> list[str]:
        return [*self.role_statements, *self.statements]

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _loc(obj: SqlObject) -> Location | None:
    return obj.location


def _constraint_sql(obj: SqlObject, column: str, dialect: str) -> str:
    d = obj.column_defs.get(column)
    if d is None:
        return ""
    kinds = [c.args.get("kind") for c in d.args.get("constraints") or []]
    return " ".join(k.sql(dialect=dialect) for k in kinds if isinstance(k, exp.Reference | exp.CheckColumnConstraint))


def renames_of(project: Project) -> dict[str, str]:
    """Old field → the field that replaces it (``superseded_by``, followed to its end), as ``ybt merge`` records it."""
    out: dict[str, str] = {}
    for f in project.fields.values():
        target, seen = f.superseded_by, {f.uid}
        while target and target in project.fields and project.fields[target].superseded_by and target not in seen:
            seen.add(target)
            target = project.fields[target].superseded_by
        if target:
            out[f.uid] = target
    return out


def migrate(old: SqlBuild, new: SqlBuild, renames: Mapping[str, str] | None = None) -> Migration:
    """Statements taking a pool built as ``old`` to ``new`` (same dialect), and what cannot be migrated.

    ``renames`` maps a superseded field to its replacement: a column of the old field is carried into
    the new field's column (the table is rebuilt), which is how a merged ledger keeps its rows.
    """
    renames = renames or {}
    if old.dialect != new.dialect:
        raise ValueError("both builds must be of one dialect")
    d = new.dialect
    m = Migration(d)

    def sql(e: exp.Expr) -> str:
        return e.sql(dialect=d, pretty=True, identify=True)

    def diag(code: str, severity: Severity, obj: SqlObject, zh: str, en: str, hint: Text | None = None) -> None:
        m.diagnostics.append(Diagnostic(code, severity, Text(zh, en), _loc(obj), hint))

    old_views = {o.name: o for o in old.objects if o.kind == "view"}
    new_views = {o.name: o for o in new.objects if o.kind == "view"}
    old_tables = {o.name: o for o in old.objects if o.kind == "table"}
    plans: dict[str, _Rebuild | None] = {}
    for o in new.objects:
        before = old_tables.get(o.name)
        if o.kind == "table" and before is not None and o.role in ("ledger", "report_table"):
            plans[o.name] = _rebuild_plan(before, o, renames)
    rebuilt = {n for n, p in plans.items() if p is not None}
    # 1. views to drop: changed or gone, over a rebuilt table, and everything that depends on them
    changed = {n for n, o in old_views.items() if n not in new_views or new_views[n].create != o.create or rebuilt.intersection(o.depends_on)}
    grew = True
    while grew:
        grew = False
        for n, o in old_views.items():
            if n not in changed and changed.intersection(o.depends_on):
                changed.add(n)
                grew = True
    for o in reversed(old.objects):
        if o.name in changed:
            m.statements.append(sql(exp.Drop(tables=[table(o.name)], kind="VIEW", exists=True)))
            m.bump("views_dropped")
    created: set[str] = set()
    # 2. tables
    for o in new.objects:
        if o.kind != "table":
            continue
        before = old_tables.get(o.name)
        if before is None:
            m.statements += o.statements
            created.add(o.name)
            m.bump("tables_created")
            continue
        plan = plans.get(o.name)
        if plan is not None:
            _rebuild_table(m, before, o, plan, sql, diag)
        else:
            _migrate_table(m, before, o, sql, diag)
    for name, o in old_tables.items():
        if new.object(name) is None and o.role in ("ledger", "report_table"):
            diag(
                DROPPED_TABLE,
                Severity.WARNING,
                o,
                f"表 {name}（{o.label}）已不在规格中，保留在数据池里，数据未删除",
                f"table {name} ({o.uid}) is no longer in the specs: kept in the pool with its rows",
                Text("确认不再需要后手工归档并删除", "archive and drop it by hand once nobody needs it"),
            )
    # 3. metadata, then views
    m.statements += new.meta_statements
    for o in new.objects:
        if o.kind == "view" and (o.name not in old_views or o.name in changed):
            m.statements += o.statements
            created.add(o.name)
            m.bump("views_created")
    # 4. roles and grants
    if d in GRANTS:
        role_sql = dict(zip(sorted(new.roles.values()), new.role_statements, strict=True))
        for role in sorted(set(new.roles.values()) - set(old.roles.values())):
            m.role_statements.append(role_sql[role])
            m.new_roles.append(role)
        old_g = {(g.role, g.object) for g in old.grants}
        new_g = {(g.role, g.object) for g in new.grants}
        grant_sql = dict(zip([(g.role, g.object) for g in new.grants], new.grant_statements, strict=True))
        for g in new.grants:
            if g.object in created or (g.role, g.object) not in old_g:
                m.statements.append(grant_sql[(g.role, g.object)])
                m.bump("grants")
        existing = {o.name for o in new.objects} - created
        for role, obj in sorted(old_g - new_g):
            if obj in existing:
                m.statements.append(
                    sql(
                        exp.Revoke(
                            privileges=[exp.GrantPrivilege(this=exp.Var(this="SELECT"))],
                            kind="TABLE" if d != "mysql" else None,
                            securable=table(obj),
                            principals=[exp.GrantPrincipal(this=q(role))],
                        )
                    )
                )
                m.bump("revokes")
    return m


def _migrate_table(m: Migration, before: SqlObject, after: SqlObject, sql: Any, diag: Any) -> None:
    d = m.dialect
    old_cols = {c.name: c for c in before.columns}
    new_cols = {c.name: c for c in after.columns}
    name = after.name
    if before.primary_key != after.primary_key:
        diag(
            KEY_CHANGE,
            Severity.ERROR,
            after,
            f"表 {name} 的主键由（{', '.join(before.primary_key)}）改为（{', '.join(after.primary_key)}），不能自动迁移",
            f"the key of {name} changes from ({', '.join(before.primary_key)}) to ({', '.join(after.primary_key)}): not migrated",
            Text("新建台账并用审阅过的 SQL 复制数据，或重建数据池", "create a new ledger and copy the rows with reviewed SQL, or rebuild the pool"),
        )
    for c in after.columns:
        old = old_cols.get(c.name)
        if old is None:
            coldef = after.column_defs[c.name].copy()
            keep = [
                cc
                for cc in coldef.args.get("constraints") or []
                if not isinstance(cc.args.get("kind"), exp.NotNullColumnConstraint)
                and (d in ("sqlite", "postgres", "mysql") or not isinstance(cc.args.get("kind"), exp.Reference | exp.CheckColumnConstraint))
            ]
            coldef.set("constraints", keep or None)
            m.statements.append(sql(exp.Alter(this=table(name), kind="TABLE", actions=[coldef])))
            m.bump("columns_added")
            if c.not_null:
                diag(
                    CONSTRAINT_CHANGE,
                    Severity.WARNING,
                    after,
                    f"新增栏目 {name}.{c.name}（{c.label}）按可为空添加：已有行没有值，必填未强制",
                    f"new column {name}.{c.name} is added as nullable: existing rows have no value, NOT NULL is not enforced",
                    Text("补齐已有行的值后再手工加上 NOT NULL", "fill the existing rows, then add NOT NULL by hand"),
                )
            if d in ("duckdb", "spark") and _constraint_sql(after, c.name, d):
                diag(
                    CONSTRAINT_CHANGE,
                    Severity.WARNING,
                    after,
                    f"{d} 不能在 ADD COLUMN 时加约束：新增栏目 {name}.{c.name} 的代码表引用和取值检查未加上",
                    f"{d} cannot add constraints with ADD COLUMN: the FK/CHECK of the new column {name}.{c.name} are not enforced",
                )
            continue
        if old.type != c.type:
            diag(
                TYPE_CHANGE,
                Severity.ERROR,
                after,
                f"栏目 {name}.{c.name}（{c.label}）的类型由 {old.type} 改为 {c.type}，不能自动迁移",
                f"column {name}.{c.name} changes type from {old.type} to {c.type}: not migrated",
                Text("新增一个新类型的字段，用审阅过的 SQL 转换数据后停用旧字段", "add a field of the new type, convert with reviewed SQL, retire the old one"),
            )
        elif old.not_null != c.not_null or _constraint_sql(before, c.name, d) != _constraint_sql(after, c.name, d):
            diag(
                CONSTRAINT_CHANGE,
                Severity.WARNING,
                after,
                f"栏目 {name}.{c.name}（{c.label}）的必填或取值约束改变了，已有表上未修改",
                f"the NOT NULL/CHECK/code-table constraint of {name}.{c.name} changed: not changed on the existing table",
                Text("核对已有数据后重建该表", "check the existing rows, then rebuild the table"),
            )
    for c in before.columns:
        if c.name not in new_cols:
            diag(
                DROPPED_COLUMN,
                Severity.WARNING,
                after,
                f"栏目 {name}.{c.name}（{c.label}）已不在规格中，保留在表中，数据未删除",
                f"column {name}.{c.name} is no longer in the specs: kept in the table with its data",
                Text("确认不再需要后手工删除该栏目", "drop it by hand once nobody needs it"),
            )
    if before.comments != after.comments:
        m.statements += after.comments
    if after.rows or before.rows:
        _migrate_rows(m, before, after, sql, diag)


def _migrate_rows(m: Migration, before: SqlObject, after: SqlObject, sql: Any, diag: Any) -> None:
    names = [c.name for c in after.columns]
    old_rows = {r[0]: r for r in before.rows}
    new_keys = {r[0] for r in after.rows}
    inserts: list[Sequence[Any]] = []
    for row in after.rows:
        old = old_rows.get(row[0])
        if old is None:
            inserts.append(row)
        elif tuple(old) != tuple(row):
            sets = [exp.EQ(this=exp.column(q(n)), expression=lit(v)) for n, v in zip(names[1:], row[1:], strict=True)]
            m.statements.append(
                sql(exp.Update(this=table(after.name), expressions=sets, where=exp.Where(this=exp.EQ(this=exp.column(q(names[0])), expression=lit(row[0])))))
            )
            m.bump("rows_updated")
    if inserts:
        # a unit's parent first: after.rows is already ordered that way
        values = exp.Values(expressions=[exp.Tuple(expressions=[lit(v) for v in r]) for r in inserts])
        m.statements.append(sql(exp.Insert(this=exp.Schema(this=table(after.name), expressions=[q(n) for n in names]), expression=values)))
        m.bump("rows_inserted", len(inserts))
    gone = sorted(k for k in old_rows if k not in new_keys)
    if gone:
        diag(
            REMOVED_CODE,
            Severity.WARNING,
            after,
            f"{after.name}（{after.label}）中已去掉的 {len(gone)} 项保留在库中：{', '.join(map(str, gone[:10]))}",
            f"{len(gone)} entries removed from {after.name} stay in the pool: {', '.join(map(str, gone[:10]))}",
            Text("改为标记停用（deprecated: true）", "mark them deprecated: true instead"),
        )


@dataclass(slots=True)
class _Rebuild:
    """How to rebuild a table whose key changed or whose fields were merged into others."""

    sources: dict[str, str]  # new column → old column it is filled from
    kept: list[str]  # old columns no longer in the specs, kept with their data
    renamed: dict[str, str]  # old column → new column (superseded field → its replacement)


def _rebuild_plan(before: SqlObject, after: SqlObject, renames: Mapping[str, str]) -> _Rebuild | None:
    old_cols = {c.name: c for c in before.columns}
    new_names = {c.name for c in after.columns}
    sources: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for c in after.columns:
        if c.name in old_cols:
            sources[c.name] = c.name
            continue
        for o in before.columns:
            if o.field and c.field and renames.get(o.field) == c.field and o.name not in new_names and o.name not in renamed:
                sources[c.name] = o.name
                renamed[o.name] = c.name
                break
    if not renamed and before.primary_key == after.primary_key:
        return None
    if before.primary_key != after.primary_key and tuple(renamed.get(k, k) for k in before.primary_key) != after.primary_key:
        return None  # a key change other than a merged key field: reported as an error (YBT603)
    kept = [o.name for o in before.columns if o.name not in new_names and o.name not in renamed]
    return _Rebuild(sources, kept, renamed)


def _rebuild_table(m: Migration, before: SqlObject, after: SqlObject, plan: _Rebuild, sql: Any, diag: Any) -> None:
    """Copy the rows aside, recreate the table as the specs say now, copy them back (portable: no ALTER)."""
    d = m.dialect
    name = after.name
    tmp = ident_name("ybt_old", name)
    old_cols = {c.name: c for c in before.columns}
    m.statements.append(sql(exp.Create(this=table(tmp), kind="TABLE", expression=exp.select(exp.Star()).from_(table(name)))))
    m.statements.append(sql(exp.Drop(tables=[table(name)], kind="TABLE")))
    items: list[exp.Expr] = []
    for c in after.columns:
        coldef = after.column_defs[c.name].copy()
        if c.not_null and c.name not in plan.sources:
            coldef.set(
                "constraints", [cc for cc in coldef.args.get("constraints") or [] if not isinstance(cc.args.get("kind"), exp.NotNullColumnConstraint)] or None
            )
            diag(
                CONSTRAINT_CHANGE,
                Severity.WARNING,
                after,
                f"新增栏目 {name}.{c.name}（{c.label}）按可为空建立：已有行没有值，必填未强制",
                f"new column {name}.{c.name} is nullable: existing rows have no value, NOT NULL is not enforced",
                Text("补齐已有行的值后重建该表", "fill the existing rows, then rebuild the table"),
            )
        items.append(coldef)
    for k in plan.kept:
        items.append(exp.ColumnDef(this=q(k), kind=exp.DataType.build(old_cols[k].type, dialect=d)))
        diag(
            DROPPED_COLUMN,
            Severity.WARNING,
            after,
            f"栏目 {name}.{k}（{old_cols[k].label}）已不在规格中，保留在表中，数据未删除",
            f"column {name}.{k} is no longer in the specs: kept in the table with its data",
            Text("确认不再需要后手工删除该栏目", "drop it by hand once nobody needs it"),
        )
    if after.primary_key and d != "spark":
        items.append(exp.PrimaryKey(expressions=[q(k) for k in after.primary_key]))
    m.statements.append(sql(exp.Create(this=exp.Schema(this=table(name), expressions=items), kind="TABLE")))
    targets = [c for c in after.columns if c.name in plan.sources] + [k for k in plan.kept]
    target_names = [c.name if not isinstance(c, str) else c for c in targets]
    exprs: list[exp.Expr] = []
    for t in targets:
        if isinstance(t, str):
            exprs.append(exp.column(q(t)))
            continue
        src = old_cols[plan.sources[t.name]]
        e: exp.Expr = exp.column(q(src.name))
        if src.type != t.type:
            e = exp.Cast(this=e, to=exp.DataType.build(t.type, dialect=d))
        exprs.append(e)
    select = exp.select(*exprs).from_(table(tmp))
    m.statements.append(sql(exp.Insert(this=exp.Schema(this=table(name), expressions=[q(n) for n in target_names]), expression=select)))
    m.statements.append(sql(exp.Drop(tables=[table(tmp)], kind="TABLE")))
    m.statements += after.comments
    m.bump("tables_rebuilt")
    for old_name, new_name in sorted(plan.renamed.items()):
        diag(
            FIELD_MERGED,
            Severity.INFO,
            after,
            f"栏目 {name}.{old_name} 的字段已并入 {new_name}：数据复制到 {new_name}，表按新规格重建",
            f"the field of column {name}.{old_name} was merged into {new_name}: its values are copied there and the table rebuilt",
        )
