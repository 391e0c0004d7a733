"""Duplicate analysis: each kind of evidence, each role distinction, report overlaps, blocking."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, PROJECT_YAML
from ybt.analyze.dupes import DupesResult, find_duplicates
from ybt.analyze.labels import concept, normalize, synonym_table
from ybt.pipeline import CompileResult, compile_project

Compiled = Callable[..., CompileResult]


def field(ident: str, label: str, type_: str = "string", ns: str = "mz", **extra: Any) -> str:
    lines = [f"kind: field\nid: {ident}\nnamespace: {ns}\nlabel: {json.dumps(label, ensure_ascii=False)}\ntype: {type_}"]
    for k, v in extra.items():
        lines.append(f"{k}: {json.dumps(v, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def dupes(compiled: Compiled, *docs: str, project_yaml: str = PROJECT_YAML, min_score: float = 0.6) -> DupesResult:
    result = compiled({f"f{i}.yaml": d for i, d in enumerate(docs)}, project_yaml)
    assert result.ok, [(str(d.location), d.message.en) for d in result.diagnostics]
    assert result.project is not None
    return find_duplicates(result.project, min_score)


def clustered(result: DupesResult, *fields: str) -> bool:
    """Whether all these fields (qualified ids) are in one cluster."""
    for c in result.field_clusters:
        members = {m.qualified for m in c.members}
        if set(fields) <= members:
            return True
    return False


def in_any_cluster(result: DupesResult, field_ref: str) -> bool:
    return any(field_ref in {m.qualified for m in c.members} for c in result.field_clusters)


# --- label knowledge ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("身份证号码", "身份证号码"),
        ("身份证号码", "身份證號碼"),  # traditional characters
        ("身份证\n号码", "身份证号码"),  # a line break inside a header cell
        ("姓  名", "姓名"),  # spaces used to stretch a label
        ("面积（亩）", "面积(亩)"),  # full-width and half-width brackets
        ("*姓名：", "姓名"),  # required marker and colon
        ("身份证号", "公民身份号码"),  # built-in synonyms
        ("证件号码", "公民身份号码"),
        ("联系电话", "手机号码"),
        ("联系方式", "联系电话"),
        ("村（社区）", "所属村（居）"),
        ("残疾人姓名", "姓名"),  # the roster's own subject
        ("监护人手机号码", "监护人联系电话"),
    ],
)
def test_labels_with_the_same_concept(a: str, b: str) -> None:
    syn = synonym_table()
    assert concept(a, syn) == concept(b, syn)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("户主姓名", "姓名"),
        ("监护人姓名", "姓名"),
        ("代领人姓名", "姓名"),
        ("配偶姓名", "姓名"),
        ("户主姓名", "监护人姓名"),
        ("监护人电话", "联系电话"),
        ("户主身份证号", "身份证号"),
        ("户籍地址", "现居住地址"),
        ("申请日期", "审批日期"),
        ("面积（亩）", "面积（㎡）"),
        ("补贴金额合计", "补贴金额"),
        ("法定代表人姓名", "姓名"),
    ],
)
def test_labels_that_look_alike_but_differ(a: str, b: str) -> None:
    syn = synonym_table()
    assert concept(a, syn) != concept(b, syn)


def test_normalize_folds_width_and_decoration() -> None:
    assert normalize("１．　姓　名：") == "姓名"
    assert normalize("聯繫電話") == "联系电话"


# --- field clusters: evidence ---------------------------------------------------------------------


def test_same_label_across_departments(compiled: Compiled) -> None:
    r = dupes(compiled, field("xm", "姓名", ns="mz"), field("cjr_xm", "残疾人姓名", ns="cl"))
    assert clustered(r, "mz.xm", "cl.cjr_xm", "std.name")
    c = next(c for c in r.field_clusters if c.canonical == "field.std.name")
    assert c.canonical_qualified == "std.name"
    assert {e.kind for e in c.evidence} >= {"label", "synonym"} or {e.kind for e in c.evidence} >= {"label"}


def test_synonyms_and_traditional_characters(compiled: Compiled) -> None:
    r = dupes(
        compiled,
        field("gmsfhm", "公民身份号码", "resident_id", ns="mz"),
        field("sfzh", "身份證號碼", "resident_id", ns="cl"),
        field("zjhm", "证件号码", "string", ns="mz"),
    )
    assert clustered(r, "mz.gmsfhm", "cl.sfzh", "mz.zjhm", "std.resident_id")
    c = next(c for c in r.field_clusters if c.canonical == "field.std.resident_id")
    kinds = {e.kind for e in c.evidence}
    assert {"synonym", "semantic-type", "traditional"} <= kinds


def test_project_synonym_table_is_used(compiled: Compiled) -> None:
    docs = (field("cjqk", "残疾情况说明", ns="mz"), field("cjms", "残疾状况描述", ns="cl"))
    assert not clustered(dupes(compiled, *docs), "mz.cjqk", "cl.cjms")
    project = PROJECT_YAML + "synonyms:\n  - [残疾情况说明, 残疾状况描述]\n"
    assert clustered(dupes(compiled, *docs, project_yaml=project), "mz.cjqk", "cl.cjms")


def test_alias_evidence(compiled: Compiled) -> None:
    r = dupes(compiled, field("jhr", "监护人姓名", ns="mz"), field("jhr2", "法定监护人", ns="cl", aliases=["监护人姓名"]))
    assert clustered(r, "mz.jhr", "cl.jhr2")


def test_identity_type_joins_unrelated_labels(compiled: Compiled) -> None:
    r = dupes(compiled, field("shbzhm", "社会保障号码", "resident_id", ns="mz", entity="std.person"))
    assert clustered(r, "mz.shbzhm", "std.resident_id")


def test_identity_type_keeps_roles_apart(compiled: Compiled) -> None:
    r = dupes(compiled, field("hz_sfzh", "户主身份证号", "resident_id", ns="mz"))
    assert clustered(r, "mz.hz_sfzh", "std.household_head_resident_id")
    assert not clustered(r, "mz.hz_sfzh", "std.resident_id")


def test_incompatible_semantic_types_never_join(compiled: Compiled) -> None:
    r = dupes(compiled, field("hm", "号码", "phone", ns="mz"), field("hm", "号码", "resident_id", ns="cl"))
    assert not clustered(r, "mz.hm", "cl.hm")


def test_year_month_is_not_a_date(compiled: Compiled) -> None:
    r = dupes(compiled, field("csny", "出生年月", "year_month", ns="cl"))
    assert not in_any_cluster(r, "cl.csny")


def test_units_keep_areas_apart(compiled: Compiled) -> None:
    r = dupes(compiled, field("mj_mu", "面积", "decimal", ns="mz", unit="亩"), field("mj_m2", "面积", "decimal", ns="cl", unit="平方米"))
    assert not clustered(r, "mz.mj_mu", "cl.mj_m2")
    r2 = dupes(compiled, field("mj", "承包面积（亩）", "decimal", ns="mz"), field("mj2", "承包面积", "decimal", ns="cl", unit="亩"))
    assert clustered(r2, "mz.mj", "cl.mj2")


def test_codelists_must_share_values(compiled: Compiled) -> None:
    local_sex = 'kind: codelist\nid: xb\nnamespace: mz\nlabel: 性别\nvalues:\n  - {code: "M", label: 男性}\n  - {code: "F", label: 女性}\n'
    other = 'kind: codelist\nid: lb\nnamespace: cl\nlabel: 类别\nvalues:\n  - {code: "1", label: 城市}\n  - {code: "2", label: 农村}\n'
    r = dupes(compiled, local_sex, other, field("xb", "性别", "code", ns="mz", codelist="mz.xb"), field("xb", "性别", "code", ns="cl", codelist="cl.lb"))
    assert clustered(r, "mz.xb", "std.sex")
    assert not clustered(r, "cl.xb", "std.sex")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("hzxm", "户主姓名"), ("xm", "姓名")),
        (("jhrxm", "监护人姓名"), ("xm", "姓名")),
        (("dlrxm", "代领人姓名"), ("xm", "姓名")),
        (("poxm", "配偶姓名"), ("xm", "姓名")),
        (("hjdz", "户籍地址"), ("xjzdz", "现居住地址")),
        (("sqrq", "申请日期"), ("sprq", "审批日期")),
        (("jhrdh", "监护人电话"), ("lxdh", "联系电话")),
    ],
)
def test_roles_and_near_misses_stay_apart(compiled: Compiled, a: tuple[str, str], b: tuple[str, str]) -> None:
    r = dupes(compiled, field(a[0], a[1], ns="cl"), field(b[0], b[1], ns="mz"))
    assert not clustered(r, f"cl.{a[0]}", f"mz.{b[0]}")


def test_explicit_role_wins_over_a_bare_label(compiled: Compiled) -> None:
    r = dupes(compiled, field("xm", "姓名", ns="cl", role="guardian"), field("xm", "姓名", ns="mz"))
    assert not clustered(r, "cl.xm", "mz.xm")
    assert clustered(r, "cl.xm", "std.guardian_name")


def test_totals_are_not_the_values_they_sum(compiled: Compiled) -> None:
    r = dupes(compiled, field("je", "护理补贴金额合计", "decimal", ns="cl", unit="元"), field("je", "护理补贴金额", "decimal", ns="mz", unit="元"))
    assert not clustered(r, "cl.je", "mz.je")


def test_generic_event_attributes_do_not_join_across_departments(compiled: Compiled) -> None:
    r = dupes(compiled, field("sqrq", "申请日期", "date", ns="cl"), field("sqrq", "申请日期", "date", ns="mz"))
    assert not clustered(r, "cl.sqrq", "mz.sqrq")


def test_canonical_prefers_standard_then_shared_then_most_used(compiled: Compiled) -> None:
    r = dupes(compiled, field("phone", "联系电话", "phone", ns="shared"), field("lxdh", "联系电话", "phone", ns="mz"))
    c = next(c for c in r.field_clusters if clustered(r, "mz.lxdh"))
    assert c.canonical == "field.std.phone"
    assert "标准库" in c.why.zh
    r2 = dupes(compiled, field("dlr", "代领人姓名", ns="cl"), field("dlr", "代领人姓名", ns="shared"))
    assert next(iter(r2.field_clusters)).canonical == "field.shared.dlr"


def test_superseded_fields_are_not_clustered_again(compiled: Compiled) -> None:
    r = dupes(compiled, field("xm", "姓名", ns="mz", status="superseded", superseded_by="std.name"))
    assert not in_any_cluster(r, "mz.xm")
    assert r.canonical["field.mz.xm"] == "field.std.name"


# --- report overlaps --------------------------------------------------------------------------------


def report(rid: str, dept: str, columns: list[str], frequency: str = "monthly", form: str = "roster") -> str:
    cols = "\n".join(f"  - {c}" for c in columns)
    return f"kind: report\nid: {rid}\ndepartment: {dept}\ntitle: 表{rid}\nform: {form}\nfrequency: {frequency}\nfill_level: village\ncolumns:\n{cols}\n"


def test_subset_report_has_containment_one(compiled: Compiled) -> None:
    big = report("big", "cl", ["{field: std.name}", "{field: std.resident_id}", "{field: std.disability_grade}", "{field: std.phone}"])
    small = report("small", "mz", ["{field: std.name}", "{field: std.resident_id}", "{field: std.disability_grade}"], frequency="quarterly")
    r = dupes(compiled, big, small)
    (o,) = [o for o in r.report_overlaps if {o.a, o.b} == {"report.cl.big", "report.mz.small"}]
    assert (o.a, o.b) == ("report.mz.small", "report.cl.big")
    assert o.containment == 1.0 and o.a_within_b and o.jaccard == 0.75
    assert o.frequencies == ("quarterly", "monthly")
    assert set(o.shared_fields) == {"field.std.name", "field.std.resident_id", "field.std.disability_grade"}


def test_overlap_sees_through_duplicate_fields(compiled: Compiled) -> None:
    a = report("a", "cl", ["{field: cl.xm}", "{field: cl.sfzh}", "{field: std.disability_grade}"])
    b = report("b", "mz", ["{field: std.name}", "{field: std.resident_id}", "{field: std.disability_grade}"])
    r = dupes(compiled, field("xm", "姓名", ns="cl"), field("sfzh", "身份证号", "resident_id", ns="cl"), a, b)
    (o,) = [o for o in r.report_overlaps if {o.a, o.b} == {"report.cl.a", "report.mz.b"}]
    assert o.jaccard == 1.0


def test_summary_column_is_not_the_roster_column_it_aggregates(compiled: Compiled) -> None:
    roster = report("roster", "cl", ["{field: std.name}", "{field: std.disability_grade}", "{field: std.household_size}"])
    summary = report("summary", "cl", ["{field: std.household_size, aggregate: sum}", "{id: n, label: 人数, aggregate: count}"], form="summary")
    r = dupes(compiled, roster, summary)
    assert not [o for o in r.report_overlaps if "report.cl.summary" in (o.a, o.b)]


def test_same_field_at_different_frequencies(compiled: Compiled) -> None:
    a = report("a", "cl", ["{field: std.disability_grade}", "{field: std.name}"], frequency="monthly")
    b = report("b", "mz", ["{field: std.disability_grade}", "{field: std.name}"], frequency="quarterly")
    r = dupes(compiled, a, b)
    conflict = next(c for c in r.frequency_conflicts if c.field == "field.std.disability_grade")
    assert dict(conflict.frequencies) == {"monthly": ("report.cl.a",), "quarterly": ("report.mz.b",)}


# --- blocking -----------------------------------------------------------------------------------


def test_blocking_avoids_comparing_all_pairs(tmp_path: Path) -> None:
    """A catalog of 3,000 fields with 1,000 distinct meanings: compared pairs grow with the duplicates, not n²."""
    root = tmp_path / "big"
    root.mkdir()
    (root / "ybt.yaml").write_text(PROJECT_YAML.replace("uses: [std]\n", ""), encoding="utf-8")
    docs = []
    for i in range(1000):
        for ns, label in (("mz", f"指标{i}甲"), ("cl", f"指标{i}甲"), ("shared", f"指标 {i} 甲")):
            docs.append(f"kind: field\nid: f{i}\nnamespace: {ns}\nlabel: {label}\ntype: integer\n")
    (root / "fields.yaml").write_text("---\n".join(docs), encoding="utf-8")
    result = compile_project(root)
    assert result.ok and result.project is not None
    r = find_duplicates(result.project)
    n = len(result.project.fields)
    assert n == 3000
    assert r.compared_pairs <= 3 * 1000  # three per meaning, versus n(n-1)/2 ≈ 4.5 million
    assert len(r.field_clusters) == 1000 and all(len(c.members) == 3 for c in r.field_clusters)


# --- the example district and the CLI -------------------------------------------------------------


def test_cli_json_contract_on_the_example(cli: Callable[..., Any]) -> None:
    r = cli("dupes", EXAMPLES / "qingxi", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["field_clusters"] and data["report_overlaps"]
    for c in data["field_clusters"]:
        assert {"id", "canonical", "score", "evidence", "members"} <= set(c)
        for m in c["members"]:
            assert {"field", "file", "line"} <= set(m)
    for o in data["report_overlaps"]:
        assert {"a", "b", "shared_fields", "jaccard", "containment"} <= set(o)
    ids = {m["field"] for c in data["field_clusters"] for m in c["members"]}
    # The same person asked for under ten labels: one resident-ID cluster across departments.
    rid = next(c for c in data["field_clusters"] if c["canonical"] == "std.resident_id")
    assert len({m["field"].split(".")[0] for m in rid["members"]}) >= 6
    assert "std.name" in ids and "std.phone" in ids


def test_cli_text_and_min_score(cli: Callable[..., Any]) -> None:
    r = cli("--lang", "zh", "dupes", EXAMPLES / "qingxi")
    assert r.exit_code == 0 and "字段重复" in r.stdout and "报表重叠" in r.stdout
    strict = json.loads(cli("dupes", EXAMPLES / "qingxi", "--format", "json", "--min-score", "0.95").stdout)
    loose = json.loads(cli("dupes", EXAMPLES / "qingxi", "--format", "json").stdout)
    assert len(strict["field_clusters"]) < len(loose["field_clusters"])
