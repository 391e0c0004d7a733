"""The ybt command: exit codes, output formats, schema and rule commands, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from conftest import EXAMPLES
from ybt import __version__

Cli = Callable[..., Any]


def run_ybt(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console entry point in a real subprocess."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("YBT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "ybt", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_version(cli: Cli) -> None:
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"ybt {__version__}"


def test_help_is_bilingual(cli: Cli) -> None:
    r = cli("--help")
    assert r.exit_code == 0
    assert "一表通" in r.stdout and "one form serves all" in r.stdout
    assert "compile" in r.stdout and "validate" in r.stdout


def test_compile_minimal_writes_manifest(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("minimal")
    r = cli("compile", root)
    assert r.exit_code == 0, r.stdout
    manifest = json.loads((root / "target" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metadata"]["manifest_schema"] == "ybt.manifest/v1"


def test_compile_out_dir_and_json_format(cli: Cli, example_copy: Callable[[str], Path], tmp_path: Path) -> None:
    root = example_copy("minimal")
    r = cli("compile", root, "--out", tmp_path / "build", "--format", "json")
    assert r.exit_code == 0
    payload = json.loads(r.stdout)
    assert payload["ok"] is True and payload["diagnostics"] == []
    assert payload["objects"]["reports"] == 2 and payload["counts"]["error"] == 0
    assert (tmp_path / "build" / "manifest.json").is_file()


def test_validate_writes_nothing(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("minimal")
    assert cli("validate", root).exit_code == 0
    assert not (root / "target").exists()


def test_errors_exit_1_and_keep_the_old_manifest(cli: Cli, example_copy: Callable[[str], Path]) -> None:
    root = example_copy("minimal")
    assert cli("compile", root).exit_code == 0
    manifest = root / "target" / "manifest.json"
    before = manifest.read_bytes()
    (root / "broken.yaml").write_text("kind: field\nid: x\nlabel: 甲\ntype: strng\n", encoding="utf-8")
    r = cli("compile", root, "--format", "json")
    assert r.exit_code == 1
    payload = json.loads(r.stdout)
    assert payload["ok"] is False and payload["written"] == []
    d = payload["diagnostics"][0]
    assert d["code"] == "YBT011" and d["location"]["line"] == 4 and d["location"]["column"] == 7
    assert d["message"]["zh"] and d["message"]["en"] and d["hint"]["en"]
    assert manifest.read_bytes() == before


def test_usage_errors_exit_2(cli: Cli, tmp_path: Path) -> None:
    assert cli("compile", tmp_path / "nowhere").exit_code == 1  # a missing project is an input error
    r = cli("compile", EXAMPLES / "minimal", "--target", "nope")
    assert r.exit_code == 2
    assert cli("schema", "feild").exit_code == 2
    assert cli("rule", "YBT999").exit_code == 2
    assert cli("compile").exit_code == 2  # missing argument


def test_not_a_project_is_explained(cli: Cli, tmp_path: Path) -> None:
    r = cli("validate", tmp_path)
    assert r.exit_code == 1
    assert "ybt.yaml" in r.stdout and "YBT023" in r.stdout


def test_lang_option_picks_one_language(cli: Cli, tmp_path: Path) -> None:
    zh = cli("--lang", "zh", "validate", tmp_path).stdout
    en = cli("--lang", "en", "validate", tmp_path).stdout
    assert "不是 ybt 项目" in zh and "not a ybt project" not in zh
    assert "not a ybt project" in en and "不是 ybt 项目" not in en


@pytest.mark.parametrize("kind", [None, "field", "codelist", "entity", "ledger", "report", "project", "library"])
def test_schema_command_prints_self_contained_schemas(cli: Cli, kind: str | None) -> None:
    r = cli("schema", *([kind] if kind else []))
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    Draft202012Validator.check_schema(schema)
    assert "common.schema.json" not in r.stdout  # no external $ref left


def _documents(root: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(root.rglob("*.yaml")):
        if "target" in path.parts:
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    return docs


def test_combined_schema_accepts_examples_and_rejects_mistakes(cli: Cli) -> None:
    validator = Draft202012Validator(json.loads(cli("schema").stdout))
    projects = [p for p in EXAMPLES.iterdir() if (p / "ybt.yaml").is_file()]
    docs = [d for p in projects for d in _documents(p)] + _documents(Path(__file__).resolve().parent.parent / "specs" / "std")
    assert len(docs) > 50
    for doc in docs:
        errors = list(validator.iter_errors(doc))
        assert not errors, (doc.get("kind"), doc.get("id"), errors[0].message)
    bad = {"kind": "report", "id": "r", "department": "mz", "title": "t", "form": "roster", "frequency": "月报"}
    bad.update({"fill_level": "village", "columns": []})
    assert list(validator.iter_errors(bad))


def test_rule_explains_a_code(cli: Cli) -> None:
    r = cli("rule", "YBT020")
    assert r.exit_code == 0
    assert "unknown-reference" in r.stdout and "Bad" in r.stdout and "Good" in r.stdout
    assert cli("rule", "unknown-reference").stdout == r.stdout
    listed = cli("rule", "--list").stdout
    assert "YBT001" in listed and "YBT024" in listed
    rules = json.loads(cli("rule", "--list", "--format", "json").stdout)
    assert all(r["name"] and r["summary"]["zh"] and r["explanation"] for r in rules)


def test_entry_point_never_shows_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "ybt.yaml").write_bytes(b"kind: project\nid: x\nname: \xd6\xd0\n")  # GBK, not UTF-8
    r = run_ybt("compile", tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert "YBT004" in r.stdout and "ybt.yaml:3:1" in r.stdout


def test_entry_point_exit_codes(tmp_path: Path) -> None:
    assert run_ybt("--version").returncode == 0
    assert run_ybt("schema", "nope").returncode == 2
    assert run_ybt("validate", EXAMPLES / "minimal").returncode == 0


def test_the_fast_exit_keeps_exit_codes_output_and_exit_handlers(tmp_path: Path) -> None:
    """main() ends the process without tearing the heap down: every byte written still arrives, the
    exit code is the command's and exit handlers (tempfile clean-up and the like) still run."""
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('exit handler ran\\n'))\n"
        "from ybt.cli import main\n"
        "sys.argv = ['ybt', *sys.argv[1:]]\n"
        "main()\n"
    )
    env = {**os.environ, "COLUMNS": "200"}

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)

    r = run("check", EXAMPLES / "qingxi", "--format", "json", "--no-cache")
    assert r.returncode == 1 and "exit handler ran" in r.stderr
    assert len(json.loads(r.stdout)["findings"]) > 50  # the whole document, flushed
    r = run("validate", EXAMPLES / "minimal")
    assert r.returncode == 0 and "exit handler ran" in r.stderr
    r = run("schema", "nope")
    assert r.returncode == 2 and "exit handler ran" in r.stderr
