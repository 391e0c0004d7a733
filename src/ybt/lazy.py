"""A mapping built as a whole the first time anything asks for it.

Used where a whole-project structure is usually not needed at all: the organisation tree the
incremental check rebuilds only when a rule asks for org units, the node positions of the project
file, and the parts of the check cache a typical edit does not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Deferred(MutableMapping[K, V]):
    """``build()`` runs on first use; the mapping is then an ordinary dict.

    Pickled, it keeps only ``build`` (which must then be picklable, e.g. a ``functools.partial`` of a
    module-level function) and builds again wherever it is unpickled.
    """

    def __init__(self, build: Callable[[], dict[K, V]]) -> None:
        self._build = build
        self._data: dict[K, V] | None = None

    def _get(self) -> dict[K, V]:
        if self._data is None:
            self._data = self._build()
        return self._data

    @property
    def built(self) -> bool:
        return self._data is not None

    def __getstate__(self) -> Callable[[], dict[K, V]]:
        return self._build

    def __setstate__(self, build: Callable[[], dict[K, V]]) -> None:
        self._build, self._data = build, None

    def __getitem__(self, key: K) -> V:
        return self._get()[key]

    def __setitem__(self, key: K, value: V) -> None:
        self._get()[key] = value

    def __delitem__(self, key: K) -> None:
        del self._get()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return f"Deferred({self._data!r})" if self._data is not None else "Deferred(<not built>)"
