"""Excel loop (issue 7): templates, ingest of filled workbooks into a real pool, exports; values checks."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from conftest import EXAMPLES
from excelfill import fill, good_rows, meta_of
from ybt import values
from ybt.cli import app
from ybt.excel.export import export
from ybt.excel.forms import Form, find_form, forms_of
from ybt.excel.ingest import HISTORY, ingest
from ybt.excel.template import CODES_SHEET, GUIDE_SHEET, META_SHEET, write_template
from ybt.model import Project
from ybt.pipeline import compile_project
from ybt.sql.pool import Pool, init, query

ORG = "500198100201"


@pytest.fixture(scope="module")
def minimal() -> Project:
    p = compile_project(EXAMPLES / "minimal").project
    assert p is not None
    return p


@pytest.fixture(scope="module")
def qingxi() -> Project:
    p = compile_project(EXAMPLES / "qingxi").project
    assert p is not None
    return p


def ledger(p: Project) -> Form:
    form, why = find_form(p, "disabled_persons")
    assert form is not None, why
    return form


def pool_url(tmp_path: Path, dialect: str = "sqlite") -> str:
    return f"{dialect}:///{tmp_path / ('pool.' + dialect)}"


def count(url: str, table: str) -> int:
    return int(query(url, f'SELECT COUNT(*) FROM "{table}"')[1][0][0])


# -- values ----------------------------------------------------------------------------------------


def test_resident_id_and_credit_code_check_digits() -> None:
    assert values.parse_resident_id("11010119900307447x")[1] is not None  # wrong check character
    assert values.parse_resident_id("110101199003074477") == ("110101199003074477", None)
    assert values.parse_resident_id("110101199013074477")[1] is not None  # month 13
    assert values.sex_of("110101199003074477") == "1"
    assert values.birth_date_of("110101199003074477") == date(1990, 3, 7)
    assert values.parse_uscc("91350100M000100Y43") == ("91350100M000100Y43", None)
    assert values.parse_uscc("91350100M000100Y44")[1] is not None
    assert values.parse_uscc("91350100M000100I43")[1] is not None  # I is not in the alphabet


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2024.03.15", date(2024, 3, 15)),
        ("2024-3-15", date(2024, 3, 15)),
        ("2024年3月15日", date(2024, 3, 15)),
        ("2024/03/15", date(2024, 3, 15)),
        ("20240315", date(2024, 3, 15)),
        (45366, date(2024, 3, 15)),
        (45366.0, date(2024, 3, 15)),
        (datetime(2024, 3, 15, 0, 0), date(2024, 3, 15)),
        ("2024.13.45", None),
        ("三月", None),
    ],
)
def test_dates_in_written_forms(raw: Any, want: date | None) -> None:
    got, problem = values.parse_date(raw)
    assert got == want
    assert (problem is None) == (want is not None)


def test_year_month_phone_code_formula() -> None:
    assert values.parse_year_month("1957.01")[0] == "1957-01"
    assert values.parse_year_month("1957年1月")[0] == "1957-01"
    assert values.parse_year_month("1957-1")[0] == "1957-01"
    assert values.parse_year_month(datetime(1957, 1, 3))[0] == "1957-01"
    assert values.parse_year_month("1957.13")[0] is None
    assert values.parse_phone("13800138000")[0] == "13800138000"
    assert values.parse_phone("+8613800138000")[0] == "+8613800138000"
    assert values.parse_phone("12800138000")[1] is not None
    lookup = values.code_lookup([("1", "男", ("男性",)), ("2", "女", ())])
    assert values.parse_code("男", lookup)[0] == "1"
    assert values.parse_code("男性", lookup)[0] == "1"
    assert values.parse_code("2 女", lookup)[0] == "2"
    assert values.parse_code(2.0, lookup)[0] == "2"
    assert values.parse_code("未知", lookup)[1] is not None
    assert values.formula_like('=HYPERLINK("http://x","y")')
    assert values.formula_like("@SUM(A1)") and values.formula_like("-2+3") and values.formula_like("+cmd")
    assert (
        not values.formula_like("-")
        and not values.formula_like("--")
        and not values.formula_like("-5")
        and not values.formula_like("+8613800138000")
        and not values.formula_like("张三")
    )
    assert values.neutralise("=1+1") == "'=1+1"


# -- templates -------------------------------------------------------------------------------------


def test_template_layout_validations_and_hidden_sheets(minimal: Project, tmp_path: Path) -> None:
    form = ledger(minimal)
    path = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["残疾人基础台账", GUIDE_SHEET, CODES_SHEET, META_SHEET]
    assert wb[CODES_SHEET].sheet_state == "hidden" and wb[META_SHEET].sheet_state == "veryHidden"
    ws = wb["残疾人基础台账"]
    assert ws["A1"].value == "残疾人基础台账"
    assert "东山村" in str(ws["A2"].value)
    assert ws["A3"].value == "*公民身份号码" and ws["A3"].font.color.rgb.endswith("C00000")
    assert ws.freeze_panes == "A4"
    dims = ws.column_dimensions
    assert ws.protection.sheet and ws["A3"].protection.locked and not dims["A"].protection.locked  # header locked, data area open
    assert dims["A"].number_format == "@" and dims["E"].number_format == "@"  # ID number and phone as text, never 1.1E+17
    assert dims["D"].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["A"].width >= 20
    dvs = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert dvs["A4"].type == "textLength" and dvs["A4"].formula1 == "18"
    assert dvs["C4"].type == "list" and dvs["C4"].formula1.startswith(f"'{CODES_SHEET}'!$")
    assert dvs["D4"].type == "date"
    assert "18 位" in (dvs["A4"].prompt or "")  # the filling rule as the input message
    assert dvs["M4"].type == "decimal"
    guide = wb[GUIDE_SHEET]
    assert any("18 位公民身份号码" in str(c.value) for row in guide.iter_rows() for c in row)
    meta = meta_of(path)
    assert meta["form"] == form.uid and meta["checksum"] == form.checksum() and meta["org_unit"] == ORG
    wb.close()


def test_long_code_lists_go_through_the_hidden_sheet(qingxi: Project, tmp_path: Path) -> None:
    form = next(f for f in forms_of(qingxi).values() if any(c.codelist is not None and len(c.codelist.values) > 40 for c in f.columns))
    path = write_template(qingxi, form, tmp_path / "t.xlsx", period="2026-11")
    ws = openpyxl.load_workbook(path).worksheets[0]
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert lists and all(dv.formula1.startswith(f"'{CODES_SHEET}'!") for dv in lists)
    assert all(len(dv.formula1) < 255 for dv in lists)


def test_multi_row_header_from_groups(qingxi: Project, tmp_path: Path) -> None:
    form, _ = find_form(qingxi, "cl.cjr_fwxq_dcb")
    assert form is not None
    path = write_template(qingxi, form, tmp_path / "t.xlsx", period="2026-11")
    ws = openpyxl.load_workbook(path).worksheets[0]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A3:A4" in merged  # 填报单位 spans both header rows
    assert ws["B3"].value == "基本信息" and any(r.startswith("B3:") for r in merged)
    assert ws["B4"].value and ws.freeze_panes == "B5"


def test_every_form_of_the_district_gets_a_template(qingxi: Project, tmp_path: Path) -> None:
    forms = forms_of(qingxi)
    own = [u for u in (*qingxi.ledgers, *qingxi.reports) if u in qingxi.ledgers or not qingxi.reports[u].sources]
    assert sorted(forms) == sorted(own)
    for form in forms.values():
        path = write_template(qingxi, form, tmp_path / f"{form.qualified}.xlsx", period="2026-11")
        wb = openpyxl.load_workbook(path)
        assert wb[META_SHEET].sheet_state == "veryHidden" and wb[CODES_SHEET].sheet_state == "hidden"
        assert wb.worksheets[0].data_validations.dataValidation
        wb.close()


def test_derived_reports_need_no_template(minimal: Project) -> None:
    assert find_form(minimal, "cl.severe_disability_roster") == (None, "derived")


# -- ingest ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb"])
def test_fill_ingest_query_reingest_update(minimal: Project, tmp_path: Path, dialect: str) -> None:
    if dialect == "duckdb":
        pytest.importorskip("duckdb")
    url = pool_url(tmp_path, dialect)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    rows = good_rows(minimal, form, 5)
    rows[0]["birth_date"] = rows[0]["birth_date"].strftime("%Y.%m.%d")  # written dates are fine too
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows)
    [res] = ingest([filled], url, who="tester")
    assert res.ok, [d.message for d in res.diagnostics]
    assert (res.inserted, res.updated, res.unchanged) == (5, 0, 0)
    cols, got = query(url, f'SELECT * FROM "{form.table}" ORDER BY resident_id')
    assert len(got) == 5 and all(r[cols.index("org_unit")] == ORG for r in got)
    sexes = {r[cols.index("resident_id")]: r[cols.index("sex")] for r in got}
    assert all(sexes[rid] == values.sex_of(rid) for rid in sexes)  # labels came back as codes
    history = count(url, HISTORY)
    snapshot = query(url, f'SELECT * FROM "{form.table}" ORDER BY resident_id')

    [again] = ingest([filled], url)
    assert again.ok and again.unchanged == 5 and not again.written
    assert query(url, f'SELECT * FROM "{form.table}" ORDER BY resident_id') == snapshot
    assert count(url, HISTORY) == history

    rows[1]["name"] = "李四改"
    newer = tmp_path / "g.xlsx"
    fill(tpl, newer, rows)
    [upd] = ingest([newer], url, who="tester2")
    assert upd.ok and (upd.updated, upd.unchanged) == (1, 4)
    _, hist = query(url, f"SELECT who, file, action, old, new FROM \"{HISTORY}\" WHERE action = 'update'")
    assert len(hist) == 1 and hist[0][0] == "tester2" and hist[0][1] == "g.xlsx"
    assert json.loads(hist[0][4])["name"] == "李四改" and json.loads(hist[0][3])["name"] != "李四改"


def test_bad_cells_are_located_and_nothing_is_written(minimal: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    rows = good_rows(minimal, form, 4)
    rows[0]["resident_id"] = rows[0]["resident_id"][:17] + ("0" if rows[0]["resident_id"][17] != "0" else "1")
    rows[1]["disability_category"] = "外星残疾"
    rows[2]["birth_date"] = "2024.13.45"
    rows[3]["name"] = '=HYPERLINK("http://evil.example","点我")'
    rows[3]["guardian_phone"] = "12345"
    rows.append(dict(rows[2], resident_id=float(rows[2]["resident_id"][:15] + "000"), birth_date=None))
    filled = tmp_path / "bad.xlsx"
    fill(tpl, filled, rows)
    [res] = ingest([filled], url)
    assert not res.ok and not res.written
    where = {(d.code, d.location.cell if d.location else None) for d in res.diagnostics}
    assert ("YBT703", "A4") in where  # check digit
    assert ("YBT703", "H5") in where  # unknown code
    assert ("YBT703", "D6") in where  # 2024.13.45
    assert ("YBT705", "B7") in where  # formula injection
    assert ("YBT703", "K7") in where  # not a phone number
    assert ("YBT703", "A8") in where and any("文本" in d.message.zh for d in res.diagnostics if d.location and d.location.cell == "A8")  # 1.1E+17
    assert all(d.location is not None and d.location.sheet == "残疾人基础台账" for d in res.diagnostics)
    assert str(res.diagnostics[0].location).startswith(f"{filled}!残疾人基础台账!")
    assert any("校验位" in d.message.zh for d in res.diagnostics) and any("check digit" in d.message.en for d in res.diagnostics)
    assert count(url, form.table) == 0


def test_real_formula_cells_and_cross_field_rules(minimal: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    rows = good_rows(minimal, form, 3)
    rows[0]["sex"] = "女" if values.sex_of(rows[0]["resident_id"]) == "1" else "男"
    rows[1]["birth_date"] = datetime(1901, 1, 1)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows, extra={(2, "residence_address"): '=HYPERLINK("http://x","y")'})
    wb = openpyxl.load_workbook(filled)
    assert wb.worksheets[0]["F6"].data_type == "f"  # openpyxl wrote a real formula
    [res] = ingest([filled], url)
    where = {(d.code, d.location.cell if d.location else None) for d in res.diagnostics}
    assert ("YBT706", "C4") in where and ("YBT706", "D5") in where and ("YBT705", "F6") in where
    assert count(url, form.table) == 0


def test_required_and_duplicate_keys(minimal: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    rows = good_rows(minimal, form, 3)
    rows[1]["name"] = None
    rows[2] = dict(rows[0])
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows)
    [res] = ingest([filled], url)
    where = {(d.code, d.location.cell if d.location else None) for d in res.diagnostics}
    assert ("YBT704", "B5") in where and ("YBT706", "A6") in where


def test_edited_or_old_templates_are_refused(minimal: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    rows = good_rows(minimal, form, 2)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows)
    # moved columns: swap two header cells (and their data)
    wb = openpyxl.load_workbook(filled)
    ws = wb.worksheets[0]
    ws.protection.sheet = False
    for r in range(3, 6):
        ws.cell(r, 2).value, ws.cell(r, 3).value = ws.cell(r, 3).value, ws.cell(r, 2).value
    moved = tmp_path / "moved.xlsx"
    wb.save(moved)
    [res] = ingest([moved], url)
    assert [d.code for d in res.diagnostics] == ["YBT702"] and res.diagnostics[0].location is not None
    assert res.diagnostics[0].location.cell == "B3" and "表头" in res.diagnostics[0].message.zh
    # an old version: the checksum in the meta sheet no longer matches
    wb = openpyxl.load_workbook(filled)
    meta = wb[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "checksum":
            row[1].value = "0123456789abcdef"
    old = tmp_path / "old.xlsx"
    wb.save(old)
    [res] = ingest([old], url)
    assert [d.code for d in res.diagnostics] == ["YBT702"] and "版本" in res.diagnostics[0].message.zh
    # not a template at all
    plain = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(plain)
    [res] = ingest([plain], url)
    assert [d.code for d in res.diagnostics] == ["YBT701"]
    assert count(url, form.table) == 0


def test_template_without_org_has_a_unit_column_and_prefill(minimal: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx")
    rows = good_rows(minimal, form, 4)
    for i, r in enumerate(rows):
        r["org_unit"] = "500198100201 东山村" if i % 2 else "500198100202"
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows)
    [res] = ingest([filled], url)
    assert res.ok, [d.message for d in res.diagnostics]
    _, got = query(url, f'SELECT org_unit, COUNT(*) FROM "{form.table}" GROUP BY org_unit ORDER BY org_unit')
    assert got == [("500198100201", 2), ("500198100202", 2)]
    # prefill for one unit: its rows come back, and ingesting the prefilled template changes nothing
    runner = CliRunner()
    out = tmp_path / "pre"
    r = runner.invoke(app, ["template", str(EXAMPLES / "minimal"), "disabled_persons", "--out", str(out), "--org", ORG, "--prefill", "--db", url])
    assert r.exit_code == 0, r.output
    [pre] = list(out.glob("*.xlsx"))
    wb = openpyxl.load_workbook(pre)
    ws = wb.worksheets[0]
    assert ws["A4"].value and ws["A5"].value and not ws["A6"].value
    [again] = ingest([pre], url)
    assert again.ok and again.unchanged == 2 and not again.written


def test_collected_report_periods_and_summary(qingxi: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(qingxi, url)
    summary = next(f for f in forms_of(qingxi).values() if f.kind == "report" and f.form == "summary")
    unit = next(u.code for u in qingxi.org_units.values() if u.level == summary.level)
    tpl = write_template(qingxi, summary, tmp_path / "s.xlsx", org=unit, period="2026Q3")
    filled = tmp_path / "sf.xlsx"
    fill(tpl, filled, good_rows(qingxi, summary, 1))
    [res] = ingest([filled], url)
    assert res.ok, [d.message for d in res.diagnostics]
    _, got = query(url, f'SELECT period, org_unit FROM "{summary.table}"')
    assert got == [("2026Q3", unit)]
    two = tmp_path / "two.xlsx"
    fill(tpl, two, good_rows(qingxi, summary, 2))
    [res] = ingest([two], url)
    assert not res.ok and any(
        d.code == "YBT706" and d.location is not None and d.location.cell == f"A{int(meta_of(tpl)['first_data_row']) + 1}" for d in res.diagnostics
    )


def test_every_district_form_ingests_good_rows_and_exports(qingxi: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(qingxi, url)
    files = []
    for form in forms_of(qingxi).values():
        unit = next(u.code for u in sorted(qingxi.org_units.values(), key=lambda u: u.code) if u.level == form.level)
        tpl = write_template(qingxi, form, tmp_path / f"{form.qualified}.xlsx", org=unit, period="2026-11")
        filled = tmp_path / f"{form.qualified}.filled.xlsx"
        fill(tpl, filled, good_rows(qingxi, form, 1 if form.form == "summary" else 3))
        files.append(filled)
    results = ingest(files, url)
    bad = {r.file: [f"{d.location}: {d.message.zh}" for d in r.diagnostics] for r in results if not r.ok}
    assert not bad
    assert all(r.written for r in results)
    roster = next(f for f in forms_of(qingxi).values() if f.kind == "report" and f.form == "roster")
    out = tmp_path / "export.xlsx"
    res = export(qingxi, url, roster.qualified, out, period="2026-11")
    assert res.rows == 3
    wb = CalamineWorkbook.from_path(str(out))
    data = wb.get_sheet_by_name(wb.sheet_names[0]).to_python()
    assert data[0][0] == qingxi.reports[roster.uid].title


# -- export ----------------------------------------------------------------------------------------


def _loaded_minimal(minimal: Project, tmp_path: Path, n: int = 4, dialect: str = "sqlite") -> str:
    url = pool_url(tmp_path, dialect)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx")
    rows = good_rows(minimal, form, n)
    for i, r in enumerate(rows):
        r["org_unit"] = "500198100201" if i % 2 else "500198100202"
        r["disability_grade"] = "一级"
        r["monthly_subsidy"] = 100 + i
    rows[0]["name"] = "+cmd|' /C calc'!A0"
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows)
    [res] = ingest([filled], url)
    assert not res.ok and res.diagnostics[0].code == "YBT705"  # refused on the way in …
    pool = Pool.connect(url)
    try:  # … so put one there behind ybt's back, as another system might
        rows[0]["name"] = "张三"
        fill(tpl, filled, rows)
        [res] = ingest([filled], url)
        assert res.ok, [d.message for d in res.diagnostics]
        pool.execute(f'UPDATE "{form.table}" SET name = \'=HYPERLINK("http://x","y")\' WHERE org_unit = \'500198100202\'')
    finally:
        pool.close()
    return url


def test_export_layout_masking_and_neutralising(minimal: Project, tmp_path: Path) -> None:
    url = _loaded_minimal(minimal, tmp_path)
    out = tmp_path / "r.xlsx"
    res = export(minimal, url, "cl.severe_disability_roster", out)
    assert res.access == "masked" and "resident_id" in res.masked
    wb = openpyxl.load_workbook(out)
    ws = wb.worksheets[0]
    assert ws["A1"].value == "重度残疾人护理补贴发放花名册"
    assert {"基本情况", "残疾情况", "监护人"} <= {c.value for c in ws[3]}
    assert any(str(r).startswith("B3:") or str(r).startswith("A3:") for r in ws.merged_cells.ranges)
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    assert len(body) == 4
    ids = [r[3] for r in body]
    assert all(v is None or "*" in str(v) for v in ids)  # masked for a reader without grant
    names = [r[2] for r in body]
    bad = [ws.cell(5 + i, 3) for i, v in enumerate(names) if str(v).startswith("=")]
    assert bad and all(c.data_type == "s" and c.quotePrefix for c in bad)  # text, never a formula
    # mz is granted the ID number
    res = export(minimal, url, "cl.severe_disability_roster", tmp_path / "mz.xlsx", as_dept="mz")
    assert res.access in ("partial", "unmasked") and "resident_id" not in res.masked
    body = [[c.value for c in row] for row in openpyxl.load_workbook(tmp_path / "mz.xlsx").worksheets[0].iter_rows(min_row=5)]
    assert all(values.parse_resident_id(str(r[3]))[1] is None for r in body)
    # csv: formula-like text gets an apostrophe
    res = export(minimal, url, "cl.severe_disability_roster", tmp_path / "r.csv", org="500198100202")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    assert len(lines) == 1 + 2 and all(line[2].startswith("'=") for line in lines[1:])


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb"])
def test_export_summary_has_a_total_row(minimal: Project, tmp_path: Path, dialect: str) -> None:
    if dialect == "duckdb":
        pytest.importorskip("duckdb")
    url = _loaded_minimal(minimal, tmp_path, dialect=dialect)
    out = tmp_path / "s.xlsx"
    export(minimal, url, "mz.subsidy_summary", out)
    ws = openpyxl.load_workbook(out).worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    assert rows[-1][0] == "合计" and rows[-1][1] == 4
    assert sum(r[1] for r in rows[:-1]) == 4


# -- command line ----------------------------------------------------------------------------------


def test_cli_template_ingest_export_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    proj = EXAMPLES / "minimal"
    url = pool_url(tmp_path)
    assert runner.invoke(app, ["db", "init", str(proj), "--db", url]).exit_code == 0
    r = runner.invoke(app, ["template", str(proj), "--all", "--out", str(tmp_path / "tpl"), "--org", ORG])
    assert r.exit_code == 0, r.output
    [tpl] = list((tmp_path / "tpl").glob("*.xlsx"))
    r = runner.invoke(app, ["template", str(proj), "cl.severe_disability_roster", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "不需要填报模板" in r.output
    minimal = compile_project(proj).project
    assert minimal is not None
    good = tmp_path / "good.xlsx"
    fill(tpl, good, good_rows(minimal, ledger(minimal), 2))
    bad = tmp_path / "bad.xlsx"
    fill(tpl, bad, good_rows(minimal, ledger(minimal), 2), extra={(0, "birth_date"): "2024.13.45"})
    r = runner.invoke(app, ["ingest", str(bad), "--db", url, "--format", "json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["files"][0]["diagnostics"][0]["location"]["cell"] == "D4"
    r = runner.invoke(app, ["ingest", str(good), "--db", url, "--dry-run"])
    assert r.exit_code == 0 and count(url, ledger(minimal).table) == 0
    r = runner.invoke(app, ["ingest", str(good), "--db", url])
    assert r.exit_code == 0 and count(url, ledger(minimal).table) == 2
    r = runner.invoke(app, ["ingest", str(tmp_path / "nope.xlsx"), "--db", url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["export", str(proj), "cl.severe_disability_roster", "--db", url, "--out", str(tmp_path / "r.xlsx"), "--as", "mz"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["export", str(proj), "cl.severe_disability_roster", "--db", url, "--out", str(tmp_path / "r.txt")])
    assert r.exit_code == 2


# -- LibreOffice -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_libreoffice_resave_then_ingest(minimal: Project, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install -y libreoffice-calc")
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    filled = tmp_path / "in" / "f.xlsx"
    filled.parent.mkdir()
    fill(tpl, filled, good_rows(minimal, form, 3))
    outdir = tmp_path / "lo"
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--convert-to", "xlsx", "--outdir", str(outdir), str(filled)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    resaved = outdir / "f.xlsx"
    assert resaved.exists()
    [res] = ingest([resaved], url)
    assert res.ok, [f"{d.location}: {d.message.zh}" for d in res.diagnostics]
    assert res.inserted == 3


def test_form_columns_are_the_pool_tables_columns(qingxi: Project) -> None:
    from ybt.sql.build import build

    b = build(qingxi, "sqlite")
    for form in forms_of(qingxi).values():
        obj = b.object(form.table)
        assert obj is not None, form.table
        pool_cols = [(c.name, c.not_null) for c in obj.columns if c.name not in ("org_unit", "period")]
        assert pool_cols == [(c.name, c.required) for c in form.columns], form.uid
        assert set(form.key) <= {c.name for c in obj.columns}


def test_roster_prefill_carries_last_period_over(qingxi: Project, tmp_path: Path) -> None:
    from ybt.excel.prefill import prefill_rows, source_period

    url = pool_url(tmp_path)
    init(qingxi, url)
    roster = next(f for f in forms_of(qingxi).values() if f.kind == "report" and f.form == "roster" and f.key)
    unit = next(u.code for u in sorted(qingxi.org_units.values(), key=lambda u: u.code) if u.level == roster.level)
    tpl = write_template(qingxi, roster, tmp_path / "t.xlsx", org=unit, period="2026-10")
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, good_rows(qingxi, roster, 3))
    [res] = ingest([filled], url)
    assert res.ok, [d.message for d in res.diagnostics]
    assert source_period(url, roster, unit, "2026-11") == "2026-10"
    pre = write_template(qingxi, roster, tmp_path / "pre.xlsx", org=unit, period="2026-11", rows=prefill_rows(url, roster, unit, "2026-10"))
    [nov] = ingest([pre], url)
    assert nov.ok and nov.inserted == 3, [d.message for d in nov.diagnostics]
    _, got = query(url, f'SELECT period, COUNT(*) FROM "{roster.table}" GROUP BY period ORDER BY period')
    assert got == [("2026-10", 3), ("2026-11", 3)]
    assert source_period(url, roster, unit, "2026-11") == "2026-11"


# -- diffs against the pool in batches, formula scan -------------------------------------------------


def test_ledger_diff_in_batches_updates_moved_and_changed_rows(minimal: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ybt.excel import ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "BATCH", 2)  # 5 rows: batches of 2, 2 and 1
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx")
    rows = good_rows(minimal, form, 5)
    for r in rows:
        r["org_unit"] = "500198100201"
    first = tmp_path / "a.xlsx"
    fill(tpl, first, rows)
    [res] = ingest([first], url, who="t")
    assert res.ok and (res.inserted, res.updated, res.unchanged) == (5, 0, 0), [d.message for d in res.diagnostics]
    rows[4]["org_unit"] = "500198100202"  # moved to another village: updated, not duplicated
    rows[1]["name"] = "王五改"
    second = tmp_path / "b.xlsx"
    fill(tpl, second, rows)
    [res] = ingest([second], url, who="t")
    assert res.ok and (res.inserted, res.updated, res.deleted, res.unchanged) == (0, 2, 0, 3)
    _, got = query(url, f'SELECT resident_id, org_unit, name FROM "{form.table}" ORDER BY resident_id')
    assert len(got) == 5
    by_id = {rid: (org, name) for rid, org, name in got}
    assert by_id[rows[4]["resident_id"]][0] == "500198100202" and by_id[rows[1]["resident_id"]][1] == "王五改"
    _, hist = query(url, f"SELECT action, row_key, old, new FROM \"{HISTORY}\" WHERE action = 'update' ORDER BY row_key")
    assert sorted(json.loads(h[1])[0] for h in hist) == sorted([rows[1]["resident_id"], rows[4]["resident_id"]])
    assert all(json.loads(h[2])["resident_id"] == json.loads(h[1])[0] for h in hist)


def test_report_file_is_the_units_whole_return(qingxi: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ybt.excel import ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "BATCH", 1)
    url = pool_url(tmp_path)
    init(qingxi, url)
    roster, _ = find_form(qingxi, "mz.gljt_ffhmc")
    assert roster is not None and roster.key
    unit = next(u.code for u in sorted(qingxi.org_units.values(), key=lambda u: u.code) if u.level == roster.level)
    tpl = write_template(qingxi, roster, tmp_path / "t.xlsx", org=unit, period="2026-11")
    rows = good_rows(qingxi, roster, 3)
    full = tmp_path / "full.xlsx"
    fill(tpl, full, rows)
    [res] = ingest([full], url)
    assert res.ok and res.inserted == 3, [d.message for d in res.diagnostics]
    key = roster.key[0]
    fewer = tmp_path / "fewer.xlsx"
    fill(tpl, fewer, rows[:2])  # the third person is no longer on the unit's return
    [res] = ingest([fewer], url, who="t")
    assert res.ok and (res.inserted, res.updated, res.deleted, res.unchanged) == (0, 0, 1, 2)
    _, got = query(url, f'SELECT "{key}" FROM "{roster.table}" ORDER BY "{key}"')
    assert sorted(r[0] for r in got) == sorted(r[key] for r in rows[:2])
    _, hist = query(url, f"SELECT old, new FROM \"{HISTORY}\" WHERE action = 'delete'")
    assert len(hist) == 1 and json.loads(hist[0][0])[key] == rows[2][key] and hist[0][1] is None


def test_roster_without_key_is_replaced_when_anything_changed(qingxi: Project, tmp_path: Path) -> None:
    url = pool_url(tmp_path)
    init(qingxi, url)
    roster, _ = find_form(qingxi, "nync.jtnc_xxcjb")
    assert roster is not None and not roster.key and roster.form == "roster"
    unit = next(u.code for u in sorted(qingxi.org_units.values(), key=lambda u: u.code) if u.level == roster.level)
    tpl = write_template(qingxi, roster, tmp_path / "t.xlsx", org=unit, period="2026-11")
    rows = good_rows(qingxi, roster, 3)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows)
    [res] = ingest([filled], url)
    assert res.ok and res.inserted == 3, [d.message for d in res.diagnostics]
    [same] = ingest([filled], url)
    assert same.ok and same.unchanged == 3 and not same.written
    changed = tmp_path / "g.xlsx"
    fill(tpl, changed, rows[:2])
    [res] = ingest([changed], url)
    assert res.ok and (res.inserted, res.deleted) == (2, 3)
    assert count(url, roster.table) == 2


def test_formula_scan_skips_validations_and_finds_formulas_across_chunks(minimal: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from ybt.excel import ingest as ingest_mod

    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    with zipfile.ZipFile(tpl) as z:
        assert b"<formula1>" in z.read("xl/worksheets/sheet1.xml")  # data validations are not formulas
    assert ingest_mod.formula_cells(tpl, "残疾人基础台账") == {}
    # a sheet written with a namespace prefix, formulas (one shared, one escaped) in rows far apart
    rows = "".join(f'<x:row r="{r}"><x:c r="A{r}" t="inlineStr"><x:is><x:t>行{r}</x:t></x:is></x:c></x:row>' for r in range(1, 400))
    sheet = (
        '<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        '<x:row r="400"><x:c r="B400" s="1"><x:f>HYPERLINK("http://x","a&amp;b")</x:f><x:v>a&amp;b</x:v></x:c></x:row>'
        + rows
        + '<x:row r="900"><x:c r="C900"><x:f t="shared" si="0"/><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    book = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(book, "w") as z:
        z.writestr(
            "xl/workbook.xml",
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="worksheet" Target="worksheets/s1.xml"/></Relationships>',
        )
        z.writestr("xl/worksheets/s1.xml", sheet)
    want = {"B400": '=HYPERLINK("http://x","a&b")', "C900": "="}
    assert ingest_mod.formula_cells(book, "数据") == want
    monkeypatch.setattr(ingest_mod, "_CHUNK", 97)  # chunks cut inside tags and cells
    assert ingest_mod.formula_cells(book, "数据") == want


def test_streamed_prefill_rows_are_what_xlsxwriter_writes(minimal: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast prefill writes each row's XML itself: byte for byte what xlsxwriter's write_* calls write."""
    import zipfile
    from decimal import Decimal

    from ybt.excel import template as template_mod

    form = ledger(minimal)
    texts = ["张三", "a&b<c>d", " 前导空格", "末尾空格 ", "_x0041_ 字面", "响铃\x07", "=1+1", "x" * 40_000, "line\nbreak"]
    rows: list[tuple[Any, ...]] = []
    for i in range(12):
        row: list[Any] = ["500198100201" if i % 2 else "500198100202"]
        for j, c in enumerate(form.columns):
            if (i + j) % 5 == 4:
                row.append(None)
            elif c.codelist is not None:
                row.append(c.codelist.values[i % len(c.codelist.values)].code if i % 3 else "不在代码表")
            elif c.type == "date":
                row.append(["2024-03-15", "1900-02-28", "1900-03-01", date(1957, 1, 3)][i % 4])
            elif c.type == "integer":
                row.append([3, Decimal("12"), 12345678901234567][i % 3])
            elif c.type == "decimal":
                row.append([Decimal("1234.50"), 0.1, 2][i % 3])
            else:
                row.append(texts[(i + j) % len(texts)])
        rows.append(tuple(row))
    rows.insert(3, (None,) * (len(form.columns) + 1))  # a row with nothing in it
    rows.append(("500198100201", "110101199003074477"))  # a short row
    fast = write_template(minimal, form, tmp_path / "fast.xlsx", rows=rows)
    monkeypatch.setattr(template_mod, "_streams_rows", lambda ws, formats: False)
    slow = write_template(minimal, form, tmp_path / "slow.xlsx", rows=rows)
    with zipfile.ZipFile(fast) as a, zipfile.ZipFile(slow) as b:
        for member in ("xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"):
            assert a.read(member) == b.read(member), member
    ws = openpyxl.load_workbook(fast).worksheets[0]
    assert ws.max_row == 3 + len(rows) and not ws.cell(4 + 3, 1).value and ws.cell(3 + len(rows), 2).value == "110101199003074477"
    assert ws["A4"].number_format == "@" and not ws["A4"].protection.locked  # prefilled cells keep the column's text format, unlocked


