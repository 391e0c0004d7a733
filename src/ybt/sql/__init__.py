"""SQL for the data pool: ledgers as tables, each department's report as a view (issue 6).

:mod:`ybt.sql.build` turns the resolved model into an ordered list of database objects for one
dialect (every statement built as a sqlglot expression); :mod:`ybt.sql.migrate` compares two such
builds; :mod:`ybt.sql.pool` connects to a database and applies them. See docs/sql.md.
"""

from __future__ import annotations

DIALECTS: tuple[str, ...] = ("sqlite", "duckdb", "postgres", "mysql", "spark")
DEFAULT_DIALECT = "sqlite"
