"""Rendering diagnostics: the same :class:`~ybt.diagnostics.Diagnostic` objects as text or JSON.

Text goes through rich (colours on a terminal, plain text in pipes and CI logs) and shows the source
line with a caret under the column. User text is never interpreted as rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text as RichText

from ybt.analyze.burden import LEVEL_ZH, Burden
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
        en = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}" + (f", {infos} info" if infos else "")
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
    out.print(RichText(t(f"同一字段不同频次采集：{len(conflicts)} 个", f"Same field asked at different frequencies: {len(conflicts)}"), style="bold"))
    for conflict in conflicts[:limit]:
        parts = "；".join(f"{freq}: {len(reports)} 张" if lang != "en" else f"{freq}: {len(reports)}" for freq, reports in conflict.frequencies.items())
        out.print(RichText(f"    {conflict.label} ({conflict.field.split('.', 1)[1]})  {parts}"))


# --- burden ------------------------------------------------------------------------------------


def render_burden(burden: Burden, out: Console, lang: str = "both", compared: Mapping[str, Any] | None = None, other: Burden | None = None) -> None:
    def t(zh: str, en: str) -> str:
        return {"zh": zh, "en": en}.get(lang, f"{zh} {en}")

    def table_for(b: Burden, level: str) -> Table:
        table = Table(box=None, pad_edge=False)
        for name in (t("部门", "dept"), t("报表种类", "kinds"), t("自动生成", "derived"), t("月均报表", "reports/mo"), t("年录入项", "entries/yr"),
                     t("台账维护", "ledger/yr"), t("可预填", "prefill"), t("年工时", "hours/yr"), t("每表分钟", "min/report")):  # fmt: skip
            table.add_column(name, justify="right" if table.columns else "left")
        for r in [*(r for r in b.rows if r.level == level), b.levels[level]]:
            d = r.to_dict()
            table.add_row(
                t("合计", "total") if r.department == "*" else r.department,
                str(d["report_kinds"]),
                str(d["derived_report_kinds"]),
                f"{d['reports_per_month']:.1f}",
                f"{d['entries_per_year']:,}",
                f"{d['ledger_entries_per_year']:,}",
                f"{d['prefillable_share']:.0%}",
                f"{d['hours_per_year']:,.1f}",
                f"{d['minutes_per_report']:.0f}",
            )
        return table

    for level, total in burden.levels.items():
        out.print(RichText(t(f"{LEVEL_ZH.get(level, level)}（每个单位，共 {total.units} 个）", f"{level} (per unit, {total.units} units)"), style="bold"))
        out.print(table_for(burden, level))
        out.print()
    if compared is not None and other is not None:
        out.print(RichText(t(f"对比：{other.source} → {burden.source}", f"compared: {other.source} → {burden.source}"), style="bold"))
        cmp = Table(box=None, pad_edge=False)
        for name in (
            t("层级", "level"),
            t("月均报表", "reports/month"),
            t("年录入项", "entries/year"),
            t("年工时", "hours/year"),
            t("每表分钟", "minutes/report"),
        ):
            cmp.add_column(name, justify="right" if cmp.columns else "left")
        for level, c in compared.items():
            b, a = c["before"], c["after"]
            cmp.add_row(
                LEVEL_ZH.get(level, level) if lang != "en" else level,
                f"{b['reports_per_month']:.1f} → {a['reports_per_month']:.1f}",
                f"{b['entries_per_year'] + b['ledger_entries_per_year']:,} → {a['entries_per_year'] + a['ledger_entries_per_year']:,}",
                f"{b['hours_per_year']:,.1f} → {a['hours_per_year']:,.1f}",
                f"{b['minutes_per_report']:.0f} → {a['minutes_per_report']:.0f}",
            )
        out.print(cmp)
    a = burden.assumptions
    out.print(
        RichText(
            t(
                f"假设：每项录入 {a['minutes_per_entry']} 分钟，自动生成的报表审核 {a['review_minutes']} 分钟，"
                f"花名册缺省 {a['default_roster_rows']} 行，台账每年更新 {a['ledger_update_share']:.0%}（见 ybt.yaml policy）",
                f"assumptions: {a['minutes_per_entry']} min per entry, {a['review_minutes']} min to review a derived report, "
                f"{a['default_roster_rows']} roster rows, {a['ledger_update_share']:.0%} of ledger values updated a year (ybt.yaml policy)",
            ),
            style="dim",
        )
    )
