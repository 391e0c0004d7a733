"""Rendering diagnostics: the same :class:`~ybt.diagnostics.Diagnostic` objects as text or JSON.

Text goes through rich (colours on a terminal, plain text in pipes and CI logs) and shows the source
line with a caret under the column. User text is never interpreted as rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text as RichText

from ybt.diagnostics import Diagnostic, Severity
from ybt.load import file_lines

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def console(stream: TextIO | None = None, *, stderr: bool = False) -> Console:
    return Console(file=stream, stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


class _Snippets:
    def __init__(self) -> None:
        self._cache: dict[str, list[str]] = {}

    def line(self, path: str, line: int) -> str | None:
        if path not in self._cache:
            self._cache[path] = file_lines(path)
        lines = self._cache[path]
        return lines[line - 1] if 0 < line <= len(lines) else None


def _caret_offset(text: str, column: int) -> int:
    """Display width up to ``column`` (CJK characters take two cells)."""
    from rich.cells import cell_len

    return cell_len(text[: max(column - 1, 0)])


def render_text(diags: Sequence[Diagnostic], out: Console, lang: str = "both") -> None:
    snippets = _Snippets()
    for d in diags:
        head = RichText()
        head.append(f"{d.location}: " if d.location else "", style="bold")
        head.append(f"{d.severity.value}[{d.code}] ", style=_STYLE[d.severity])
        head.append(d.message.zh if lang != "en" else d.message.en, style="bold")
        out.print(head)
        if lang == "both":
            out.print(RichText(f"    {d.message.en}"))
        loc = d.location
        if loc is not None and loc.line > 0 and loc.sheet is None:
            src = snippets.line(loc.file, loc.line)
            if src is not None:
                gutter = f"{loc.line:>5} │ "
                out.print(RichText(gutter + src.replace("\t", " "), style="dim"))
                out.print(RichText(" " * (len(gutter) - 2) + "│ " + " " * _caret_offset(src, loc.column) + "^", style=_STYLE[d.severity]))
        if d.hint is not None:
            if lang in ("both", "zh") and d.hint.zh:
                out.print(RichText(f"    提示：{d.hint.zh}", style="green"))
            if lang in ("both", "en") and d.hint.en:
                out.print(RichText(f"    hint: {d.hint.en}", style="green"))
        for rel in d.related:
            msg = rel.message.render(lang)
            out.print(RichText(f"    → {rel.location}: {msg}", style="dim"))
    out.print(RichText(summary(diags, lang), style="bold"))


def summary(diags: Sequence[Diagnostic], lang: str = "both") -> str:
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diags if d.severity is Severity.WARNING)
    infos = len(diags) - errors - warnings
    if not diags:
        zh, en = "没有发现问题", "no problems found"
    else:
        zh = f"{errors} 个错误，{warnings} 个警告" + (f"，{infos} 个提示" if infos else "")
        en = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}" + (
            f", {infos} info" if infos else ""
        )
    return {"zh": zh, "en": en}.get(lang, f"{zh} / {en}")


def diagnostics_json(diags: Sequence[Diagnostic], **extra: Any) -> str:
    counts = {s.value: sum(1 for d in diags if d.severity is s) for s in Severity}
    payload = {"diagnostics": [d.to_dict() for d in diags], "counts": counts, **extra}
    return json.dumps(payload, ensure_ascii=False, indent=2)
