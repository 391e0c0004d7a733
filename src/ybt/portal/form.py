"""The form preview: a report's header as its Excel template shows it, merged cells and all.

Column groups (``group: [基本情况, 户籍]``) become header rows above the column labels: consecutive
columns with the same group path share one merged cell (colspan); a column with fewer group levels
than the deepest has its label cell stretched down (rowspan), as in a hand-made 花名册.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ybt.model import Column


@dataclass(frozen=True, slots=True)
class HeaderCell:
    text: str
    colspan: int = 1
    rowspan: int = 1
    #: A column label (the leaf of the header) rather than a group.
    leaf: bool = False
    #: A note shown as the cell's tooltip (the column's unit or note).
    title: str | None = None


def leaf_text(col: Column, unit: str | None = None) -> str:
    """A column's header text as the Excel template writes it: ``*`` when required, the unit in brackets."""
    text = col.label + (f"（{unit}）" if unit and f"（{unit}）" not in col.label else "")
    return ("*" + text) if col.required else text


def header_rows(columns: Sequence[Column], units: Mapping[str, str | None] | None = None) -> list[list[HeaderCell]]:
    """Rows of header cells, top to bottom; every row's cells are in column order.

    ``units`` maps a column id to its unit (the column's own or its field's), written after the label.
    """
    if not columns:
        return []
    depth = max(len(c.group) for c in columns) + 1
    rows: list[list[HeaderCell]] = []
    for level in range(depth):
        row: list[HeaderCell] = []
        i = 0
        while i < len(columns):
            col = columns[i]
            if len(col.group) > level:
                path = col.group[: level + 1]
                j = i + 1
                while j < len(columns) and len(columns[j].group) > level and columns[j].group[: level + 1] == path:
                    j += 1
                row.append(HeaderCell(path[-1], colspan=j - i))
                i = j
                continue
            if len(col.group) == level:
                unit = (units or {}).get(col.id, col.unit)
                row.append(HeaderCell(leaf_text(col, unit), rowspan=depth - level, leaf=True, title=col.note))
            i += 1
        rows.append(row)
    return rows
