"""Schema evolution: pools built from old specs migrate to new ones without losing rows; unsafe changes are refused."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqldata import insert_rows, load
from test_sql import DEMO_FILES, DEMO_YAML, person
from ybt.emit.manifest import build_manifest
from ybt.model import Project
from ybt.pipeline import compile_project
from ybt.sql.build import build
from ybt.sql.migrate import migrate, renames_of
from ybt.sql.pool import Pool, init

pytest_plugins = ["sqlfixtures"]

Cli = Callable[..., Any]


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("duckdb", marks=pytest.mark.slow)])
def test_the_merge_migrates_without_losing_a_row(qingxi_pre: Project, qingxi_post: Project, tmp_path: Path, dialect: str) -> None:
    if dialect == "duckdb":
        pytest.importorskip("duckdb")
    url = f"{dialect}:///{tmp_path / ('pool.' + dialect)}"
    init(qingxi_pre, url)
    pool = Pool.connect(url)
    counts = load(qingxi_pre, build(qingxi_pre, dialect), pool, n=10)
    pool.close()
    result = init(qingxi_post, url)
    assert result.ok and result.migration is not None
    c = result.migration.counts
    assert c["tables_created"] == 6 and c["tables_rebuilt"] == 15 and c["views_created"] >= 80
    codes = {d.code for d in result.migration.diagnostics}
    assert "YBT607" in codes and "YBT604" in codes  # merged fields carried over; retired collected tables kept
    pool = Pool.connect(url)
    for table, n in counts.items():
        _, rows = pool.query(f'SELECT COUNT(*) FROM "{table}"')
        assert rows == [(n,)], table
    _, rows = pool.query('SELECT COUNT("resident_id"), COUNT("name") FROM "ledger_mz_shjz_dx_tz"')
    assert rows == [(counts["ledger_mz_shjz_dx_tz"], counts["ledger_mz_shjz_dx_tz"])]
    post = build(qingxi_post, dialect)
    for obj in post.objects:
        if obj.kind == "view":
            pool.query(f'SELECT * FROM "{obj.name}"')
    _, rows = pool.query('SELECT COUNT(*) FROM "view_mz_shjz_qk_ybb"')
    assert rows[0][0] > 0  # the derived summary still reads the migrated ledger
    _, meta = pool.query('SELECT "value" FROM "ybt_meta" WHERE "key" = \'project_checksum\'')
    assert meta == [(build_manifest(qingxi_post)["metadata"]["project_checksum"],)]
    pool.close()
    again = init(qingxi_post, url)
    assert again.migration is not None and again.migration.counts == {} and not again.migration.diagnostics


def _demo(make_project: Callable[..., Path], **changes: str) -> Project:
    files = {**DEMO_FILES, **changes}
    result = compile_project(make_project(files, DEMO_YAML))
    assert result.ok, [(d.code, d.message.en) for d in result.diagnostics]
    assert result.project is not None
    return result.project


def test_new_columns_views_and_codes_are_added(make_project: Callable[..., Path], tmp_path: Path) -> None:
    old = _demo(make_project)
    url = f"sqlite:///{tmp_path / 'pool.sqlite'}"
    init(old, url)
    pool = Pool.connect(url)
    insert_rows(pool, "ledger_shared_roll", [person(1), person(2)])
    pool.close()
    ledger = textwrap.dedent(DEMO_FILES["ledgers/roll.yaml"]) + "  - std.birth_date\n  - {field: std.ethnicity, required: true}\n"
    codes = textwrap.dedent(DEMO_FILES["catalog/codelists.yaml"]).replace(
        '  - {code: "2", label: 农村低保}', '  - {code: "2", label: 农村最低生活保障}\n  - {code: "4", label: 特困}'
    )
    report = textwrap.dedent(DEMO_FILES["departments/mz/roster.yaml"]).replace("  - {field: income}", "  - {field: income}\n  - {field: std.birth_date}")
    new = _demo(make_project, **{"ledgers/roll.yaml": ledger, "catalog/codelists.yaml": codes, "departments/mz/roster.yaml": report})
    result = init(new, url)
    assert result.ok and result.migration is not None
    c = result.migration.counts
    assert c["columns_added"] == 2 and c["rows_inserted"] == 1 and c["rows_updated"] == 2  # a label, and the position of the code after the new one
    assert c["views_dropped"] == c["views_created"] == 3  # the roster and its two variants
    assert [d.code for d in result.migration.diagnostics] == ["YBT605"]  # ethnicity is required but old rows have none
    pool = Pool.connect(url)
    _, rows = pool.query('SELECT "birth_date", "ethnicity" FROM "ledger_shared_roll"')
    assert rows == [(None, None), (None, None)]
    _, rows = pool.query('SELECT "label" FROM "codelist_shared_aid" ORDER BY "code"')
    assert [r[0] for r in rows][1:] == ["农村最低生活保障", rows[2][0], "特困"]
    columns, _ = pool.query('SELECT * FROM "view_mz_roster"')
    assert columns[-1] == "birth_date"
    insert_rows(pool, "ledger_shared_roll", [{**person(3), "aid_type": "4", "birth_date": "1970-01-01", "ethnicity": "01"}])
    pool.close()


def test_unsafe_changes_are_refused_and_nothing_is_applied(make_project: Callable[..., Path], tmp_path: Path) -> None:
    old = _demo(make_project)
    url = f"sqlite:///{tmp_path / 'pool.sqlite'}"
    init(old, url)
    pool = Pool.connect(url)
    insert_rows(pool, "ledger_shared_roll", [person(1)])
    pool.close()
    fields = DEMO_FILES["catalog/fields.yaml"].replace("type: decimal", "type: integer")
    ledger = DEMO_FILES["ledgers/roll.yaml"].replace("org_level: village", "org_level: village\n        key: [std.resident_id, std.name]")
    new = _demo(make_project, **{"catalog/fields.yaml": fields, "ledgers/roll.yaml": ledger})
    result = init(new, url)
    assert not result.ok and result.migration is not None
    errors = {d.code: d for d in result.migration.diagnostics if d.severity.value == "error"}
    assert set(errors) == {"YBT601", "YBT603"}
    where = errors["YBT601"].location
    assert where is not None and where.file.endswith("ledgers/roll.yaml") and where.line == 1
    assert "income" in errors["YBT601"].message.en and "类型" in errors["YBT601"].message.zh
    pool = Pool.connect(url)
    _, rows = pool.query('SELECT COUNT(*) FROM "ledger_shared_roll"')
    assert rows == [(1,)]
    _, meta = pool.query('SELECT "value" FROM "ybt_meta" WHERE "key" = \'project_checksum\'')
    assert meta == [(build_manifest(old)["metadata"]["project_checksum"],)]  # still the old specs
    pool.close()


def test_dropped_columns_and_tables_keep_their_data(make_project: Callable[..., Path]) -> None:
    old = _demo(make_project)
    ledger = DEMO_FILES["ledgers/roll.yaml"].replace("          - std.phone\n", "")
    report = DEMO_FILES["departments/mz/roster.yaml"].replace("          - {field: std.phone}\n", "")
    files = {k: v for k, v in DEMO_FILES.items() if k != "departments/cl/collected.yaml"}
    (old.root / "departments" / "cl" / "collected.yaml").unlink()
    result = compile_project(make_project({**files, "ledgers/roll.yaml": ledger, "departments/mz/roster.yaml": report}, DEMO_YAML))
    assert result.project is not None
    m = migrate(build(old, "postgres"), build(result.project, "postgres"), renames_of(result.project))
    assert m.ok
    codes = sorted(d.code for d in m.diagnostics)
    assert codes.count("YBT602") == 1 and codes.count("YBT604") >= 1
    assert not [s for s in m.statements if s.startswith("DROP TABLE") or (s.startswith("ALTER") and "DROP" in s)]


def test_sql_migrate_command(cli: Cli, make_project: Callable[..., Path], tmp_path: Path) -> None:
    root = make_project(DEMO_FILES, DEMO_YAML)
    assert cli("compile", root).exit_code == 0
    old_manifest = tmp_path / "old-manifest.json"
    old_manifest.write_text((root / "target" / "manifest.json").read_text(encoding="utf-8"), encoding="utf-8")
    ledger = textwrap.dedent(DEMO_FILES["ledgers/roll.yaml"]) + "  - std.birth_date\n"
    (root / "ledgers" / "roll.yaml").write_text(textwrap.dedent(ledger), encoding="utf-8")
    r = cli("sql", "migrate", root, "--from", old_manifest, "--dialect", "postgres")
    assert r.exit_code == 0, r.output
    assert 'ALTER TABLE "ledger_shared_roll"\nADD COLUMN "birth_date" DATE' in r.stdout
    fields = DEMO_FILES["catalog/fields.yaml"].replace("type: decimal", "type: integer")
    (root / "catalog" / "fields.yaml").write_text(textwrap.dedent(fields), encoding="utf-8")
    r = cli("sql", "migrate", root, "--from", old_manifest)
    assert r.exit_code == 1 and "YBT601" in r.output and "ledgers/roll.yaml:1:1" in r.output
    assert cli("sql", "migrate", root, "--from", tmp_path / "nope.json").exit_code == 2
