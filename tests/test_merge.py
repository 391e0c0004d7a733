"""Merge plans: the example's committed plan, apply on a copy, idempotence, staleness, atomicity."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLES, REPO
from ybt.analyze.dupes import find_duplicates
from ybt.edit import YamlEditor
from ybt.merge import build_plan
from ybt.pipeline import compile_project

Cli = Callable[..., Any]
PLAN = EXAMPLES / "qingxi-merge-plan.yaml"


def committed_plan() -> dict[str, Any]:
    return dict(yaml.safe_load(PLAN.read_text(encoding="utf-8")))


def test_committed_plan_is_current() -> None:
    """If this fails, the example or the matcher changed: regenerate with
    `ybt merge examples/qingxi --plan examples/qingxi-merge-plan.yaml` and review the diff."""
    project = compile_project(EXAMPLES / "qingxi").project
    assert project is not None
    fresh = build_plan(project, find_duplicates(project), "examples/qingxi")
    assert {k: v for k, v in fresh.items() if k != "source"} == {k: v for k, v in committed_plan().items() if k != "source"}


def test_plan_pins_clusters_ledgers_and_views() -> None:
    plan = committed_plan()
    clusters = {c["canonical"]: {m["field"] for m in c["members"]} for c in plan["clusters"]}
    assert {"cl.sfzh", "mz.gmsfhm", "wjw.sfzh", "tyjr.gmsfhm", "nync.cy_zjhm", "yj.szr_sfzh"} <= clusters["std.resident_id"]
    assert {"mz.sjhm", "cl.lxdh", "rs.lxdh"} <= clusters["std.phone"]
    assert {"mz.xm", "cl.cjr_xm", "tyjr.xm"} <= clusters["std.name"]
    # Role distinctions survive the whole pipeline: heads of household and agents get their own fields.
    assert clusters["shared.hzxm"] == {"mz.hzxm", "nync.hzxm"}
    assert clusters["shared.dlr_xm"] == {"mz.dlr_xm", "cl.dlr_xm"}
    assert not any({"mz.hjdz", "mz.jtzz"} <= members for members in clusters.values())
    ledgers = {led["label"]: led for led in plan["ledgers"]}
    disability = ledgers["残疾人信息台账"]
    assert len(disability["reports"]) == 11  # 永川: 11 disability reports were mostly the same
    assert {"std.disability_category", "std.disability_grade", "std.disability_cert_no"} <= set(disability["fields"])
    assert {"cl.zdcjr_hlbt_ffhmc", "mz.zdcjr_hlbt_sbhmc", "mz.knjcr_shbt_ffhmc"} <= set(disability["reports"])
    assert plan["ledger_extensions"][0]["ledger"] == "shared.hjrk_tz"  # the base ledger of persons is extended, not duplicated
    views = {d["report"]: d["sources"] for d in plan["derived_reports"]}
    assert views["cl.zdcjr_hlbt_ffhmc"] == ["shared.hjrk_tz", "shared.cl_person_tz"]
    assert views["mz.tkry_gyqk_tjb"] == ["mz.shjz_dx_tz"]  # a summary calculated from an existing ledger
    assert views["nync.tdlz_qk_tjb"] == ["nync.tdcb_tz"]


@pytest.fixture
def applied(example_copy: Callable[[str], Path], cli: Cli) -> Path:
    root = example_copy("qingxi")
    r = cli("merge", root, "--apply", PLAN)
    assert r.exit_code == 0, r.stdout + r.stderr
    return root


def test_apply_gives_a_project_that_compiles_with_no_cluster_left(applied: Path, cli: Cli) -> None:
    assert cli("compile", applied).exit_code == 0
    data = json.loads(cli("dupes", applied, "--format", "json").stdout)
    assert data["field_clusters"] == []
    project = compile_project(applied).project
    assert project is not None
    assert project.fields["field.cl.sfzh"].superseded_by == "field.std.resident_id"
    head = project.fields["field.shared.hzxm"]  # promoted from 民政's field into the shared catalog
    assert head.label == "户主姓名" and head.role == "household_head" and head.status == "standard"
    assert project.fields["field.mz.hzxm"].superseded_by == "field.shared.hzxm"
    assert project.fields["field.nync.hzxm"].superseded_by == "field.shared.hzxm"
    report = project.reports["report.cl.zdcjr_hlbt_ffhmc"]
    assert report.mode == "derived" and report.sources == ("ledger.shared.hjrk_tz", "ledger.shared.cl_person_tz")
    assert "ledger.shared.cl_person_tz" in project.ledgers
    # Each column keeps the wording of the form it came from.
    labels = {c.field: c.label for c in report.columns}
    assert labels["field.std.name"] == "残疾人姓名" and labels["field.std.resident_id"] == "身份证号码"


def test_apply_twice_changes_nothing(applied: Path, cli: Cli) -> None:
    before = {p: p.read_bytes() for p in applied.rglob("*.yaml")}
    r = cli("merge", applied, "--apply", PLAN, "--format", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["changed"] == []
    assert {p: p.read_bytes() for p in applied.rglob("*.yaml")} == before


def test_apply_keeps_comments_order_and_formatting(example_copy: Callable[[str], Path], cli: Cli) -> None:
    root = example_copy("qingxi")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"], check=True)
    assert cli("merge", root, "--apply", PLAN).exit_code == 0
    diff = subprocess.run(["git", "-C", str(root), "diff", "-U0", "--", "departments/cl/fields.yaml"], capture_output=True, text=True, check=True).stdout
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert not removed  # field files only gain status / superseded_by lines
    assert added and all(line.startswith(("+status: superseded", "+superseded_by: ")) for line in added)
    text = (root / "departments/cl/fields.yaml").read_text(encoding="utf-8")
    assert text.startswith("# 区残联自己定义的字段")  # the comment at the top survives


def test_stale_plan_is_refused_and_nothing_is_written(example_copy: Callable[[str], Path], cli: Cli) -> None:
    root = example_copy("qingxi")
    report = root / "departments/cl/reports/ltbt_hzb.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("title:", "# 改过\ntitle:", 1), encoding="utf-8")
    before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
    r = cli("merge", root, "--apply", PLAN, "--format", "json")
    assert r.exit_code == 1
    diag = json.loads(r.stdout)["diagnostics"][0]
    assert diag["code"] == "YBT030" and "stale" in diag["message"]["en"] and "ltbt_hzb.yaml" in diag["message"]["en"]
    assert {p: p.read_bytes() for p in root.rglob("*.yaml")} == before


def test_rejected_decisions_are_left_alone(example_copy: Callable[[str], Path], cli: Cli, tmp_path: Path) -> None:
    root = example_copy("qingxi")
    plan = committed_plan()
    for c in plan["clusters"]:
        if c["canonical"] != "std.resident_id":
            c["decision"] = "reject"
    for section in ("ledgers", "ledger_extensions", "derived_reports"):
        for entry in plan[section]:
            entry["decision"] = "reject"
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert cli("merge", root, "--apply", path).exit_code == 0
    project = compile_project(root).project
    assert project is not None
    assert project.fields["field.cl.sfzh"].status == "superseded"
    assert project.fields["field.cl.lxdh"].status != "superseded"
    assert not any(r.mode == "derived" for r in project.reports.values() if r.uid == "report.cl.zdcjr_hlbt_ffhmc")
    remaining = json.loads(cli("dupes", root, "--format", "json").stdout)["field_clusters"]
    assert remaining and all(c["canonical"] != "std.resident_id" for c in remaining)


def test_plan_for_another_project_is_refused(example_copy: Callable[[str], Path], cli: Cli) -> None:
    root = example_copy("minimal")
    r = cli("merge", root, "--apply", PLAN)
    assert r.exit_code == 1 and "YBT030" in r.stdout


def test_plan_and_apply_need_exactly_one_option(cli: Cli) -> None:
    assert cli("merge", EXAMPLES / "qingxi").exit_code == 2


def test_plan_command_writes_a_reviewable_file(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    assert cli("merge", EXAMPLES / "qingxi", "--plan", out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# ybt 合并方案")
    plan = yaml.safe_load(text)
    assert all(c["decision"] == "accept" and c["why"] and c["members"] for c in plan["clusters"])


def test_editor_flow_and_block_edits() -> None:
    text = "# c\nkind: report  # keep\ncolumns:\n  - {field: a, group: g}\n  - field: b\n    group: h\nsources: [x]\nlist:\n  - p\n  - q\n"
    ed = YamlEditor(text)
    ed.set_scalar(0, ("columns", 0, "field"), "std.name")
    ed.set_key(0, ("columns", 0), "label", "姓名", after="field")
    ed.set_key(0, ("columns", 1), "label", "性别: 男", after="field")
    ed.append_item(0, ("sources",), "z")
    ed.append_item(0, ("sources",), "y")  # YAML 1.1 reads a plain y as true: it must be quoted
    ed.remove_item(0, ("list", 0))
    ed.set_key(0, (), "mode", "derived", after="kind")
    out = ed.result()
    assert out == (
        "# c\nkind: report  # keep\nmode: derived\ncolumns:\n  - {field: std.name, label: 姓名, group: g}\n"
        '  - field: b\n    label: "性别: 男"\n    group: h\nsources: [x, z, "y"]\nlist:\n  - q\n'
    )
    assert yaml.safe_load(out)["columns"][1]["label"] == "性别: 男"


def test_repo_plan_is_outside_the_project() -> None:
    assert PLAN.parent == EXAMPLES and (REPO / "examples" / "qingxi" / "ybt.yaml").is_file()
