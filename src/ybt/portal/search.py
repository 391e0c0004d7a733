"""The portal's search index: ids, labels, aliases and their pinyin initials (身份证号 → sfzh).

Initials are worked out at build time with pypinyin, so the browser only compares strings. When
pypinyin is missing the index simply has no initials (search by Chinese text and ids still works).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

_ASCII = re.compile(r"[a-z0-9]")


@cache
def _pinyin_available() -> bool:
    try:
        import pypinyin  # noqa: F401
    except ImportError:
        return False
    return True


def initials(text: str) -> str:
    """Lower-case pinyin initials of the Chinese characters in ``text``; ASCII letters and digits kept.

    ``身份证号`` → ``sfzh``; ``月保障金（元）`` → ``ybzjy``; punctuation is dropped.
    """
    if not _pinyin_available():
        return ""
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for part in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default"):
        out.extend(ch for ch in part.lower() if _ASCII.match(ch))
    return "".join(out)


def all_initials(names: Iterable[str]) -> list[str]:
    """Initials of every name, without repeats or empties, in order."""
    return [i for i in dict.fromkeys(initials(n) for n in names) if i]


def entry(key: str, url: str, kind: str, title: str, ident: str, names: Iterable[str], note: str = "", weight: int = 0) -> list[Any]:
    """One row of the index, kept compact: [url, kind, title, id, names, initials, note, weight].

    ``names`` are the label and aliases (searched as text); ``key`` is the page key, kept for tests.
    """
    names = [n for n in dict.fromkeys([title, *names]) if n]
    return [url, kind, title, ident, names, all_initials(names), note, weight, key]
