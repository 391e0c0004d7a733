"""The compiler pipeline: load → validate → resolve (→ analyze → check → emit).

Each stage is its own module and they meet only in the shared model (:mod:`ybt.model`) and the
diagnostics collector. This module runs them in order and never stops at the first problem: a
bad file is reported and the rest are still checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ybt.diagnostics import Diagnostic, Diagnostics, Severity
from ybt.load import Limits, LoadedProject, env_limits, load_project
from ybt.model import Project
from ybt.resolve import resolve
from ybt.validate import validate_project


@dataclass(frozen=True, slots=True)
class CompileResult:
    root: Path
    project: Project | None
    loaded: LoadedProject | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.project is not None and not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def error_count(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)


def compile_project(root: Path, limits: Limits | None = None) -> CompileResult:
    """Load, validate and resolve the project at ``root``."""
    diags = Diagnostics()
    loaded = load_project(Path(root), diags, limits or env_limits())
    if loaded is None:
        return CompileResult(Path(root), None, None, tuple(diags.sorted()))
    validated = validate_project(loaded, diags)
    project = resolve(loaded, validated, diags)
    return CompileResult(Path(root), project, loaded, tuple(diags.sorted()))
