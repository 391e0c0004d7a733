"""ybt docs: the portal's pieces in Python (search initials, merged form headers, the built files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLES
from ybt.cli import app
from ybt.model import Column
from ybt.pipeline import compile_project
from ybt.portal import PortalOptions, build_site
from ybt.portal.form import header_rows
from ybt.portal.search import initials
from ybt.portal.site import Portal, page_file


def test_pinyin_initials() -> None:
    assert initials("身份证号") == "sfzh"
    assert initials("公民身份号码") == "gmsfhm"
    assert initials("重度残疾人") == "zdcjr"
    assert initials("月保障金（元）") == "ybzjy"
    assert initials("GB 11643") == "gb11643"


def _col(label: str, *group: str) -> Column:
    return Column(id=label, label=label, group=tuple(group))


def test_header_merges_groups_and_stretches_ungrouped_columns() -> None:
    cols = [_col("村"), _col("姓名", "户主"), _col("身份证号", "户主"), _col("姓名2", "成员", "基本"), _col("电话")]
    rows = header_rows(cols)
    assert len(rows) == 3
    assert [(c.text, c.colspan, c.rowspan, c.leaf) for c in rows[0]] == [
        ("村", 1, 3, True),
        ("户主", 2, 1, False),
        ("成员", 1, 1, False),
        ("电话", 1, 3, True),
    ]
    assert [(c.text, c.rowspan) for c in rows[1]] == [("姓名", 2), ("身份证号", 2), ("基本", 1)]
    assert [c.text for c in rows[2]] == ["姓名2"]
    # every column is covered exactly once by a leaf
    assert sum(c.leaf for row in rows for c in row) == len(cols)


def test_header_text_matches_the_excel_template() -> None:
    col = Column(id="bzje", label="月保障金", required=True, group=("保障对象",))
    rows = header_rows([col], {"bzje": "元"})
    assert rows[1][0].text == "*月保障金（元）"
    assert header_rows([Column(id="x", label="面积（亩）")], {"x": "亩"})[0][0].text == "面积（亩）"


def test_header_does_not_merge_equal_groups_that_are_not_adjacent() -> None:
    rows = header_rows([_col("a", "g"), _col("b"), _col("c", "g")])
    assert [(c.text, c.colspan) for c in rows[0]] == [("g", 1), ("b", 1), ("g", 1)]


@pytest.fixture(scope="module")
def qingxi_single() -> tuple[str, int]:
    model = compile_project(EXAMPLES / "qingxi").project
    assert model is not None
    files, stats = build_site(model, PortalOptions(single_file=True))
    assert list(files) == ["index.html"]
    return files["index.html"].decode("utf-8"), stats.pages


def test_single_file_is_self_contained(qingxi_single: tuple[str, int]) -> None:
    html, pages = qingxi_single
    assert pages > 400
    assert '<html lang="zh-CN"' in html
    # Nothing is loaded from elsewhere: no external script, style, image, font or frame.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "an external reference"
    assert "@import" not in html and "url(http" not in html
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"] * html.count("http://www.w3.org/2000/svg")
    assert html.count('<template id="page:') == pages
    for key in ("index", "fields", "field/std.resident_id", "report/mz.csdb_hmc", "analysis", "burden", "lineage", "findings"):
        assert f'id="page:{key}"' in html
    assert 'class="chart heatmap"' in html and "burden-village" in html and 'class="chart lineage"' in html


def test_search_index_has_aliases_and_initials() -> None:
    model = compile_project(EXAMPLES / "qingxi").project
    assert model is not None
    portal = Portal(model, PortalOptions())
    rows = {r[8]: r for r in portal.search_index()}
    rid = rows["field/std.resident_id"]
    assert rid[2] == "公民身份号码" and "身份证" in rid[4]
    assert "sfz" in rid[5] and "gmsfhm" in rid[5]
    assert rid[0] == page_file("field/std.resident_id") == "field__std.resident_id.html"


def test_report_pages_carry_their_findings() -> None:
    model = compile_project(EXAMPLES / "qingxi").project
    assert model is not None
    portal = Portal(model, PortalOptions(single_file=True))
    with_findings = [uid for uid in model.reports if portal.findings_by_object.get(uid)]
    assert len(with_findings) > 10
    assert all(f.url and f.url.startswith("#/src/") for f in portal.findings if f.diag.location and f.diag.location.line)


def test_cli_writes_a_folder_of_pages(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["docs", str(EXAMPLES / "minimal"), "--out", str(tmp_path / "site")])
    assert run.exit_code == 0, run.output
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "assets" / "ybt.js").is_file() and (site / "assets" / "search-index.js").is_file()
    assert (site / "fields.html").is_file() and any(site.glob("report__*.html"))
    page = (site / "index.html").read_text(encoding="utf-8")
    assert '<script src="assets/ybt.js">' in page and 'href="assets/ybt.css"' in page


def test_cli_single_file_and_bad_compare(tmp_path: Path) -> None:
    out = tmp_path / "one"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert CliRunner().invoke(app, ["docs", str(EXAMPLES / "minimal"), "--out", str(out)]).exit_code == 0
    assert len(list(out.glob("*.html"))) > 5
    # the single file replaces the pages an earlier run wrote, and nothing else
    run = CliRunner().invoke(app, ["docs", str(EXAMPLES / "minimal"), "--out", str(out), "--single-file"])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in out.iterdir()) == [".ybt-docs-files.json", "index.html", "notes.txt"]
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    run = CliRunner().invoke(app, ["docs", str(EXAMPLES / "minimal"), "--out", str(tmp_path / "x"), "--compare", str(bad)])
    assert run.exit_code == 2


@pytest.mark.slow
def test_templates_and_assets_ship_in_the_wheel(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    from conftest import REPO

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True
    )
    (wheel,) = tmp_path.glob("ybt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = REPO / "src" / "ybt" / "portal" / "templates"
    expected = {f"ybt/portal/templates/{p.relative_to(templates).as_posix()}" for p in templates.rglob("*") if p.is_file()}
    assert expected and expected <= names, sorted(expected - names)


def test_folder_portal_links_files_with_chinese_names_and_spaces(tmp_path: Path) -> None:
    import shutil
    from urllib.parse import unquote

    root = tmp_path / "proj"
    shutil.copytree(EXAMPLES / "minimal", root, ignore=shutil.ignore_patterns("target"))
    (root / "reports" / "subsidy_summary.yaml").rename(root / "reports" / "补贴 汇总.yaml")
    model = compile_project(root).project
    assert model is not None
    files, _ = build_site(model, PortalOptions())
    name = "src__reports__补贴 汇总.yaml.html"
    assert name in files
    # every local link points at a file the portal writes
    pages = "".join(v.decode("utf-8") for k, v in files.items() if k.endswith(".html"))
    targets = {unquote(h.split("#")[0]) for h in re.findall(r'href="([^"#:]+\.html)(?:#[^"]*)?"', pages)}
    assert targets and targets <= set(files), sorted(targets - set(files))[:5]
    assert 'href="src__reports__%E8%A1%A5%E8%B4%B4%20%E6%B1%87%E6%80%BB.yaml.html' in pages


def test_burden_before_and_after_charts_with_compare() -> None:
    from ybt.analyze import burden
    from ybt.emit.manifest import build_manifest

    before = compile_project(EXAMPLES / "qingxi").project
    after = compile_project(EXAMPLES / "minimal").project
    assert before is not None and after is not None
    files, _ = build_site(after, PortalOptions(single_file=True, compare=burden.measure(build_manifest(before), "examples/qingxi")))
    html = files["index.html"].decode("utf-8")
    for metric in ("reports_per_month", "entries_per_year", "hours_per_year"):
        assert f'class="chart compare-{metric}"' in html
    assert "改革前 before" in html and "examples/qingxi" in html
