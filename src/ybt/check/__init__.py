"""Stage 5 — check: the admission rules (表格准入) and catalog hygiene, as a registry of lint rules.

Rules live in :mod:`ybt.check.rules`, one small function each, registered with a stable code, a
kebab-case name, a family, a default severity, a summary and an explanation (``ybt rule CODE``).
:mod:`ybt.check.engine` runs them and applies configuration, selection, inline suppressions and the
baseline; :mod:`ybt.check.formats` renders the findings (text, JSON, SARIF, GitHub, JUnit).
"""
