"""The SQL renderer's fast paths print exactly what sqlglot prints from the whole expression tree.

A province has hundreds of thousands of metadata rows and column comments; ybt assembles those
statements from pieces sqlglot rendered. These tests hold the fast paths to sqlglot's own text, on
values chosen to break a careless assembler (quotes, backslashes, line breaks, rows wider than the
printer's line), and the whole build of the example district to the slow path, in every dialect.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlglot import exp

from ybt import progress as progress_mod
from ybt.model import Project
from ybt.sql import DIALECTS
from ybt.sql.build import _CACHE, build
from ybt.sql.render import Renderer, literal, quoted

pytest_plugins = ["sqlfixtures"]

NASTY = [
    "'); DELETE FROM org_units; --",
    "back\\slash and 'quotes' and \"double\"",
    "两行\n第二行",
    "trailing newline\n",
    "",
    "残疾人护理补贴发放花名册（重度）",
]
ROWS: list[tuple[Any, ...]] = [
    ("a", 1, None, True),
    ("b", -5, 2.5, False),
    *[(text, i, None, i % 2 == 0) for i, text in enumerate(NASTY)],
    ("x" * 70, 10**12, 0.1, None),  # wider than the printer's 80 characters: one value per line
    ("x" * 69, 7, None, True),
    ("line\nbreak counted as the printer's sentinel", "y" * 40, 1, False),
]


def _sqlglot_insert(dialect: str, rows: list[tuple[Any, ...]]) -> str:
    into = exp.Schema(this=exp.Table(this=quoted("t")), expressions=[quoted(c) for c in ("label", "n", "v", "flag")])
    values = exp.Values(expressions=[exp.Tuple(expressions=[literal(v) for v in row]) for row in rows])
    return exp.Insert(this=into, expression=values).sql(dialect=dialect, pretty=True, identify=True)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_insert_is_sqlglots_text(dialect: str) -> None:
    fast = Renderer(dialect).insert("t", ["label", "n", "v", "flag"], ROWS)
    assert fast == _sqlglot_insert(dialect, ROWS)
    assert "\n  (\n    'xxxx" in fast  # the wide row was wrapped, the others were not
    assert Renderer(dialect, fast=False).insert("t", ["label", "n", "v", "flag"], ROWS) == fast


@pytest.mark.parametrize("dialect", DIALECTS)
def test_comment_is_sqlglots_text(dialect: str) -> None:
    r = Renderer(dialect)
    for text in NASTY:
        column = exp.Column(this=quoted("c"), table=quoted("t"))
        assert r.comment("COLUMN", "t", "c", text) == exp.Comment(this=column, kind="COLUMN", expression=literal(text)).sql(
            dialect=dialect, pretty=True, identify=True
        )
        assert r.comment("VIEW", "t", None, text) == exp.Comment(this=exp.Table(this=quoted("t")), kind="VIEW", expression=literal(text)).sql(
            dialect=dialect, pretty=True, identify=True
        )


def test_the_assembled_insert_stores_the_values_unchanged() -> None:
    con = sqlite3.connect(":memory:")
    con.execute('CREATE TABLE "t" ("label", "n", "v", "flag")')
    con.execute(Renderer("sqlite").insert("t", ["label", "n", "v", "flag"], ROWS))
    stored = con.execute('SELECT "label", "n", "v", "flag" FROM "t"').fetchall()
    assert stored == [tuple(int(v) if isinstance(v, bool) else v for v in row) for row in ROWS]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_build_is_the_same_with_and_without_fast_paths(qingxi_post: Project, dialect: str) -> None:
    fast = build(qingxi_post, dialect).files()
    slow = build(qingxi_post, dialect, fast=False).files()
    assert fast.keys() == slow.keys()
    assert [k for k in fast if fast[k] != slow[k]] == []


def test_a_progress_bar_when_the_cli_asks(qingxi_pre: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YBT_PROGRESS", "1")
    bars: list[tuple[str, int, int | None]] = []
    monkeypatch.setattr(progress_mod._Bar, "close", lambda self: bars.append((self.description, self.done, self.total)))
    build(qingxi_pre, "mysql", fast=False)  # a library call: no bar
    assert bars == []
    _CACHE.clear()  # a build of its own, not the cached one
    build(qingxi_pre, "mysql", lang="en")
    steps = len(qingxi_pre.ledgers) + 2 * len(qingxi_pre.reports)
    assert bars == [("generating mysql SQL", steps, steps)]  # every step counted, nothing past the total
