"""The data pool on a real PostgreSQL server (started by tests/pg.py): views, constraints, roles and grants."""

from __future__ import annotations

from typing import Any

import pytest

from sqldata import insert_rows, load, resident_id
from ybt.model import Project
from ybt.sql.build import build
from ybt.sql.pool import Pool, init

pytest_plugins = ["sqlfixtures", "pg"]

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (pip install 'psycopg[binary]')")


def test_the_example_on_postgres(qingxi_pre: Project, pg_database: str) -> None:
    result = init(qingxi_pre, pg_database)
    assert result.created and result.build is not None
    b = build(qingxi_pre, "postgres")
    pool = Pool.connect(pg_database)
    counts = load(qingxi_pre, b, pool)
    assert sum(counts.values()) > 500
    for obj in b.objects:
        if obj.kind == "view":
            _, rows = pool.query(f'SELECT * FROM "{obj.name}"')
            assert rows, obj.name
    # comments carry the Chinese labels
    _, rows = pool.query("SELECT obj_description('\"ledger_mz_shjz_dx_tz\"'::regclass, 'pg_class')")
    assert rows == [("社会救助对象台账",)]
    _, rows = pool.query("SELECT col_description('\"view_mz_csdb_hmc\"'::regclass, 2)")
    assert rows and rows[0][0]
    pool.close()


def _row(**over: Any) -> dict[str, Any]:
    base = {
        "org_unit": "500199100201",
        "gmsfhm": resident_id(1),
        "xm": "张三",
        "xb": "1",
        "sjhm": "13900001111",
        "jzlx": "11",
        "dblb": "1",
        "bzje": 500,
    }
    return {**base, **over}


def test_postgres_constraints_reject_bad_rows(qingxi_pre: Project, pg_database: str) -> None:
    init(qingxi_pre, pg_database)
    pool = Pool.connect(pg_database)
    insert_rows(pool, "ledger_mz_shjz_dx_tz", [_row()])
    bad = [
        _row(gmsfhm=resident_id(2), dblb="9"),  # not a code of the code table
        _row(gmsfhm=resident_id(3), xm=None),  # required
        _row(gmsfhm=resident_id(4), sjhm="12345"),  # the field's pattern
        _row(gmsfhm=resident_id(5), bzje=-1),  # min 0
        _row(gmsfhm=resident_id(6), org_unit="500199999999"),  # not an org unit
        _row(),  # the key again
    ]
    for row in bad:
        with pytest.raises(psycopg.errors.IntegrityError):
            insert_rows(pool, "ledger_mz_shjz_dx_tz", [row])
    _, rows = pool.query('SELECT COUNT(*) FROM "ledger_mz_shjz_dx_tz"')
    assert rows == [(1,)]
    pool.close()


def test_postgres_grants_hide_what_they_must(qingxi_pre: Project, pg_database: str) -> None:
    init(qingxi_pre, pg_database)
    b = build(qingxi_pre, "postgres")
    pool = Pool.connect(pg_database)
    load(qingxi_pre, b, pool, n=6)
    pool.close()
    # 残联 (cl) consumes the civil-affairs roster masked only; 民政 (mz) is granted its ID numbers
    masked = {(g.department, g.object): g.access for g in b.grants}
    assert masked[("mz", "view_mz_csdb_hmc")] == "unmasked"
    assert ("cl", "view_mz_csdb_hmc") not in masked
    cl_role, mz_role = b.roles["cl"], b.roles["mz"]
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute(f'SET ROLE "{mz_role}"')
        ids = [r[0] for r in con.execute('SELECT "gmsfhm" FROM "view_mz_csdb_hmc"').fetchall()]
        assert ids and all("*" not in i for i in ids)
        con.execute("RESET ROLE")
        con.execute(f'SET ROLE "{cl_role}"')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute('SELECT "gmsfhm" FROM "view_mz_csdb_hmc"')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute('SELECT "gmsfhm" FROM "ledger_mz_shjz_dx_tz"')  # never the ledger itself
        # metadata and code tables are readable by every department
        assert con.execute('SELECT COUNT(*) FROM "ybt_columns"').fetchone()[0] > 0  # type: ignore[index]
        con.execute("RESET ROLE")


def test_postgres_masked_view_of_another_department(qingxi_pre: Project, pg_database: str) -> None:
    """A consumer without grants reads the masked variant (ID numbers as 5001**********1234); the real view stays closed."""
    b = build(qingxi_pre, "postgres")
    unmasked = {(g.department, g.object) for g in b.grants if g.access == "unmasked"}
    cases = []
    for g in b.grants:
        if g.access != "masked" or (g.department, g.object.removesuffix("__masked")) in unmasked:
            continue
        base = b.object(g.object.removesuffix("__masked"))
        assert base is not None
        ids = [c.name for c in base.columns if c.sensitive and c.field and qingxi_pre.fields[c.field].type == "resident_id"]
        if ids and g.department != qingxi_pre.reports[base.uid or ""].department:
            cases.append((g.department, g.object, ids[0]))
    assert cases
    dept, view, column = cases[0]
    init(qingxi_pre, pg_database)
    pool = Pool.connect(pg_database)
    load(qingxi_pre, b, pool, n=6)
    pool.close()
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute(f'SET ROLE "{b.roles[dept]}"')
        values = [r[0] for r in con.execute(f'SELECT "{column}" FROM "{view}"').fetchall() if r[0]]
        assert values and all(len(v) == 18 and v[4:14] == "*" * 10 for v in values), (view, values)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(f'SELECT * FROM "{view.removesuffix("__masked")}"')


def test_postgres_migration_keeps_every_row(qingxi_pre: Project, qingxi_post: Project, pg_database: str) -> None:
    init(qingxi_pre, pg_database)
    b = build(qingxi_pre, "postgres")
    pool = Pool.connect(pg_database)
    counts = load(qingxi_pre, b, pool, n=8)
    pool.close()
    result = init(qingxi_post, pg_database)
    assert result.ok and result.migration is not None
    assert result.migration.counts["tables_rebuilt"] > 0
    pool = Pool.connect(pg_database)
    for table, n in counts.items():
        _, rows = pool.query(f'SELECT COUNT(*) FROM "{table}"')
        assert rows == [(n,)], table
    _, rows = pool.query('SELECT COUNT(*) FROM "ledger_mz_shjz_dx_tz" WHERE "resident_id" IS NOT NULL')
    assert rows == [(counts["ledger_mz_shjz_dx_tz"],)]  # the merged ID-number column carried over
    for obj in build(qingxi_post, "postgres").objects:
        if obj.kind == "view":
            pool.query(f'SELECT * FROM "{obj.name}"')
    pool.close()
    again = init(qingxi_post, pg_database)
    assert again.migration is not None and again.migration.counts == {}
