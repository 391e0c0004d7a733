"""Pausing Python's cyclic garbage collector around the big passes.

Loading, resolving, analysing and checking a province-sized project create millions of small objects
that all stay alive and form no reference cycles that need collecting early; with the collector on,
every generation-2 pass walks all of them again, which made those passes several times slower. The
collector is paused for the pass and turned back on after it (nested pauses are no-ops).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
