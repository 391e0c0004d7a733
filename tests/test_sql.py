"""The data pool's SQL (issue 6): every dialect compiles; SQLite and DuckDB run it, load rows, answer every view."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from conftest import EXAMPLES, count_forks
from sqldata import insert_rows, load, resident_id, rows_for
from ybt import emit
from ybt.emit.manifest import build_manifest
from ybt.model import Project
from ybt.pipeline import compile_project
from ybt.sql import DIALECTS
from ybt.sql import build as sql_build
from ybt.sql.build import build
from ybt.sql.frommanifest import project_from_manifest
from ybt.sql.pool import Pool, init

pytest_plugins = ["sqlfixtures"]  # the example before and after the merge, as session fixtures

Cli = Callable[..., Any]

DEMO_YAML = """\
kind: project
id: demo
name: 测试区
uses: [std]
org:
  code: "500199"
  name: 测试区
  level: district
  children:
    - code: "500199100"
      name: 青石镇
      level: town
      children:
        - {code: "500199100201", name: 青石村, level: village}
        - {code: "500199100202", name: 白石村, level: village}
    - code: "500199200"
      name: 松林乡
      level: town
      children:
        - {code: "500199200201", name: 松林村, level: village}
departments:
  - {id: mz, name: 民政局}
  - {id: cl, name: 残联}
  - {id: wjw, name: 卫健委}
  - {id: jcjf, name: 基层减负办, office: true}
policy:
  admission_office: jcjf
