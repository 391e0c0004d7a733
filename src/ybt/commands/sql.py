"""``ybt sql build`` / ``ybt sql migrate`` and ``ybt db init`` / ``db sql`` / ``db show``: the data pool.

``sql build`` writes the generator's files (the same as ``ybt compile --target sql``); ``sql migrate``
prints the statements that take a pool built from an old ``manifest.json`` to the current specs;
``db init`` creates or migrates a live pool and records the applied manifest in it; ``db sql`` and
``db show`` query it. See docs/sql.md.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ybt import atomic
from ybt.cli import EXIT_FINDINGS, EXIT_OK, ProjectArg, compiled_or_exit, fail_usage, lang
from ybt.cli import Format as DiagFormat
from ybt.diagnostics import Diagnostic, Text
from ybt.load import display_path
from ybt.render import console, render_text
from ybt.sql import rules as _rules  # noqa: F401  (registers the YBT6xx codes for ybt rule)


class Dialect(StrEnum):
    sqlite = "sqlite"
    duckdb = "duckdb"
    postgres = "postgres"
    mysql = "mysql"
    spark = "spark"


class OutFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


DialectOpt = Annotated[Dialect, typer.Option("--dialect", "-d", help="SQL 方言 / SQL dialect")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", help="数据池地址，缺省 sqlite:///PROJECT/target/pool.sqlite / pool URL: sqlite:///FILE, duckdb:///FILE, postgresql://user@host:port/db"
    ),
]

sql_app = typer.Typer(help="数据池 SQL：建表、视图、授权与迁移 / data-pool SQL: tables, views, grants, migrations", no_args_is_help=True)
db_app = typer.Typer(help="数据池：建立、迁移、查询 / the data pool: create, migrate, query", no_args_is_help=True)


def _say(zh: str, en: str) -> None:
    err = console(stderr=True)
    err.print(Text(zh, en).render(lang(), "\n") if lang() == "both" else Text(zh, en).render(lang()), markup=False)


def _diagnostics(diags: list[Diagnostic]) -> None:
    if diags:
        render_text(sorted(diags, key=lambda d: (-d.severity.rank, str(d.location), d.code)), console(stderr=True), lang())


@sql_app.command("build")
def build_cmd(
    project: ProjectArg,
    dialect: DialectOpt = Dialect.sqlite,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="输出目录，缺省 PROJECT/target/sql/DIALECT / output directory")] = None,
) -> None:
    """生成数据池 SQL 文件（与 compile --target sql 相同）/ Write the data-pool SQL files."""
    from ybt.emit.sql import generate

    model = compiled_or_exit(project, DiagFormat.text)
    files = generate(model, {"dialect": dialect.value, "lang": lang()})
    out_dir = out if out is not None else project / "target" / "sql" / dialect.value
    written = atomic.write_tree(out_dir, files)
    manifest = json.loads(files["sql_manifest.json"])
    _say(
        f"已生成 {dialect.value} SQL：{len(manifest['order'])} 个对象，{manifest['statements']} 条语句，{len(written)} 个文件 → {display_path(out_dir)}",
        f"{dialect.value} SQL written: {len(manifest['order'])} objects, {manifest['statements']} statements, {len(written)} files → {display_path(out_dir)}",
    )


@sql_app.command("migrate")
def migrate_cmd(
    project: ProjectArg,
    from_: Annotated[Path, typer.Option("--from", help="旧规格编译出的 manifest.json / the manifest.json of the pool's specs", show_default=False)],
    dialect: DialectOpt = Dialect.sqlite,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="写入文件而不是标准输出 / write to a file instead of stdout")] = None,
) -> None:
    """输出把旧数据池迁移到当前规格的语句 / Print the statements that migrate a pool to the current specs."""
    from ybt.sql.build import build
    from ybt.sql.frommanifest import project_from_manifest
    from ybt.sql.migrate import migrate, renames_of

    try:
        old_manifest = json.loads(from_.read_text(encoding="utf-8"))
        old_project = project_from_manifest(old_manifest)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail_usage(f"无法读取 --from 的 manifest：{exc}", f"cannot read the --from manifest: {exc}")
    model = compiled_or_exit(project, DiagFormat.text)
    mig = migrate(build(old_project, dialect.value, lang=lang()), build(model, dialect.value, lang=lang()), renames_of(model))
    header = [f"-- ybt sql migrate: {display_path(from_)} → {display_path(project)} ({dialect.value})"]
    if not mig.ok:
        header.append("-- 有不能安全迁移的改动，见诊断信息 / some changes cannot be migrated safely: see the diagnostics")
    text = "\n\n".join([*header, *(s + ";" for s in mig.all_statements())]) + "\n"
    if out is not None:
        atomic.write_text(out, text)
    else:
        sys.stdout.write(text)
    _diagnostics(mig.diagnostics)
    counts = ", ".join(f"{k}={v}" for k, v in sorted(mig.counts.items())) or "-"
    _say(f"迁移语句 {len(mig.all_statements())} 条（{counts}）", f"{len(mig.all_statements())} migration statements ({counts})")
    raise typer.Exit(EXIT_OK if mig.ok else EXIT_FINDINGS)


def _default_db(project: Path) -> str:
    path = (project / "target" / "pool.sqlite").resolve()
    return f"sqlite:///{path}"


@db_app.command("init")
def init_cmd(
    project: ProjectArg,
    db: DbOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示要执行的改动 / show what would be done, change nothing")] = False,
) -> None:
    """建立数据池，或把已有数据池迁移到当前规格 / Create the pool, or migrate it to the current specs."""
    from ybt.sql.pool import PoolError, init

    model = compiled_or_exit(project, DiagFormat.text)
    url = db or _default_db(project)
    try:
        result = init(model, url, dry_run=dry_run)
    except PoolError as exc:
        fail_usage(str(exc), str(exc))
    if result.migration is not None:
        _diagnostics(result.migration.diagnostics)
        if not result.migration.ok:
            _say("有不能安全迁移的改动，数据池未作任何修改", "some changes cannot be migrated safely: the pool was not changed")
            raise typer.Exit(EXIT_FINDINGS)
    verb = ("将", "would be ") if dry_run else ("已", "")
    if result.created:
        _say(f"{verb[0]}建立数据池：{result.statements} 条语句 → {url}", f"pool {verb[1]}created: {result.statements} statements → {url}")
    else:
        assert result.migration is not None
        counts = ", ".join(f"{k}={v}" for k, v in sorted(result.migration.counts.items()))
        if not counts:
            _say(f"数据池已是最新（只刷新了元数据表）→ {url}", f"the pool is up to date (metadata tables refreshed) → {url}")
            return
        _say(
            f"{verb[0]}迁移数据池：{result.statements} 条语句（{counts}）→ {url}", f"pool {verb[1]}migrated: {result.statements} statements ({counts}) → {url}"
        )
    if result.roles_created:
        _say(f"新建角色：{', '.join(result.roles_created)}", f"roles created: {', '.join(result.roles_created)}")


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v) if v != v.to_integral_value() else int(v)
    if isinstance(v, date | datetime):
        return v.isoformat()
    if isinstance(v, bytes | bytearray):
        return v.hex()
    return v


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: OutFormat, title: str | None = None) -> None:
    if fmt is OutFormat.json:
        typer.echo(json.dumps([dict(zip(columns, map(_plain, r), strict=True)) for r in rows], ensure_ascii=False, indent=2))
        return
    if fmt is OutFormat.csv:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows([[_plain(v) for v in r] for r in rows])
        sys.stdout.write(buf.getvalue())
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*("" if v is None else str(_plain(v)) for v in r))
    console().print(table)
    _say(f"{len(rows)} 行", f"{len(rows)} rows")


@db_app.command("sql")
def sql_cmd(
    query: Annotated[str, typer.Argument(help="SQL 查询 / the SQL query", show_default=False)],
    db: Annotated[str, typer.Option("--db", help="数据池地址 / pool URL", show_default=False)],
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = OutFormat.text,
) -> None:
    """在数据池上执行一条查询 / Run one query on the pool."""
    from ybt.sql.pool import Pool, PoolError

    try:
        pool = Pool.connect(db)
    except PoolError as exc:
        fail_usage(str(exc), str(exc))
    try:
        columns, rows = pool.query(query)
    except Exception as exc:  # noqa: BLE001 - the driver's message is what the user needs
        fail_usage(f"查询失败：{exc}", f"the query failed: {exc}")
    finally:
        pool.close()
    _print_rows(columns, rows, fmt)


@db_app.command("show")
def show_cmd(
    project: ProjectArg,
    report: Annotated[str, typer.Argument(help="报表，如 mz.csdb_hmc / the report, e.g. mz.csdb_hmc", show_default=False)],
    db: DbOpt = None,
    masked: Annotated[bool, typer.Option("--masked", help="显示脱敏视图 / show the masked view")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多显示的行数 / most rows to show")] = 100,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = OutFormat.text,
) -> None:
    """显示一张报表的视图 / Show a report's view."""
    from sqlglot import exp

    from ybt.sql.build import ident_name, table
    from ybt.sql.pool import Pool, PoolError, report_view

    model = compiled_or_exit(project, DiagFormat.text)
    hit = report_view(model, report)
    if hit is None:
        fail_usage(
            f"找不到报表 “{report}”",
            f"no report '{report}'",
            Text("写成 部门.标识，如 mz.csdb_hmc", "write it as dept.id, e.g. mz.csdb_hmc"),
        )
    view, title = hit
    if masked:
        view = ident_name(view + "__masked")
    try:
        pool = Pool.connect(db or _default_db(project))
    except PoolError as exc:
        fail_usage(str(exc), str(exc))
    try:
        if not pool.has_table(view):
            fail_usage(
                f"数据池中没有视图 {view}",
                f"the pool has no view {view}",
                Text(
                    "先运行 ybt db init；只有含敏感栏目的明细表才有 __masked 视图",
                    "run ybt db init first; only rosters with sensitive columns have a __masked view",
                ),
            )
        query = exp.select(exp.Star()).from_(table(view)).limit(limit).sql(dialect=pool.dialect, identify=True)
        columns, rows = pool.query(query)
    finally:
        pool.close()
    _print_rows(columns, rows, fmt, title=f"{title} · {view}")


def register(app: typer.Typer) -> None:
    app.add_typer(sql_app, name="sql")
    app.add_typer(db_app, name="db")
