"""manifest.json: every object with file, line, checksum and dependencies; deterministic output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES
from ybt.emit.manifest import build_manifest, render
from ybt.pipeline import compile_project


def manifest_of(root: Path) -> dict[str, Any]:
    result = compile_project(root)
    assert result.ok, [(str(d.location), d.message.en) for d in result.diagnostics]
    assert result.project is not None
    return build_manifest(result.project)


@pytest.fixture(scope="module")
def minimal() -> dict[str, Any]:
    return manifest_of(EXAMPLES / "minimal")


def test_every_report_and_field_has_file_line_and_checksum(minimal: dict[str, Any]) -> None:
    for section in ("reports", "fields", "codelists", "entities", "ledgers"):
        assert minimal[section], section
        for unique_id, obj in minimal[section].items():
            assert obj["unique_id"] == unique_id
            assert unique_id == f"{obj['kind']}.{obj['namespace']}.{obj['id']}"
            assert obj["file"].endswith(".yaml") and obj["line"] >= 1 and obj["column"] >= 1
            assert len(obj["checksum"]) == 64


def test_object_locations_point_at_the_document(minimal: dict[str, Any]) -> None:
    for obj in minimal["reports"].values():
        text = (EXAMPLES / "minimal" / obj["file"]).read_text(encoding="utf-8").splitlines()
        window = "\n".join(text[obj["line"] - 1 : obj["line"] + 40])
        assert f"id: {obj['id']}" in window


def test_report_unique_ids_use_the_department(minimal: dict[str, Any]) -> None:
    assert all(uid.startswith(f"report.{r['department']}.") for uid, r in minimal["reports"].items())


def test_parent_and_child_maps_agree(minimal: dict[str, Any]) -> None:
    parents, children = minimal["parent_map"], minimal["child_map"]
    for node, deps in parents.items():
        for dep in deps:
            assert node in children[dep], (node, dep)
    for node, kids in children.items():
        for kid in kids:
            assert node in parents[kid]


def test_report_depends_on_fields_ledgers_and_codelists_transitively(minimal: dict[str, Any]) -> None:
    uid, report = next((u, r) for u, r in minimal["reports"].items() if r["form"] == "roster")
    deps = set(minimal["parent_map"][uid])
    for col in report["columns"]:
        if col["field"]:
            assert col["field"] in deps
    assert set(report["sources"]) <= deps
    assert f"department.{report['department']}" in deps
    # report → field → codelist
    code_fields = [f for f in deps if f.startswith("field.") and minimal["fields"][f]["codelist"]]
    assert code_fields
    assert minimal["fields"][code_fields[0]]["codelist"] in minimal["parent_map"][code_fields[0]]


def test_library_objects_are_marked(minimal: dict[str, Any]) -> None:
    sex = minimal["fields"]["field.std.sex"]
    assert sex["library"] == "std" and sex["file"] == "fields/person.yaml"
    assert minimal["libraries"]["std"]["name"]
    assert any(path.startswith("@std/") for path in minimal["files"])
    assert "ybt.yaml" in minimal["files"]


def test_org_tree_and_departments(minimal: dict[str, Any]) -> None:
    root = minimal["project"]["org_root"]
    assert minimal["org_units"][root]["parent"] is None
    for uid, unit in minimal["org_units"].items():
        for child in unit["children"]:
            assert minimal["org_units"][child]["parent"] == uid
    assert all(uid == f"department.{d['id']}" for uid, d in minimal["departments"].items())


def test_output_is_deterministic_and_independent_of_cwd(example_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root = example_copy("minimal")
    first = render(compile_project(root).project)  # type: ignore[arg-type]
    monkeypatch.chdir(root)
    second = render(compile_project(Path(".")).project)  # type: ignore[arg-type]
    assert first == second
    json.loads(first)


def test_checksum_ignores_comments_but_not_content(example_copy: Callable[[str], Path]) -> None:
    root = example_copy("minimal")
    before = manifest_of(root)
    path = root / "catalog" / "fields.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text("# a new comment\n" + text, encoding="utf-8")
    after_comment = manifest_of(root)
    uid = next(u for u, f in after_comment["fields"].items() if f["library"] is None)
    assert after_comment["fields"][uid]["checksum"] == before["fields"][uid]["checksum"]
    assert after_comment["fields"][uid]["line"] == before["fields"][uid]["line"] + 1
    assert after_comment["files"]["catalog/fields.yaml"] != before["files"]["catalog/fields.yaml"]
    path.write_text(text.replace("月补贴金额", "每月补贴金额", 1), encoding="utf-8")
    changed = manifest_of(root)
    assert changed["fields"][uid]["checksum"] != before["fields"][uid]["checksum"]
