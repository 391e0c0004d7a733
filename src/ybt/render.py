"""Rendering diagnostics: the same :class:`~ybt.diagnostics.Diagnostic` objects as text or JSON.

Text goes through rich (colours on a terminal, plain text in pipes and CI logs) and shows the source
line with a caret under the column. User text is never interpreted as rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text as RichText

from ybt.analyze.dupes import DupesResult
from ybt.diagnostics import Diagnostic, Severity
from ybt.load import file_lines
from ybt.model import Project

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


# --- duplicate analysis -----------------------------------------------------------------------


def render_dupes(result: DupesResult, project: Project, out: Console, lang: str = "both", limit: int = 50) -> None:
    """Field clusters, report overlaps and frequency conflicts as a person reads them."""

    def t(zh: str, en: str) -> str:
        return {"zh": zh, "en": en}.get(lang, f"{zh} / {en}")

    clusters = result.field_clusters
    dup_fields = sum(len(c.members) - 1 for c in clusters)
    out.print(
        RichText(
            t(
                f"字段重复：{len(clusters)} 组，可去掉 {dup_fields} 个重复字段",
                f"Field clusters: {len(clusters)}, {dup_fields} duplicate fields",
            ),
            style="bold",
        )
    )
    for c in clusters:
        head = RichText()
        head.append(f"{c.id} ", style="bold cyan")
        head.append(f"{c.canonical_qualified} ", style="bold")
        head.append(project.field_label(c.canonical))
        head.append(f"  score {c.score:.2f}", style="dim")
        out.print(head)
        out.print(RichText("    " + t("选择理由：", "why: ") + c.why.render(lang), style="dim"))
        ev = " · ".join(e.text.zh if lang != "en" else e.text.en for e in c.evidence)
        out.print(RichText("    " + t("证据：", "evidence: ") + ev, style="dim"))
        width = max(len(m.qualified) for m in c.members)
        for m in c.members:
            line = RichText("    ")
            line.append("★ " if m.uid == c.canonical else "- ", style="green" if m.uid == c.canonical else "")
            line.append(f"{m.qualified:<{width}}  ")
            line.append(f"{m.label}  ")
            line.append(f"{m.file}:{m.line}", style="dim")
            out.print(line)
    overlaps = result.report_overlaps
    out.print()
    out.print(RichText(t(f"报表重叠：{len(overlaps)} 对", f"Report overlaps: {len(overlaps)} pairs"), style="bold"))
    if overlaps:
        table = Table(show_lines=False, box=None, pad_edge=False)
        for col in (
            t("报表 A", "report A"),
            t("报表 B", "report B"),
            t("共同栏目", "shared"),
            "jaccard",
            t("包含度", "containment"),
            t("频次", "frequency"),
        ):
            table.add_column(col)
        for o in overlaps[:limit]:
            ra, rb = project.reports[o.a], project.reports[o.b]
            freq = o.frequencies[0] if o.frequencies[0] == o.frequencies[1] else f"{o.frequencies[0]} ≠ {o.frequencies[1]}"
            table.add_row(
                f"{ra.qualified} {ra.title}",
                f"{rb.qualified} {rb.title}",
                str(len(o.shared_fields)),
                f"{o.jaccard:.2f}",
                f"{o.containment:.2f}" + (" ⊂" if o.a_within_b else ""),
                freq,
            )
        out.print(table)
        if len(overlaps) > limit:
            out.print(
                RichText(
                    t(f"……另有 {len(overlaps) - limit} 对，见 --format json", f"… {len(overlaps) - limit} more, see --format json"),
                    style="dim",
                )
            )
    conflicts = result.frequency_conflicts
    out.print()
    out.print(
        RichText(
            t(f"同一字段不同频次采集：{len(conflicts)} 个", f"Same field asked at different frequencies: {len(conflicts)}"), style="bold"
        )
    )
    for conflict in conflicts[:limit]:
        parts = "；".join(
            f"{freq}: {len(reports)} 张" if lang != "en" else f"{freq}: {len(reports)}" for freq, reports in conflict.frequencies.items()
        )
        out.print(RichText(f"    {conflict.label} ({conflict.field.split('.', 1)[1]})  {parts}"))
