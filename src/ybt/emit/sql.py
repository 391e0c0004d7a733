"""The SQL generator: the data pool's tables, views, roles and grants for one dialect.

``options["dialect"]`` picks the dialect (sqlite, duckdb, postgres, mysql, spark; default sqlite);
``options["lang"]`` (zh, en or both), when given, shows a progress bar on stderr while a large build runs.
Files: ``tables/<name>.sql`` and ``views/<name>.sql`` (one per object), ``metadata.sql``,
``roles.sql``, ``grants.sql``, the ordered ``all.sql`` and ``sql_manifest.json`` (the order, each
object's dependencies, columns, grants and what SQL cannot express). See docs/sql.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ybt.diagnostics import Text
from ybt.emit import Generator, register
from ybt.model import Project
from ybt.sql import DEFAULT_DIALECT, DIALECTS
from ybt.sql.build import build


def generate(project: Project, options: Mapping[str, Any]) -> dict[str, bytes]:
    dialect = str(options.get("dialect") or DEFAULT_DIALECT)
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; one of {', '.join(DIALECTS)}")
    lang = options.get("lang")  # the CLI's message language: a progress bar on long builds
    return build(project, dialect, lang=str(lang) if lang else None).files()


GENERATOR = register(
    Generator(
        "sql",
        Text(
            "数据池 SQL：台账建表、报表建视图、按部门授权（--dialect sqlite|duckdb|postgres|mysql|spark）",
            "data-pool SQL: ledgers as tables, reports as views, grants per department (--dialect sqlite|duckdb|postgres|mysql|spark)",
        ),
        generate,
    )
)