def test_row_loops_report_progress_on_stderr(minimal: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ybt import progress as progress_mod
    from ybt.excel.prefill import prefill_count, prefill_rows

    monkeypatch.setenv("YBT_PROGRESS", "1")
    monkeypatch.setattr(progress_mod, "DELAY", 0.0)
    bars: list[tuple[str, int | None, int]] = []
    close = progress_mod._Bar.close

    def spy(self: progress_mod._Bar) -> None:
        bars.append((self.description, self.total, self.done))
        close(self)

    monkeypatch.setattr(progress_mod._Bar, "close", spy)
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, good_rows(minimal, form, 300))
    [res] = ingest([filled], url, lang="en")
    assert res.ok and res.inserted == 300
    assert prefill_count(url, form, ORG, None) == 300
    write_template(minimal, form, tmp_path / "pre.xlsx", org=ORG, rows=prefill_rows(url, form, ORG, None), total=300, lang="zh")
    exported = export(minimal, url, "cl.severe_disability_roster", tmp_path / "r.xlsx", lang="en")
    assert exported.rows > 0
    assert [(d.split(" ")[0], total, done) for d, total, done in bars] == [
        ("写入模板", 0, 0),  # the empty template
        ("checking", 300, 300),  # ingest: reading and checking the rows
        ("writing", 300, 300),  # ingest: comparing with the pool and writing
        ("写入模板", 300, 300),  # the prefilled template, in the language asked for
        ("exporting", None, exported.rows),
    ]
    assert capsys.readouterr().out == ""  # bars go to stderr only