"""

NASTY = '它\'s "引号"; DROP TABLE ledger_shared_roll; -- */ \\d'

DEMO_FILES = {
    "catalog/codelists.yaml": f"""\
        kind: codelist
        id: aid
        label: '救助类别''; DROP TABLE x; --'
        values:
          - {{code: "1", label: '城市低保''); DELETE FROM org_units; --'}}
          - {{code: "2", label: 农村低保}}
          - {{code: "3", label: {json.dumps(NASTY, ensure_ascii=False)}}}
        """,
    "catalog/fields.yaml": """\
        kind: field
        id: aid_type
        label: 救助类别
        type: code
        codelist: aid
        entity: std.person
        sensitivity: internal
        ---
        kind: field
        id: income
        label: 月收入
        type: decimal
        unit: 元
        entity: std.person
        constraints: {min: 0, max: 100000, scale: 2}
        sensitivity: sensitive
        ---
        kind: field
        id: remark
        label: 备注
        type: string
        constraints: {max_length: 40}
        """,
    "ledgers/roll.yaml": """\
        kind: ledger
        id: roll
        label: 救助对象台账
        entity: std.person
        org_level: village
        fields:
          - {field: std.name, required: true}
          - std.sex
          - std.phone
          - {field: aid_type, required: true}
          - income
        """,
    "departments/mz/roster.yaml": f"""\
        kind: report
        id: roster
        department: mz
        title: 女性救助对象花名册
        form: roster
        mode: derived
        frequency: quarterly
        fill_level: village
        sources: [roll]
        where:
          - {{field: std.sex, op: eq, value: "2"}}
        columns:
          - {{field: std.name, label: {json.dumps(NASTY, ensure_ascii=False)}}}
          - {{field: std.resident_id}}
          - {{field: std.phone}}
          - {{field: aid_type}}
          - {{field: income}}
        consumers:
          - {{department: mz, purpose: 资金发放, uses: [std.resident_id, income], grants: [std.resident_id, income]}}
          - {{department: cl, purpose: 比对, uses: [std.resident_id]}}
          - {{department: wjw, purpose: 随访, uses: [std.resident_id], grants: [std.resident_id]}}
        """,
    "departments/mz/summary.yaml": """\
        kind: report
        id: summary
        department: mz
        title: 救助情况统计表
        form: summary
        mode: derived
        frequency: monthly
        fill_level: town
        group_by: town
        sources: [roll]
        columns:
          - {id: total, label: 人数, aggregate: count}
          - id: women
            label: 其中女性
            aggregate: count
            where: [{field: std.sex, op: eq, value: "2"}]
          - {field: income, label: 收入合计, aggregate: sum}
          - {field: income, label: 平均收入, aggregate: avg}
          - id: urban_income
            field: income
            label: 城市低保收入
            aggregate: sum
            where: [{field: aid_type, op: in, value: ["1"]}]
          - {field: std.resident_id, label: 人数（去重）, aggregate: count_distinct}
        consumers:
          - {department: mz, purpose: 统计}
        """,
    "departments/cl/collected.yaml": f"""\
        kind: report
        id: collected
        department: cl
        title: 村级手工填报表
        form: roster
        frequency: quarterly
        fill_level: village
        columns:
          - {{field: std.name, required: true}}
          - {{field: std.resident_id}}
          - {{field: remark, label: {json.dumps(NASTY, ensure_ascii=False)}}}
        consumers:
          - {{department: cl, purpose: 自用, uses: [std.resident_id], grants: [std.resident_id]}}
        """,
}


@pytest.fixture
def demo(make_project: Callable[..., Path]) -> Project:
    result = compile_project(make_project(DEMO_FILES, DEMO_YAML))
    assert result.ok, [(d.code, str(d.location), d.message.en) for d in result.diagnostics]
    assert result.project is not None
    return result.project


def sqlite_pool(tmp_path: Path, project: Project) -> Pool:
    url = f"sqlite:///{tmp_path / 'pool.sqlite'}"
    init(project, url)
    return Pool.connect(url)


def person(i: int, sex: str = "2", aid: str = "1", income: float = 1000.0, village: str = "500199100201") -> dict[str, Any]:
    return {"org_unit": village, "resident_id": resident_id(i), "name": f"张{i}", "sex": sex, "phone": f"1390000{i:04d}", "aid_type": aid, "income": income}


# -- every dialect --------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_compiles_the_example(qingxi_pre: Project, dialect: str) -> None:
    b = build(qingxi_pre, dialect)
    files = b.files()
    manifest = json.loads(files["sql_manifest.json"])
    assert manifest["dialect"] == dialect and manifest["statements"] == len(b.statements())
    assert {"all.sql", "grants.sql", "roles.sql", "metadata.sql", "tables/ledger_shared_hjrk_tz.sql", "tables/org_units.sql"} <= set(files)
    assert "views/view_mz_csdb_hmc.sql" in files and "views/view_mz_csdb_hmc__masked.sql" in files
    # the DAG order: every object comes after what it depends on
    position = {name: i for i, name in enumerate(manifest["order"])}
    for name, obj in manifest["objects"].items():
        assert all(position[dep] < position[name] for dep in obj["depends_on"]), name
    if dialect in ("mysql", "spark"):
        for statement in b.statements():
            assert sqlglot.parse_one(statement, read=dialect) is not None


def test_output_is_deterministic_and_survives_the_manifest(qingxi_pre: Project) -> None:
    again = compile_project(qingxi_pre.root).project
    assert again is not None
    rebuilt = project_from_manifest(json.loads(json.dumps(build_manifest(qingxi_pre))))
    for dialect in ("sqlite", "postgres"):
        first = build(qingxi_pre, dialect).files()
        sql_build._CACHE.clear()  # build again for real, not from the per-process cache
        assert build(again, dialect).files() == first
        assert build(rebuilt, dialect).files() == first


def test_the_generator_reads_the_dialect_option(demo: Project) -> None:
    gen = emit.get("sql")
    assert gen is not None and "sql" in emit.targets()
    assert json.loads(gen.generate(demo, {})["sql_manifest.json"])["dialect"] == "sqlite"
    pg = gen.generate(demo, {"dialect": "postgres"})
    assert b"COMMENT ON" in pg["all.sql"] and b"GRANT SELECT" in pg["grants.sql"]
    with pytest.raises(ValueError, match="dialect"):
        gen.generate(demo, {"dialect": "oracle"})


# -- SQLite and DuckDB run the example ----------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb"])
def test_the_example_loads_and_every_view_answers(qingxi_pre: Project, tmp_path: Path, dialect: str) -> None:
    if dialect == "duckdb":
        pytest.importorskip("duckdb")
    url = f"{dialect}:///{tmp_path / ('pool.' + dialect)}"
    assert init(qingxi_pre, url).created
    pool = Pool.connect(url)
    b = build(qingxi_pre, dialect)
    counts = load(qingxi_pre, b, pool)
    assert sum(counts.values()) > 500
    views = [o.name for o in b.objects if o.kind == "view"]
    assert len(views) == 101  # 53 reports, 33 masked variants, 15 per-department variants
    for view in views:
        columns, rows = pool.query(f'SELECT * FROM "{view}"')
        assert rows, view
        assert columns == [c.name for c in b.object(view).columns]  # type: ignore[union-attr]
    # the summary of the social-assistance ledger, checked against the rows
    _, rows = pool.query('SELECT "org_unit", "cs_rs", "nc_rs" FROM "view_mz_shjz_qk_ybb" ORDER BY 1')
    counts = "SUM(CASE WHEN \"dblb\" = '1' THEN 1 ELSE 0 END), SUM(CASE WHEN \"dblb\" = '2' THEN 1 ELSE 0 END)"
    _, raw = pool.query(f'SELECT "org_unit", {counts} FROM "ledger_mz_shjz_dx_tz" GROUP BY 1 ORDER BY 1')
    assert [tuple(int(v) for v in r[1:]) for r in rows] == [tuple(int(v) for v in r[1:]) for r in raw]
    pool.close()


def test_views_filter_group_and_mask(demo: Project, tmp_path: Path) -> None:
    pool = sqlite_pool(tmp_path, demo)
    insert_rows(
        pool,
        "ledger_shared_roll",
        [
            person(1, "2", "1", 1000.0, "500199100201"),
            person(2, "2", "2", 500.0, "500199100202"),
            person(3, "1", "1", 800.0, "500199100201"),
            person(4, "2", "1", 200.0, "500199200201"),
        ],
    )
    _, roster = pool.query('SELECT "org_unit", "name", "resident_id" FROM "view_mz_roster" ORDER BY "resident_id"')
    assert sorted(r[2] for r in roster) == sorted(resident_id(i) for i in (1, 2, 4))  # where sex = 2
    _, summary = pool.query('SELECT * FROM "view_mz_summary" ORDER BY "org_unit"')
    assert [r[:4] for r in summary] == [("500199100", "青石镇", 3, 2), ("500199200", "松林乡", 1, 1)]
    assert [tuple(float(v) for v in r[4:]) for r in summary] == [pytest.approx((2300, 766.6667, 1800, 3)), pytest.approx((200, 200, 200, 1))]
    _, masked = pool.query('SELECT "resident_id", "income", "phone" FROM "view_mz_roster__masked" ORDER BY 1')
    rid = resident_id(1)
    assert (rid[:4] + "*" * 10 + rid[-4:]) in [r[0] for r in masked]
    assert all(r[1] is None for r in masked) and all(r[2] and r[2].startswith("1390") for r in masked)  # phone is personal, not sensitive
    # wjw is granted the ID number but not the income: its own view masks only the income
    _, partial = pool.query('SELECT "resident_id", "income" FROM "view_mz_roster__wjw"')
    assert {r[0] for r in partial} == {resident_id(i) for i in (1, 2, 4)} and {r[1] for r in partial} == {None}
    pool.close()


def test_grants_follow_consumers(demo: Project, tmp_path: Path) -> None:
    pool = sqlite_pool(tmp_path, demo)
    _, rows = pool.query('SELECT "department", "object_name", "access" FROM "ybt_grants" WHERE "object_name" LIKE \'view_%\' ORDER BY 1, 2')
    grants = {(d, o): a for d, o, a in rows}
    assert grants[("mz", "view_mz_roster")] == "unmasked"  # mz is granted every sensitive column
    assert ("cl", "view_mz_roster") not in grants and grants[("cl", "view_mz_roster__masked")] == "masked"
    assert ("wjw", "view_mz_roster") not in grants and grants[("wjw", "view_mz_roster__wjw")] == "partial"
    assert grants[("mz", "view_mz_summary")] == "aggregate" and ("cl", "view_mz_summary") not in grants
    assert not any(d == "jcjf" for d, _ in grants)  # not a consumer of anything
    pg = build(demo, "postgres")
    assert 'GRANT SELECT ON TABLE "view_mz_roster" TO "demo_mz"' in pg.grant_statements
    assert 'GRANT SELECT ON TABLE "view_mz_roster" TO "demo_cl"' not in pg.grant_statements
    pool.close()


def test_constraints_reject_bad_rows(demo: Project, tmp_path: Path) -> None:
    pool = sqlite_pool(tmp_path, demo)
    insert_rows(pool, "ledger_shared_roll", [person(1)])
    bad = [
        {**person(2), "aid_type": "9"},  # not a code of the code table
        {**person(3), "name": None},  # required
        {**person(4), "income": -1},  # min 0
        {**person(5), "org_unit": "999999"},  # not an org unit
        {**person(6), "resident_id": "12345"},  # length 18
        person(1),  # the key again
    ]
    for row in bad:
        with pytest.raises(sqlite3.IntegrityError):
            insert_rows(pool, "ledger_shared_roll", [row])
    _, rows = pool.query('SELECT COUNT(*) FROM "ledger_shared_roll"')
    assert rows == [(1,)]
    pool.close()


def test_duckdb_enforces_patterns(demo: Project, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    url = f"duckdb:///{tmp_path / 'pool.duckdb'}"
    init(demo, url)
    pool = Pool.connect(url)
    insert_rows(pool, "ledger_shared_roll", [person(1)])
    for row in ({**person(2), "phone": "12345"}, {**person(3), "aid_type": "9"}, {**person(4), "name": None}):
        with pytest.raises(duckdb.ConstraintException):
            insert_rows(pool, "ledger_shared_roll", [row])
    pool.close()
    gaps = json.loads(build(demo, "sqlite").files()["sql_manifest.json"])["gaps"]
    assert any("pattern not enforced" in g["what"] and g["column"] == "phone" for g in gaps)  # SQLite has no REGEXP


def test_user_text_is_never_pasted_into_sql(demo: Project, tmp_path: Path) -> None:
    for dialect in DIALECTS:
        for statement in build(demo, dialect).statements():
            assert sqlglot.parse(statement, read=dialect)  # one statement each, whatever the labels hold
    pool = sqlite_pool(tmp_path, demo)
    _, labels = pool.query('SELECT "label" FROM "codelist_shared_aid" ORDER BY "code"')
    assert [r[0] for r in labels] == ["城市低保'); DELETE FROM org_units; --", "农村低保", NASTY]
    _, cols = pool.query('SELECT "label" FROM "ybt_columns" WHERE "object_name" = \'view_mz_roster\' AND "column_name" = \'name\'')
    assert cols == [(NASTY,)]
    _, units = pool.query('SELECT COUNT(*) FROM "org_units"')
    assert units == [(6,)]
    pool.close()


def test_a_collected_report_gets_a_table_of_its_own(demo: Project, tmp_path: Path) -> None:
    pool = sqlite_pool(tmp_path, demo)
    b = build(demo, "sqlite")
    table = b.object("report_cl_collected")
    assert table is not None and table.role == "report_table"
    assert [c.name for c in table.columns] == ["period", "org_unit", "name", "resident_id", "remark"]
    insert_rows(pool, "report_cl_collected", rows_for(demo, b, table, 3))
    columns, rows = pool.query('SELECT * FROM "view_cl_collected"')
    assert columns == ["period", "org_unit", "name", "resident_id", "remark"] and len(rows) == 3
    pool.close()


def test_multi_ledger_reports_join_on_the_entity_key(qingxi_post: Project, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'post.sqlite'}"
    init(qingxi_post, url)
    pool = Pool.connect(url)
    b = build(qingxi_post, "sqlite")
    view = b.object("view_cl_cjr_fwxq_dcb")
    assert view is not None and view.depends_on == ("ledger_shared_cl_person_tz", "ledger_shared_hjrk_tz")
    assert 'JOIN "ledger_shared_cl_person_tz" AS "t1"' in view.create and '"t1"."resident_id" = "t0"."resident_id"' in view.create
    load(qingxi_post, b, pool, n=6)
    insert_rows(pool, "ledger_shared_hjrk_tz", rows_for(qingxi_post, b, b.object("ledger_shared_hjrk_tz"), 4, offset=100))  # type: ignore[arg-type]
    _, rows = pool.query('SELECT COUNT(*) FROM "view_cl_cjr_fwxq_dcb"')
    assert rows == [(6,)]  # only the persons on both ledgers
    pool.close()


# -- the commands ---------------------------------------------------------------------------------


def test_sql_build_and_db_commands(cli: Cli, make_project: Callable[..., Path], tmp_path: Path) -> None:
    root = make_project(DEMO_FILES, DEMO_YAML)
    r = cli("sql", "build", root, "--dialect", "duckdb")
    assert r.exit_code == 0, r.output
    out = root / "target" / "sql" / "duckdb"
    assert (out / "all.sql").exists() and (out / "views" / "view_mz_roster__masked.sql").exists()
    r = cli("db", "init", root)
    assert r.exit_code == 0 and "pool created" in r.output
    assert (root / "target" / "pool.sqlite").exists()
    r = cli("db", "init", root)
    assert r.exit_code == 0 and "up to date" in r.output
    url = f"sqlite:///{root / 'target' / 'pool.sqlite'}"
    pool = Pool.connect(url)
    insert_rows(pool, "ledger_shared_roll", [person(1), person(2, sex="1")])
    pool.close()
    r = cli("db", "sql", "--db", url, "SELECT name, resident_id FROM view_mz_roster", "--format", "json")
    assert json.loads(r.stdout) == [{"name": "张1", "resident_id": resident_id(1)}]
    r = cli("db", "sql", "--db", url, "SELECT code, label FROM codelist_shared_aid ORDER BY code", "--format", "csv")
    assert r.stdout.splitlines()[0] == "code,label" and len(r.stdout.splitlines()) == 4
    r = cli("db", "show", root, "mz.roster", "--masked", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["resident_id"].count("*") == 10
    r = cli("db", "show", root, "mz.summary")
    assert r.exit_code == 0 and "青石镇" in r.stdout
    assert cli("db", "show", root, "mz.nope").exit_code == 2
    assert cli("db", "sql", "--db", url, "SELECT * FROM nope").exit_code == 2
    assert cli("db", "sql", "--db", "oracle://x", "SELECT 1").exit_code == 2


def test_compile_target_sql_writes_the_files(cli: Cli, make_project: Callable[..., Path], tmp_path: Path) -> None:
    root = make_project(DEMO_FILES, DEMO_YAML)
    r = cli("compile", root, "--target", "sql", "--out", tmp_path / "sql")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "sql" / "tables" / "ledger_shared_roll.sql").exists()
    assert json.loads((tmp_path / "sql" / "sql_manifest.json").read_text())["dialect"] == "sqlite"


def test_compile_summarises_many_written_files_and_json_lists_them_all(cli: Cli, tmp_path: Path) -> None:
    """Hundreds of SQL files are one line per folder on the terminal; --format json names every file."""
    out = tmp_path / "sql"
    r = cli("compile", EXAMPLES / "qingxi", "--target", "sql", "--out", out)
    assert r.exit_code == 0, r.output
    arrows = [line[2:] for line in r.output.splitlines() if line.startswith("→ ")]
    on_disk = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(on_disk) > 100
    top = sorted(p.name for p in out.iterdir() if p.is_file())
    folders = {d.name: sum(1 for _ in d.iterdir()) for d in out.iterdir() if d.is_dir()}
    assert arrows == [f"{out}/{name}" for name in top] + [f"{out}/{name}/ ({n:,} files)" for name, n in sorted(folders.items())]
    r = cli("compile", EXAMPLES / "qingxi", "--target", "sql", "--out", tmp_path / "again", "--format", "json")
    listed = json.loads(r.stdout)["written"]
    assert sorted(listed) == sorted(str(p).replace(str(out), str(tmp_path / "again")) for p in on_disk)


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="the second process is forked, which ybt does on Linux only")
@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_views_rendered_in_a_second_process_give_the_same_files(monkeypatch: pytest.MonkeyPatch, dialect: str) -> None:
    """A large build renders the reports' views in a forked child: the files are byte for byte those of
    one process, and a child that fails leaves the views to this process with the same result."""
    from ybt import fork

    project = compile_project(EXAMPLES / "qingxi").project
    assert project is not None
    monkeypatch.setattr(fork, "jobs", lambda: 1)
    one = sql_build._Builder(project, dialect).build()
    forks = count_forks(monkeypatch)
    monkeypatch.setattr(fork, "jobs", lambda: 2)
    monkeypatch.setattr(fork, "MIN_ITEMS", 1)
    two = sql_build._Builder(project, dialect).build()
    assert len(forks) == 1
    assert two.files() == one.files() and two.gaps == one.gaps and two.grants == one.grants
    assert any(o.kind == "view" for o in two.objects)

    def broken(self: object) -> bytes:
        raise RuntimeError("the child dies")

    monkeypatch.setattr(sql_build._Builder, "_views_there", broken)
    again = sql_build._Builder(project, dialect).build()
    assert len(forks) == 2 and again.files() == one.files()


def test_none_is_bound_as_null_through_its_adapter(tmp_path: Path) -> None:
    """A SQLite pool registers an adapter for None (binding it otherwise costs a failed adapter lookup each
    time); None is still NULL, whichever way a statement binds it, and connecting twice registers it once."""
    pool = Pool.connect(f"sqlite:///{tmp_path / 'p.sqlite'}")
    Pool.connect(f"sqlite:///{tmp_path / 'q.sqlite'}").close()
    adapter = sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)]
    assert adapter(None) is None
    pool.execute("CREATE TABLE t (a TEXT, b TEXT NOT NULL DEFAULT 'x', c INTEGER)")
    pool.executemany("INSERT INTO t (a, c) VALUES (?, ?)", [(None, None), ("v", 1)])
    pool.execute("INSERT INTO t (a, c) VALUES (?, ?), (?, ?)", (None, 2, "w", None))
    assert pool.query("SELECT a IS NULL, c IS NULL, typeof(a), typeof(c) FROM t ORDER BY rowid")[1] == [
        (1, 1, "null", "null"),
        (0, 0, "text", "integer"),
        (1, 0, "null", "integer"),
        (0, 1, "text", "null"),
    ]
    with pytest.raises(sqlite3.IntegrityError):
        pool.execute("INSERT INTO t (b) VALUES (?)", (None,))  # NOT NULL still sees a NULL
    pool.close()
