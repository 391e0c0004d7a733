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


def _rows(pool: Pool, form: Form, org: str | None, period: str | None) -> Iterator[tuple[Any, ...]]:
    try:
        names = ([] if org else ["org_unit"]) + [c.name for c in form.columns]
        where, params = [], []
        if org:
            where.append(f'"org_unit" = {pool.param}')
            params.append(org)
        if form.periodic and period:
            where.append(f'"period" = {pool.param}')
            params.append(period)
        order = ", ".join(f'"{k}"' for k in ("org_unit", *form.key))
        cols = ", ".join(f'"{n}"' for n in names)
        sql = f'SELECT {cols} FROM "{form.table}"' + (" WHERE " + " AND ".join(where) if where else "")
        cur = pool.con.execute(sql + f" ORDER BY {order}", tuple(params)) if params else pool.con.execute(sql + f" ORDER BY {order}")
        while True:
            batch = cur.fetchmany(2000)
            if not batch:
                break
            yield from (tuple(r) for r in batch)
    finally:
        pool.close()
