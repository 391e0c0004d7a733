"""The progress bar: on stderr only, only when enabled, only after the delay."""

from __future__ import annotations

import pytest

from ybt import progress as progress_mod
from ybt.diagnostics import Text


def test_disabled_when_not_forced_and_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YBT_PROGRESS", "0")
    assert not progress_mod.enabled()
    with progress_mod.progress("x", total=10) as advance:
        assert advance is progress_mod._noop


def test_shows_on_stderr_after_the_delay(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YBT_PROGRESS", "1")
    monkeypatch.setattr(progress_mod, "DELAY", 0.0)
    shown: list[int] = []
    real_show = progress_mod._Bar._show

    def spy(self: progress_mod._Bar) -> None:
        shown.append(self.done)
        real_show(self)

    monkeypatch.setattr(progress_mod._Bar, "_show", spy)
    with progress_mod.progress(Text("写入", "writing"), total=1000, lang="en") as advance:
        for _ in range(1000):
            advance(1)
    assert shown == [256]  # shown once, at the first clock check after the delay
    out = capsys.readouterr()
    assert out.out == ""  # nothing on stdout: machine-readable output stays clean


def test_not_shown_before_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YBT_PROGRESS", "1")
    monkeypatch.setattr(progress_mod, "DELAY", 3600.0)
    with progress_mod.progress("x", total=10_000) as advance:
        for _ in range(10_000):
            advance(1)
        bar = advance.__self__  # type: ignore[attr-defined]
        assert bar._progress is None and bar.done == 10_000
