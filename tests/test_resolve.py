"""Stage 3: namespaces, reference lookup, duplicate ids, cycles and the built model."""

from __future__ import annotations

from collections.abc import Callable

from conftest import PROJECT_YAML, at, codes, only, report_yaml
from ybt.pipeline import CompileResult

Compiled = Callable[..., CompileResult]


def report(columns: str, extra: str = "", dept: str = "mz", rid: str = "r") -> str:
    return report_yaml(columns, extra, dept=dept, rid=rid)


def test_unknown_field_reference_suggests_nearest(compiled: Compiled) -> None:
    r = compiled({"r.yaml": report("  - field: std.resident_idd\n")})
    d = only(r.diagnostics, "YBT020")
    assert at(d) == (9, 12)
    assert d.hint is not None and "std.resident_id" in d.hint.zh
    assert not r.ok


def test_bare_reference_looks_in_own_namespace_then_shared_then_std(compiled: Compiled) -> None:
    r = compiled(
        {
            "shared.yaml": "kind: field\nid: name\nlabel: 共享姓名\ntype: string\n",
            "mz.yaml": "kind: field\nid: phone\nnamespace: mz\nlabel: 民政电话\ntype: phone\n",
            "r1.yaml": report("  - field: name\n  - field: phone\n  - field: sex\n", rid="r1"),
            "r2.yaml": report("  - field: phone\n", dept="cl", rid="r2"),
        }
    )
    assert r.ok, [d.message.en for d in r.diagnostics]
    p = r.project
    assert p is not None
    r1 = p.reports["report.mz.r1"]
    assert [c.field for c in r1.columns] == ["field.shared.name", "field.mz.phone", "field.std.sex"]
    # 残联 does not see 民政's own field: it falls through to the standard phone.
    assert p.reports["report.cl.r2"].columns[0].field == "field.std.phone"


def test_qualified_reference_names_the_namespace(compiled: Compiled) -> None:
    r = compiled({"r.yaml": report("  - field: shared.sex\n")})
    d = only(r.diagnostics, "YBT020")
    assert d.hint is not None and "std.sex" in d.hint.en


def test_reference_to_the_wrong_kind_says_so(compiled: Compiled) -> None:
    r = compiled({"f.yaml": "kind: field\nid: x\nlabel: 性别\ntype: code\ncodelist: std.sex\n"})
    d = only(r.diagnostics, "YBT020")
    assert d.hint is not None and "is a field" in d.hint.en


def test_library_reference_without_uses(compiled: Compiled) -> None:
    project = PROJECT_YAML.replace("uses: [std]\n", "")
    d = only(compiled({"r.yaml": report("  - field: std.name\n")}, project).diagnostics, "YBT020")
    assert d.hint is not None and "uses" in d.hint.en


def test_unknown_library(compiled: Compiled) -> None:
    d = only(compiled({}, PROJECT_YAML.replace("uses: [std]", "uses: [stdlib]")).diagnostics, "YBT023")
    assert at(d) == (4, 8)
    assert d.hint is not None and "std" in d.hint.en


def test_duplicate_id_names_both_files(compiled: Compiled) -> None:
    r = compiled(
        {
            "a/fields.yaml": "kind: field\nid: name\nlabel: 姓名\ntype: string\n",
            "b/fields.yaml": "# again\nkind: field\nid: name\nlabel: 名字\ntype: string\n",
        }
    )
    d = only(r.diagnostics, "YBT021")
    assert d.location is not None and d.location.file.endswith("b/fields.yaml") and at(d) == (3, 5)
    assert d.related[0].location.file.endswith("a/fields.yaml") and d.related[0].location.line == 2
    assert "a/fields.yaml:2:5" in d.message.en


def test_same_id_in_two_namespaces_is_fine(compiled: Compiled) -> None:
    r = compiled(
        {
            "a.yaml": "kind: field\nid: name\nlabel: 姓名\ntype: string\n",
            "b.yaml": "kind: field\nid: name\nnamespace: mz\nlabel: 姓名\ntype: string\n",
        }
    )
    assert r.ok
    assert {"field.shared.name", "field.mz.name", "field.std.name"} <= set(r.project.fields)  # type: ignore[union-attr]


def test_namespace_must_be_shared_or_a_department(compiled: Compiled) -> None:
    r = compiled({"a.yaml": "kind: field\nid: name\nnamespace: mzj\nlabel: 姓名\ntype: string\n"})
    d = only(r.diagnostics, "YBT024")
    assert at(d) == (3, 12)
    assert d.hint is not None and "mz" in d.hint.en


def test_project_object_may_not_use_a_library_namespace(compiled: Compiled) -> None:
    assert codes(compiled({"a.yaml": "kind: field\nid: n\nnamespace: std\nlabel: 姓名\ntype: string\n"}).diagnostics) == ["YBT024"]


