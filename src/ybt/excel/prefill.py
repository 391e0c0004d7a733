"""Rows already in the pool for a unit (首次录入、动态更新、多方复用): what a prefilled template shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ybt.excel.forms import Form
from ybt.sql.pool import Pool, PoolError


def prefill_rows(url: str, form: Form, org: str | None, period: str | None) -> Iterator[tuple[Any, ...]]:
    """The form's rows for ``org`` (all units when None, org code first), in template column order, streamed."""
    pool = Pool.connect(url)  # connect now, so that a bad URL fails before any file is written
    if not pool.has_table(form.table):
        pool.close()
        raise PoolError(f"数据池中没有表 {form.table}：先运行 ybt db init / the pool has no table {form.table}: run ybt db init first")
    return _rows(pool, form, org, period)


def prefill_count(url: str, form: Form, org: str | None, period: str | None) -> int:
    """How many rows :func:`prefill_rows` yields (for the progress bar)."""
    pool = Pool.connect(url)
    try:
        where, params = _where(pool, form, org, period)
        _, got = pool.query(f'SELECT COUNT(*) FROM "{form.table}"' + where, params)
        return int(got[0][0]) if got else 0
    finally:
        pool.close()


def _where(pool: Pool, form: Form, org: str | None, period: str | None) -> tuple[str, list[Any]]:
    where, params = [], []
    if org:
        where.append(f'"org_unit" = {pool.param}')
        params.append(org)
    if form.periodic and period:
        where.append(f'"period" = {pool.param}')
        params.append(period)
    return (" WHERE " + " AND ".join(where) if where else ""), params


def source_period(url: str, form: Form, org: str | None, period: str | None) -> str | None:
    """The period a roster's prefill comes from: ``period`` if the unit has rows for it, else its latest earlier one.

    A roster is mostly the same people from one period to the next (动态更新): the village corrects
    last period's list instead of typing it again. Summaries are never carried over.
    """
    if not (form.periodic and period and org) or form.form != "roster":
        return period
    pool = Pool.connect(url)
    try:
        t, p = f'"{form.table}"', pool.param
        _, got = pool.query(f'SELECT COUNT(*) FROM {t} WHERE "org_unit" = {p} AND "period" = {p}', (org, period))
        if got and got[0][0]:
            return period
        _, got = pool.query(f'SELECT MAX("period") FROM {t} WHERE "org_unit" = {p} AND "period" < {p}', (org, period))
        return str(got[0][0]) if got and got[0][0] is not None else period
    finally:
        pool.close()


def _rows(pool: Pool, form: Form, org: str | None, period: str | None) -> Iterator[tuple[Any, ...]]:
    try:
        names = ([] if org else ["org_unit"]) + [c.name for c in form.columns]
        where, params = _where(pool, form, org, period)
        order = ", ".join(f'"{k}"' for k in ("org_unit", *form.key))
        cols = ", ".join(f'"{n}"' for n in names)
        sql = f'SELECT {cols} FROM "{form.table}"' + where
        cur = pool.con.execute(sql + f" ORDER BY {order}", tuple(params)) if params else pool.con.execute(sql + f" ORDER BY {order}")
        while True:
            batch = cur.fetchmany(2000)
            if not batch:
                break
            yield from (tuple(r) for r in batch)
    finally:
        pool.close()
