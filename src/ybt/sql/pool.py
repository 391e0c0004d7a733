"""The data pool: connect by URL, create or migrate it, and record the applied manifest inside it.

URLs: ``sqlite:///relative/path.sqlite`` or ``sqlite:////absolute/path`` (the standard library),
``duckdb:///path`` (the ``duckdb`` package) and ``postgresql://user@host:port/db`` (``psycopg``).
The manifest a pool was built from is stored in the ``ybt_meta`` table, so the next ``ybt db init``
knows what to migrate from. Everything one init does runs in one transaction.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlglot import exp

from ybt import __version__
from ybt.emit.manifest import build_manifest
from ybt.model import Project
from ybt.sql.build import SqlBuild, build, q, table
from ybt.sql.frommanifest import project_from_manifest
from ybt.sql.migrate import Migration, migrate, renames_of

META = "ybt_meta"


class PoolError(Exception):
    """A URL ybt cannot use or a database it cannot reach (the message is bilingual)."""


@dataclass(frozen=True, slots=True)
class PoolUrl:
    dialect: str
    target: str  # file path or DSN

    @staticmethod
    def parse(url: str) -> PoolUrl:
        for prefix, dialect in (("sqlite:///", "sqlite"), ("duckdb:///", "duckdb")):
            if url.startswith(prefix):
                path = url[len(prefix) :]
                if not path:
                    raise PoolError(f"URL 中缺少文件路径：{url} / the URL has no file path: {url}")
                return PoolUrl(dialect, path)
        if url.startswith(("postgresql://", "postgres://")):
            return PoolUrl("postgres", url)
        raise PoolError(
            f"不支持的数据库地址：{url}（可用 sqlite:///文件、duckdb:///文件、postgresql://用户@主机:端口/库）"
            f" / unsupported database URL: {url} (use sqlite:///FILE, duckdb:///FILE or postgresql://user@host:port/db)"
        )


def _bind_none_directly(sqlite3: Any) -> None:
    """Give None an adapter that returns it as it is (``{}.get(None)`` is None, computed in C).

    The sqlite3 module binds text and numbers directly but looks every other value up for an adapter:
    for None, that failed lookup formats and discards an AttributeError, several times the cost of binding
    the value (a third of a 50,000-row ingest's parameters are empty cells). With this adapter None is
    found at once and still bound as NULL. It is registered for the whole process, which changes nothing
    else: None was, and is, NULL.
    """
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _NONE_AS_IT_IS)


#: Given None, returns None (the adapter of :func:`_bind_none_directly`).
_NONE_AS_IT_IS: Any = {}.get


@dataclass(slots=True)
class Pool:
    url: PoolUrl
    con: Any
    param: str = "?"

    @staticmethod
    def connect(url: str) -> Pool:
        u = PoolUrl.parse(url)
        try:
            if u.dialect == "sqlite":
                import sqlite3

                Path(u.target).parent.mkdir(parents=True, exist_ok=True)
                _bind_none_directly(sqlite3)
                con = sqlite3.connect(u.target, isolation_level=None)
                con.execute("PRAGMA foreign_keys = ON")
                return Pool(u, con)
            if u.dialect == "duckdb":
                try:
                    import duckdb
                except ImportError as exc:
                    raise PoolError("需要安装 duckdb：pip install duckdb / DuckDB pools need the duckdb package: pip install duckdb") from exc
                Path(u.target).parent.mkdir(parents=True, exist_ok=True)
                return Pool(u, duckdb.connect(u.target))
            try:
                import psycopg
            except ImportError as exc:
                raise PoolError("需要安装 psycopg：pip install 'psycopg[binary]' / PostgreSQL pools need psycopg: pip install 'psycopg[binary]'") from exc
            return Pool(u, psycopg.connect(u.target, autocommit=True), "%s")
        except PoolError:
            raise
        except Exception as exc:
            raise PoolError(f"无法连接数据库 {url}：{exc} / cannot connect to {url}: {exc}") from exc

    @property
    def dialect(self) -> str:
        return self.url.dialect

    def close(self) -> None:
        self.con.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(sql, tuple(params)) if params else self.con.execute(sql)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.dialect == "postgres":
            with self.con.cursor() as cur:
                cur.executemany(sql, [tuple(r) for r in rows])
        else:
            self.con.executemany(sql, [tuple(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.con.execute(sql, tuple(params)) if params else self.con.execute(sql)
        if cur is None or cur.description is None:
            return [], []
        columns = [c[0] for c in cur.description]
        return columns, [tuple(r) for r in cur.fetchall()]

    def begin(self) -> None:
        self.execute("BEGIN")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(Exception):  # nothing left to roll back
            self.execute("ROLLBACK")

    def sql(self, e: exp.Expr) -> str:
        return e.sql(dialect=self.dialect, identify=True)

    def has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            _, rows = self.query("SELECT name FROM sqlite_master WHERE name = ?", (name,))
        else:
            _, rows = self.query(f"SELECT table_name FROM information_schema.tables WHERE table_name = {self.param}", (name,))
        return bool(rows)

    def meta(self) -> dict[str, str] | None:
        if not self.has_table(META):
            return None
        _, rows = self.query(self.sql(exp.select(exp.column(q("key")), exp.column(q("value"))).from_(table(META))))
        return {str(k): str(v) for k, v in rows}


@dataclass(slots=True)
class InitResult:
    created: bool
    statements: int
    migration: Migration | None = None
    build: SqlBuild | None = None
    roles_created: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.migration is None or self.migration.ok


def _meta_statements(pool: Pool, manifest: dict[str, Any], build_: SqlBuild) -> list[tuple[str, tuple[Any, ...]]]:
    create = exp.Create(
        this=exp.Schema(
            this=table(META),
            expressions=[
                exp.ColumnDef(this=q("key"), kind=exp.DataType.build("VARCHAR(64)"), constraints=[exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint())]),
                exp.ColumnDef(this=q("value"), kind=exp.DataType.build("TEXT")),
            ],
        ),
        kind="TABLE",
        exists=True,
    )
    out: list[tuple[str, tuple[Any, ...]]] = [(pool.sql(create), ()), (pool.sql(exp.Delete(this=table(META))), ())]
    values = {
        "manifest": json.dumps(manifest, ensure_ascii=False, sort_keys=True),
        "dialect": build_.dialect,
        "project_id": build_.project_id,
        "ybt_version": __version__,
        "project_checksum": str(manifest.get("metadata", {}).get("project_checksum", "")),
    }
    p = pool.param
    insert = f"INSERT INTO {pool.sql(table(META))} ({pool.sql(q('key'))}, {pool.sql(q('value'))}) VALUES ({p}, {p})"
    out += [(insert, (k, v)) for k, v in sorted(values.items())]
    return out


def _ensure_roles(pool: Pool, b: SqlBuild) -> list[str]:
    """PostgreSQL roles are per server: create the ones that do not exist yet."""
    if pool.dialect != "postgres":
        return []
    made: list[str] = []
    for role, statement in zip(sorted(b.roles.values()), b.role_statements, strict=True):
        _, rows = pool.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if not rows:
            pool.execute(statement)
            made.append(role)
    return made


def init(project: Project, url: str, *, dry_run: bool = False) -> InitResult:
    """Create the pool at ``url`` or migrate it to ``project``; refuses (nothing applied) on unsafe changes."""
    pool = Pool.connect(url)
    try:
        new = build(project, pool.dialect)
        manifest = build_manifest(project)
        meta = pool.meta()
        if meta is None:
            statements = new.statements(roles=False)
            result = InitResult(True, len(statements), build=new)
        else:
            if meta.get("dialect") not in (None, pool.dialect):
                raise PoolError(f"数据池按 {meta.get('dialect')} 建立 / the pool was built for {meta.get('dialect')}")
            old = build(project_from_manifest(json.loads(meta["manifest"])), pool.dialect)
            mig = migrate(old, new, renames_of(project))
            statements = mig.statements
            result = InitResult(False, len(statements), mig, new)
            if not mig.ok:
                return result
        if dry_run:
            return result
        result.roles_created = _ensure_roles(pool, new)
        pool.begin()
        try:
            for s in statements:
                pool.execute(s)
            for s, params in _meta_statements(pool, manifest, new):
                pool.execute(s, params)
            pool.commit()
        except Exception:
            pool.rollback()
            raise
        return result
    finally:
        pool.close()


def query(url: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    pool = Pool.connect(url)
    try:
        return pool.query(sql)
    finally:
        pool.close()


def report_view(project: Project, ref: str) -> tuple[str, str] | None:
    """The view name and title of a report given as ``dept.id``, ``report.dept.id`` or a unique bare id."""
    from ybt.sql.build import ident_name

    key = ref.removeprefix("report.")
    hits = [r for r in project.reports.values() if r.qualified == key or (("." not in key) and r.id == key)]
    if len(hits) != 1:
        return None
    r = hits[0]
    return ident_name("view", r.department, r.id), r.title
