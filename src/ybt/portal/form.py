"""The form preview: a report's header as its Excel template shows it, merged cells and all.

Column groups (``group: [基本情况, 户籍]``) become header rows above the column labels: consecutive
columns with the same group path share one merged cell (colspan); a column with fewer group levels
than the deepest has its label cell stretched down (rowspan), as in a hand-made 花名册.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def header_rows(columns: Sequence[Column]) -> list[list[HeaderCell]]:
    """Rows of header cells, top to bottom; every row's cells are in column order."""
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
                note = "；".join(x for x in (f"单位：{col.unit}" if col.unit else "", col.note or "") if x) or None
                row.append(HeaderCell(col.label, rowspan=depth - level, leaf=True, title=note))
            i += 1
        rows.append(row)
    return rows
