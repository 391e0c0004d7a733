"""Excel for the grass roots (发填审报, issue 7): fillable templates, ingest of filled workbooks, one-click reports.

:mod:`ybt.excel.forms` says which forms get templates and what their columns are;
:mod:`ybt.excel.template` writes templates, :mod:`ybt.excel.ingest` checks and loads filled ones into
the data pool, :mod:`ybt.excel.export` produces a department's report from the pool. See docs/excel.md.
"""