# -- the fast paths of ingest ------------------------------------------------------------------------


def _id_like(i: int) -> list[Any]:
    good = values.resident_id_check
    body = f"{110101 + i % 7}{1940 + i % 80}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    rid = body + good(body)
    wrong = body + ("0" if rid[17] != "0" else "1")
    return [
        rid,
        wrong,
        rid.lower(),
        f" {rid}",
        rid[:10] + " " + rid[10:],
        rid[:17],
        rid + "1",
        body[:6] + "19991332" + body[14:] + "0",
        rid.replace(rid[3], "٣"),  # another script's digits
        float(rid[:15] + "000") if rid[:17].isdigit() else rid,
        "",
        None,
    ]


def test_cells_taken_as_they_are_are_what_the_full_check_gives() -> None:
    from ybt.excel import ingest as ingest_mod

    good_id = ingest_mod._fast_ids({})
    taken = 0
    for i in range(3000):
        for v in _id_like(i):
            if good_id(v):
                taken += 1
                assert values.parse_resident_id(v) == (v, None), v
    assert taken >= 3000  # every well-written valid number is taken
    phones = [
        "13800138000",
        "8613800138000",
        "+8613800138000",
        "02312345678",
        "023-12345678",
        "0231234567",
        "12800138000",
        "1380013800",
        "１３８００１３８０００",
    ]
    phones += [" 13800138000", "13800138000 ", "138 0013 8000", "010123456789", "0101234567890", "13800138000.0", "8613800138000x"]
    for v in phones:
        if ingest_mod._PHONE_FAST.fullmatch(v):
            assert values.parse_phone(v) == (v, None), v
    assert ingest_mod._PHONE_FAST.fullmatch("13800138000") and ingest_mod._PHONE_FAST.fullmatch("02312345678")


