"""Charts as SVG strings, drawn in Python: no chart library, no script, no external service.

Every chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>``; the pages put the same figures
in a table next to it for screen readers and for copying. Text is measured roughly (a CJK character is
one em wide, Latin about 0.6 em), which is all the layout needs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

FONT = 12
BEFORE, AFTER, BAR = "#b8b8b8", "#1f6f8b", "#1f6f8b"


def text_width(text: str, size: float = FONT) -> float:
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else 0.6 * size for ch in text)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _fmt(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.1f}"


def _svg(width: float, height: float, title: str, desc: str, body: list[str], css_class: str) -> str:
    w, h = round(width), round(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'role="img" aria-labelledby="{css_class}-t {css_class}-d">'
        f'<title id="{css_class}-t">{_e(title)}</title><desc id="{css_class}-d">{_e(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _heat(value: float, top: float) -> str:
    """White → deep red; 0 stays white."""
    if value <= 0 or top <= 0:
        return "#ffffff"
    t = min(1.0, value / top) ** 0.7
    lo, hi = (255, 236, 222), (165, 15, 21)
    r, g, b = (round(lo[i] + (hi[i] - lo[i]) * t) for i in range(3))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str, desc: str, cell_note: str = "{a} × {b}：{v}", css_class: str = "heatmap"
) -> str:
    """A symmetric matrix as coloured cells with row and column labels (columns written vertically)."""
    n = len(labels)
    cell = 34
    left = max((text_width(lbl) for lbl in labels), default=0) + 10
    top = max((FONT * len(lbl) for lbl in labels), default=0) * 1.05 + 10
    peak = max((v for row in matrix for v in row), default=0)
    body = []
    for j, lbl in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(f'<text class="lbl" x="{x:.1f}" y="{top - 6:.1f}" writing-mode="vertical-rl" text-anchor="end" font-size="{FONT}">{_e(lbl)}</text>')
    for i, lbl in enumerate(labels):
        y = top + i * cell
        body.append(f'<text class="lbl" x="{left - 6:.1f}" y="{y + cell / 2 + FONT / 3:.1f}" text-anchor="end" font-size="{FONT}">{_e(lbl)}</text>')
        for j in range(n):
            v = matrix[i][j]
            x = left + j * cell
            note = cell_note.format(a=lbl, b=labels[j], v=v)
            fill = _heat(v, peak)
            body.append(f'<g><title>{_e(note)}</title><rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" stroke="#d0d0d0"/>')
            if v:
                colour = "#ffffff" if v / max(peak, 1) > 0.45 else "#222222"
                body.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 + FONT / 3:.1f}" text-anchor="middle" font-size="{FONT}" fill="{colour}">{v}</text>')
            body.append("</g>")
    width = left + n * cell + 10
    height = top + n * cell + 10
    return _svg(width, height, title, desc, body, css_class)


def hbars(items: Sequence[tuple[str, float, str]], title: str, desc: str, css_class: str, unit: str = "") -> str:
    """Horizontal bars: (label, value, tooltip) per row, longest first as given."""
    row_h, bar_w = 24, 360
    left = max((text_width(lbl) for lbl, _, _ in items), default=0) + 12
    peak = max((v for _, v, _ in items), default=0) or 1
    body = []
    for i, (lbl, v, note) in enumerate(items):
        y = 8 + i * row_h
        w = bar_w * v / peak
        body.append(f"<g><title>{_e(note or f'{lbl}：{_fmt(v)}{unit}')}</title>")
        body.append(f'<text class="lbl" x="{left - 6:.1f}" y="{y + 15}" text-anchor="end" font-size="{FONT}">{_e(lbl)}</text>')
        body.append(f'<rect x="{left:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{BAR}"/>')
        body.append(f'<text x="{left + w + 5:.1f}" y="{y + 15}" font-size="{FONT}">{_fmt(v)}{_e(unit)}</text></g>')
    return _svg(left + bar_w + 90, 16 + len(items) * row_h, title, desc, body, css_class)


def paired_bars(items: Sequence[tuple[str, float, float]], title: str, desc: str, css_class: str, legend: tuple[str, str], unit: str = "") -> str:
    """Two bars per row (before in grey, after in colour), with a legend: before → after figures."""
    row_h, bar_w = 40, 320
    left = max((text_width(lbl) for lbl, _, _ in items), default=0) + 12
    peak = max((max(b, a) for _, b, a in items), default=0) or 1
    body = [
        f'<rect x="{left:.1f}" y="4" width="12" height="12" fill="{BEFORE}"/><text x="{left + 16:.1f}" y="14" font-size="{FONT}">{_e(legend[0])}</text>',
        f'<rect x="{left + 30 + text_width(legend[0]):.1f}" y="4" width="12" height="12" fill="{AFTER}"/>'
        f'<text x="{left + 46 + text_width(legend[0]):.1f}" y="14" font-size="{FONT}">{_e(legend[1])}</text>',
    ]
    for i, (lbl, before, after) in enumerate(items):
        y = 26 + i * row_h
        body.append(f"<g><title>{_e(f'{lbl}：{_fmt(before)} → {_fmt(after)}{unit}')}</title>")
        body.append(f'<text class="lbl" x="{left - 6:.1f}" y="{y + 20}" text-anchor="end" font-size="{FONT}">{_e(lbl)}</text>')
        for k, (v, colour) in enumerate(((before, BEFORE), (after, AFTER))):
            w = bar_w * v / peak
            yy = y + 2 + k * 17
            body.append(f'<rect x="{left:.1f}" y="{yy}" width="{max(w, 1):.1f}" height="15" fill="{colour}"/>')
            body.append(f'<text x="{left + w + 5:.1f}" y="{yy + 12}" font-size="{FONT - 1}">{_fmt(v)}{_e(unit)}</text>')
        body.append("</g>")
    return _svg(left + bar_w + 110, 30 + len(items) * row_h, title, desc, body, css_class)


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    label: str
    #: Where the node links to (a page URL), or None.
    href: str | None = None
    kind: str = ""


def _barycentre(order: list[str], neighbours: Mapping[str, list[str]], position: Mapping[str, float]) -> list[str]:
    def key(node: str) -> tuple[float, int]:
        pos = [position[n] for n in neighbours.get(node, []) if n in position]
        return (sum(pos) / len(pos) if pos else float(order.index(node)), order.index(node))

    return sorted(order, key=key)


def layered_graph(layers: Sequence[Sequence[Node]], edges: Sequence[tuple[str, str]], title: str, desc: str, css_class: str = "lineage") -> str:
    """A left-to-right layered drawing: nodes in columns, edge crossings reduced by barycentre sweeps."""
    order = [[n.key for n in layer] for layer in layers]
    nodes = {n.key: n for layer in layers for n in layer}
    right: dict[str, list[str]] = {}
    left_of: dict[str, list[str]] = {}
    for a, b in edges:
        right.setdefault(a, []).append(b)
        left_of.setdefault(b, []).append(a)
    for _ in range(4):
        for i in range(1, len(order)):
            pos = {k: float(n) for n, k in enumerate(order[i - 1])}
            order[i] = _barycentre(order[i], left_of, pos)
        for i in range(len(order) - 2, -1, -1):
            pos = {k: float(n) for n, k in enumerate(order[i + 1])}
            order[i] = _barycentre(order[i], right, pos)
    row_h, gap = 26, 90
    widths = [max((text_width(nodes[k].label) for k in col), default=60) + 20 for col in order]
    rows = max((len(col) for col in order), default=0)
    height = rows * row_h + 20
    xs: list[float] = []
    x = 10.0
    for w in widths:
        xs.append(x)
        x += w + gap
    place: dict[str, tuple[float, float, float]] = {}
    for i, col in enumerate(order):
        offset = (rows - len(col)) * row_h / 2
        for n, k in enumerate(col):
            place[k] = (xs[i], 10 + offset + n * row_h, widths[i])
    body = []
    for a, b in edges:
        if a not in place or b not in place:
            continue
        ax, ay, aw = place[a]
        bx, by, _ = place[b]
        x1, y1, x2, y2 = ax + aw, ay + row_h / 2 - 2, bx, by + row_h / 2 - 2
        mid = (x1 + x2) / 2
        note = f"{nodes[a].label} → {nodes[b].label}"
        body.append(f'<path d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" class="edge"><title>{_e(note)}</title></path>')
    for k, (nx, ny, w) in place.items():
        node = nodes[k]
        box = (
            f'<rect x="{nx:.1f}" y="{ny:.1f}" width="{w:.1f}" height="{row_h - 6}" rx="4" class="node {node.kind}"/>'
            f'<text x="{nx + 10:.1f}" y="{ny + row_h / 2 + 2:.1f}" font-size="{FONT}">{_e(node.label)}</text>'
        )
        if node.href:
            body.append(f'<a href="{_e(node.href)}"><title>{_e(node.label)}</title>{box}</a>')
        else:
            body.append(f"<g><title>{_e(node.label)}</title>{box}</g>")
    return _svg(x - gap + 10, height, title, desc, body, css_class)
