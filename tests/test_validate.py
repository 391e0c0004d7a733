"""Stage 2: every kind's schema rules, reported at the node's own line and column in zh and en."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import PROJECT_YAML, at, codes, only, report_yaml
from ybt.pipeline import CompileResult

Compiled = Callable[..., CompileResult]

FIELD_OK = """\
kind: field
id: monthly_subsidy
label: 月补贴金额
type: decimal
unit: 元
"""


def test_a_valid_field_compiles(compiled: Compiled) -> None:
    r = compiled({"f.yaml": FIELD_OK})
    assert r.ok, [str(d.location) + d.message.en for d in r.diagnostics]
    assert "field.shared.monthly_subsidy" in r.project.fields  # type: ignore[union-attr]


def test_missing_required_property_names_it(compiled: Compiled) -> None:
    r = compiled({"f.yaml": "kind: field\nid: x\nlabel: 姓名\n"})
    d = only(r.diagnostics, "YBT011")
    assert "type" in d.message.en and "type" in d.message.zh
    assert "数据类型" in d.message.zh  # the schema's Chinese title
    assert at(d) == (1, 1)


def test_misspelt_property_points_at_the_key_and_suggests(compiled: Compiled) -> None:
    r = compiled({"f.yaml": "kind: field\nid: x\nlable: 姓名\nlabel: 姓名\ntype: string\n"})
    d = only(r.diagnostics, "YBT011")
    assert at(d) == (3, 1)
    assert d.hint is not None and "label" in d.hint.en


def test_wrong_type_is_explained(compiled: Compiled) -> None:
    r = compiled({"f.yaml": "kind: field\nid: x\nlabel: 年龄\ntype: integer\nconstraints:\n  min: 零\n"})
    d = only(r.diagnostics, "YBT011")
    assert at(d) == (6, 8)
    assert "数字" in d.message.zh and "number" in d.message.en


def test_unquoted_code_gets_the_quoting_hint(compiled: Compiled) -> None:
    r = compiled({"c.yaml": 'kind: codelist\nid: c\nlabel: 类别\nvalues:\n  - {code: 01, label: 甲}\n  - {code: "02", label: 乙}\n'})
    d = only(r.diagnostics, "YBT011")
    assert at(d) == (5, 12)
    assert d.hint is not None and '"01"' in d.hint.zh


def test_enum_accepts_chinese_meaning_as_a_hint(compiled: Compiled) -> None:
    r = compiled({"r.yaml": report_yaml("  - {field: std.name}\n", frequency="月报")})
    d = only(r.diagnostics, "YBT011")
    assert at(d) == (6, 12)
    assert d.hint is not None and "monthly" in d.hint.zh


def test_enum_typo_suggests_the_nearest(compiled: Compiled) -> None:
    r = compiled({"f.yaml": "kind: field\nid: x\nlabel: 姓名\ntype: strng\n"})
    d = only(r.diagnostics, "YBT011")
    assert d.hint is not None and "string" in d.hint.en


def test_id_pattern_has_a_readable_message(compiled: Compiled) -> None:
    r = compiled({"f.yaml": "kind: field\nid: 身份证号\nlabel: 身份证号\ntype: resident_id\n"})
    d = only(r.diagnostics, "YBT011")
    assert at(d) == (2, 5)
    assert d.hint is not None and "小写英文字母" in d.hint.zh


def test_invalid_calendar_date(compiled: Compiled) -> None:
    extra = "admission: {status: admitted, record: A-1, approved_by: jcjf, approved_on: 2024-02-30}\n"
    r = compiled({"r.yaml": report_yaml("  - {field: std.name}\n", extra)})
    d = only(r.diagnostics, "YBT011")
    assert "valid date" in d.message.en


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ("kind: field\nid: x\nlabel: 性别\ntype: code\n", "codelist"),
        ("kind: field\nid: x\nlabel: 性别\ntype: string\nstatus: superseded\n", "superseded_by"),
    ],
)
def test_conditional_requirements_of_fields(compiled: Compiled, doc: str, needle: str) -> None:
    d = only(compiled({"f.yaml": doc}).diagnostics, "YBT011")
    assert needle in d.message.en


def test_admitted_report_needs_record_approver_and_date(compiled: Compiled) -> None:
    r = compiled({"r.yaml": report_yaml("  - {field: std.name}\n", "admission:\n  status: admitted\n")})
    missing = sorted(d.message.en.split("'")[1] for d in r.diagnostics if d.code == "YBT011")
    assert missing == ["approved_by", "approved_on", "record"]
    assert all(at(d) == (10, 1) for d in r.diagnostics)


def test_column_needs_a_field_unless_it_is_a_count_with_id_and_label(compiled: Compiled) -> None:
    ok = compiled({"r.yaml": report_yaml("  - {id: households, label: 户数, aggregate: count}\n", form="summary", frequency="quarterly")})
    assert ok.ok, [d.message.en for d in ok.diagnostics]
    bad = compiled({"r.yaml": report_yaml("  - {label: 户数, aggregate: sum}\n", form="summary", frequency="quarterly")})
    assert sorted(d.message.en for d in bad.diagnostics if d.code == "YBT011") == [
        "missing required property 'field' in 'columns[0]'",
        "missing required property 'id' in 'columns[0]'",
    ]


@pytest.mark.parametrize(
    ("cond", "needle"),
    [
        ("{field: std.sex, op: in, value: '1'}", "expected array"),
        ("{field: std.sex, op: is_null, value: '1'}", "not allowed"),
        ("{field: std.sex, op: between, value: ['1']}", "at least 2"),
        ("{field: std.sex, op: like, value: '1'}", "not an allowed value"),
    ],
)
def test_condition_shapes(compiled: Compiled, cond: str, needle: str) -> None:
    r = compiled({"r.yaml": report_yaml("  - {field: std.name}\n", f"where: [{cond}]\n")})
    assert any(needle in d.message.en for d in r.diagnostics), [d.message.en for d in r.diagnostics]
    assert all(d.location and d.location.line == 10 for d in r.diagnostics)


def test_duplicate_code_in_codelist(compiled: Compiled) -> None:
    r = compiled({"c.yaml": 'kind: codelist\nid: c\nlabel: 类别\nvalues:\n  - {code: "1", label: 甲}\n  - {code: "1", label: 乙}\n'})
    d = only(r.diagnostics, "YBT012")
    assert at(d) == (6, 12)
    assert d.related[0].location.line == 5


def test_unknown_parent_code_in_codelist(compiled: Compiled) -> None:
    values = '  - {code: "01", label: 甲}\n  - {code: "0101", label: 乙, parent: "10"}\n'
    r = compiled({"c.yaml": "kind: codelist\nid: c\nlabel: 类别\nvalues:\n" + values})
    d = only(r.diagnostics, "YBT020")
    assert at(d) == (6, 38)


def test_same_field_twice_in_a_report_needs_an_id(compiled: Compiled) -> None:
    d = only(compiled({"r.yaml": report_yaml("  - {field: std.phone}\n  - {field: std.phone, label: 备用电话}\n")}).diagnostics, "YBT012")
    assert at(d) == (10, 13)


def test_duplicate_department_and_org_code_in_project(compiled: Compiled) -> None:
    project = PROJECT_YAML.replace("  - {id: cl, name: 残联}", "  - {id: cl, name: 残联}\n  - {id: mz, name: 民政局二}")
    project = project.replace('{code: "500199100201", name: 青石村, level: village}', '{code: "500199100", name: 青石村, level: village}')
    r = compiled({}, project)
    assert sorted(d.message.en.split(" '")[0] for d in r.diagnostics if d.code == "YBT012") == [
        "duplicate department id",
        "duplicate organisation code",
    ]


def test_org_levels_must_descend(compiled: Compiled) -> None:
    project = PROJECT_YAML.replace("name: 青石村, level: village", "name: 青石村, level: district")
    d = only(compiled({}, project).diagnostics, "YBT011")
    assert "not below" in d.message.en


def test_unknown_kind_suggests(compiled: Compiled) -> None:
    d = only(compiled({"f.yaml": "kind: feild\nid: x\n"}).diagnostics, "YBT010")
    assert at(d) == (1, 7)
    assert d.hint is not None and "field" in d.hint.en


def test_missing_kind(compiled: Compiled) -> None:
    d = only(compiled({"f.yaml": "id: x\nlabel: 姓名\n"}).diagnostics, "YBT010")
    assert at(d) == (1, 1)


def test_project_kind_outside_ybt_yaml_is_misplaced(compiled: Compiled) -> None:
    assert "YBT024" in codes(compiled({"extra.yaml": PROJECT_YAML}).diagnostics)


def test_top_level_list_is_not_a_document(compiled: Compiled) -> None:
    assert codes(compiled({"f.yaml": "- a\n- b\n"}).diagnostics) == ["YBT010"]


def test_errors_in_several_files_are_all_reported(compiled: Compiled) -> None:
    r = compiled(
        {
            "a.yaml": "kind: field\nid: a\nlabel: 甲\n",
            "b.yaml": "kind: field\nid: b\nlabel: 乙\ntype: strin\n",
            "c.yaml": "kind: field\nid: c\nlabel: [丙\n",
        }
    )
    assert sorted({d.location.file.rsplit("/", 1)[-1] for d in r.diagnostics if d.location}) == ["a.yaml", "b.yaml", "c.yaml"]
    assert not r.ok


def test_conditional_requirement_hint_keeps_the_property_title(compiled: Compiled) -> None:
    d = only(compiled({"f.yaml": "kind: field\nid: x\nlabel: 性别\ntype: code\n"}).diagnostics, "YBT011")
    assert d.hint is not None and "代码表" in d.hint.zh
