"""Render sqlglot expressions for one dialect, with fast paths for the statements a province has by the hundred thousand.

Every statement is still sqlglot's text: a CREATE or a view is generated from its expression tree, and
the two bulk shapes are assembled from pieces sqlglot rendered, exactly as its pretty printer lays them out:

- ``INSERT … VALUES`` of reference and metadata rows (a province has a quarter of a million metadata rows):
  sqlglot renders the statement's head once and every distinct value once; each row is laid out like
  sqlglot's ``tuple_sql`` (one line, or one value per line when the row is wider than the printer's width);
- ``COMMENT ON … IS '…'`` (a label per column: a quarter of a million on PostgreSQL);

and parts that recur across statements (the same column definition in many report tables, the same
``"t0"."x" AS "x"`` in many views) are rendered once and put into later trees as text.

Spec text still only enters SQL as a sqlglot literal rendered by sqlglot for the dialect; tests compare
both fast paths with sqlglot's own rendering on values with quotes, backslashes, line breaks and Chinese.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

_ROWS = "__YBT_ROWS__"


def quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def literal(value: Any) -> exp.Expr:
    """Spec text and values as sqlglot literal nodes (never as SQL text)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


class Renderer:
    """sqlglot's pretty, fully quoted SQL for one dialect; repeated pieces rendered once.

    ``fast=False`` renders every statement from its whole expression tree (the reference the tests
    compare the fast paths with).
    """

    def __init__(self, dialect: str, fast: bool = True) -> None:
        self.dialect = dialect
        self.fast = fast
        self._gen = Dialect.get_or_raise(dialect).generator(pretty=True, identify=True)
        self._line_break = self._gen.SENTINEL_LINE_BREAK
        self._width = self._gen.max_text_width
        self._pad = " " * self._gen.pad
        self._literals: dict[tuple[type, Any], str] = {}
        self._idents: dict[str, str] = {}
        self._fragments: dict[Hashable, str] = {}

    def sql(self, e: exp.Expr) -> str:
        """One statement. The tree is rendered as is (no copy): build a tree for each statement."""
        return e.sql(dialect=self.dialect, pretty=True, identify=True, copy=False)

    def fragment(self, key: Hashable, make: Callable[[], exp.Expr]) -> exp.Expr:
        """A part that recurs across statements (a column definition, a projection), rendered once.

        ``key`` must determine the part completely, and the part's text must not depend on where it
        sits (not a key column, which SQLite's printer moves into its definition). The fast path puts
        the text into the tree as a ``Var``; ``fast=False`` puts the part itself.
        """
        if not self.fast:
            return make()
        hit = self._fragments.get(key)
        if hit is None:
            hit = self._fragments[key] = self._gen.sql(make())
        return exp.Var(this=hit)

    # Pieces are kept in the generator's raw form (line breaks inside strings as its sentinel, which the
    # printer counts when it decides to wrap); :meth:`_done` turns a statement into its final text.

    def _literal(self, value: Any) -> str:
        key = (type(value), value)
        hit = self._literals.get(key)
        if hit is None:
            hit = self._literals[key] = self._gen.sql(literal(value))
        return hit

    def _ident(self, name: str) -> str:
        hit = self._idents.get(name)
        if hit is None:
            hit = self._idents[name] = self._gen.sql(quoted(name))
        return hit

    def _done(self, sql: str) -> str:
        return sql.replace(self._line_break, "\n")

    def _row(self, row: Sequence[Any]) -> str:
        """A VALUES row as sqlglot's ``tuple_sql`` lays it out (its ``expressions(dynamic=True, new_line=True)``)."""
        items = [self._literal(v) for v in row]
        if not items:
            return "()"
        if sum(map(len, items)) + 2 * (len(items) - 1) <= self._width:
            return "(" + ", ".join(items) + ")"
        return "(\n" + ",\n".join(self._pad + s for s in items) + "\n)"

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """``INSERT INTO table (columns) VALUES rows``, byte for byte what sqlglot prints."""
        into = exp.Schema(this=exp.Table(this=quoted(table)), expressions=[quoted(c) for c in columns])
        if not self.fast:
            values = exp.Values(expressions=[exp.Tuple(expressions=[literal(v) for v in row]) for row in rows])
            return self.sql(exp.Insert(this=into, expression=values))
        head = self.sql(exp.Insert(this=into, expression=exp.Values(expressions=[exp.Var(this=_ROWS)])))
        if not head.endswith(self._pad + _ROWS):
            raise AssertionError(f"unexpected INSERT layout from sqlglot for {self.dialect}: {head!r}")
        body = ",\n".join(self._row(r) for r in rows)
        return head[: -len(_ROWS)] + self._done(body.replace("\n", "\n" + self._pad))

    def comment(self, kind: str, table: str, column: str | None, text: str) -> str:
        """``COMMENT ON kind "table"[."column"] IS 'text'``, as sqlglot prints it."""
        if not self.fast:
            this = exp.Table(this=quoted(table)) if column is None else exp.Column(this=quoted(column), table=quoted(table))
            return self.sql(exp.Comment(this=this, kind=kind, expression=literal(text)))
        target = self._ident(table) if column is None else f"{self._ident(table)}.{self._ident(column)}"
        return self._done(f"COMMENT ON {kind} {target} IS {self._literal(text)}")
