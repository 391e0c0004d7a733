"""Command plug-ins: each module here defines ``register(app)`` adding its commands to the ``ybt`` CLI.

The core commands (compile, validate, check, dupes, merge, burden, schema, rule) live in
:mod:`ybt.cli`; larger areas (SQL and the data pool, Excel, importers, the docs portal) each keep their
commands in a module of this package, so that they can grow without touching one another.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)
