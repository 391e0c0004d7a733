"""The Excel loop on a real PostgreSQL pool: ingest, re-ingest, prefill and export (skipped without a server)."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from conftest import EXAMPLES
from excelfill import fill, good_rows
from ybt.excel.export import export
from ybt.excel.forms import find_form
from ybt.excel.ingest import HISTORY, ingest
from ybt.excel.prefill import prefill_rows
from ybt.excel.template import write_template
from ybt.pipeline import compile_project
from ybt.sql.pool import init, query

pytest_plugins = ["pg"]
ORG = "500198100201"


def test_excel_loop_on_postgres(pg_database: str, tmp_path: Path) -> None:
    project = compile_project(EXAMPLES / "minimal").project
    assert project is not None
    init(project, pg_database)
    form, _ = find_form(project, "disabled_persons")
    assert form is not None
    tpl = write_template(project, form, tmp_path / "t.xlsx", org=ORG)
    filled = tmp_path / "f.xlsx"
    fill(tpl, filled, good_rows(project, form, 3))
    [res] = ingest([filled], pg_database, who="pg")
    assert res.ok and res.inserted == 3, [d.message for d in res.diagnostics]
    [again] = ingest([filled], pg_database)
    assert again.ok and again.unchanged == 3 and not again.written
    assert query(pg_database, f'SELECT COUNT(*) FROM "{HISTORY}"')[1][0][0] == 3
    pre = write_template(project, form, tmp_path / "pre.xlsx", org=ORG, rows=prefill_rows(pg_database, form, ORG, None))
    ws = openpyxl.load_workbook(pre).worksheets[0]
    assert [ws.cell(r, 1).value is not None for r in (4, 5, 6, 7)] == [True, True, True, False]
    [same] = ingest([pre], pg_database)
    assert same.ok and same.unchanged == 3, [d.message for d in same.diagnostics]
    out = tmp_path / "r.xlsx"
    assert export(project, pg_database, "cl.severe_disability_roster", out, as_dept="mz").rows >= 0
