"""Progress bars for long operations, on stderr only.

A bar appears only when stderr is a terminal (or ``YBT_PROGRESS=1`` forces it; ``YBT_PROGRESS=0``
turns it off) and only once the operation has run for :data:`DELAY` seconds, so that quick commands
and machine-readable output stay clean. Use it as a context manager around a loop::

    with progress(Text("写入模板", "writing template"), total=len(rows), lang=lang()) as advance:
        for row in rows:
            ...
            advance(1)

``advance`` is cheap (a counter and, every so often, a clock read), so it can be called per row.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ybt.diagnostics import Text

#: Seconds an operation runs before its bar is shown.
DELAY = 1.0
_CHECK_EVERY = 256


def enabled() -> bool:
    forced = os.environ.get("YBT_PROGRESS", "")
    if forced in ("0", "1"):
        return forced == "1"
    return sys.stderr.isatty()


class _Bar:
    def __init__(self, description: str, total: int | None) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self._start = time.perf_counter()
        self._since_check = 0
        self._progress: Any = None
        self._task: Any = None

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._since_check += n
        if self._since_check < _CHECK_EVERY:
            return
        self._since_check = 0
        if self._progress is None:
            if time.perf_counter() - self._start < DELAY:
                return
            self._show()
        self._progress.update(self._task, completed=self.done)

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        if self.total:
            columns.append(TimeRemainingColumn())
        self._progress = Progress(*columns, console=Console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=self.total, completed=self.done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def progress(description: Text | str, total: int | None = None, lang: str = "both") -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` function; a bar on stderr appears after :data:`DELAY` seconds.

    ``lang`` is the CLI's message language (``zh``, ``en`` or ``both``).
    """
    if not enabled():
        yield _noop
        return
    bar = _Bar(description if isinstance(description, str) else description.render(lang), total)
    try:
        yield bar.advance
    finally:
        bar.close()


def _noop(n: int = 1) -> None:
    return None
