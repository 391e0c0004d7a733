"""The bundled examples compile cleanly; broken copies fail at the right file:line:col."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLES
from ybt.pipeline import compile_project

Cli = Callable[..., Any]
ALL_EXAMPLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "ybt.yaml").is_file())


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_every_example_compiles_cleanly(name: str, cli: Cli, tmp_path: Path) -> None:
    r = cli("compile", EXAMPLES / name, "--out", tmp_path, "--format", "json")
    payload = json.loads(r.stdout)
    assert r.exit_code == 0 and payload["diagnostics"] == [], payload["diagnostics"][:3]
    assert (tmp_path / "manifest.json").is_file()


@pytest.fixture(scope="module")
def qingxi() -> Any:
    result = compile_project(EXAMPLES / "qingxi")
    assert result.ok and result.project is not None
    return result.project


def test_qingxi_is_a_realistic_district(qingxi: Any) -> None:
    own_fields = [f for f in qingxi.fields.values() if f.library is None]
    assert len(qingxi.departments) >= 8
    assert len(qingxi.reports) >= 40
    assert len(own_fields) >= 150
    for dept in ("mz", "cl", "nync", "wjw", "rs", "tyjr", "yj", "scjg"):
        assert any(r.department == dept for r in qingxi.reports.values()), dept
    # Department fields are where the duplication lives: most fields sit in department namespaces.
    assert sum(1 for f in own_fields if f.namespace != "shared") > 0.8 * len(own_fields)
    # Real codelists are used: national ones from std and local ones.
    used = {f.codelist for f in qingxi.fields.values() if f.codelist and f.library is None}
    assert any(u.startswith("codelist.std.") for u in used) and any(not u.startswith("codelist.std.") for u in used)


def test_qingxi_contains_the_disability_duplication(qingxi: Any) -> None:
    disability = [r for r in qingxi.reports.values() if "残疾" in r.title]
    assert len(disability) >= 11
    assert {r.department for r in disability} >= {"cl", "mz", "nync"}
    # The same person data is declared again under other labels in several namespaces.
    id_fields = {f.namespace for f in qingxi.fields.values() if f.type == "resident_id" and f.role == "self" and f.library is None}
    assert len(id_fields) >= 5


def _manifest_reports(root: Path) -> dict[str, Any]:
    result = compile_project(root)
    assert result.project is not None
    from ybt.emit.manifest import build_manifest

    return build_manifest(result.project)


def test_manifest_lists_every_report_document_with_its_file(tmp_path: Path) -> None:
    root = EXAMPLES / "qingxi"
    manifest = _manifest_reports(root)
    declared = set()
    for path in root.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "report":
                declared.add((f"report.{doc['department']}.{doc['id']}", path.relative_to(root).as_posix()))
            if isinstance(doc, dict) and doc.get("kind") == "field":
                declared.add((f"field.{doc.get('namespace', 'shared')}.{doc['id']}", path.relative_to(root).as_posix()))
    listed = {(u, r["file"]) for u, r in manifest["reports"].items()} | {(u, f["file"]) for u, f in manifest["fields"].items() if f["library"] is None}
    assert declared == listed
    for uid in manifest["reports"]:
        assert manifest["parent_map"][uid], uid


# --- broken copies ------------------------------------------------------------------------------


def _find(path: Path, pattern: str) -> tuple[int, int, str]:
    """1-based line and column of the first match of ``pattern`` (column of group 1 if present)."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = re.search(pattern, line)
        if m:
            start = m.start(1) if m.groups() else m.start()
            return n, start + 1, line
    raise AssertionError(f"{pattern!r} not in {path}")


def _replace_line(path: Path, line_no: int, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line_no - 1] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _insert_after(path: Path, line_no: int, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(line_no, new)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _expect(cli: Cli, root: Path, code: str, path: Path, line: int, column: int) -> None:
    r = cli("compile", root, "--format", "json")
    assert r.exit_code == 1
    diags = json.loads(r.stdout)["diagnostics"]
    hits = [d for d in diags if d["code"] == code]
    assert hits, diags
    loc = hits[0]["location"]
    assert Path(loc["file"]).resolve() == path.resolve()
    assert (loc["line"], loc["column"]) == (line, column), hits[0]
    text = cli("compile", root).stdout
    assert f"{path.name}:{line}:{column}" in text


REPORT = "departments/cl/reports/cjr_fwxq_dcb.yaml"


def test_broken_copy_duplicate_key(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("qingxi")
    path = root / REPORT
    line, _, _ = _find(path, r"^frequency:")
    _insert_after(path, line, "frequency: monthly")
    _expect(cli, root, "YBT002", path, line + 1, 1)


def test_broken_copy_unknown_reference(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("qingxi")
    path = root / REPORT
    line, col, text = _find(path, r"field: (sfzh),")
    _replace_line(path, line, text.replace("field: sfzh,", "field: sfzhm,"))
    _expect(cli, root, "YBT020", path, line, col)


def test_broken_copy_wrong_type(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("qingxi")
    path = root / REPORT
    line, col, _ = _find(path, r"^deadline_days: (\d+)")
    _replace_line(path, line, "deadline_days: 二十天")
    _expect(cli, root, "YBT011", path, line, col)


def test_broken_copy_yaml_syntax_error(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("qingxi")
    path = root / REPORT
    line, _, text = _find(path, r"field: jzdz")
    _replace_line(path, line, text.replace("}", ""))  # unclosed flow mapping
    r = cli("compile", root, "--format", "json")
    assert r.exit_code == 1
    (diag,) = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "YBT001"]
    assert Path(diag["location"]["file"]).resolve() == path.resolve()
    assert diag["location"]["line"] in (line, line + 1)  # libyaml stops at the line after the open brace


def test_broken_copy_duplicate_id(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("qingxi")
    original = root / REPORT
    copy = root / "departments/cl/reports/zz_copy_of_survey.yaml"  # sorts after the original
    copy.write_text("# 复制了一份\n" + original.read_text(encoding="utf-8"), encoding="utf-8")
    line, col, _ = _find(copy, r"^id: (cjr_fwxq_dcb)")
    r = cli("compile", root, "--format", "json")
    diags = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "YBT021"]
    assert r.exit_code == 1 and len(diags) == 1
    d = diags[0]
    assert Path(d["location"]["file"]).resolve() == copy.resolve()
    assert (d["location"]["line"], d["location"]["column"]) == (line, col)
    assert Path(d["related"][0]["location"]["file"]).resolve() == original.resolve()
    assert "cl.cjr_fwxq_dcb" in d["message"]["en"]
