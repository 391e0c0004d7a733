"""Stage 1 — load: find the spec files of a project and its libraries and read them safely.

Every YAML node keeps its file, line and column. Documents are composed with libyaml (when present)
and built into plain Python values by this module, so that:

* duplicate keys are errors (PyYAML silently keeps the last one);
* only the YAML core tags are accepted (no ``!!python/object``);
* aliases may not expand into a huge document (alias bombs), nest too deep, or recurse;
* dates stay the strings the user wrote, and mapping keys stay the text the user wrote
  (``no:`` is the key ``"no"``, not ``False``).

Nothing here interprets the documents: that is :mod:`ybt.validate` and :mod:`ybt.resolve`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import marshal
import operator
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ybt import fork, gcpause
from ybt import registry as codes
from ybt._resources import library_dir, library_names
from ybt.diagnostics import Diagnostic, Diagnostics, Location, Related, Text, pack_diagnostics, unpack_diagnostics
from ybt.progress import progress

PathKey = tuple[str | int, ...]

PROJECT_FILE = "ybt.yaml"
LIBRARY_FILE = "library.yaml"
DEFAULT_INCLUDE = ("**/*.yaml", "**/*.yml")
_DEFAULT_SUFFIXES = tuple(pattern.removeprefix("**/*") for pattern in DEFAULT_INCLUDE)
#: Directories never searched for specs: build output and tool state.
DEFAULT_EXCLUDE_DIRS = frozenset({"target", "node_modules", "__pycache__"})

_Composer: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety limits for one file. The defaults fit a province-size project many times over."""

    max_file_bytes: int = 8 * 1024 * 1024
    max_nodes: int = 2_000_000
    max_depth: int = 64


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document with the position of every node in it."""

    file: str  # display path (relative to the working directory where possible)
    rel: str  # path relative to the root of its project or library, POSIX
    index: int  # 0-based position of the document in its file
    data: Any
    positions: Mapping[PathKey, tuple[int, int]]  # value node → (line, column), 1-based
    key_positions: Mapping[PathKey, tuple[int, int]]  # mapping entry → position of its key

    def loc(self, path: PathKey = (), *, key: bool = False) -> Location:
        """Location of the node at ``path`` (or of its key), falling back to the nearest ancestor."""
        if key and path in self.key_positions:
            line, col = self.key_positions[path]
            return Location(self.file, line, col)
        p = tuple(path)
        while True:
            pos = self.positions.get(p)
            if pos is not None:
                return Location(self.file, pos[0], pos[1])
            if not p:
                return Location(self.file, 1, 1)
            p = p[:-1]

    @property
    def kind(self) -> str | None:
        k = self.data.get("kind") if isinstance(self.data, dict) else None
        return k if isinstance(k, str) else None

    def as_builtins(self) -> tuple[Any, ...]:
        """The document as builtins only, for :mod:`marshal` (the parsing child's pipe, the check
        cache's store of parsed files); ``Document(*t)`` makes it again."""
        positions, keys = self.positions, self.key_positions
        return (
            self.file,
            self.rel,
            self.index,
            self.data,
            positions if type(positions) is dict else dict(positions),
            keys if type(keys) is dict else dict(keys),
        )


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    file: str  # display path
    rel: str
    sha256: str
    documents: tuple[Document, ...]


@dataclass(frozen=True, slots=True)
class SourceSet:
    """A project or a library: its root, its config document (ybt.yaml / library.yaml) and spec files."""

    name: str
    root: Path
    is_library: bool
    config_file: SourceFile | None
    files: tuple[SourceFile, ...]

    @property
    def config(self) -> Document | None:
        cf = self.config_file
        return cf.documents[0] if cf is not None and cf.documents else None

    def all_files(self) -> Iterator[SourceFile]:
        if self.config_file is not None:
            yield self.config_file
        yield from self.files


@dataclass(frozen=True, slots=True)
class LoadedProject:
    project: SourceSet
    libraries: tuple[SourceSet, ...]
    #: Files that could not be read or parsed completely (their later documents are missing).
    broken_files: tuple[str, ...] = ()

    def all_sets(self) -> Iterator[SourceSet]:
        yield from self.libraries
        yield self.project


def display_path(path: Path) -> str:
    """The path as a user would click it: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


class DisplayPaths:
    """``display_path`` for many files, resolving each directory once instead of every file's path.

    A file that is not a symbolic link resolves to its resolved directory plus its name, which gives the
    same result as ``display_path`` with one ``lstat`` instead of one per path component.
    """

    def __init__(self) -> None:
        self.cwd = Path.cwd().resolve().as_posix()
        self.dirs: dict[str, str] = {}

    def __call__(self, path: Path) -> str:
        text = str(path)
        head, sep, name = text.rpartition(os.sep)
        if os.sep != "/" or not name or name in (".", "..") or os.path.islink(text):
            return display_path(path)
        parent = head or sep or "."
        real = self.dirs.get(parent)
        if real is None:
            real = self.dirs[parent] = Path(parent).resolve().as_posix()
        full = f"{real}/{name}" if real != "/" else f"/{name}"
        cwd = self.cwd
        if cwd == "/":
            return full[1:]
        if full.startswith(cwd) and full[len(cwd) : len(cwd) + 1] == "/":
            return full[len(cwd) + 1 :]
        return full


# --------------------------------------------------------------------------------------------
# YAML → values with positions


class _Stop(Exception):
    """Abort building one document (the reason is already recorded)."""


_YAML_MESSAGES: tuple[tuple[str, str, str, str], ...] = (
    (
        "mapping values are not allowed",
        "此处不能出现“键: 值”",
        "常见原因：上一行的值里有冒号却没加引号，或缩进不对；含冒号的文字请用引号括起来",
        "a value containing ': ' needs quotes, or the indentation is off",
    ),
    (
        "could not find expected ':'",
        "缺少冒号“:”",
        "检查键后面是否写了冒号和空格，多行文字的缩进是否一致",
        "check that each key is followed by ': ' and that multi-line text is indented consistently",
    ),
    (
        "tab character",
        "缩进中出现了 Tab 字符",
        "YAML 不允许用 Tab 缩进，请改用空格",
        "YAML does not allow tabs for indentation: use spaces",
    ),
    (
        "cannot start any token",
        "出现了不能开始一个值的字符（常见为 Tab 或 @、` 开头）",
        "YAML 不允许用 Tab 缩进，请改用空格；以 @ 或 ` 开头的文字请加引号",
        "YAML does not allow tabs for indentation: use spaces; quote text that starts with @ or `",
    ),
    (
        "found undefined alias",
        "使用了未定义的别名",
        "先用 &名称 定义锚点，再用 *名称 引用；或者直接写出值",
        "define the anchor with &name before using *name, or write the value out",
    ),
    (
        "did not find expected key",
        "缩进不一致，找不到应有的键",
        "同一层级的键必须对齐；列表项的“-”也要对齐",
        "keys of one mapping must line up, and so must the '-' of list items",
    ),
    (
        "expected <block end>",
        "缩进不一致",
        "同一层级的键必须对齐；检查本行与上一行的缩进",
        "keys of one mapping must line up: compare this line's indentation with the line above",
    ),
    (
        "found unexpected end of stream",
        "文件在引号或括号闭合之前就结束了",
        "检查引号、方括号 [ ] 和花括号 { } 是否成对",
        "check that quotes, [ ] and { } are closed",
    ),
    (
        "did not find expected ',' or ']'",
        "方括号列表没有闭合或缺少逗号",
        "列表写成 [a, b, c]，元素之间用英文逗号",
        "write a flow list as [a, b, c] with commas between items",
    ),
    (
        "did not find expected ',' or '}'",
        "花括号映射没有闭合或缺少逗号",
        "映射写成 {a: 1, b: 2}，条目之间用英文逗号",
        "write a flow mapping as {a: 1, b: 2} with commas between entries",
    ),
    (
        "found unknown escape character",
        "双引号字符串中有无法识别的转义符",
        "双引号里的反斜杠要写成 \\\\，或改用单引号",
        "write a backslash inside double quotes as \\\\, or use single quotes",
    ),
)


def _yaml_error_text(problem: str) -> tuple[Text, Text]:
    for needle, zh, hint_zh, hint_en in _YAML_MESSAGES:
        if needle in problem:
            return Text(zh, problem), Text(hint_zh, hint_en)
    return (
        Text(f"无法解析 YAML：{problem}", problem),
        Text("检查这一行及上一行的缩进、冒号和引号", "check indentation, colons and quotes on this line and the one above"),
    )


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


class _FastResolver(_Composer):  # type: ignore[misc]  # CSafeLoader or SafeLoader: untyped
    """The safe loader with a cheaper resolver that resolves every tag exactly as the safe loader does.

    The composer (libyaml's too) calls back into Python to resolve the tag of every node. The safe
    loader tries regular expressions on each plain scalar; here a plain scalar that no implicit resolver
    could match (by its first character) is text at once, and the others are resolved once per value.
    Only valid without path resolvers, which the safe loader does not have (checked below).
    """

    _first = frozenset(k for k in _Composer.yaml_implicit_resolvers if k)
    _plain: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            if not implicit[0] or (value and value[0] not in self._first):
                return _STR
            tag = self._plain.get(value)
            if tag is None:
                tag = str(super().resolve(kind, value, implicit))
                if len(self._plain) >= 100_000:
                    self._plain.clear()
                self._plain[value] = tag
            return tag
        return _SEQ if kind is SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_Loader: Any = (
    _FastResolver
    if not _Composer.yaml_path_resolvers
    and None not in _Composer.yaml_implicit_resolvers
    and (_Composer.DEFAULT_SCALAR_TAG, _Composer.DEFAULT_SEQUENCE_TAG, _Composer.DEFAULT_MAPPING_TAG) == (_STR, _SEQ, _MAP)
    else _Composer
)


#: One (line, column) tuple for each position, shared by all documents: fewer objects to allocate, to
#: keep in memory and for the garbage collector to visit. Keyed by ``line << 32 | column`` (0-based).
_POSITIONS: dict[int, tuple[int, int]] = {}


def _position(mark: Any) -> tuple[int, int]:
    """The 1-based (line, column) of a mark, shared through ``_POSITIONS``."""
    key = (mark.line << 32) | mark.column
    pos = _POSITIONS.get(key)
    if pos is None:
        if len(_POSITIONS) >= 1_000_000:
            _POSITIONS.clear()
        pos = _POSITIONS[key] = (mark.line + 1, mark.column + 1)
    return pos


class _Builder:
    """Builds plain values from composed nodes, recording positions and checking safety."""

    _scalar = SafeConstructor()

    def __init__(self, file: str, diags: Diagnostics, limits: Limits) -> None:
        self.file = file
        self.diags = diags
        self.limits = limits
        self.max_nodes = limits.max_nodes
        self.max_depth = limits.max_depth
        self.count = 0
        self.active: set[int] = set()
        self.positions: dict[PathKey, tuple[int, int]] = {}
        self.key_positions: dict[PathKey, tuple[int, int]] = {}

    def _unsafe(self, node: Node, zh: str, en: str, hint: Text) -> _Stop:
        m = node.start_mark
        self.diags.error(codes.UNSAFE_YAML, Text(zh, en), Location(self.file, m.line + 1, m.column + 1), hint)
        return _Stop()

    def _limit(self, node: Node, depth: int) -> _Stop | None:
        """The error for a node beyond the limits (counted already), or None."""
        if self.count > self.max_nodes:
            return self._unsafe(
                node,
                f"文档展开后超过 {self.limits.max_nodes:,} 个节点（可能是“别名炸弹”）",
                f"the document expands to more than {self.limits.max_nodes:,} nodes (an alias bomb?)",
                Text("不要层层嵌套引用别名；把大文件拆成多个文件", "do not nest aliases of aliases; split large files"),
            )
        if depth > self.max_depth:
            return self._unsafe(
                node,
                f"嵌套超过 {self.limits.max_depth} 层",
                f"nesting deeper than {self.limits.max_depth} levels",
                Text("规格文件不需要这么深的结构，请检查缩进", "spec files never need such depth: check the indentation"),
            )
        return None

    def build(self, node: Node, path: PathKey, depth: int = 0) -> Any:
        self.count += 1
        if self.count > self.max_nodes or depth > self.max_depth:
            raise self._limit(node, depth) or _Stop()
        self.positions[path] = _position(node.start_mark)
        cls: type[Node] | None = node.__class__
        if cls is ScalarNode:
            return self._scalar_value(node)  # type: ignore[arg-type]
        if cls is not MappingNode and cls is not SequenceNode:  # never from the composer
            if isinstance(node, ScalarNode):
                return self._scalar_value(node)
            cls = SequenceNode if isinstance(node, SequenceNode) else MappingNode if isinstance(node, MappingNode) else None
        ident = id(node)
        if ident in self.active:
            raise self._unsafe(
                node,
                "别名引用了包含它自身的节点（循环引用）",
                "an alias refers to a node that contains it (a cycle)",
                Text("去掉循环的别名引用", "remove the recursive alias"),
            )
        if cls is SequenceNode:
            if node.tag != _SEQ:
                raise self._tag_error(node)
            self.active.add(ident)
            items = self._sequence(node, path, depth)
            self.active.discard(ident)
            return items
        if cls is MappingNode:
            if node.tag != _MAP:
                raise self._tag_error(node)
            self.active.add(ident)
            out = self._mapping(node, path, depth)
            self.active.discard(ident)
            return out
        raise self._unsafe(node, "无法识别的 YAML 节点", "unrecognised YAML node", Text("", ""))

    def _tag_error(self, node: Node) -> _Stop:
        return self._unsafe(
            node,
            f"不支持的 YAML 标签 {node.tag}",
            f"unsupported YAML tag {node.tag}",
            Text("ybt 只接受普通的映射、列表和标量，去掉 !! 标签", "ybt accepts plain mappings, lists and scalars: drop the !! tag"),
        )

    def _scalar_value(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:str" or tag == "tag:yaml.org,2002:timestamp":
            # Dates stay as written so that validation sees the user's text.
            return node.value
        if tag == "tag:yaml.org,2002:int":
            return self._scalar.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:float":
            return self._scalar.construct_yaml_float(node)
        if tag == "tag:yaml.org,2002:bool":
            return self._scalar.construct_yaml_bool(node)
        if tag == "tag:yaml.org,2002:null":
            return None
        raise self._unsafe(
            node,
            f"不支持的 YAML 标签 {tag}",
            f"unsupported YAML tag {tag}",
            Text("去掉 !! 标签，按普通文字或数字书写", "drop the !! tag and write plain text or numbers"),
        )

    def _sequence(self, node: Node, path: PathKey, depth: int) -> list[Any]:
        out: list[Any] = []
        append = out.append
        depth += 1
        # Scalar items are built here (the common case), anything else by build().
        positions = self.positions
        max_nodes = self.max_nodes
        scalar_ok = depth <= self.max_depth
        shared = _POSITIONS
        for i, item in enumerate(node.value):
            p = (*path, i)
            if scalar_ok and item.__class__ is ScalarNode and self.count < max_nodes:
                self.count += 1
                mark = item.start_mark
                pos = shared.get((mark.line << 32) | mark.column)
                positions[p] = pos if pos is not None else _position(mark)
                tag = item.tag
                append(item.value if tag == _STR else self._scalar_value(item))
            else:
                append(self.build(item, p, depth))
        return out

    def _mapping(self, node: Node, path: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[tuple[Node, Node]] = []
        depth += 1
        positions = self.positions
        key_positions = self.key_positions
        max_nodes = self.max_nodes
        scalar_ok = depth <= self.max_depth
        shared = _POSITIONS
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append((key_node, value_node))
                continue
            if key_node.__class__ is not ScalarNode and not isinstance(key_node, ScalarNode):
                raise self._unsafe(
                    key_node,
                    "映射的键必须是简单的文字",
                    "mapping keys must be plain scalars",
                    Text("键不能是列表或映射", "a key cannot be a list or a mapping"),
                )
            key = key_node.value
            mark = key_node.start_mark
            kpos = shared.get((mark.line << 32) | mark.column) or _position(mark)
            p = (*path, key)
            if key in out:
                # Only this mapping's own keys are in ``out`` yet, and the first one's position is recorded.
                self._duplicate(key, kpos, key_positions[p])
                continue
            key_positions[p] = kpos
            if scalar_ok and value_node.__class__ is ScalarNode and self.count < max_nodes:
                self.count += 1
                mark = value_node.start_mark
                pos = shared.get((mark.line << 32) | mark.column)
                positions[p] = pos if pos is not None else _position(mark)
                out[key] = value_node.value if value_node.tag == _STR else self._scalar_value(value_node)
            else:
                out[key] = self.build(value_node, p, depth)
        if merges:
            self._merge(node, path, depth, out, merges)
        return out

    def _duplicate(self, key: str, kpos: tuple[int, int], first: tuple[int, int]) -> None:
        self.diags.error(
            codes.DUPLICATE_KEY,
            Text(f"键 “{key}” 重复，第 {first[0]} 行已经写过", f"duplicate key '{key}' (first written on line {first[0]})"),
            Location(self.file, kpos[0], kpos[1]),
            Text(
                "删除其中一个，或合并两处的内容（多数 YAML 工具会悄悄只保留最后一个）",
                "delete one or merge them (most YAML tools would silently keep only the last)",
            ),
            (Related(Location(self.file, first[0], first[1]), Text("第一次出现", "first occurrence")),),
        )

    def _merge(self, node: Node, path: PathKey, depth: int, out: dict[str, Any], merges: list[tuple[Node, Node]]) -> None:
        for key_node, value_node in merges:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for src in sources:
                if not isinstance(src, MappingNode):
                    raise self._unsafe(
                        key_node,
                        "合并键 << 只能合并映射",
                        "the merge key << only merges mappings",
                        Text("<< 后面写 *锚点名，锚点须指向映射", "write << followed by *anchor of a mapping"),
                    )
                merged = self.build(src, path, depth)
                for k, v in merged.items():
                    out.setdefault(k, v)
        # The mapping's own position wins over positions recorded while merging.
        self.positions[path] = _position(node.start_mark)


def read_file(path: Path, rel: str, diags: Diagnostics, limits: Limits = Limits(), *, display: str | None = None) -> SourceFile | None:
    """Read one YAML file; problems go to ``diags``. Returns None when nothing could be read.

    ``display`` is the path shown to the user, ``display_path(path)`` unless given. This is the unit
    :func:`load_project` loads every file with (a per-file cache can wrap it, or hash the bytes itself
    and call :func:`parse_documents`).
    """
    with gcpause.paused():
        return _read_file(path, rel, display_path(path) if display is None else display, diags, limits)


def _read_file(path: Path, rel: str, shown: str, diags: Diagnostics, limits: Limits) -> SourceFile | None:
    whole = Location(shown)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            diags.error(
                codes.UNSAFE_YAML,
                Text(
                    f"文件过大（{size / 1048576:.1f} MiB，上限 {limits.max_file_bytes / 1048576:.0f} MiB）",
                    f"file too large ({size / 1048576:.1f} MiB, limit {limits.max_file_bytes / 1048576:.0f} MiB)",
                ),
                whole,
                Text("把它拆成多个文件", "split it into several files"),
            )
            return None
        raw = path.read_bytes()
    except OSError as exc:
        diags.error(
            codes.UNREADABLE_FILE,
            Text(f"无法读取文件：{exc.strerror}", f"cannot read file: {exc.strerror}"),
            whole,
            Text("检查文件是否存在、是否有读取权限", "check that the file exists and is readable"),
        )
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        diags.error(
            codes.UNREADABLE_FILE,
            Text("文件不是 UTF-8 编码（可能是 GBK）", "the file is not UTF-8 (GBK?)"),
            Location(shown, line, 1),
            Text("用 UTF-8 编码重新保存该文件", "save the file again as UTF-8"),
        )
        return None
    documents = _parse_documents(text, shown, rel, diags, limits)
    if documents is None:
        return None
    return SourceFile(path, shown, rel, hashlib.sha256(raw).hexdigest(), tuple(documents))


def parse_documents(text: str, file: str, rel: str, diags: Diagnostics, limits: Limits = Limits()) -> list[Document] | None:
    """The documents of one file's text (``file`` is its display path); problems go to ``diags``.

    Returns None when the file is unusable: a syntax error before its first document, or characters
    YAML does not allow. After a later syntax error, the documents before it are returned.
    """
    with gcpause.paused():
        return _parse_documents(text, file, rel, diags, limits)


def _parse_documents(text: str, shown: str, rel: str, diags: Diagnostics, limits: Limits) -> list[Document] | None:
    documents: list[Document] = []
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null") and node.value == ""):
                continue  # an empty document, e.g. after a trailing ---
            builder = _Builder(shown, diags, limits)
            try:
                data = builder.build(node, ())
            except _Stop:
                continue
            documents.append(Document(shown, rel, index, data, builder.positions, builder.key_positions))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        message, hint = _yaml_error_text(problem)
        diags.error(codes.YAML_SYNTAX, message, Location(shown, line, col), hint)
        return documents if documents else None
    except yaml.YAMLError as exc:  # reader errors (control characters…)
        diags.error(
            codes.YAML_SYNTAX,
            Text(f"无法解析 YAML：{exc}", f"cannot parse YAML: {exc}"),
            Location(shown),
            Text("删除文件中的控制字符或不可见字符", "remove control or invisible characters from the file"),
        )
        return None
    return documents


# --------------------------------------------------------------------------------------------
# Projects and libraries


def _config_strings(doc: Document | None, key: str) -> list[str]:
    value = doc.data.get(key) if doc is not None and isinstance(doc.data, dict) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def discover(root: Path, include: list[str], exclude: list[str], skip: str) -> list[Path]:
    """Spec files below ``root`` matching ``include`` and not ``exclude``, in a stable order."""
    return [p for p, _ in discover_files(root, include, exclude, skip)]


def discover_files(root: Path, include: list[str], exclude: list[str], skip: str) -> list[tuple[Path, str]]:
    """:func:`discover` with each file's path relative to ``root`` (POSIX)."""
    return [(Path(full), rel) for full, rel, _ in discover_stats(root, include, exclude, skip)]


def discover_stats(root: Path, include: list[str], exclude: list[str], skip: str) -> list[tuple[str, str, os.stat_result]]:
    """:func:`discover_files` as (path, POSIX path relative to ``root``, the file's ``stat``), the
    stat taken once while looking (the incremental check compares it with the one it recorded)."""
    if not include:
        return _walk(root, exclude, skip)
    found: dict[Path, tuple[str, os.stat_result]] = {}
    for pattern in include:
        for p in root.glob(pattern):
            if p in found:
                continue
            st = _regular_file(str(p))
            if st is None:
                continue
            rel = p.relative_to(root)
            parts = rel.parts
            posix = rel.as_posix()
            if posix == skip:
                continue
            if any(part.startswith(".") for part in parts) or any(part in DEFAULT_EXCLUDE_DIRS for part in parts[:-1]):
                continue
            if any(fnmatch.fnmatch(posix, pat) for pat in exclude):
                continue
            found[p] = (posix, st)
    return sorted(((str(p), rel, st) for p, (rel, st) in found.items()), key=lambda item: item[1])


def _regular_file(path: str) -> os.stat_result | None:
    """The file's stat (links followed) when it is a regular file, as ``Path.is_file`` decides."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _walk(root: Path, exclude: list[str], skip: str) -> list[tuple[str, str, os.stat_result]]:
    """The default ``include`` (every .yaml and .yml file) by one walk of the tree, which is several
    times faster than globbing it for a province's thousands of files; the same files as the globs:
    symbolic links to directories not followed, hidden parts and build-output directories skipped.
    ``os.scandir`` directly: a warm check walks the whole tree on every run, and ``os.walk``'s lists
    and joins were half of that walk."""
    found: list[tuple[str, str, os.stat_result]] = []
    base = len(str(root)) + 1
    pending = [str(root)]
    posix_paths = os.sep == "/"
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    if name not in DEFAULT_EXCLUDE_DIRS:
                        pending.append(entry.path)
                    continue
                if not name.endswith(_DEFAULT_SUFFIXES):
                    continue
                posix = entry.path[base:] if posix_paths else entry.path[base:].replace(os.sep, "/")
                if posix == skip or (exclude and any(fnmatch.fnmatch(posix, pat) for pat in exclude)):
                    continue
                try:
                    st = entry.stat()  # links followed, as Path.is_file decides
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    found.append((entry.path, posix, st))
    found.sort(key=operator.itemgetter(1))
    return found


def _read_set(name: str, root: Path, config_name: str, is_library: bool, diags: Diagnostics, limits: Limits) -> SourceSet:
    shown = DisplayPaths()
    config_path = root / config_name
    # The project file's include/exclude decide which files are read, but the usual project file has
    # neither: its files are then those the default walk finds, known before it is read. A large set is
    # read in two processes on that guess (_read_in_two); what include/exclude rule out is dropped after.
    guess = discover_stats(root, [], [], config_name)
    early: dict[str, Read] = {}
    with progress(Text("读取规格文件", "reading spec files"), total=len(guess)) as advance:
        if len(guess) >= fork.MIN_ITEMS and fork.jobs() >= 2:
            items = [(Path(full), rel, shown(Path(full))) for full, rel, _ in guess]
            config_file, config_diags, early = _read_in_two(
                (config_path, config_name, shown(config_path)), items, [st.st_size for *_, st in guess], limits, advance
            )
            diags.items.extend(config_diags)
        else:
            config_file = _read_file(config_path, config_name, shown(config_path), diags, limits)
        config = config_file.documents[0] if config_file and config_file.documents else None
        if config_file is not None and len(config_file.documents) > 1:
            extra = config_file.documents[1]
            diags.error(
                codes.MISPLACED_DOCUMENT,
                Text(f"{config_name} 只能包含一个文档", f"{config_name} must hold exactly one document"),
                extra.loc(),
                Text("把其他文档移到单独的规格文件中", "move the other documents into spec files of their own"),
            )
        include = _config_strings(config, "include")
        exclude = _config_strings(config, "exclude")
        found = guess if not include and not exclude else discover_stats(root, include, exclude, config_name)
        read: list[SourceFile | None] = []
        for full, rel, _ in found:
            got = early.get(rel)
            if got is None:  # not read on the guess
                read.append(_read_one((Path(full), rel, shown(Path(full))), diags, limits, advance))
            else:
                read.append(got[0])
                diags.items.extend(got[1])
    return SourceSet(name, root, is_library, config_file, tuple(sf for sf in read if sf is not None))


#: The share of the bytes to parse that the child gets when a set is read in two processes (the project
#: file counts towards it): its files cost it more — it sends them back, and its first writes to memory it
#: shares with this process copy pages — so with half each this process waited for it.
_CHILD_SHARE = 0.45

#: A file read: the file (None when it cannot be used) and its problems.
Read: TypeAlias = "tuple[SourceFile | None, list[Diagnostic]]"


def _read_in_two(
    config: tuple[Path, str, str], items: list[tuple[Path, str, str]], sizes: list[int], limits: Limits, advance: Callable[[int], None]
) -> tuple[SourceFile | None, list[Diagnostic], dict[str, Read]]:
    """The project file, and every file of ``items`` by its relative path, each with its problems.

    A forked child (:func:`ybt.fork.in_two`) reads the project file and the last files, about
    :data:`_CHILD_SHARE` of the bytes, and sends them back marshalled while this process reads the
    others. Anything wrong with the child (it died, a value marshal cannot carry) and this process reads
    them itself: the result is the same.
    """
    try:
        config_size = config[0].stat().st_size
    except OSError:
        config_size = 0
    want = _CHILD_SHARE * (sum(sizes) + config_size) - config_size
    cut, taken = len(items), 0
    while cut > 1 and taken + sizes[cut - 1] <= want:
        cut -= 1
        taken += sizes[cut]
    mine, theirs = items[:cut], items[cut:]

    def read_all(group: list[tuple[Path, str, str]], step: Callable[[int], None] | None) -> list[Read]:
        out: list[Read] = []
        for item in group:
            own = Diagnostics()
            out.append((_read_one(item, own, limits, step), own.items))
        return out

    def read_config() -> tuple[SourceFile | None, list[Diagnostic]]:
        own = Diagnostics()
        return _read_file(*config, own, limits), own.items

    def there() -> bytes:
        config_file, config_diags = read_config()
        files = read_all(theirs, None)
        return marshal.dumps((_files_out([config_file]), _files_out([sf for sf, _ in files]), pack_diagnostics([config_diags, *(ds for _, ds in files)])))

    def received(payload: bytes) -> tuple[tuple[SourceFile | None, list[Diagnostic]], list[Read]]:
        config_data, files_data, packed = marshal.loads(payload)
        config_diags, *files_diags = unpack_diagnostics(packed)
        [config_file] = _files_in(config_data, [config])
        if len(files_diags) != len(theirs):
            raise ValueError("the parsing child sent another number of files")
        return (config_file, config_diags), list(zip(_files_in(files_data, theirs), files_diags, strict=True))

    def instead() -> tuple[tuple[SourceFile | None, list[Diagnostic]], list[Read]]:
        return read_config(), read_all(theirs, None)

    here, ((config_file, config_diags), there_read) = fork.in_two(lambda: read_all(mine, advance), there, received, instead)
    advance(len(theirs))
    by_rel = {item[1]: got for item, got in zip([*mine, *theirs], [*here, *there_read], strict=True)}
    return config_file, config_diags, by_rel


def _read_one(item: tuple[Path, str, str], diags: Diagnostics, limits: Limits, advance: Callable[[int], None] | None) -> SourceFile | None:
    path, rel, shown = item
    sf = _read_file(path, rel, shown, diags, limits)
    if advance is not None:
        advance(1)
    return sf


def _files_out(files: list[SourceFile | None]) -> list[Any]:
    return [None if sf is None else (sf.sha256, [d.as_builtins() for d in sf.documents]) for sf in files]


def _files_in(data: list[Any], items: list[tuple[Path, str, str]]) -> list[SourceFile | None]:
    if len(data) != len(items):
        raise ValueError("the parsing child sent another number of files")
    return [
        None if got is None else SourceFile(path, shown, rel, got[0], tuple(Document(*d) for d in got[1]))
        for got, (path, rel, shown) in zip(data, items, strict=True)
    ]


def load_project(root: Path, diags: Diagnostics, limits: Limits = Limits()) -> LoadedProject | None:
    """Load a project directory and the libraries it uses. Returns None if there is no project."""
    root = Path(root)
    if not (root / PROJECT_FILE).is_file():
        where = display_path(root)
        if not root.exists():
            msg = Text(f"项目目录不存在：{where}", f"project directory does not exist: {where}")
        elif root.is_file():
            msg = Text(f"{where} 是文件，不是项目目录", f"{where} is a file, not a project directory")
        else:
            msg = Text(f"{where} 不是 ybt 项目：缺少 {PROJECT_FILE}", f"{where} is not a ybt project: no {PROJECT_FILE}")
        diags.error(
            codes.INVALID_PROJECT,
            msg,
            Location(where),
            Text("传入含有 ybt.yaml 的目录，例如 examples/minimal", "pass the directory that holds ybt.yaml, e.g. examples/minimal"),
        )
        return None
    with gcpause.paused():
        return _load_project(root, diags, limits)


def _load_project(root: Path, diags: Diagnostics, limits: Limits) -> LoadedProject:
    before = len(diags)
    project = _read_set(root.name, root, PROJECT_FILE, False, diags, limits)
    libraries: list[SourceSet] = []
    uses = _config_strings(project.config, "uses")
    for lib in dict.fromkeys(uses):
        lib_root = library_dir(lib)
        if lib_root is None:
            doc = project.config
            assert doc is not None
            index = uses.index(lib)
            known = ", ".join(library_names())
            diags.error(
                codes.INVALID_PROJECT,
                Text(f"未知的库 “{lib}”", f"unknown library '{lib}'"),
                doc.loc(("uses", index)),
                Text(f"可用的库：{known}", f"available libraries: {known}"),
            )
            continue
        libraries.append(_read_set(lib, lib_root, LIBRARY_FILE, True, diags, limits))
    broken = tuple(sorted({d.location.file for d in diags.items[before:] if d.location is not None and d.code in _BREAKING}))
    return LoadedProject(project, tuple(libraries), broken)


_BREAKING = frozenset({codes.YAML_SYNTAX, codes.UNSAFE_YAML, codes.UNREADABLE_FILE})


def file_lines(path: str) -> list[str]:
    """The lines of a file for showing source snippets; empty when it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            return fh.read().splitlines()
    except OSError:
        return []


def env_limits() -> Limits:
    """Limits, optionally raised through the environment (YBT_MAX_FILE_MB) for unusual projects."""
    mb = os.environ.get("YBT_MAX_FILE_MB")
    if mb and mb.isdigit() and int(mb) > 0:
        return Limits(max_file_bytes=int(mb) * 1024 * 1024)
    return Limits()


__all__ = [
    "Document",
    "Limits",
    "LoadedProject",
    "PathKey",
    "SourceFile",
    "SourceSet",
    "display_path",
    "env_limits",
    "file_lines",
    "load_project",
    "parse_documents",
    "read_file",
]
