"""ybt docs in a real browser: the example district's portal opened from file:// in headless Chromium.

Searching by a Chinese alias (身份证) and by pinyin initials (sfz) finds 公民身份号码 (std.resident_id), a
report page lists its findings, the charts are there, the console stays clean and no request leaves the
file system (every other request is intercepted, aborted and fails the test).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chromium import browser_context, require_browser
from conftest import EXAMPLES, REPO
from ybt import atomic
from ybt.pipeline import compile_project
from ybt.portal import PortalOptions, build_site
from ybt.portal.site import Portal

pytestmark = pytest.mark.slow


class Watch:
    """Console errors, page errors and every request that is not a local file."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.requests: list[str] = []

    def attach(self, ctx: Any) -> None:
        def route(r: Any) -> None:
            url = r.request.url
            self.requests.append(url)
            if url.startswith(("file://", "data:")):
                r.continue_()
            else:
                self.outside.append(url)
                r.abort()

        ctx.route("**/*", route)
        ctx.on("page", lambda page: self.page(page))

    def page(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}") if r.url.startswith("file:") else None)
        page.on("request", lambda r: None if r.url.startswith(("file://", "data:")) else self.outside.append(r.url))

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.outside, f"requests left the file system: {self.outside}"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_browser()
    model = compile_project(EXAMPLES / "qingxi").project
    assert model is not None
    root = tmp_path_factory.mktemp("portal")
    # The single file exactly as a user makes it; the folder of pages through the library.
    run = subprocess.run(
        [sys.executable, "-m", "ybt", "docs", "examples/qingxi", "--out", str(root / "single"), "--single-file"], cwd=REPO, capture_output=True
    )
    assert run.returncode == 0, run.stderr.decode()
    assert [p.name for p in (root / "single").iterdir() if not p.name.startswith(".")] == ["index.html"]
    files, _ = build_site(model, PortalOptions(single_file=False))
    atomic.write_tree(root / "multi", files)
    return {"single": root / "single" / "index.html", "multi": root / "multi" / "index.html"}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[tuple[Any, Watch]]:
    watch = Watch()
    with browser_context(tmp_path / "profile", viewport={"width": 1280, "height": 900}) as ctx:
        watch.attach(ctx)
        yield ctx, watch


def _search(page: Any, query: str) -> list[tuple[str, str]]:
    page.fill("#q", "")
    page.type("#q", query)
    page.wait_for_selector("#q-results:not([hidden]) li")
    links = page.locator("#q-results a")
    return [(links.nth(i).get_attribute("data-key") or "", links.nth(i).inner_text()) for i in range(links.count())]


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_search_finds_the_id_number_by_alias_and_by_initials(sites: dict[str, Path], browser: tuple[Any, Watch], mode: str) -> None:
    ctx, watch = browser
    page = ctx.new_page()
    page.goto(sites[mode].as_uri())
    for query in ("身份证", "sfz", "sfzh", "gmsfhm"):
        hits = _search(page, query)
        assert hits[0][0] == "field/std.resident_id", (query, hits[:3])
        assert "公民身份号码" in hits[0][1]
    page.press("#q", "ArrowDown")
    assert page.evaluate("document.activeElement.dataset.key") == "field/std.resident_id"
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('公民身份号码')")
    body = page.inner_text("main")
    for text in ("填表规范", "18 位公民身份号码", "敏感个人信息", "公安分局", "使用它的报表和台账"):
        assert text in body, text
    assert page.locator("main a[href*='report']").count() > 0
    watch.assert_clean()


def test_report_page_lists_its_findings(sites: dict[str, Path], browser: tuple[Any, Watch]) -> None:
    ctx, watch = browser
    model = compile_project(EXAMPLES / "qingxi").project
    assert model is not None
    portal = Portal(model, PortalOptions(single_file=True))
    uid, findings = max(((u, portal.findings_by_object.get(u, [])) for u in model.reports), key=lambda kv: len(kv[1]))
    report = model.reports[uid]
    page = ctx.new_page()
    page.goto(sites["single"].as_uri() + f"#/report/{report.qualified}")
    page.wait_for_selector(f"h1:has-text('{report.title}')")
    table = page.locator("main table.findings tbody tr")
    assert table.count() == len(findings) > 0
    text = page.inner_text("main table.findings")
    for f in findings:
        assert f.diag.code in text
    # the form preview: a caption with the title and a header cell per column
    assert page.inner_text("main table.form-preview caption").startswith(report.title)
    assert page.locator("main table.form-preview thead th[scope=col]").count() == len(report.columns)
    # a finding's location opens the spec file at that line
    link = page.locator("main table.findings a[href^='#/src/']").first
    href = link.get_attribute("href")
    assert href is not None and ":L" in href
    link.click()
    line = href.rsplit(":L", 1)[1]
    page.wait_for_selector(f"pre.src #L{line}.hl")
    box = page.locator(f"#L{line}").bounding_box()
    assert box is not None and 0 <= box["y"] < 900, "the line is scrolled into view"
    watch.assert_clean()


def test_charts_and_pages_render(sites: dict[str, Path], browser: tuple[Any, Watch]) -> None:
    ctx, watch = browser
    page = ctx.new_page()
    base = sites["single"].as_uri()
    page.goto(base + "#/analysis")
    heat = page.locator("main svg.heatmap")
    assert heat.count() == 1 and heat.bounding_box()["width"] > 200
    assert page.locator("main svg.heatmap rect").count() >= 100
    assert page.locator("main svg.reuse rect").count() >= 10
    page.goto(base + "#/burden")
    assert page.locator("main svg[class*='burden-']").count() >= 2
    page.goto(base + "#/lineage")
    assert page.locator("main svg.lineage a").count() >= 10
    page.goto(base + "#/findings")
    assert page.locator("main table.findings tbody tr").count() > 100
    page.goto(base + "#/fields")
    assert page.locator("main table.catalog a").count() > 300
    assert page.title().startswith("字段目录")
    total = page.locator("main table.catalog tbody tr[data-key]").count()
    page.fill("#catalog-filter", "sfz")
    visible = page.locator("main table.catalog tbody tr[data-key]:not([hidden])")
    assert 0 < visible.count() < total
    assert page.locator("main tr[data-key='field/std.resident_id']:not([hidden])").count() == 1
    assert "显示" in page.inner_text("#catalog-count")
    page.goto(base + "#/no/such/page")
    assert "没有这个页面" in page.inner_text("main")
    watch.assert_clean()


def test_keyboard_and_phone(sites: dict[str, Path], tmp_path: Path) -> None:
    watch = Watch()
    with browser_context(tmp_path / "phone", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True) as ctx:
        watch.attach(ctx)
        page = ctx.new_page()
        page.goto(sites["multi"].as_uri())
        # The first Tab reaches the skip link, which moves focus to the main content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "q"
        for key in ("index", "field__std.resident_id", "report__mz.csdb_hmc", "analysis", "findings"):
            page.goto(sites["multi"].with_name(f"{key}.html").as_uri())
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{key} scrolls sideways on a phone by {overflow}px"
        # Chinese in a system CJK font stack, declared as zh-CN
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert "Noto Sans CJK SC" in page.evaluate("getComputedStyle(document.body).fontFamily")
    watch.assert_clean()
