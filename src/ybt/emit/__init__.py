"""Generators: plug-ins that turn the resolved model into artefacts (manifest, SQL, Excel, docs).

A generator is registered under a target name and returns the files it would write, as a mapping of
relative path → bytes; the caller writes them atomically. Generators read only the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ybt.diagnostics import Text
from ybt.model import Project

GenerateFn = Callable[[Project, Mapping[str, Any]], dict[str, bytes]]


@dataclass(frozen=True, slots=True)
class Generator:
    target: str
    description: Text
    generate: GenerateFn


_GENERATORS: dict[str, Generator] = {}


def register(generator: Generator) -> Generator:
    if generator.target in _GENERATORS:
        raise ValueError(f"generator {generator.target!r} registered twice")
    _GENERATORS[generator.target] = generator
    return generator


def get(target: str) -> Generator | None:
    _load_builtins()
    return _GENERATORS.get(target)


def targets() -> list[str]:
    _load_builtins()
    return sorted(_GENERATORS)


def _load_builtins() -> None:
    from ybt.emit import manifest, sql  # noqa: F401  (register themselves)
