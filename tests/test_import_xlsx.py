"""``ybt import xlsx`` on a corpus of legacy district forms built with openpyxl (tests/xlsx_corpus.py).

Asserts per-column layout recovery (letter, leaf label as written, group path), title, header and data
rows, form kind, the standard fields columns map to, and same-field pairs across forms (precision and
recall against the corpus truth); that the draft project compiles and ``ybt dupes`` / ``ybt check``
accept it; and that real-world oddities (.xls, encrypted files, hidden columns, formulas, dates as
text, 10,000 rows) are handled. No LibreOffice is needed anywhere.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from ybt.cli import app
from ybt.importers.values import kind_of, resident_id_ok, uscc_ok
from ybt.pipeline import compile_project

from xlsx_corpus import Truth, build, big_form, resident_id, uscc  # isort: skip

runner = CliRunner()
QINGXI = Path(__file__).resolve().parents[1] / "examples" / "qingxi"


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Truth], dict[str, Any], Path]:
    src = tmp_path_factory.mktemp("forms")
    truths = build(src)
    out = tmp_path_factory.mktemp("draft") / "draft"
    result = _run("import", "xlsx", str(src), "--out", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    return truths, json.loads(result.stdout), out


def _forms(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["file"], f["sheet"]): f for f in data["forms"]}


def test_every_form_is_found_and_instruction_and_empty_sheets_are_skipped(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    truths, data, _out = imported
    assert set(_forms(data)) == {(t.file, t.sheet) for t in truths}
    skipped = {s["sheet"] for s in data["skipped_sheets"]}
    assert {"填表说明", "说明", "Sheet3"} <= skipped


def test_title_header_and_data_rows(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    truths, data, _out = imported
    forms = _forms(data)
    for t in truths:
        f = forms[(t.file, t.sheet)]
        assert f["title"] == t.title, t.sheet
        assert tuple(f["header_rows"]) == t.header_rows, t.sheet
        assert tuple(f["data_rows"]) == t.data_rows, t.sheet
        assert f["kind"] == t.kind, t.sheet


def test_every_column_is_recovered_with_its_label_and_groups(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    truths, data, _out = imported
    forms = _forms(data)
    for t in truths:
        got = [(c["col"], c["label"], tuple(c["path"])) for c in forms[(t.file, t.sheet)]["columns"]]
        assert got == [(col, label, path) for col, label, path, _k, _s in t.columns], t.sheet


def test_structural_columns_have_no_field_and_the_others_do(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    truths, data, _out = imported
    forms = _forms(data)
    for t in truths:
        cols = {c["col"]: c for c in forms[(t.file, t.sheet)]["columns"]}
        for col, label, _p, key, _s in t.columns:
            assert (cols[col]["field"] is None) == (key is None), (t.sheet, label)


def test_columns_map_to_the_standard_fields(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    truths, data, _out = imported
    forms = _forms(data)
    fields = {(t.sheet, col): {c["col"]: c["field"] for c in forms[(t.file, t.sheet)]["columns"]}[col] for t in truths for col, *_ in t.columns}
    expected = {(t.sheet, col): std for t in truths for col, _l, _p, _k, std in t.columns if std}
    misses = {k: (fields[k], v) for k, v in expected.items() if fields[k] != v}
    assert len(misses) <= len(expected) // 20, misses
    # Roles: a bare 联系电话 under 监护人 is the guardian's; 户主身份证号 is not the person's.
    assert fields[("补贴名册", "I")] == "std.guardian_phone"
    assert fields[("补贴名册", "G")] == "std.phone"
    assert fields[("Sheet1", "B")] == "std.household_head_resident_id"
    assert fields[("老年人健康档案", "C")] == "std.resident_id"  # 身份證號碼: traditional characters


def _pairs(truths: list[Truth], data: dict[str, Any]) -> tuple[set[Any], set[Any]]:
    forms = _forms(data)
    cols = []
    for t in truths:
        got = {c["col"]: c["field"] for c in forms[(t.file, t.sheet)]["columns"]}
        cols += [((t.file, t.sheet, col), key, got[col]) for col, _l, _p, key, _s in t.columns if key]
    truth, pred = set(), set()
    for (a, ka, fa), (b, kb, fb) in itertools.combinations(cols, 2):
        if a[:2] == b[:2]:
            continue
        if ka == kb:
            truth.add((a, b))
        if fa is not None and fa == fb:
            pred.add((a, b))
    return truth, pred


def test_same_field_pairs_precision_and_recall(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    truths, data, _out = imported
    truth, pred = _pairs(truths, data)
    tp = len(truth & pred)
    assert tp / len(pred) >= 0.95, sorted(pred - truth)
    assert tp / len(truth) >= 0.9, sorted(truth - pred)


def test_near_misses_stay_apart(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    _truths, data, _out = imported
    forms = _forms(data)

    def field(sheet: str, label: str, path: tuple[str, ...] = ()) -> str:
        f = next(f for f in forms.values() if f["sheet"] == sheet)
        return str(next(c["field"] for c in f["columns"] if c["label"] == label and tuple(c["path"]) == path))

    assert field("Sheet1", "户主身份证号") != field("低保花名册", "身份证号码", ("基本情况",))
    assert field("低保花名册", "审批日期") != field("优抚对象", "审批日期")  # another business event
    # The 汇总表 aggregates the roster: its 保障金额 is not the roster's 月保障金额, and 城市/农村 differ.
    summary = {(tuple(c["path"]), c["label"]): c["field"] for c in forms[("mz_dibao.xlsx", "汇总表")]["columns"]}
    assert summary[(("城市低保",), "人数")] != summary[(("农村低保",), "人数")]
    assert field("低保花名册", "月保障金额（元）", ("家庭情况",)) not in summary.values()
    assert field("个体工商户", "手机号码", ("安全负责人",)) != "std.phone"
    # A shop's 联系电话 is the organisation's: the same field in both organisation forms, not a resident's phone.
    assert field("个体工商户", "联系电话") == field("隐患排查", "联系电话") != "std.phone"


def test_value_types_are_inferred(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    _truths, data, _out = imported
    types = {(f["sheet"], c["label"]): c["type"] for f in data["forms"] for c in f["columns"]}
    assert types[("低保花名册", "出生日期")] == "date"  # 1957.01.15 as text
    assert types[("低保花名册", "审批日期")] == "date"  # 2024年3月15日
    assert types[("老年人健康档案", "出生年月")] == "year_month"  # 1957.01
    assert types[("老年人健康档案", "體檢日期")] == "date"  # real Excel dates
    assert types[("补贴名册", "发放日期")] == "date"  # 2024/3/15
    assert types[("个体工商户", "统一社会信用代码（注册号）")] == "uscc"  # with old 15-digit numbers
    assert types[("补贴名册", "联系电话")] == "phone"
    assert types[("低保花名册", "月保障金额（元）")] == "decimal"
    assert types[("Sheet1", "家庭人口")] == "integer"


def test_hidden_columns_are_flagged(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    _truths, data, _out = imported
    cols = {c["label"]: c for c in _forms(data)[("cl_butie.xlsx", "补贴名册")]["columns"]}
    assert cols["内部编号"]["hidden"] is True and cols["姓名"]["hidden"] is False


def test_the_draft_compiles_and_dupes_and_check_accept_it(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    _truths, data, out = imported
    result = compile_project(out)
    assert result.ok, [(str(d.location), d.message.en) for d in result.diagnostics[:5]]
    assert result.project is not None
    assert len([r for r in result.project.reports.values() if r.library is None]) == len(data["forms"])
    dupes = _run("dupes", str(out), "--format", "json")
    assert dupes.exit_code == 0, dupes.output
    check = _run("check", str(out), "--format", "json")
    assert check.exit_code in (0, 1), check.output
    json.loads(check.stdout)
    assert (out / "import-report.md").read_text(encoding="utf-8").startswith("# 导入报告")


def test_reports_reproduce_the_header_layout_and_fields_keep_provenance(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    _truths, _data, out = imported
    report = next(
        yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in (out / "imported" / "reports").glob("*.yaml")
        if "老年人健康管理" in p.read_text(encoding="utf-8")
    )
    cols = {c["field"]: c for c in report["columns"]}
    assert cols["std.name"]["group"] == ["基本信息", "身份信息"]
    assert cols["std.resident_id"]["label"] == "身份證號碼"
    assert report["meta"]["imported_from"]["header_rows"] == [3, 5]
    docs = list(yaml.safe_load_all((out / "imported" / "fields.yaml").read_text(encoding="utf-8")))
    fields = [d for d in docs if d["kind"] == "field"]
    codelists = {d["id"]: d for d in docs if d["kind"] == "codelist"}
    category = next(f for f in fields if f["label"] == "优抚类别")  # a few repeated values: a draft code table
    assert category["type"] == "code" and {v["label"] for v in codelists[category["codelist"]]["values"]} == {"伤残军人", "烈属", "在乡复员军人"}
    assert fields and all(f["meta"]["imported_from"][0]["cell"] for f in fields)
    assert all(f["status"] == "draft" for f in fields)


def test_catalog_fields_come_first(tmp_path: Path) -> None:
    src = tmp_path / "forms"
    src.mkdir()
    build(src)
    out = tmp_path / "draft"
    result = _run("import", "xlsx", str(src / "cl_butie.xlsx"), "--out", str(out), "--catalog", str(QINGXI), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert compile_project(out).ok
    fields = {c["label"]: c["field"] for c in data["forms"][0]["columns"]}
    assert fields["公民身份号码"] == "std.resident_id"
    assert (out / "ybt.yaml").exists() and (out / "departments").is_dir()  # the catalog project comes along


def test_xls_and_broken_files_are_refused_with_a_located_bilingual_error(tmp_path: Path) -> None:
    old = tmp_path / "旧表.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    fake = tmp_path / "加密.xlsx"
    fake.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    result = runner.invoke(app, ["import", "xlsx", str(old), str(fake), "--out", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "旧表.xls" in result.output and ".xls" in result.output and "Traceback" not in result.output
    assert "不支持" in result.output and "not supported" in result.output
    assert "加密.xlsx" in result.output


def test_a_project_directory_is_never_overwritten(tmp_path: Path) -> None:
    src = tmp_path / "forms"
    src.mkdir()
    build(src)
    result = runner.invoke(app, ["import", "xlsx", str(src), "--out", str(QINGXI)])
    assert result.exit_code == 2


def test_identity_checks() -> None:
    import random

    rng = random.Random(3)
    for _ in range(50):
        assert resident_id_ok(resident_id(rng))
        assert uscc_ok(uscc(rng))
    assert not resident_id_ok("500199195701150011")  # a wrong check digit
    assert kind_of("2024.03.15") == kind_of("2024年3月15日") == kind_of("20240315") == "date"
    assert kind_of("1957.01") == kind_of("1957年1月") == "year_month"
    assert kind_of(13812345678.0) == "mobile"
    assert kind_of("023-68881234") == "landline"


@pytest.mark.slow
def test_ten_thousand_rows(tmp_path: Path) -> None:
    build(tmp_path, [big_form(10_000)])
    started = time.perf_counter()
    result = _run("import", "xlsx", str(tmp_path / "big_roster.xlsx"), "--out", str(tmp_path / "d"), "--format", "json")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    form = json.loads(result.stdout)["forms"][0]
    assert form["data_rows"] == [6, 10005] and form["data_row_count"] == 10_000
    assert {c["label"]: c["type"] for c in form["columns"]}["身份证号"] == "resident_id"
    assert elapsed < 30, elapsed


def test_formulas_protected_sheets_and_a_form_below_a_blank_row(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表一"
    ws.protection.sheet = True
    ws["B4"], ws["C4"], ws["D4"], ws["E4"] = "姓名", "身份证号", "补贴金额（元）", "小计（元）"
    rng = __import__("random").Random(5)
    for r in range(5, 9):
        ws.cell(r, 2, f"人{r}")
        ws.cell(r, 3, resident_id(rng))
        ws.cell(r, 4, 100 * r)
        ws.cell(r, 5, f"=D{r}*2")
    ws["B9"] = "合  计"
    wb.save(tmp_path / "f.xlsx")
    result = _run("import", "xlsx", str(tmp_path / "f.xlsx"), "--out", str(tmp_path / "d"), "--format", "json")
    assert result.exit_code == 0, result.output
    form = json.loads(result.stdout)["forms"][0]
    assert form["title"] is None and form["header_rows"] == [4, 4] and form["data_rows"] == [5, 8]
    assert [c["col"] for c in form["columns"]] == ["B", "C", "D", "E"]


def test_group_rows_over_some_columns_only(tmp_path: Path) -> None:
    import random

    rng = random.Random(1)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "unmerged"
    ws["A1"] = "困难群众走访登记表"
    ws["C3"], ws["F3"] = "基本情况", "联系方式"  # groups written without merging, leaves one row below
    merged = wb.create_sheet("merged")
    merged["A1"] = "困难群众走访登记表（二）"
    merged.merge_cells("A1:H1")
    merged["C2"] = "基本情况"  # the only group: one merged cell over three leaves
    merged.merge_cells("C2:E2")
    labels = ["序号", "姓名", "性别", "年龄", "身份证号", "联系电话", "住址", "备注"]
    for sheet, row in ((ws, 4), (merged, 3)):
        for i, t in enumerate(labels):
            sheet.cell(row, 1 + i, t)
        for r in range(row + 1, row + 6):
            for i, v in enumerate([r - row, f"人{r}", "男", 40 + r, resident_id(rng), "13812345678", "青杠村"]):
                sheet.cell(r, 1 + i, v)
    wb.save(tmp_path / "g.xlsx")
    result = _run("import", "xlsx", str(tmp_path / "g.xlsx"), "--out", str(tmp_path / "d"), "--format", "json")
    assert result.exit_code == 0, result.output
    forms = {f["sheet"]: f for f in json.loads(result.stdout)["forms"]}
    paths = {c["label"]: c["path"] for c in forms["unmerged"]["columns"]}
    assert forms["unmerged"]["header_rows"] == [3, 4] and forms["unmerged"]["data_rows"] == [5, 9]
    assert paths["性别"] == ["基本情况"] and paths["住址"] == ["联系方式"] and paths["姓名"] == [] and paths["备注"] == []
    paths = {c["label"]: c["path"] for c in forms["merged"]["columns"]}
    assert forms["merged"]["header_rows"] == [2, 3] and forms["merged"]["title"] == "困难群众走访登记表（二）"
    assert paths["身份证号"] == ["基本情况"] and paths["联系电话"] == []


def test_attachment_line_circled_numbering_blank_marker_and_hidden_lookup_sheet(tmp_path: Path) -> None:
    import random

    rng = random.Random(2)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "危房改造"
    ws["A1"] = "附件2"
    ws["A2"] = "2024年度农村危房改造对象花名册"
    ws.merge_cells("A2:G2")
    ws["A3"], ws["E3"] = "填报单位", "填报日期"  # fill-in words without colons
    for i, t in enumerate(["序号", "户主姓名", "身份证号", "家庭人口", "房屋结构", "改造方式", "补助资金（万元）"]):
        ws.cell(4, 1 + i, t)
    for i, t in enumerate("①②③④⑤⑥⑦"):
        ws.cell(5, 1 + i, t)
    for r in range(6, 12):
        for i, v in enumerate([r - 5, f"人{r}", resident_id(rng), 3, "砖木", "维修加固", 1.5]):
            ws.cell(r, 1 + i, v)
    ws["A12"] = "以下空白"
    lookup = wb.create_sheet("lists")
    lookup["A1"], lookup["A2"] = "砖木", "砖混"
    lookup.sheet_state = "hidden"
    wb.save(tmp_path / "w.xlsx")
    result = _run("import", "xlsx", str(tmp_path / "w.xlsx"), "--out", str(tmp_path / "d"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (form,) = data["forms"]
    assert form["title"] == "2024年度农村危房改造对象花名册"
    assert (form["header_rows"], form["numbering_row"], form["data_rows"]) == ([4, 4], 5, [6, 11])
    fields = {c["label"]: c["field"] for c in form["columns"]}
    assert fields["户主姓名"] == "std.household_head_name" and fields["家庭人口"] == "std.household_size"  # 家庭人口 is in 人
    assert [s["sheet"] for s in data["skipped_sheets"]] == ["lists"]


def test_two_forms_one_below_the_other_on_one_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "两张表"
    ws["A1"] = "低保户名单表"
    for i, t in enumerate(["序号", "姓名", "家庭人口数"]):
        ws.cell(2, 1 + i, t)
    for r in range(3, 7):
        ws.cell(r, 1, r - 2), ws.cell(r, 2, f"人{r}"), ws.cell(r, 3, 3)
    ws["A8"] = "特困人员名单表"  # after a blank row
    for i, t in enumerate(["序号", "姓名", "供养方式"]):
        ws.cell(9, 1 + i, t)
    for r in range(10, 13):
        ws.cell(r, 1, r - 9), ws.cell(r, 2, f"人{r}"), ws.cell(r, 3, "分散供养")
    ws["A13"] = "制表人：          审核人："
    wb.save(tmp_path / "s.xlsx")
    result = _run("import", "xlsx", str(tmp_path / "s.xlsx"), "--out", str(tmp_path / "d"), "--format", "json")
    assert result.exit_code == 0, result.output
    forms = json.loads(result.stdout)["forms"]
    assert [(f["title"], f["header_rows"], f["data_rows"]) for f in forms] == [("低保户名单表", [2, 2], [3, 6]), ("特困人员名单表", [9, 9], [10, 12])]
    assert compile_project(tmp_path / "d").ok


def test_import_in_batches_with_the_previous_draft_as_catalog(tmp_path: Path) -> None:
    src = tmp_path / "forms"
    src.mkdir()
    build(src)
    first, second = tmp_path / "d1", tmp_path / "d2"
    assert _run("import", "xlsx", str(src / "mz_dibao.xlsx"), "--out", str(first)).exit_code == 0
    result = _run("import", "xlsx", str(src / "tyjr.xlsx"), "--out", str(second), "--catalog", str(first), "--format", "json")
    assert result.exit_code == 0, result.output
    fields = {c["label"]: c["field"] for c in json.loads(result.stdout)["forms"][0]["columns"]}
    assert fields["证件号码"] == "std.resident_id"
    assert (second / "imported").is_dir() and (second / "imported2" / "reports").is_dir()
    assert compile_project(second).ok


def test_recurring_values_are_evidence_and_equal_values_of_another_role_are_reported(imported: tuple[list[Truth], dict[str, Any], Path]) -> None:
    _truths, data, _out = imported
    forms = _forms(data)
    ids = next(c for c in forms[("mz_dibao.xlsx", "低保花名册")]["columns"] if c["label"] == "身份证号码")
    assert any(e["kind"] == "values" and "cl_butie.xlsx" in e["zh"] for e in ids["evidence"])
    assert any("household_head" in u["en"] and "kept apart" in u["en"] for u in data["uncertain"])
