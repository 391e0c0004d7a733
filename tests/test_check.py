"""ybt check: one fixture per rule that triggers it (and a clean project that does not), configuration,
suppressions, the baseline, output formats and CI mode (--state / --base with a real git repository)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, PROJECT_YAML, write
from ybt import registry
from ybt.check.rules import RULES

Cli = Callable[..., Any]
TODAY = "2026-06-01"

POLICY = """\
policy:
  admission_office: jcjf
  quota: {department: 2, district: 3}
  max_frequency: {village: quarterly, town: monthly}
  max_fields: {village: 5}
  min_deadline_days: {village: 5}
  duplicate_threshold: 0.8
"""
BASE = {
    "ybt.yaml": PROJECT_YAML.replace("policy:\n  admission_office: jcjf\n", POLICY),
    "catalog.yaml": """\
kind: codelist
id: care_level
label: 护理等级
values:
  - {code: "1", label: 一级}
  - {code: "2", label: 二级}
---
kind: field
id: subsidy
label: 护理补贴金额
type: decimal
unit: 元
filling_rule: 当月实发金额，单位元
---
kind: field
id: care
label: 护理等级
type: code
codelist: care_level
""",
    "ledger.yaml": """\
kind: ledger
id: care_tz
label: 护理补贴台账
entity: std.person
steward: mz
fields: [subsidy, care]
""",
    "reports/r1.yaml": """\
kind: report
id: r1
department: mz
title: 护理补贴花名册
form: roster
frequency: quarterly
fill_level: village
entity: std.person
columns:
  - {field: std.village}
  - {field: std.disability_grade}
consumers:
  - {department: cl, purpose: 核对补贴, uses: [std.disability_grade], grants: [std.disability_grade]}
legal_basis: 《残疾人保障法》
deadline_days: 5
admission: {status: admitted, record: ZR-1, approved_by: jcjf, approved_on: 2026-01-01, expires_on: 2027-12-31}
""",
    "reports/r_view.yaml": """\
kind: report
id: r_view
department: cl
title: 护理补贴发放表
form: roster
mode: derived
frequency: quarterly
fill_level: village
entity: std.person
sources: [care_tz]
columns:
  - {field: subsidy}
  - {field: care}
consumers:
  - {department: cl, purpose: 发放补贴, uses: [subsidy]}