def test_department_id_may_not_be_reserved(compiled: Compiled) -> None:
    project = PROJECT_YAML.replace("{id: cl, name: 残联}", "{id: shared, name: 共享}")
    assert "YBT023" in codes(compiled({}, project).diagnostics)


def test_unknown_department_in_report_and_consumer(compiled: Compiled) -> None:
    extra = "consumers:\n  - {department: cll, purpose: 核对}\n"
    r = compiled({"r.yaml": report("  - field: std.name\n", extra, dept="mzz")})
    found = sorted((at(d), d.message.en) for d in r.diagnostics)
    assert found == [((3, 13), "unknown department 'mzz'"), ((11, 18), "unknown department 'cll'")]


def test_unknown_code_in_condition(compiled: Compiled) -> None:
    r = compiled({"r.yaml": report("  - field: std.name\n", "where:\n  - {field: std.sex, op: in, value: ['1', 男, '7']}\n")})
    found = [(at(d), d.hint.en if d.hint else "") for d in r.diagnostics if d.code == "YBT020"]
    assert [f[0] for f in found] == [(11, 43), (11, 46)]
    assert "'1'" in found[0][1]  # 男 is the label of code 1


def test_superseded_by_cycle(compiled: Compiled) -> None:
    r = compiled(
        {
            "a.yaml": "kind: field\nid: a\nlabel: 甲\ntype: string\nstatus: superseded\nsuperseded_by: b\n",
            "b.yaml": "kind: field\nid: b\nlabel: 乙\ntype: string\nstatus: superseded\nsuperseded_by: a\n",
        }
    )
    d = only(r.diagnostics, "YBT022")
    assert "field.shared.a" in d.message.en and "field.shared.b" in d.message.en


def test_ledger_key_defaults_to_entity_key_and_comes_first(compiled: Compiled) -> None:
    ledger = "kind: ledger\nid: people\nlabel: 人口台账\nentity: std.person\nfields: [std.name, std.sex]\n"
    r = compiled({"l.yaml": ledger})
    assert r.ok
    led = r.project.ledgers["ledger.shared.people"]  # type: ignore[union-attr]
    assert led.key == ("field.std.resident_id",)
    assert led.field_uids() == ("field.std.resident_id", "field.std.name", "field.std.sex")


def test_report_model_keeps_labels_groups_and_locations(compiled: Compiled) -> None:
    cols = "  - {field: std.name, group: 基本情况}\n  - {field: std.resident_id, label: 身份证号, group: [基本情况, 证件]}\n"
    r = compiled({"r.yaml": report(cols)})
    assert r.ok
    rep = r.project.reports["report.mz.r"]  # type: ignore[union-attr]
    assert [(c.id, c.label, c.local_label, c.group) for c in rep.columns] == [
        ("name", "姓名", None, ("基本情况",)),
        ("resident_id", "身份证号", "身份证号", ("基本情况", "证件")),
    ]
    loc = rep.loc("columns", 1, "field")
    assert (loc.line, loc.column) == (10, 13)


def test_a_broken_target_does_not_cascade(compiled: Compiled) -> None:
    r = compiled(
        {
            "f.yaml": "kind: field\nid: subsidy\nlabel: 补贴\ntype: decimall\n",
            "r.yaml": report("  - field: subsidy\n"),
        }
    )
    assert codes(r.diagnostics) == ["YBT011"]


def test_summary_group_by_defaults_to_fill_level(compiled: Compiled) -> None:
    r = compiled({"r.yaml": report("  - {id: n, label: 人数, aggregate: count}\n").replace("form: roster", "form: summary")})
    assert r.ok
    assert r.project.reports["report.mz.r"].group_by == "village"  # type: ignore[union-attr]


def test_same_field_twice_in_a_ledger_under_two_spellings(compiled: Compiled) -> None:
    ledger = "kind: ledger\nid: people\nlabel: 人口台账\nentity: std.person\nfields: [std.name, name]\n"
    d = only(compiled({"l.yaml": ledger}).diagnostics, "YBT012")
    assert at(d) == (5, 20)


def test_library_ids_are_reserved_even_when_unused(compiled: Compiled) -> None:
    project = PROJECT_YAML.replace("uses: [std]\n", "").replace("{id: cl, name: 残联}", "{id: std, name: 标准}")
    assert "YBT023" in codes(compiled({}, project).diagnostics)


def test_code_condition_values_are_stored_as_codes(compiled: Compiled) -> None:
    r = compiled({"r.yaml": report("  - field: std.name\n", "where:\n  - {field: std.sex, op: eq, value: 1}\n")})
    assert r.ok
    assert r.project.reports["report.mz.r"].where[0].value == "1"  # type: ignore[union-attr]
