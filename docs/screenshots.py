"""Take the screenshots of the portal used in README.md (docs/img/*.png).

    python docs/screenshots.py

Builds ``ybt docs examples/qingxi --single-file`` (and the burden page against the merged example, as
``ybt docs AFTER --compare examples/qingxi``) into a temporary directory and photographs the main pages
in headless Chromium: Debian's /usr/bin/chromium driven by Playwright for Python (``pip install
playwright``; Playwright's own browser download is not needed). A CJK font must be installed for the
Chinese to show (Debian: ``apt-get install -y fonts-noto-cjk``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "img"
# The browser flags the tests use (closed network: no background connections, a fresh profile).
sys.path.insert(0, str(REPO / "tests"))
from chromium import FLAGS  # noqa: E402

#: file name → (site, route, viewport width, action)
SHOTS = {
    "portal-search.png": ("before", "", 1200, "search"),
    "portal-field.png": ("before", "#/field/std.resident_id", 1200, None),
    "portal-report.png": ("before", "#/report/mz.csdb_hmc", 1200, None),
    "portal-overlaps.png": ("before", "#/analysis", 1200, None),
    "portal-burden.png": ("after", "#/burden", 1200, None),
    "portal-lineage.png": ("after", "#/lineage", 1200, None),
    "portal-phone.png": ("before", "#/report/cl.cjr_fwxq_dcb", 390, None),
}


def ybt(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ybt", "--lang", "en", *args], check=True, cwd=REPO)


def main() -> int:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="ybt-shots-"))
    try:
        after = work / "qingxi-after"
        shutil.copytree(REPO / "examples" / "qingxi", after, ignore=shutil.ignore_patterns("target"))
        ybt("merge", str(after), "--apply", str(REPO / "examples" / "qingxi-merge-plan.yaml"))
        ybt("docs", "examples/qingxi", "--out", str(work / "before"), "--single-file", "--today", "2026-06-30")
        ybt("docs", str(after), "--compare", "examples/qingxi", "--out", str(work / "after"), "--single-file", "--today", "2026-06-30")
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            for name, (site, route, width, action) in SHOTS.items():
                ctx = pw.chromium.launch_persistent_context(
                    str(work / f"profile-{name}"),
                    executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                    args=FLAGS,
                    headless=True,
                    viewport={"width": width, "height": 760 if width > 600 else 780},
                    device_scale_factor=1,
                    is_mobile=width < 600,
                )
                page = ctx.new_page()
                page.goto((work / site / "index.html").as_uri() + route)
                if action == "search":
                    page.type("#q", "sfz")
                    page.wait_for_selector("#q-results:not([hidden]) li")
                page.wait_for_timeout(200)
                page.screenshot(path=str(OUT / name))
                ctx.close()
                print(f"wrote docs/img/{name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
