"""Importers: legacy Excel forms and DHIS2 metadata become a draft spec project (``ybt import``).

:mod:`ybt.importers.xlsx` recovers the layout of each form (title, fill-in lines, header block,
numbering row, data rows, footers) and infers value types (:mod:`ybt.importers.values`);
:mod:`ybt.importers.mapping` maps columns of different forms to one field through the duplicate
analysis of :mod:`ybt.analyze.dupes`; :mod:`ybt.importers.draft` writes the spec project;
:mod:`ybt.importers.dhis2` turns DHIS2 metadata packages into the same kind of project.
"""

from __future__ import annotations

from ybt.diagnostics import Text


class ImportFailure(Exception):
    """A file that cannot be imported: a located, bilingual reason (never a traceback)."""

    def __init__(self, file: str, text: Text, hint: Text | None = None) -> None:
        super().__init__(text.en)
        self.file = file
        self.text = text
        self.hint = hint
