"""Surgical edits of YAML spec files that keep everything a person wrote.

Instead of loading and re-dumping a file (which loses comments, quoting, flow style and key order),
an edit replaces or inserts text at the exact character span of a node, found by composing the
file. Untouched bytes stay untouched, so a reviewer's diff shows only what changed. After editing,
the file is parsed again and the caller can check the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ybt.load import PathKey

_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN = re.compile(r"^[A-Za-z_\u3400-\u9fff][A-Za-z0-9_.\-\u3400-\u9fff（）、·]*$")
_RESERVED_PLAIN = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


def scalar_text(value: str | int | float | bool) -> str:
    """A scalar as YAML text: plain when that reads back as the same string, quoted otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if _PLAIN.match(value) and value.lower() not in _RESERVED_PLAIN:
        return value
    return json.dumps(value, ensure_ascii=False)


class EditError(Exception):
    """The file does not have the shape an edit expects (it changed since it was analysed)."""


@dataclass(frozen=True, slots=True)
class _Splice:
    start: int
    end: int
    text: str
    order: int


@dataclass
class YamlEditor:
    """Collects edits against one file's original text and applies them together."""

    text: str
    splices: list[_Splice] = field(default_factory=list)
    _docs: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._docs = [d for d in yaml.compose_all(self.text, Loader=_Composer)]

    # --- finding nodes -----------------------------------------------------------------------

    def node(self, doc: int, path: PathKey) -> Node:
        node: Node = self._docs[doc]
        for part in path:
            node = self._child(node, part, path)
        return node

    def find(self, doc: int, path: PathKey) -> Node | None:
        try:
            return self.node(doc, path)
        except EditError:
            return None

    @staticmethod
    def _child(node: Node, part: str | int, path: PathKey) -> Node:
        if isinstance(part, int) and isinstance(node, SequenceNode) and 0 <= part < len(node.value):
            child: Node = node.value[part]
            return child
        if isinstance(part, str) and isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value == part:
                    return v  # type: ignore[no-any-return]
        raise EditError(f"no node at {'/'.join(map(str, path))}")

    def _key(self, mapping: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
        for k, v in mapping.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return k, v
        return None

    # --- edits -------------------------------------------------------------------------------

    def _add(self, start: int, end: int, text: str) -> None:
        self.splices.append(_Splice(start, end, text, len(self.splices)))

    def set_scalar(self, doc: int, path: PathKey, value: str | int | float | bool) -> None:
        node = self.node(doc, path)
        if not isinstance(node, ScalarNode):
            raise EditError(f"{'/'.join(map(str, path))} is not a scalar")
        self._add(node.start_mark.index, node.end_mark.index, scalar_text(value))

    def set_key(self, doc: int, mapping_path: PathKey, key: str, value: str | int | float | bool | Sequence[str], after: str | None = None) -> None:
        """Set ``key`` in a mapping: replace its value, or insert it after ``after`` (or last)."""
        mapping = self.node(doc, mapping_path)
        if not isinstance(mapping, MappingNode):
            raise EditError(f"{'/'.join(map(str, mapping_path))} is not a mapping")
        rendered = self._render(value)
        existing = self._key(mapping, key)
        if existing is not None:
            _, v = existing
            self._add(v.start_mark.index, v.end_mark.index, rendered)
            return
        if mapping.flow_style:
            anchor_entry = self._key(mapping, after) if after else None
            if anchor_entry is not None:
                end = anchor_entry[1].end_mark.index
                self._add(end, end, f", {key}: {rendered}")
                return
            close = self.text.rindex("}", mapping.start_mark.index, mapping.end_mark.index)
            sep = ", " if mapping.value else ""
            self._add(close, close, f"{sep}{key}: {rendered}")
            return
        anchor = self._key(mapping, after) if after else None
        k_node, v_node = anchor if anchor is not None else mapping.value[-1]
        indent = " " * k_node.start_mark.column
        self._add(*self._line_after(v_node), f"{indent}{key}: {rendered}\n")

    def append_item(self, doc: int, list_path: PathKey, value: str) -> None:
        seq = self.node(doc, list_path)
        if not isinstance(seq, SequenceNode):
            raise EditError(f"{'/'.join(map(str, list_path))} is not a list")
        rendered = scalar_text(value)
        if seq.flow_style or not seq.value:
            close = self.text.rindex("]", seq.start_mark.index, seq.end_mark.index)
            sep = ", " if seq.value else ""
            self._add(close, close, f"{sep}{rendered}")
            return
        last = seq.value[-1]
        dash = self.text.rindex("-", 0, last.start_mark.index)
        line_start = self.text.rfind("\n", 0, dash) + 1
        indent = self.text[line_start:dash]
        self._add(*self._line_after(last), f"{indent}- {rendered}\n")

    def remove_item(self, doc: int, item_path: PathKey) -> None:
        """Delete one item of a list (flow: with its comma; block: its whole line)."""
        seq = self.node(doc, item_path[:-1])
        index = item_path[-1]
        if not isinstance(seq, SequenceNode) or not isinstance(index, int) or not 0 <= index < len(seq.value):
            raise EditError(f"no list item at {'/'.join(map(str, item_path))}")
        item = seq.value[index]
        if seq.flow_style:
            if index > 0:
                prev = seq.value[index - 1]
                self._add(prev.end_mark.index, item.end_mark.index, "")
            elif len(seq.value) > 1:
                self._add(item.start_mark.index, seq.value[1].start_mark.index, "")
            else:
                self._add(item.start_mark.index, item.end_mark.index, "")
            return
        dash = self.text.rindex("-", 0, item.start_mark.index)
        start = self.text.rfind("\n", 0, dash) + 1
        end = self._line_after(item)[0]
        self._add(start, end, "")

    def _line_after(self, node: Node) -> tuple[int, int]:
        """Offset at the start of the line after ``node`` ends (block collections end at a line start)."""
        end = node.end_mark.index
        if node.end_mark.column == 0:
            return end, end
        nl = self.text.find("\n", end)
        pos = len(self.text) if nl < 0 else nl + 1
        if nl < 0:
            self._add(pos, pos, "\n")
        return pos, pos

    @staticmethod
    def _render(value: str | int | float | bool | Sequence[str]) -> str:
        if isinstance(value, str | int | float | bool):
            return scalar_text(value)
        return "[" + ", ".join(scalar_text(v) for v in value) + "]"

    def result(self) -> str:
        out = self.text
        for s in sorted(self.splices, key=lambda s: (s.start, s.order), reverse=True):
            out = out[: s.start] + s.text + out[s.end :]
        # Check the edited file is still YAML; callers validate the meaning.
        list(yaml.compose_all(out, Loader=_Composer))
        return out

    @property
    def changed(self) -> bool:
        return bool(self.splices)