""",
}


def r1(**changes: str) -> str:
    text = BASE["reports/r1.yaml"]
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


def new_report(rid: str, dept: str = "mz", columns: str = "  - {field: std.disability_grade}\n", extra: str = "", approved: str = "2026-02-01") -> str:
    return (
        f"kind: report\nid: {rid}\ndepartment: {dept}\ntitle: 报表{rid}\nform: roster\nfrequency: quarterly\nfill_level: village\n"
        f"entity: std.person\ncolumns:\n{columns}consumers:\n  - {{department: cl, purpose: 核对, uses: [std.disability_grade], grants: [std.disability_grade]}}\n"
        f"legal_basis: 《残疾人保障法》\ndeadline_days: 5\n"
        f"admission: {{status: admitted, record: ZR-{rid}, approved_by: jcjf, approved_on: {approved}, expires_on: 2027-12-31}}\n{extra}"
    )


# rule code → (files to add or replace, file where the finding is, pattern of the line it is on)
CASES: dict[str, tuple[dict[str, str], str, str]] = {
    "YBT101": ({"reports/r1.yaml": re.sub(r"admission:.*\n", "", BASE["reports/r1.yaml"])}, "reports/r1.yaml", r"^title:"),
    "YBT102": ({"reports/r1.yaml": r1(**{"status: admitted, record: ZR-1, approved_by: jcjf, approved_on: 2026-01-01, expires_on: 2027-12-31": "status: pending"})}, "reports/r1.yaml", r"^admission:"),
    "YBT103": ({"reports/r1.yaml": r1(**{"approved_by: jcjf": "approved_by: mz"})}, "reports/r1.yaml", r"^admission:"),
    "YBT104": ({"reports/r1.yaml": r1(**{"expires_on: 2027-12-31": "expires_on: 2026-03-31"})}, "reports/r1.yaml", r"^admission:"),
    "YBT105": ({"reports/r2.yaml": new_report("r2", columns="  - {field: std.education}\n"), "reports/r3.yaml": new_report("r3", columns="  - {field: std.ethnicity}\n", approved="2026-05-01")}, "reports/r3.yaml", r"^department:"),
    "YBT106": ({"reports/r2.yaml": new_report("r2", columns="  - {field: std.village}\n  - {field: std.disability_grade}\n", approved="2026-03-01")}, "reports/r2.yaml", r"^title:"),
    "YBT107": ({"reports/r1.yaml": r1(**{"  - {field: std.village}\n": "  - {field: std.name}\n  - {field: std.resident_id}\n"})}, "reports/r1.yaml", r"field: std.name"),
    "YBT108": ({"reports/s.yaml": new_report("s", columns="  - {field: subsidy, aggregate: sum}\n  - {id: n, label: 人数, aggregate: count, where: [{field: care, op: eq, value: '1'}]}\n").replace("form: roster", "form: summary").replace("entity: std.person\n", "")}, "reports/s.yaml", r"^form:"),
    "YBT109": ({"reports/r1.yaml": r1(**{"frequency: quarterly": "frequency: monthly"})}, "reports/r1.yaml", r"^frequency:"),
    "YBT110": ({"reports/r1.yaml": re.sub(r"consumers:\n.*\n", "", BASE["reports/r1.yaml"])}, "reports/r1.yaml", r"^title:"),
    "YBT111": ({"reports/r1.yaml": r1(**{"  - {field: std.disability_grade}\n": "".join(f"  - {{field: std.{f}}}\n" for f in ("disability_grade", "disability_category", "education", "ethnicity", "marital_status"))})}, "reports/r1.yaml", r"^columns:"),
    "YBT112": ({"reports/r1.yaml": r1(**{"deadline_days: 5": "deadline_days: 1"})}, "reports/r1.yaml", r"^deadline_days:"),
    "YBT201": ({"mz.yaml": "kind: field\nid: sfzh\nnamespace: mz\nlabel: 身份证号\ntype: resident_id\n", "reports/r1.yaml": r1(**{"  - {field: std.village}\n": "  - {field: std.village}\n  - {field: sfzh}\n"})}, "mz.yaml", r"^label:"),
    "YBT202": ({"mz.yaml": "kind: field\nid: jyzk\nnamespace: mz\nlabel: 经营状况\ntype: string\n", "reports/r1.yaml": r1(**{"  - {field: std.village}\n": "  - {field: std.village}\n  - {field: jyzk}\n"})}, "mz.yaml", r"^label:"),
    "YBT203": ({"mz.yaml": "kind: field\nid: zch\nnamespace: mz\nlabel: 注册号\ntype: string\nfilling_rule: 15位\nstatus: superseded\nsuperseded_by: std.uscc\n", "reports/r1.yaml": r1(**{"  - {field: std.village}\n": "  - {field: std.village}\n  - {field: zch}\n"})}, "reports/r1.yaml", r"field: zch"),
    "YBT204": ({"reports/r2.yaml": new_report("r2", dept="cl", columns="  - {field: std.education}\n  - {field: std.disability_grade}\n").replace("frequency: quarterly", "frequency: annual")}, "reports/r1.yaml", r"field: std.disability_grade"),
    "YBT205": ({"reports/r1.yaml": re.sub(r"legal_basis:.*\n", "", r1(**{"  - {field: std.village}\n": "  - {field: std.village}\n  - {field: std.bank_account}\n"}))}, "reports/r1.yaml", r"^title:"),
    "YBT206": ({"reports/r1.yaml": r1(**{"uses: [std.disability_grade]": "uses: [std.disability_grade, std.bank_account]", "  - {field: std.village}\n": "  - {field: std.village}\n  - {field: std.bank_account}\n"})}, "reports/r1.yaml", r"uses:"),
    "YBT301": ({"mz.yaml": "kind: field\nid: spare\nnamespace: mz\nlabel: 备用栏\ntype: integer\n"}, "mz.yaml", r"^id:"),
    "YBT302": ({"mz.yaml": 'kind: codelist\nid: spare\nnamespace: mz\nlabel: 备用代码\nvalues: [{code: "1", label: 甲}]\n'}, "mz.yaml", r"^id:"),
    "YBT303": ({"reports/r1.yaml": r1(**{"title: 护理补贴花名册": "title: Care roster"})}, "reports/r1.yaml", r"^title:"),
    "YBT304": ({"reports/r_view.yaml": BASE["reports/r_view.yaml"].replace("{field: subsidy}", "{field: subsidy, unit: 万元}")}, "reports/r_view.yaml", r"unit: 万元"),
}  # fmt: skip


def project(tmp_path: Path, changes: dict[str, str] | None = None) -> Path:
    root = tmp_path / "proj"
    write(root, BASE)
    if changes:
        write(root, changes)
    return root


def run_check(cli: Cli, root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    r = cli("check", root, "--today", TODAY, "--format", "json", *args)
    assert r.exit_code in (0, 1), r.stdout
    return r.exit_code, json.loads(r.stdout)["findings"]


def line_of(path: Path, pattern: str) -> int:
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.search(pattern, text):
            return n
    raise AssertionError(f"{pattern} not in {path}")


def test_the_clean_project_passes(cli: Cli, tmp_path: Path) -> None:
    code, findings = run_check(cli, project(tmp_path))
    assert code == 0 and findings == [], findings


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_triggers_at_the_right_line(code: str, cli: Cli, tmp_path: Path) -> None:
    changes, where, pattern = CASES[code]
    root = project(tmp_path, changes)
    exit_code, findings = run_check(cli, root)
    hits = [f for f in findings if f["code"] == code]
    assert hits, [f["code"] for f in findings]
    path = root / where
    lines = {f["location"]["line"] for f in hits if Path(f["location"]["file"]).resolve() == path.resolve()}
    assert line_of(path, pattern) in lines, (hits[0]["location"], pattern)
    info = registry.get(code)
    assert info is not None
    assert exit_code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    assert all(f["message"]["zh"] and f["message"]["en"] and f["hint"] for f in hits)


def test_every_rule_is_explained(cli: Cli) -> None:
    for code in RULES:
        r = cli("rule", code)
        assert r.exit_code == 0
        assert "Bad" in r.stdout and "Good" in r.stdout, code
        info = registry.get(code)
        assert info is not None and re.fullmatch(r"[a-z]+(-[a-z]+)*", info.name)
    listed = cli("rule", "--list").stdout
    assert all(code in listed for code in RULES)


def test_severities_and_thresholds_come_from_ybt_yaml(cli: Cli, tmp_path: Path) -> None:
    changes, _, _ = CASES["YBT109"]
    root = project(tmp_path, changes)
    assert run_check(cli, root)[0] == 1
    (root / "ybt.yaml").write_text(
        BASE["ybt.yaml"].replace("  duplicate_threshold: 0.8\n", '  duplicate_threshold: 0.8\n  rules: {YBT1: warning, YBT109: "off"}\n'), encoding="utf-8"
    )
    code, findings = run_check(cli, root)
    assert code == 0 and not [f for f in findings if f["code"] == "YBT109"]
    changes, _, _ = CASES["YBT101"]
    write(root, changes)
    code, findings = run_check(cli, root)
    assert code == 0 and {f["severity"] for f in findings if f["code"] == "YBT101"} == {"warning"}


def test_select_and_ignore(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, {**CASES["YBT109"][0], **CASES["YBT301"][0]})
    codes = {f["code"] for f in run_check(cli, root)[1]}
    assert {"YBT109", "YBT301"} <= codes
    assert {f["code"] for f in run_check(cli, root, "--select", "YBT3")[1]} == {"YBT301"}
    assert {f["code"] for f in run_check(cli, root, "--select", "admission")[1]} == {"YBT109"}
    assert "YBT109" not in {f["code"] for f in run_check(cli, root, "--ignore", "frequency-too-high")[1]}


def test_inline_suppression_needs_a_reason_and_is_reported_when_unused(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, CASES["YBT109"][0])
    path = root / "reports/r1.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("frequency: monthly", "frequency: monthly  # ybt: ignore[YBT109] 区委交办，2026 年底恢复季报"), encoding="utf-8")
    code, findings = run_check(cli, root)
    assert code == 0 and not findings
    path.write_text(text.replace("frequency: monthly", "# ybt: ignore[YBT109]\nfrequency: monthly"), encoding="utf-8")
    code, findings = run_check(cli, root)
    assert code == 1 and {f["code"] for f in findings} == {"YBT109", "YBT902"}
    path.write_text("# ybt: ignore[YBT110] 旧注释\n" + BASE["reports/r1.yaml"], encoding="utf-8")
    code, findings = run_check(cli, root)
    assert code == 0 and [f["code"] for f in findings] == ["YBT901"]
    assert findings[0]["location"]["line"] == 1


def test_suppression_at_the_top_of_a_document_covers_it(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, CASES["YBT110"][0])
    path = root / "reports/r1.yaml"
    path.write_text("# ybt: ignore[YBT110] 只供区长办公会临时参阅\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert run_check(cli, root) == (0, [])


def test_baseline_tolerates_old_debt_but_not_new_reports(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, CASES["YBT109"][0])
    assert cli("check", root, "--today", TODAY, "--write-baseline").exit_code == 0
    baseline = json.loads((root / "ybt-baseline.json").read_text(encoding="utf-8"))
    assert baseline["entries"] == [{"code": "YBT109", "object_id": "report.mz.r1", "count": 1}]
    assert run_check(cli, root) == (0, [])
    # Moving the offending line does not matter: the baseline is keyed by rule and object, not by line.
    path = root / "reports/r1.yaml"
    path.write_text("# 说明\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert run_check(cli, root) == (0, [])
    write(
        root,
        {
            "reports/r9.yaml": new_report("r9", columns="  - {field: std.disability_grade}\n  - {field: std.education}\n").replace(
                "frequency: quarterly", "frequency: monthly"
            )
        },
    )
    code, findings = run_check(cli, root)
    assert code == 1 and {(f["code"], f["object_id"]) for f in findings} == {("YBT109", "report.mz.r9")}


def test_machine_formats_go_to_stdout(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, CASES["YBT109"][0])
    sarif = json.loads(cli("check", root, "--today", TODAY, "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"][0]["ruleId"] == "YBT109"
    github = cli("check", root, "--today", TODAY, "--format", "github").stdout
    assert github.startswith("::error file=") and "YBT109" in github
    junit = cli("check", root, "--today", TODAY, "--format", "junit").stdout
    assert junit.startswith("<?xml") and 'type="YBT109"' in junit


def test_spec_errors_stop_the_check(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, {"reports/r1.yaml": r1(**{"frequency: quarterly": "frequency: 季报"})})
    r = cli("check", root, "--format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)["findings"][0]["code"] == "YBT011"


# --- CI mode ----------------------------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", *args], check=True, capture_output=True)


def test_state_checks_only_new_or_changed_objects(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, CASES["YBT109"][0])  # old debt in r1
    assert cli("compile", root, "--out", tmp_path / "old").exit_code == 0
    write(root, CASES["YBT301"][0])  # a new unused field
    code, findings = run_check(cli, root, "--state", str(tmp_path / "old" / "manifest.json"))
    assert {(f["code"], f["object_id"]) for f in findings} == {("YBT301", "field.mz.spare")}
    assert code == 0


def test_pull_request_scenario_on_the_example_district(cli: Cli, tmp_path: Path) -> None:
    """A department adds a report that duplicates an admitted one; CI rejects it with the right code and
    line; once the report is rewritten to reuse the shared ledger, CI passes."""
    root = tmp_path / "repo" / "qingxi"
    shutil.copytree(EXAMPLES / "qingxi", root, ignore=shutil.ignore_patterns("target"))
    git(root.parent, "init", "-q")
    git(root.parent, "add", "-A")
    git(root.parent, "commit", "-qm", "district specs")
    admitted = (root / "departments/mz/reports/zdcjr_hlbt_sbhmc.yaml").read_text(encoding="utf-8")
    new = root / "departments/mz/reports/zdcjr_hlbt_jdb.yaml"
    text = admitted.replace("id: zdcjr_hlbt_sbhmc", "id: zdcjr_hlbt_jdb").replace("title: 重度残疾人护理补贴上报花名册", "title: 重度残疾人护理补贴季度核对表")
    text = re.sub(r"admission:.*", "admission: {status: pending, record: QX-ZR-2026-101}", text, flags=re.S)
    new.write_text(text, encoding="utf-8")
    r = cli("check", root, "--base", "HEAD", "--today", "2026-11-23", "--format", "json")
    assert r.exit_code == 1
    findings = json.loads(r.stdout)["findings"]
    assert {f["object_id"].split("#")[0] for f in findings} == {"report.mz.zdcjr_hlbt_jdb"}  # only the new object
    dup = next(f for f in findings if f["code"] == "YBT106")
    assert Path(dup["location"]["file"]).resolve() == new.resolve() and dup["location"]["line"] == line_of(new, r"^title:")
    assert "zdcjr_hlbt_sbhmc" in dup["message"]["en"]
    github = cli("check", root, "--base", "HEAD", "--today", "2026-11-23", "--format", "github").stdout
    assert f"file={new.relative_to(Path.cwd()) if new.is_relative_to(Path.cwd()) else new}" in github or "zdcjr_hlbt_jdb.yaml" in github
    # Rewritten as a view over the shared ledgers: nobody types it, nothing is duplicated.
    rewritten = text.replace("form: roster", "form: roster\nmode: derived\nsources: [shared.hjrk_tz, mz.shjz_dx_tz]")
    new.write_text(rewritten, encoding="utf-8")
    r = cli("check", root, "--base", "HEAD", "--today", "2026-11-23", "--format", "json")
    assert r.exit_code == 0, json.loads(r.stdout)["findings"]


def test_example_fails_with_its_duplicates_and_passes_after_the_merge(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    before = cli("check", EXAMPLES / "qingxi", "--today", "2026-11-23", "--format", "json")
    assert before.exit_code == 1
    codes = {f["code"] for f in json.loads(before.stdout)["findings"] if f["severity"] == "error"}
    assert {"YBT201", "YBT106", "YBT105"} <= codes
    root = example_copy("qingxi")
    assert cli("merge", root, "--apply", EXAMPLES / "qingxi-merge-plan.yaml").exit_code == 0
    after = cli("check", root, "--today", "2026-11-23", "--format", "json")
    assert after.exit_code == 0, [f for f in json.loads(after.stdout)["findings"] if f["severity"] == "error"][:3]


@pytest.mark.parametrize(
    ("what", "changes", "code"),
    [
        ("an unapproved report", {"departments/mz/reports/new.yaml": "pending"}, "YBT102"),
        ("a report over quota", {"departments/cl/reports/new.yaml": "admitted"}, "YBT105"),
        ("a field duplicating the catalog", {"departments/wjw/extra_fields.yaml": "field"}, "YBT201"),
    ],
)
def test_changes_to_the_example_are_rejected(cli: Cli, example_copy: Callable[[str], Path], what: str, changes: dict[str, str], code: str) -> None:
    root = example_copy("qingxi")
    ((rel, kind),) = changes.items()
    path = root / rel
    if kind == "field":
        path.write_text("kind: field\nnamespace: wjw\nid: jmsfzh\nlabel: 居民身份证号码\ntype: resident_id\nentity: std.person\n", encoding="utf-8")
        pattern = r"^label:"
    else:
        dept = rel.split("/")[1]
        admission = (
            "{status: pending}"
            if kind == "pending"
            else "{status: admitted, record: QX-ZR-2026-200, approved_by: jcjf, approved_on: 2026-10-01, expires_on: 2027-12-31}"
        )
        path.write_text(
            f"kind: report\nid: new\ndepartment: {dept}\ntitle: 新增调查表\nform: roster\nfrequency: annual\nfill_level: town\nentity: std.person\n"
            f"columns:\n  - {{field: std.education}}\nconsumers:\n  - {{department: {dept}, purpose: 调查, uses: [std.education]}}\n"
            f"deadline_days: 10\nadmission: {admission}\n",
            encoding="utf-8",
        )
        pattern = r"^admission:" if code == "YBT102" else r"^department:"
    r = cli("check", root, "--today", "2026-11-23", "--format", "json")
    assert r.exit_code == 1, what
    hits = [f for f in json.loads(r.stdout)["findings"] if f["code"] == code and Path(f["location"]["file"]).resolve() == path.resolve()]
    assert hits and hits[0]["location"]["line"] == line_of(path, pattern), what


def test_select_takes_comma_separated_codes_and_the_baseline_counts_only_selected_rules(cli: Cli, tmp_path: Path) -> None:
    root = project(tmp_path, {**CASES["YBT109"][0], **CASES["YBT301"][0]})
    assert cli("check", root, "--today", TODAY, "--write-baseline").exit_code == 0
    assert {f["code"] for f in run_check(cli, root, "--select", "YBT109,YBT301", "--baseline", str(tmp_path / "none.json"))[1]} == {"YBT109", "YBT301"}
    r = cli("check", root, "--today", TODAY, "--select", "YBT109")
    assert r.exit_code == 0 and "fixed" not in r.stderr


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="the second process is forked, which ybt does on Linux only")
def test_duplicate_analysis_in_a_second_process_gives_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a large project the duplicate analysis runs in a forked child while the per-report rules run:
    the same findings as one process; a failing child leaves it to this process; a child no selected
    rule asks for is stopped and reaped."""
    import os
    from datetime import date

    from ybt import fork
    from ybt.check import rules
    from ybt.check.engine import CheckOptions, check_all
    from ybt.pipeline import compile_project

    project = compile_project(EXAMPLES / "qingxi").project
    assert project is not None

    def findings(*select: str) -> list[tuple[str, str, str]]:
        done = check_all(project, CheckOptions(today=date(2026, 11, 23), select=select))
        return [(d.code, str(d.location), d.message.en) for d in done.result.findings]

    monkeypatch.setattr(fork, "jobs", lambda: 1)
    one = findings()
    assert {"YBT106", "YBT202"} <= {code for code, _, _ in one}  # the example has duplicates to find
    children: list[fork.Child] = []
    real_init = fork.Child.__init__

    def recording_init(self: fork.Child, there: Callable[[], bytes]) -> None:
        real_init(self, there)
        children.append(self)

    monkeypatch.setattr(fork.Child, "__init__", recording_init)
    monkeypatch.setattr(fork, "jobs", lambda: 2)
    monkeypatch.setattr(fork, "MIN_ITEMS", 1)
    assert findings() == one
    assert len(children) == 1 and children[0].pid == 0  # its result was collected
    assert findings("YBT101") == [f for f in one if f[0] == "YBT101"]
    assert len(children) == 2 and children[1].pid == 0  # not wanted: stopped and reaped
    parent, real_find = os.getpid(), rules.find_duplicates

    def dies_in_the_child(p: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("the child dies")
        return real_find(p)

    monkeypatch.setattr(rules, "find_duplicates", dies_in_the_child)
    assert findings() == one
    assert len(children) == 3


def _parts_marked(monkeypatch: pytest.MonkeyPatch, late: Callable[[Any], bool]) -> None:
    """Every rule part re-registered with ``late`` decided by ``late(part)``."""
    import dataclasses

    from ybt.check import rules

    for code, impl in list(rules.RULES.items()):
        parts = tuple(dataclasses.replace(p, late=late(p)) for p in impl.parts)
        monkeypatch.setitem(rules.RULES, code, rules.RuleImpl(impl.info, parts))


def test_parts_reading_the_duplicate_analysis_are_late_and_the_order_of_work_changes_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole-project parts that read the duplicate analysis (which may still be computing in a second
    process) run after the others; the findings, and their order, are those of running the parts in the
    rules' order, whatever is marked late."""
    from datetime import date

    from ybt.check import rules
    from ybt.check.engine import CheckOptions, run_rules
    from ybt.pipeline import compile_project

    project = compile_project(EXAMPLES / "qingxi").project
    assert project is not None
    options = CheckOptions(today=date(2026, 11, 23))

    def findings() -> list[tuple[str, str, str]]:
        run = run_rules(rules.Context(project, options.today), options)
        return [(d.code, str(d.location), d.message.en) for d in run.all()]

    as_registered = findings()
    assert {"YBT106", "YBT201", "YBT204"} <= {code for code, _, _ in as_registered}

    # no part that is not late may ask for the duplicate analysis: it would wait for the child early
    early_asks: list[str] = []
    real_dupes = rules.Context.dupes

    def asked(ctx: rules.Context) -> Any:
        early_asks.append(ctx.project.id)
        return real_dupes.fget(ctx)  # type: ignore[attr-defined]

    ran: list[bool] = []
    for code, impl in list(rules.RULES.items()):

        def watched(fn: Any, late: bool) -> Any:
            def run(*args: Any) -> Any:
                ran.append(late)
                before = len(early_asks)
                hits = list(fn(*args))
                assert late or len(early_asks) == before, f"{fn.__name__} reads the duplicate analysis: mark it late"
                return hits

            return run

        parts = tuple(rules.Part(p.scope, watched(p.fn, p.late), p.over, p.late) for p in impl.parts)
        monkeypatch.setitem(rules.RULES, code, rules.RuleImpl(impl.info, parts))
    monkeypatch.setattr(rules.Context, "dupes", property(asked))
    assert findings() == as_registered
    assert early_asks and ran[ran.index(True) :] == [True] * ran.count(True)  # the late parts came last
    monkeypatch.undo()

    _parts_marked(monkeypatch, lambda p: p.scope != "report")  # all late: the rules' order
    assert findings() == as_registered
    _parts_marked(monkeypatch, lambda p: p.scope == "catalog")  # catalog parts after project parts
    assert findings() == as_registered


def test_usage_parts_read_of_the_reports_only_their_references() -> None:
    """The incremental check reuses the ``usage`` parts' findings while no changed report's references
    move; so those parts must find the same with every other fact of every report made up."""
    from datetime import date

    from ybt.check import rules
    from ybt.pipeline import compile_project

    project = compile_project(EXAMPLES / "qingxi").project
    assert project is not None
    real = rules.Context(project, date(2026, 11, 23))
    blank = {
        u: r._replace(
            library=None,
            department="x",
            status="retired",
            mode="derived",
            frequency="daily",
            admission_status=None,
            approved_on=None,
            columns=(),
            file="elsewhere.yaml",
            qualified="x",
            title="x",
            title_at=(9, 9),
            department_at=(9, 9),
            columns_at=(),
        )
        for u, r in real.reports.items()
    }
    made_up = rules.Context(project, date(2026, 11, 23), _reports=blank, _catalog=real.catalog)
    usage = [p for impl in rules.RULES.values() for p in impl.parts if p.scope == "usage"]
    assert usage
    found = [list(p.fn(real)) for p in usage]
    assert any(found)  # the example has an unused field: the comparison is not of two empty lists
    assert found == [list(p.fn(made_up)) for p in usage]


def test_a_report_state_is_the_first_fields_of_its_facts() -> None:
    """The incremental check stores a report's state and its columns apart and joins them back by
    position: the state's fields must be the facts' first ones, in the same order."""
    from ybt.check.facts import STATE_FIELDS, ReportFacts, ReportState, report_facts
    from ybt.pipeline import compile_project

    assert ReportFacts._fields[:STATE_FIELDS] == ReportState._fields
    project = compile_project(EXAMPLES / "qingxi").project
    assert project is not None
    for r in project.reports.values():
        facts = report_facts(r)
        state = facts.state()
        assert type(state) is ReportState and tuple(state) == tuple(facts)[:STATE_FIELDS]
        assert (state.live, state.collected, state.location(state.title_at)) == (facts.live, facts.collected, facts.location(facts.title_at))
