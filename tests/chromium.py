"""Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by Playwright for Python.

Playwright's own browser download cannot work in CI, so the system Chromium is used with flags that keep
it from reaching for the network (see docs/ci.md). Tests skip, saying why, when either is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("YBT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def require_browser() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium); the portal's browser tests need it")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright); the portal's browser tests need it")
    return path


@contextmanager
def browser_context(user_data: Path, **options: Any) -> Iterator[Any]:
    """A fresh persistent context (own --user-data-dir) on the system Chromium."""
    from playwright.sync_api import sync_playwright

    path = require_browser()
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(user_data), executable_path=path, args=FLAGS, headless=True, **options)
        try:
            yield ctx
        finally:
            ctx.close()