def test_rows_checked_a_column_at_a_time_report_what_the_row_by_row_check_reports(minimal: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The column-wise acceptance and the clean-chunk path change nothing: same rows, same problems, same order."""
    from ybt.excel import ingest as ingest_mod

    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx")
    rows = good_rows(minimal, form, 40)
    for i, r in enumerate(rows):
        r["org_unit"] = "500198100201" if i % 3 else "500198100202"
    good = tmp_path / "good.xlsx"
    fill(tpl, good, rows)
    bad_rows = [dict(r) for r in rows]
    bad_rows[5]["resident_id"] = bad_rows[5]["resident_id"].lower()  # taken by the full check: no problem
    bad_rows[9]["sex"] = "女" if values.sex_of(bad_rows[9]["resident_id"]) == "1" else "男"
    bad_rows[14]["birth_date"] = datetime(1901, 1, 1)
    bad_rows[17] = dict(bad_rows[2])  # a duplicate, in another chunk
    bad_rows[21]["resident_id"] = bad_rows[21]["resident_id"][:17] + ("0" if bad_rows[21]["resident_id"][17] != "0" else "1")
    bad_rows[26]["phone"] = "12345"
    bad_rows[30]["name"] = None
    bad = tmp_path / "bad.xlsx"
    fill(tpl, bad, bad_rows, extra={(33, "residence_address"): '=HYPERLINK("http://x","y")'})
    project = minimal

    def run(path: Path) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]] | None]:
        diags: list[Any] = []
        parsed = ingest_mod.parse(path, project, diags)
        return [d.to_dict() for d in diags], (parsed.rows if parsed is not None else None)

    monkeypatch.setattr(ingest_mod, "_ROWS_AT_ONCE", 8)
    fast = [run(good), run(bad)]
    assert fast[0][1] is not None and len(fast[0][1]) == 40 and not fast[0][0]
    assert {d["location"]["cell"] for d in fast[1][0]} == {"D13", "E18", "B21", "B25", "F30", "C34", "G37"}
    monkeypatch.setattr(ingest_mod._Checker, "accepted", lambda self, rows: [[ingest_mod._TODO] * len(rows) for _ in self.fast])
    assert [run(good), run(bad)] == fast


@pytest.mark.parametrize(
    ("fault", "cell", "by_row"),
    [
        ({"sex": "other"}, "C8", True),  # the only wrong thing in its chunk: sex against the ID number
        ({"birth_date": datetime(1901, 1, 1)}, "D8", True),  # birth date against the ID number
        ({"name": "=1+1"}, "B8", True),  # text that would run as a formula
        ({"name": "长" * 51}, "B8", True),  # over the field's 50 characters
        ({"name": "  王芳 "}, None, True),  # spaces around plain text: stored without them
        ({"residence_address": "\u3000城南路 1 号"}, None, True),  # an ideographic space is a space too
        ({"birth_date": "1990-03-07"}, None, True),  # a date typed as text (the ID number agrees)
        ({"residence_address": None, "village": None}, None, False),  # optional text left blank
        ({"sex": None}, None, False),  # blank sex: nothing to compare with the ID number
    ],
)
def test_a_chunk_with_one_fault_is_reported_as_the_row_by_row_check_reports_it(
    qingxi: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: dict[str, Any], cell: str | None, by_row: bool
) -> None:
    """Whole columns are tested at once (plain text, sex and birth date against the ID number); one fault in a chunk
    of good rows must send that chunk to the row-by-row check, which reports it or stores the cleaned value.

    The household register's columns are all of kinds tested a column at a time, so its good chunks skip the
    row-by-row check altogether (asserted below): the fault is the only thing that can send them there."""
    from ybt.excel import ingest as ingest_mod

    form, _ = find_form(qingxi, "shared.hjrk_tz")
    assert form is not None
    tpl = write_template(qingxi, form, tmp_path / "t.xlsx", org="500199001001")
    rows = good_rows(qingxi, form, 24)
    row = rows[4]
    for name, v in fault.items():
        if v == "other":
            v = "女" if values.sex_of(row["resident_id"]) == "1" else "男"
        row[name] = v
    if isinstance(fault.get("birth_date"), str):  # the ID number says the same date
        first17 = row["resident_id"][:6] + "19900307" + row["resident_id"][14:17]
        row["resident_id"] = first17 + values.resident_id_check(first17)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, rows)

    def run() -> tuple[list[dict[str, Any]], list[tuple[Any, ...]] | None]:
        diags: list[Any] = []
        parsed = ingest_mod.parse(filled, qingxi, diags)
        return [d.to_dict() for d in diags], (parsed.rows if parsed is not None else None)

    monkeypatch.setattr(ingest_mod, "_ROWS_AT_ONCE", 8)
    row_by_row = ingest_mod._Checker.row
    checked: list[int] = []
    monkeypatch.setattr(ingest_mod._Checker, "row", lambda self, r, *a: checked.append(r) or row_by_row(self, r, *a))
    got = run()
    first = int(meta_of(filled)["first_data_row"]) - 1  # 0-based, as rows are counted when checked
    assert checked == (list(range(first, first + 8)) if by_row else [])  # the faulty chunk, or none
    assert [d["location"]["cell"] for d in got[0]] == ([cell] if cell else [])
    if cell is None:
        assert got[1] is not None and len(got[1]) == 24
        stored = dict(zip([c.name for c in form.columns], got[1][4], strict=True))
        assert all(v is None or v.__class__ is not str or v.strip() == v for v in stored.values())
    monkeypatch.setattr(ingest_mod._Checker, "accepted", lambda self, rows: [[ingest_mod._TODO] * len(rows) for _ in self.fast])
    assert run() == got


def test_whole_column_text_test_takes_what_the_cell_test_takes() -> None:
    from ybt.excel import ingest as ingest_mod

    first = ingest_mod._FORMULA_FIRST
    tricky = ["abc", "", " a", "a ", " ", "=1", "+1", "-1", "@x", "\ta", "a\r", "a\n", "\n", "王\u3000", "\u3000王", "\xa0a", "a\u2028"]
    tricky += ["x" * 5, "a\x00b", None, 3, date(2020, 1, 1)]
    for blank_ok in (True, False):
        for v in tricky:
            if isinstance(v, str) and 0 < len(v) <= 4 and v[0] not in first and v.strip() == v:
                one: Any = v
            elif v == "" and blank_ok:
                one = None
            else:
                one = ingest_mod._TODO
            got = ingest_mod._plain_column(["ok", v, "fine"], 4, blank_ok)
            if got is not None:  # the column test may leave a column to the cells, never take what they would not
                assert list(got) == ["ok", one, "fine"], (v, blank_ok)
            else:
                assert one is ingest_mod._TODO or "\x00" in str(v), (v, blank_ok)
    assert ingest_mod._plain_column(["a", "b"], sys.maxsize, False) == ["a", "b"]


def test_history_json_written_a_column_at_a_time_is_the_encoders() -> None:
    from ybt.excel import ingest as ingest_mod

    names = ["a", "b%s", 'c"', "身份"]
    rows: list[tuple[Any, ...]] = [
        ("x", None, True, "值"),
        ('q"uo\\te', "%d %s", False, "\n\t\x01\u2028"),
        (1, 2.5, None, ""),
        ("", "", "", "😀"),
    ]
    assert ingest_mod._json_objects(names, rows) == [ingest_mod._JSON.encode(dict(zip(names, r, strict=True))) for r in rows]
    assert ingest_mod._json_objects([], [(), ()]) == ["{}", "{}"]
    keys: list[tuple[Any, ...]] = [("500198100201", 'k"1'), ("%s", None), ("x", 3)]
    assert ingest_mod._json_arrays(keys) == [ingest_mod._JSON_KEY.encode(k) for k in keys]
    assert ingest_mod._json_arrays([(), ()]) == ["[]", "[]"]


def test_rows_inserted_several_a_statement_are_those_of_one_a_statement(minimal: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ybt.excel import ingest as ingest_mod

    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, good_rows(minimal, form, 11))
    got = []
    for per in (1, 4, 100):
        monkeypatch.setattr(ingest_mod, "ROWS_PER_INSERT", per)
        url = pool_url(tmp_path / str(per))
        init(minimal, url)
        [res] = ingest([filled], url, who="t")
        assert res.ok and res.inserted == 11
        got.append((query(url, f'SELECT rowid, * FROM "{form.table}"'), query(url, f'SELECT who, file, row_key, action, old, new FROM "{HISTORY}"')))
    assert got[0] == got[1] == got[2]


def test_a_row_the_pool_refuses_after_others_were_written_leaves_the_pool_as_it_was(minimal: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ybt.excel import ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "ROWS_PER_INSERT", 3)
    monkeypatch.setattr(ingest_mod, "BATCH", 4)
    url = pool_url(tmp_path)
    init(minimal, url)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    rows = good_rows(minimal, form, 10)
    first = tmp_path / "first.xlsx"
    fill(tpl, first, rows[:2])
    [res] = ingest([first], url, who="t")
    assert res.ok and res.inserted == 2
    before = query(url, f'SELECT rowid, * FROM "{form.table}"'), query(url, f'SELECT * FROM "{HISTORY}"')
    refused = rows[7]["name"]
    pool = Pool.connect(url)
    try:  # the pool itself refuses one row (another system's rule), in the second batch of the third statement
        pool.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON \"{form.table}\" WHEN NEW.name = '{refused}' BEGIN SELECT RAISE(ABORT, 'refused'); END")
    finally:
        pool.close()
    rows[1]["name"] = "改名"  # an update, before the refused insert
    second = tmp_path / "second.xlsx"
    fill(tpl, second, rows)
    [res] = ingest([second], url, who="t")
    assert not res.ok and not res.written and "refused" in res.diagnostics[0].message.en
    assert (query(url, f'SELECT rowid, * FROM "{form.table}"'), query(url, f'SELECT * FROM "{HISTORY}"')) == before


def test_unreadable_files_and_pools_without_a_project_while_the_workbook_is_read(minimal: Project, tmp_path: Path) -> None:
    import threading

    from ybt.sql.pool import PoolError

    url = pool_url(tmp_path)
    init(minimal, url)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    missing = tmp_path / "missing.xlsx"
    res = ingest([junk, missing], url)
    assert [r.diagnostics[0].code for r in res] == ["YBT701", "YBT701"]
    assert all("cannot read the workbook" in r.diagnostics[0].message.en for r in res)
    form = ledger(minimal)
    tpl = write_template(minimal, form, tmp_path / "t.xlsx", org=ORG)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, good_rows(minimal, form, 3))
    with pytest.raises(PoolError):
        ingest([filled], pool_url(tmp_path / "empty"))
    assert not [t for t in threading.enumerate() if t.name.startswith("ybt-read")]
    [res2] = ingest([filled], url)
    assert res2.ok and res2.inserted == 3
