"""The incremental check: ``ybt check`` with a cache keyed by file checksums.

A full check (load → validate → resolve → rules) leaves a cache (see :func:`cache_dir`): the
checksum of every file it read, where each catalog object's document is, the project's settings (a
pickled skeleton of the model), the per-report and catalog findings, the facts whole-project rules read
(:mod:`ybt.check.facts`) and the duplicate analysis. The next run hashes the files again and

* nothing changed → the cached findings, through suppressions and the baseline as usual;
* only report files changed (edited, added or deleted) → those files alone are loaded, validated and
  resolved against catalog objects rebuilt from their unchanged files; their per-report rules run; the whole-project rules run again
  on the facts (one updated); report overlaps are recomputed for the changed reports only;
* anything else changed (ybt.yaml, a field, a codelist, a ledger, a library file), or a changed
  report would move a usage-based choice of canonical field, or the changed files have errors →
  a full check, which writes a new cache.

The cache is safe: a different format, ybt version, schema, Python, working directory or set of
check options makes it a miss; a cache that cannot be read (corrupt, truncated, foreign) is ignored
and replaced, never trusted; it is written atomically. Every fast result equals what a full check
would give — the tests compare them on every kind of change.
"""

from __future__ import annotations

import bisect
import contextlib
import copyreg
import dataclasses
import functools
import hashlib
import io
import marshal
import operator
import os
import pickle
import shutil
import sys
import time
import types
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ybt import __version__, atomic, diagnostics, gcpause, load, model
from ybt._resources import schema_dir
from ybt.analyze.dupes import (
    ORG_UNIT_FIELDS,
    OVERLAP_MIN_CONTAINMENT,
    OVERLAP_MIN_JACCARD,
    DupesResult,
    FrequencyConflict,
    ReportOverlap,
    conflict_order,
    counts_for_frequency,
    frequency_conflicts_of,
    overlap_order,
    pair_overlap,
    signature,
)
from ybt.check.engine import CheckOptions, CheckResult, FullCheck, RuleRun, SuppressionFacts, check_all, file_suppressions, finish, run_rules
from ybt.check.facts import STATE_FIELDS, CatalogFacts, ReportFacts, ReportState, report_facts
from ybt.check.rules import Context
from ybt.diagnostics import Diagnostic, Diagnostics, Severity, pack_diagnostics, unpack_diagnostics
from ybt.lazy import Deferred
from ybt.load import PROJECT_FILE, Document, Limits, PathKey, SourceSet, discover_stats, display_path, env_limits, read_file
from ybt.model import Project, Report
from ybt.pipeline import CompileResult, compile_project
from ybt.resolve import Rebuilder
from ybt.validate import validate_set

CACHE_FORMAT = 14
CACHE_FILE = "check.bin"
_MAGIC = b"ybt-check-cache\n"
#: An incremental run rewrites the cache once this many files differ from it. Below that, the next run
#: redoes the same small update, which costs less than writing the cache (the usual editor loop: one
#: report edited again and again).
REFRESH_AFTER = 8
_CONFLICT_RULE = "YBT204"

U = TypeVar("U")
K = TypeVar("K")
V = TypeVar("V")


def _proxy(d: dict[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(d)


def _reducer(cls: type) -> Any:
    names = tuple(f.name for f in dataclasses.fields(cls))

    def reduce(obj: Any) -> tuple[Any, ...]:
        return (cls, tuple(getattr(obj, n) for n in names))

    return reduce


# Frozen dataclasses with slots pickle through dataclasses' Python __getstate__/__setstate__, which
# call fields() for every object; rebuilding through the constructor is several times faster.
_DISPATCH: dict[Any, Any] = {**copyreg.dispatch_table, types.MappingProxyType: lambda m: (_proxy, (dict(m),))}
for _module in (model, load, diagnostics):
    for _cls in vars(_module).values():
        if isinstance(_cls, type) and dataclasses.is_dataclass(_cls) and _cls.__module__ == _module.__name__:
            _DISPATCH[_cls] = _reducer(_cls)


def _pickle(obj: Any, *external: Any) -> bytes:
    """The skeleton pickled, except the big plain containers in ``external`` (the project file's
    parsed data — the whole organisation tree —, the files' checksums), which are marshalled beside
    it: marshal reads builtins back several times faster than pickle."""
    index = {id(o): i for i, o in enumerate(external)}
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=5)
    p.dispatch_table = _DISPATCH
    p.persistent_id = lambda o: index.get(id(o))  # type: ignore[method-assign]
    p.dump(obj)
    proxies = tuple(isinstance(o, types.MappingProxyType) for o in external)
    return marshal.dumps((buf.getvalue(), tuple(dict(o) if proxy else o for o, proxy in zip(external, proxies, strict=True)), proxies))


def _unpickle(blob: bytes) -> Any:
    pickled, plain, proxies = marshal.loads(blob)
    external = [types.MappingProxyType(o) if proxy else o for o, proxy in zip(plain, proxies, strict=True)]
    u = pickle.Unpickler(io.BytesIO(pickled))
    u.persistent_load = lambda i: external[i]  # type: ignore[method-assign]
    return u.load()


#: Where a catalog object's document is: (file key — rel, or "@lib/rel" —, index in the file).
DocPlace = tuple[str, int]
#: (kind, namespace, library or None) → the unique ids of that group, as the Rebuilder takes them.
Groups = dict[tuple[str, str, str | None], list[str]]


class _Documents(Mapping[str, Document]):
    """Catalog documents rebuilt when a changed report looks them up, from the catalog files the full
    check kept in the cache, each document marshalled on its own (``Cache.docs``): a lookup unmarshals
    only its document, and no YAML is parsed again."""

    def __init__(self, places: Mapping[str, DocPlace], docs: Mapping[str, bytes]) -> None:
        self._places = places
        self._docs = docs
        #: file key → its documents, each marshalled on its own.
        self._files: dict[str, dict[int, bytes]] = {}
        self._built: dict[str, Document] = {}

    def __getitem__(self, key: str) -> Document:
        built = self._built.get(key)
        if built is None:
            file_key, index = self._places[key]
            try:
                docs = self._files.get(file_key)
                if docs is None:
                    docs = self._files[file_key] = dict(marshal.loads(self._docs[file_key]))
                built = self._built[key] = Document(*marshal.loads(docs[index]))
            except Exception as e:  # whatever is wrong with it, the part cannot be trusted
                raise _Unreadable from e
        return built

    def __contains__(self, key: object) -> bool:
        return key in self._places  # without reading the document

    def __iter__(self) -> Iterator[str]:
        return iter(self._places)

    def __len__(self) -> int:
        return len(self._places)


def _namespace(unique: str) -> str:
    """The namespace of a unique id ``kind.namespace.id`` (``""`` when it has none)."""
    parts = unique.split(".", 2)
    return parts[1] if len(parts) == 3 else ""


def _file_positions(path: str, rel: str, shown: str, keys: bool) -> dict[PathKey, tuple[int, int]]:
    """The node positions of a file the cache was made from, read again from it (the project file's:
    one per org unit, and nothing on the fast path usually asks for them)."""
    sf = read_file(Path(path), rel, Diagnostics(), env_limits(), display=shown)
    doc = sf.documents[0] if sf is not None and sf.documents else None
    return {} if doc is None else dict(doc.key_positions if keys else doc.positions)


class _Unreadable(Exception):
    """A part of the cache read only when a run needs it turned out unreadable: check in full."""


class _Lazy(Deferred[K, V]):
    """A part of the cache that stays marshalled until a run asks for it (the usage counts, the
    reports' signatures, the documents' starts …: a run that edits one report's title needs none of
    them), and that is written back as it was read when nobody did."""

    def __init__(self, build: Callable[[], dict[K, V]], blob: bytes | None = None) -> None:
        super().__init__(build)
        self._blob = blob

    @classmethod
    def of(cls, data: dict[K, V]) -> _Lazy[K, V]:
        out: _Lazy[K, V] = cls(lambda: data)
        out._data = data
        return out

    @classmethod
    def marshalled(cls, blob: bytes, make: Callable[[Any], dict[K, V]] = dict) -> _Lazy[K, V]:
        return cls(lambda: make(marshal.loads(blob)), blob)

    def _get(self) -> dict[K, V]:
        try:
            return super()._get()
        except Exception as e:  # whatever is wrong with it, the part cannot be trusted
            raise _Unreadable from e

    def encoded(self) -> bytes:
        if not self.built and self._blob is not None:
            return self._blob
        return marshal.dumps(dict(self._get()))


class _Marshalled(Sequence[U]):
    """A tuple kept marshalled until something reads it: the project's own fields as YBT301 lists
    them, thousands in a province, which a run that reuses that rule's findings never reads."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._items: tuple[U, ...] | None = None

    @staticmethod
    def encode(items: Sequence[Any]) -> bytes:
        return items.encoded() if isinstance(items, _Marshalled) else marshal.dumps(tuple(items))

    def encoded(self) -> bytes:
        return self._blob

    def _get(self) -> tuple[U, ...]:
        if self._items is None:
            try:
                self._items = tuple(marshal.loads(self._blob))
            except Exception as e:  # whatever is wrong with it, the part cannot be trusted
                raise _Unreadable from e
        return self._items

    def __getitem__(self, i: Any) -> Any:
        return self._get()[i]

    def __iter__(self) -> Iterator[U]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class _Grouped(MutableMapping[str, V]):
    """A mapping kept marshalled a group of keys at a time, the group given by ``by``: the objects of
    each file by folder, the catalog documents' places by namespace. A run that changed one report file
    reads its folder's entries, and the places of the namespaces its report refers to, not the
    province's thousands."""

    def __init__(self, groups: dict[str, bytes], by: Callable[[str], str]) -> None:
        self._groups = groups
        self._by = by
        self._read: dict[str, dict[str, V]] = {}

    @classmethod
    def of(cls, data: Mapping[str, V], by: Callable[[str], str]) -> _Grouped[V]:
        out: _Grouped[V] = cls({}, by)
        for key, value in data.items():
            out._read.setdefault(by(key), {})[key] = value
        return out

    def encoded(self) -> bytes:
        return marshal.dumps({g: marshal.dumps(self._read[g]) if g in self._read else self._groups[g] for g in self._names()})

    @classmethod
    def decoded(cls, blob: bytes, by: Callable[[str], str]) -> _Grouped[V]:
        groups = marshal.loads(blob)
        if not isinstance(groups, dict):
            raise ValueError("not a table of groups")
        return cls(groups, by)

    def _names(self) -> list[str]:
        return sorted({*self._groups, *self._read})

    def _group(self, name: str) -> dict[str, V]:
        found = self._read.get(name)
        if found is None:
            blob = self._groups.get(name)
            try:
                found = self._read[name] = {} if blob is None else dict(marshal.loads(blob))
            except Exception as e:  # whatever is wrong with it, the part cannot be trusted
                raise _Unreadable from e
        return found

    def __getitem__(self, key: str) -> V:
        return self._group(self._by(key))[key]

    def __setitem__(self, key: str, value: V) -> None:
        self._group(self._by(key))[key] = value

    def __delitem__(self, key: str) -> None:
        del self._group(self._by(key))[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._group(self._by(key))

    def __iter__(self) -> Iterator[str]:
        for name in self._names():
            yield from list(self._group(name))

    def __len__(self) -> int:
        return sum(len(self._group(name)) for name in self._names())


def _folder(rel: str) -> str:
    return rel.rpartition("/")[0]


class _Facts(Mapping[str, ReportFacts]):
    """The reports' facts, in the project's order: each report's state at hand, its columns kept
    marshalled until something asks for them. A warm check of one edited report reads the columns of
    that report and of the few its findings point at; the rules that scan every report read
    :attr:`states` (see :class:`~ybt.check.facts.ReportState`)."""

    def __init__(self, states: dict[str, ReportState], columns: dict[str, bytes], built: dict[str, ReportFacts] | None = None) -> None:
        #: Every report's state; the keys are the mapping's.
        self.states = states
        #: Marshalled ``(columns, refs, columns_at)`` of the reports not in ``built`` (and maybe of some that are).
        self.columns = columns
        self._built = built if built is not None else {}

    def with_changes(self, new: Mapping[str, ReportFacts], old: set[str]) -> _Facts:
        """These facts without the reports ``old`` and with ``new``, in order (by unique id, as a project's)."""
        keys = sorted({*(u for u in self.states if u not in old), *new})
        states = {u: new[u].state() if u in new else self.states[u] for u in keys}
        columns = {u: b for u, b in self.columns.items() if u not in old}
        built = {u: r for u, r in self._built.items() if u not in old}
        built.update(new)
        return _Facts(states, columns, built)

    def __getitem__(self, uid: str) -> ReportFacts:
        found = self._built.get(uid)
        if found is None:
            state = self.states[uid]
            try:
                found = self._built[uid] = _new(ReportFacts, (*state, *marshal.loads(self.columns[uid])))
            except Exception as e:  # whatever is wrong with it, the part cannot be trusted
                raise _Unreadable from e
        return found

    def __contains__(self, uid: object) -> bool:
        return uid in self.states

    def __iter__(self) -> Iterator[str]:
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)

    def encoded(self) -> tuple[dict[str, tuple[Any, ...]], dict[str, bytes]]:
        """The states as tuples and each report's columns marshalled, as :meth:`decoded` reads them back."""
        columns = {u: self.columns[u] if u in self.columns else marshal.dumps(tuple(self._built[u][STATE_FIELDS:])) for u in self.states}
        return {u: tuple(s) for u, s in self.states.items()}, columns

    @classmethod
    def decoded(cls, states: dict[str, tuple[Any, ...]], columns: dict[str, bytes]) -> _Facts:
        if states.keys() != columns.keys():
            raise ValueError("the cached reports' states and columns do not match")
        return cls({u: _new(ReportState, t) for u, t in states.items()}, columns)


@dataclass
class Cache:
    key: tuple[Any, ...]
    #: path relative to the project root (library files "@lib/…") → sha256; library files' absolute paths.
    files: dict[str, str]
    library_paths: dict[str, str]
    include: list[str]
    exclude: list[str]
    #: rel → ((kind, unique id), …) of the documents in that file.
    objects: _Grouped[tuple[tuple[str, str], ...]]
    skeleton: bytes
    #: The project file's ``org`` tree, marshalled: the org units are rebuilt from it when asked for.
    org: bytes
    #: Where the documents of the catalog objects (fields, codelists, entities, ledgers) are: they are
    #: rebuilt on demand.
    documents: _Grouped[DocPlace]
    #: Catalog file key → its catalog documents, marshalled: {document index: marshalled document}.
    docs: dict[str, bytes]
    #: The catalog objects' unique ids, grouped for the Rebuilder.
    known: Groups
    reports: _Facts
    signatures: _Lazy[str, frozenset[tuple[Any, ...]]]
    catalog: CatalogFacts
    dupes: DupesResult
    usage_sensitive: _Lazy[str, tuple[str, tuple[RankKey, ...]]]
    usage: _Lazy[str, int]
    retires_refs: frozenset[str]
    #: (Canonical) fields asked at exactly one frequency → that frequency (see _asked_conflicts).
    single: dict[str, str]
    per_report: dict[str, list[Diagnostic]]
    catalog_findings: list[Diagnostic]
    #: Findings of the rules that read only the catalog and the reports' references (YBT301/302).
    usage_findings: list[Diagnostic]
    #: YBT204 findings by the field in conflict: reused while neither the conflict nor its report changed.
    conflict_hits: dict[str, list[Diagnostic]]
    #: Report → the fields of the YBT204 findings that point into it.
    conflict_reports: dict[str, list[str]]
    suppressions: dict[str, list[SuppressionFacts]]
    starts: _Lazy[tuple[str, int], str]
    #: rel → (size, mtime_ns) seen just before the files were hashed, and when (a full check records none).
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    scanned_ns: int = 0
    dirty: bool = False  # the stats changed: worth writing even when no finding did
    #: The encoded form this cache was read from, and the reports changed since: unchanged parts are
    #: written back as they were read instead of being encoded again.
    raw: dict[str, Any] | None = None
    redone: set[str] = field(default_factory=set)


@dataclass
class Stats:
    """What the run did, for ``--verbose`` and the tests."""

    mode: str = "full"  # full | unchanged | reports
    reason: str = ""
    changed_files: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    compile: CompileResult | None  # None on the fast paths (the project compiled before and still does)
    result: CheckResult | None
    stats: Stats
    #: What the answer was read from (the cache of a fast path), freed with the outcome rather than
    #: before it is returned: a province's cache is a hundred thousand objects, about a seventh of a
    #: warm check to free, and the command line exits without freeing anything (``cli._leave``).
    source: object = field(default=None, repr=False)


def cache_dir() -> Path:
    """Where caches live: ``$YBT_CACHE_DIR``, else ``$XDG_CACHE_HOME/ybt``, else ``~/.cache/ybt``.

    Never inside the project: a cache holds pickled objects, and a file someone commits to the
    spec repository must not be able to run code in CI.
    """
    env = os.environ.get("YBT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ybt"


def cache_path(root: Path) -> Path:
    """The check cache of the project at ``root`` (one per project directory)."""
    digest = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:20]
    return cache_dir() / digest / CACHE_FILE


@functools.cache
def _schema_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(schema_dir().glob("*.json")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _key(options: CheckOptions, limits: Limits) -> tuple[Any, ...]:
    return (
        CACHE_FORMAT,
        __version__,
        _schema_digest(),
        sys.version_info[:2],
        os.getcwd(),
        options.today.isoformat(),
        tuple(options.select),
        tuple(options.ignore),
        (limits.max_file_bytes, limits.max_nodes, limits.max_depth),
    )


def _read_cache(path: Path, key: tuple[Any, ...]) -> Cache | None:
    try:
        raw = path.read_bytes()
        if not raw.startswith(_MAGIC):
            return None
        data = marshal.loads(memoryview(raw)[len(_MAGIC) :])  # no copy of the whole cache
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        return _decode(data)
    except Exception:  # noqa: BLE001 — a cache that cannot be read is ignored, whatever is wrong with it
        return None


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


#: A cluster member's rank as the duplicate analysis ranks it, less its usage: (tier, status, filling rule, uid).
RankKey = tuple[int, int, int, str]


def _usage_sensitive(project: Project, dupes: DupesResult) -> dict[str, tuple[str, tuple[RankKey, ...]]]:
    """Fields of clusters whose canonical field was chosen by usage (no library or shared field
    outranks the rest) → (the canonical, the members' rank keys). A change that moves the usage
    counts of such a cluster is checked against the ranking again."""
    out: dict[str, tuple[str, tuple[RankKey, ...]]] = {}
    for c in dupes.field_clusters:
        keys: list[RankKey] = []
        for m in c.members:
            f = project.fields[m.uid]
            tier = 0 if f.library is not None else (1 if f.namespace == "shared" else 2)
            keys.append((tier, 0 if f.status == "standard" else 1, 0 if f.filling_rule else 1, f.uid))
        top = min(k[:2] for k in keys)
        if sum(1 for k in keys if k[:2] == top) > 1:
            for m in c.members:
                out[m.uid] = (c.canonical, tuple(keys))
    return out


def _all_usage(project: Project, reports: Mapping[str, ReportFacts]) -> Counter[str]:
    used: Counter[str] = Counter()
    for r in reports.values():
        _count_usage(r, used, 1)
    for led in project.ledgers.values():
        used.update(led.field_uids())
    return used


def _count_usage(r: ReportFacts, used: Counter[str], sign: int) -> None:
    """Add (or, with ``sign`` −1, take away) what a report adds to the usage counts of the duplicate
    analysis (as ``dupes._usage`` counts them)."""
    if r.status == "retired":
        return
    seen: set[str] = set()
    for f, _, conds in r.columns:
        if f is not None and f not in seen:
            seen.add(f)
            used[f] += sign
        for c in conds:
            used[c[0]] += sign


def _canonical_moves(cache: Cache, old: list[ReportFacts], new: list[ReportFacts]) -> bool:
    """Whether the change moves a usage-based choice of canonical field."""
    delta: Counter[str] = Counter()
    for r in new:
        _count_usage(r, delta, 1)
    for r in old:
        _count_usage(r, delta, -1)
    for uid, n in delta.items():
        if n:
            cache.usage[uid] += n
    clusters = {cache.usage_sensitive[u] for u, n in delta.items() if n and u in cache.usage_sensitive}
    for canonical, keys in clusters:
        best = min(keys, key=lambda k: (k[0], k[1], -cache.usage[k[3]], k[2], k[3]))
        if best[3] != canonical:
            return True
    return False


def _signatures(r: ReportFacts, canon: Mapping[str, str]) -> frozenset[tuple[Any, ...]]:
    return frozenset(signature(f, agg, conds, canon) for f, agg, conds in r.columns)


def _project_parts(project: Project, facts: Mapping[str, ReportFacts]) -> dict[str, Any]:
    """The parts of a full check's cache that depend on the project only, not on its duplicate analysis or
    the rules' findings; the lazily read ones already marshalled. They are computed while the duplicate
    analysis may still be running in its second process (``check_all(..., prepare=...)``)."""
    files = dict(project.file_checksums)
    library_paths = {}
    for lib in project.libraries.values():
        for rel in files:
            prefix = f"@{lib.id}/"
            if rel.startswith(prefix):
                library_paths[rel] = str(lib.root / rel[len(prefix) :])
    objects: dict[str, list[tuple[str, str]]] = {}
    for o in project.objects():
        if o.library is None:
            objects.setdefault(o.doc.rel, []).append((o.kind, o.uid))
    # Reports are not kept: the fast path resolves the changed ones afresh and reads the others' facts.
    documents: dict[str, DocPlace] = {}
    parsed: dict[str, dict[int, bytes]] = {}
    keys: dict[str, str] = {}  # one string per file key, which marshal then stores once
    for table in (project.fields, project.codelists, project.entities, project.ledgers):
        for u, o in table.items():
            d = o.doc
            file_key = d.rel if o.library is None else f"@{o.library}/{d.rel}"
            file_key = keys.setdefault(file_key, file_key)
            documents[u] = (file_key, d.index)
            in_file = parsed.setdefault(file_key, {})
            if d.index not in in_file:
                in_file[d.index] = marshal.dumps(d.as_builtins())
    # The project file's node positions (every org unit) load only when a finding points into it, and
    # its organisation tree (16,000 units in a province) only when the org units are asked for: the
    # skeleton's project document holds the rest of ybt.yaml, the tree is marshalled beside it.
    pdoc = project.doc
    where = (os.path.join(str(project.root), pdoc.rel), pdoc.rel, pdoc.file)
    data = pdoc.data if isinstance(pdoc.data, dict) else {}
    lazy_doc = dataclasses.replace(
        pdoc,
        data={k: v for k, v in data.items() if k != "org"},
        positions=Deferred(functools.partial(_file_positions, *where, False)),
        key_positions=Deferred(functools.partial(_file_positions, *where, True)),
    )
    departments = {k: dataclasses.replace(d, doc=lazy_doc) if d.doc is pdoc else d for k, d in project.departments.items()}
    skeleton = dataclasses.replace(project, doc=lazy_doc, departments=departments, fields={}, codelists={}, entities={}, ledgers={}, reports={}, org_units={})
    return {
        "files": files,
        "library_paths": library_paths,
        "include": [v for v in data.get("include") or [] if isinstance(v, str)],
        "exclude": [v for v in data.get("exclude") or [] if isinstance(v, str)],
        "objects": _Grouped.of({k: tuple(v) for k, v in objects.items()}, _folder).encoded(),
        "skeleton": _pickle(skeleton, lazy_doc.data, skeleton.file_checksums),
        "org": marshal.dumps(data.get("org")),
        "documents": _Grouped.of(documents, _namespace).encoded(),
        "docs": {file_key: marshal.dumps(docs) for file_key, docs in parsed.items()},
        "known": _groups((u, ns if (ns := u.split(".", 2)[1]) in project.libraries else None) for u in documents),
        "usage": _Lazy.of(_all_usage(project, facts)).encoded(),
        "retires_refs": frozenset(u for r in project.reports.values() if r.admission is not None for u in r.admission.retires),
    }


def _dupes_parts(project: Project, dupes: DupesResult, facts: Mapping[str, ReportFacts]) -> dict[str, Any]:
    """The parts of a full check's cache that depend on the duplicate analysis too (see :func:`_project_parts`)."""
    return {
        "signatures": _Lazy.of({u: _signatures(r, dupes.canonical) for u, r in facts.items() if r.status != "retired"}).encoded(),
        "usage_sensitive": _Lazy.of(_usage_sensitive(project, dupes)).encoded(),
        "single": _single_frequencies(facts, dupes.canonical),
    }


def _project_fields(d: Mapping[str, Any]) -> dict[str, Any]:
    """The cache's project parts from their encoded form, which is the same in :func:`_project_parts`'
    and :func:`_dupes_parts`' results and in a cache file read back (see :func:`_encode`)."""
    return {
        "files": d["files"],
        "library_paths": d["library_paths"],
        "include": d["include"],
        "exclude": d["exclude"],
        "objects": _Grouped.decoded(d["objects"], _folder),
        "skeleton": d["skeleton"],
        "org": d["org"],
        "documents": _Grouped.decoded(d["documents"], _namespace),
        "docs": d["docs"],
        "known": d["known"],
        "signatures": _Lazy.marshalled(d["signatures"]),
        "usage_sensitive": _Lazy.marshalled(d["usage_sensitive"]),
        "usage": _Lazy.marshalled(d["usage"], Counter),
        "retires_refs": d["retires_refs"],
        "single": d["single"],
    }


def _write_cache(root: Path, key: tuple[Any, ...], full: FullCheck) -> None:
    ctx, run = full.context, full.rules
    hits, hit_reports = _conflict_hits(run.project)
    cache = Cache(
        key=key,
        **_project_fields({**full.prepared, **_dupes_parts(ctx.project, ctx.dupes, ctx.reports)}),
        reports=_Facts(dict(ctx.states), {}, dict(ctx.reports)),  # the states the rules read, not made again
        catalog=ctx.catalog,
        dupes=ctx.dupes,
        per_report=run.per_report,
        catalog_findings=run.catalog,
        usage_findings=run.usage,
        conflict_hits=hits,
        conflict_reports=hit_reports,
        suppressions=full.suppressions,
        starts=_Lazy.of(dict(full.starts)),
    )
    _save(root, cache)
    # Parsed files that ybt before cache format 13 kept beside the cache: now inside it.
    shutil.rmtree(cache_path(root).parent / "docs", ignore_errors=True)


def _save(root: Path, cache: Cache) -> None:
    path = cache_path(root)
    try:
        payload = _MAGIC + marshal.dumps(_encode(cache))
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic.write_bytes(path, payload)
    except (OSError, ValueError):
        pass  # a read-only home still gets its findings; only the next run is slower


def check_project(root: Path, options: CheckOptions, *, use_cache: bool = True, lang: str = "both") -> Outcome:
    """``ybt check``: the incremental path when the cache allows it, else a full check (which
    refreshes the cache). ``options.changed`` (CI mode) always takes the full path."""
    with gcpause.paused():
        return _check_project(root, options, use_cache, lang)


def _check_project(root: Path, options: CheckOptions, use_cache: bool, lang: str) -> Outcome:
    root = Path(root)
    limits = env_limits()
    key = _key(options, limits)
    stats = Stats()
    if use_cache:
        try:
            cache_path(root)
        except RuntimeError:  # no home directory and no YBT_CACHE_DIR: check without a cache
            use_cache = False
    if use_cache and options.changed is None:
        cache = _read_cache(cache_path(root), key)
        if cache is None:
            stats.reason = "no usable cache"
        else:
            try:
                fast = _fast(root, cache, options, limits, stats, lang)
            except _Unreadable:
                stats.mode, stats.reason, fast = "full", "no usable cache", None
            if fast is not None:
                return Outcome(None, fast, stats, source=cache)
    else:
        stats.reason = "cache disabled"
    result = compile_project(root, limits)
    if not result.ok or result.project is None:
        return Outcome(result, None, stats)
    project = result.project
    caching = use_cache and options.changed is None
    full = check_all(project, options, lang, prepare=_project_parts if caching else None)
    if caching:
        _write_cache(root, key, full)
    return Outcome(result, full.result, stats)


def _scan(root: Path, include: list[str], exclude: list[str]) -> dict[str, os.stat_result]:
    """The project's spec files (rel → stat), found as loading finds them."""
    out: dict[str, os.stat_result] = {}
    with contextlib.suppress(OSError):
        out[PROJECT_FILE] = os.stat(root / PROJECT_FILE)
    for _, rel, st in discover_stats(root, include, exclude, PROJECT_FILE):
        out[rel] = st
    return out


def _changed_files(root: Path, cache: Cache) -> tuple[dict[str, str], list[str]] | None:
    """The project's files that differ from the cache's (rel paths) and their current checksums (of
    those only; a deleted file has none); None when a library file changed. A file whose size and
    modification time are those it had when the cache was written, and older than the cache by a safe
    margin, is not read again (as git does); library files too."""
    settled = cache.scanned_ns - 2_000_000_000
    now = time.time_ns()
    # Stats taken before reading: a file written while this run reads it differs from them next time.
    stats = {rel: (st.st_size, st.st_mtime_ns) for rel, st in _scan(root, cache.include, cache.exclude).items()}
    for rel, path in cache.library_paths.items():
        try:
            st = os.stat(path)
        except OSError:
            return None
        stats[rel] = (st.st_size, st.st_mtime_ns)
    known, files = cache.stats, cache.files
    # Read again: files whose size or time moved, new ones, and any written too close to the last scan.
    suspect = {rel for rel, _ in stats.items() - known.items()}
    if stats and max(map(_MTIME, stats.values())) >= settled:
        suspect.update(rel for rel, (_, mtime) in stats.items() if mtime >= settled)
    current: dict[str, str] = {}
    for rel in suspect:
        sha = _sha(Path(cache.library_paths[rel]) if rel.startswith("@") else root / rel)
        if sha is not None:
            current[rel] = sha
    if any(current.get(rel) != files.get(rel) for rel in suspect if rel.startswith("@")):
        return None
    changed = sorted({rel for rel in suspect if current.get(rel) != files.get(rel)} | {rel for rel in files.keys() - stats.keys() if not rel.startswith("@")})
    cache.dirty = stats != known
    cache.stats, cache.scanned_ns = stats, now
    return current, changed


_MTIME = operator.itemgetter(1)


def _fast(root: Path, cache: Cache, options: CheckOptions, limits: Limits, stats: Stats, lang: str) -> CheckResult | None:
    found = _changed_files(root, cache)
    if found is None:
        stats.reason = "a library file changed"
        return None
    current, changed = found
    stats.changed_files = changed
    try:
        skeleton: Project = _unpickle(cache.skeleton)
    except Exception as e:  # like the rest of the cache: unreadable, ignored
        raise _Unreadable from e
    if not changed:
        stats.mode = "unchanged"
        project = _catalog(skeleton, cache, Diagnostics()).project
        dupes, asked = _update_dupes(cache, cache.reports, set(), {}, project)
        run, project_findings = _run_rules(cache, project, options, dupes, cache.reports, [], asked, set(), False, lang)
        findings = [*cache.catalog_findings, *run.usage, *project_findings, *(d for ds in cache.per_report.values() for d in ds)]
        if cache.dirty:
            _save(root, cache)
        return finish(project, findings, options, cache.suppressions, cache.starts)
    if PROJECT_FILE in changed:
        stats.reason = f"{PROJECT_FILE} changed"
        return None
    # Only report files may have changed, before and after.
    old_uids: set[str] = set()
    for rel in changed:
        kinds = cache.objects.get(rel, ())
        if any(kind != "report" for kind, _ in kinds):
            stats.reason = f"{rel} holds more than reports"
            return None
        old_uids.update(u for _, u in kinds)
    diags = Diagnostics()
    source_files = []
    for rel in changed:
        if rel not in current:
            continue  # deleted
        sf = read_file(root / rel, rel, diags, limits)
        if sf is None:
            stats.reason = f"{rel} cannot be read"
            return None
        if any(not isinstance(d.data, dict) or d.data.get("kind") != "report" for d in sf.documents):
            stats.reason = f"{rel} now holds more than reports"
            return None
        source_files.append(sf)
    vset = validate_set(SourceSet(skeleton.id, root, False, None, tuple(source_files)), diags)
    catalog = _catalog(skeleton, cache, diags, old_uids)
    fresh = catalog.reports(list(vset.documents))
    if any(d.severity is Severity.ERROR for d in diags.items):
        stats.reason = "the changed files have errors"
        return None
    removed = frozenset(old_uids - set(fresh))
    if removed & cache.retires_refs:
        stats.reason = "a removed report is retired by another"
        return None
    new_facts = {u: report_facts(r) for u, r in fresh.items()}
    if _canonical_moves(cache, [cache.reports[u] for u in old_uids], list(new_facts.values())):
        stats.reason = "the change may move a usage-based canonical field"
        return None
    stats.mode = "reports"
    # Only the changed reports are objects here: rules read the other reports' facts.
    project = dataclasses.replace(catalog.project, reports=dict(fresh))
    facts = cache.reports.with_changes(new_facts, old_uids)
    touched = old_uids | set(fresh)
    dupes, asked = _update_dupes(cache, facts, touched, new_facts, project)
    # Which fields and codelists are used moves only with the references of a changed report.
    refs_moved = any((cache.reports[u].refs if u in cache.reports else ()) != (new_facts[u].refs if u in new_facts else ()) for u in touched)
    run, project_findings = _run_rules(cache, project, options, dupes, facts, list(fresh.values()), asked, touched, refs_moved, lang)
    per_report = {u: ds for u, ds in cache.per_report.items() if u not in old_uids}
    per_report.update(run.per_report)
    shown = {display_path(root / rel) for rel in changed}
    sups = {path: facts_ for path, facts_ in cache.suppressions.items() if path not in shown}
    old_starts = cache.starts

    def new_starts() -> dict[tuple[str, int], str]:
        out = {k: v for k, v in old_starts.items() if v not in old_uids}
        for r in fresh.values():
            out[(r.doc.file, r.location.line)] = r.uid
        return out

    starts = _Lazy(new_starts)  # read only when a suppression comment asks where a document starts
    for sf in source_files:
        found_sups = file_suppressions(sf.file)
        if found_sups:
            sups[sf.file] = found_sups
    findings = [*cache.catalog_findings, *run.usage, *project_findings, *(d for ds in per_report.values() for d in ds)]
    result = finish(project, findings, options, sups, starts)
    if len(changed) >= REFRESH_AFTER:
        cache.conflict_hits, cache.conflict_reports = _conflict_hits(project_findings)
        cache.usage_findings = run.usage
        _refresh(root, cache, current, changed, fresh, new_facts, facts, dupes, per_report, sups, starts, old_uids)
    return result


def _groups(items: Iterable[tuple[str, str | None]]) -> Groups:
    out: Groups = {}
    for unique, lib in items:
        kind, ns, _ = unique.split(".", 2)
        out.setdefault((kind, ns, lib), []).append(unique)
    return out


def _catalog(skeleton: Project, cache: Cache, diags: Diagnostics, old_uids: set[str] | None = None) -> Rebuilder:
    reports = _groups((u, s.library) for u, s in cache.reports.states.items() if not old_uids or u not in old_uids)
    org = cache.org
    return Rebuilder(
        skeleton,
        _Documents(cache.documents, cache.docs),
        [*cache.known.items(), *reports.items()],
        diags,
        org_tree=lambda: marshal.loads(org),
    )


def _update_dupes(cache: Cache, facts: _Facts, touched: set[str], new_facts: Mapping[str, ReportFacts], project: Project) -> tuple[DupesResult, set[str]]:
    """The duplicate analysis after the change, and the (canonical) fields whose conflicts may differ.

    A changed report whose columns, frequency, status and mode are what they were (a new title, a
    new deadline, an admission record) keeps its overlaps and conflicts: only the others are redone,
    and the reports' signatures are not even read when there are none."""
    d = cache.dupes
    canon = d.canonical
    moved = {u for u in touched if u not in cache.reports or u not in new_facts or _dupes_key(cache.reports[u]) != _dupes_key(new_facts[u])}
    overlaps = [o for o in d.report_overlaps if o.a not in moved and o.b not in moved]
    if moved:
        sigs = {u: s for u, s in cache.signatures.items() if u not in moved}
        for u in moved & new_facts.keys():
            if new_facts[u].status != "retired":
                sigs[u] = _signatures(new_facts[u], canon)
        found: list[ReportOverlap] = []
        done: set[str] = set()
        for u in sorted(moved & sigs.keys()):
            for other in sigs:
                if other == u or other in done:
                    continue
                a, b = (u, other) if u < other else (other, u)
                o = pair_overlap(a, sigs[a], b, sigs[b], (facts.states[a].frequency, facts.states[b].frequency), OVERLAP_MIN_JACCARD, OVERLAP_MIN_CONTAINMENT)
                if o is not None:
                    found.append(o)
            done.add(u)
        _insert_sorted(overlaps, found, overlap_order)
        cache.signatures = _Lazy.of(sigs)
    # Only the conflicts of fields the changed reports ask for can change.
    before = [cache.reports[u] for u in moved if u in cache.reports]
    after = [new_facts[u] for u in moved if u in new_facts]
    asked = {canon.get(f, f) for r in [*before, *after] for f in _plain_fields(r)}
    conflicts: Sequence[FrequencyConflict] = d.frequency_conflicts  # left unread (see _Conflicts) when none can change
    if asked:
        kept = [c for c in d.frequency_conflicts if c.field not in asked]
        _insert_sorted(kept, _asked_conflicts(cache, asked, before, after, facts, project.field_label), conflict_order)
        conflicts = tuple(kept)
    return DupesResult(d.field_clusters, tuple(overlaps), conflicts, canon, d.compared_pairs), asked


def _dupes_key(r: ReportFacts) -> tuple[Any, ...]:
    """What a report's overlaps and frequency conflicts depend on."""
    return (r.status, r.mode, r.frequency, r.columns)


def _insert_sorted(ordered: list[U], new: list[U], key: Callable[[U], Any]) -> None:
    """Put the few ``new`` items into the list the cache kept in order (without the changed reports'
    items, so still in order) where a full sort of both would put them: the keys are unique."""
    for item in sorted(new, key=key):
        bisect.insort(ordered, item, key=key)


def _conflict_targets(r: ReportFacts, canon: Mapping[str, str]) -> set[str]:
    return {t for t in (canon.get(f, f) for f in _plain_fields(r)) if t not in ORG_UNIT_FIELDS}


def _single_frequencies(facts: Mapping[str, ReportFacts], canon: Mapping[str, str]) -> dict[str, str]:
    """(Canonical) fields that reports ask at exactly one frequency → that frequency."""
    seen: dict[str, str | None] = {}
    for r in facts.values():
        if counts_for_frequency(r.status, r.mode):
            for t in _conflict_targets(r, canon):
                seen[t] = r.frequency if seen.get(t, r.frequency) == r.frequency else None
    return {t: q for t, q in seen.items() if q is not None}


def _asked_conflicts(
    cache: Cache, asked: set[str], before: list[ReportFacts], after: list[ReportFacts], facts: Mapping[str, ReportFacts], label: Callable[[str], str]
) -> list[FrequencyConflict]:
    """The frequency conflicts of the fields the changed reports ask (``asked``), after the change.

    A conflict the cache holds is updated by the changed reports alone: their old versions leave it,
    their new ones join it. A field the cache knew asked at one frequency stays out of conflict while
    the changed reports ask it at that frequency too. Only a field that may newly be in conflict
    (asked at another frequency, or not known) needs every report's facts, as a full check reads them.
    """
    canon = cache.dupes.canonical
    known = _conflicts_of(cache.dupes.frequency_conflicts, asked)
    sets = {f: {k: set(v) for k, v in c.frequencies.items()} for f, c in known.items()}
    labels = {f: c.label for f, c in known.items()}
    for r in before:
        if counts_for_frequency(r.status, r.mode):
            for t in _conflict_targets(r, canon) & sets.keys():
                sets[t][r.frequency].discard(r.uid)
    unsure: set[str] = set()
    for r in after:
        if counts_for_frequency(r.status, r.mode):
            for t in _conflict_targets(r, canon):
                if t in sets:
                    sets[t].setdefault(r.frequency, set()).add(r.uid)
                elif cache.single.get(t) != r.frequency:
                    unsure.add(t)
    out = []
    for t, by_freq in sets.items():
        kept = {k: tuple(sorted(v)) for k, v in sorted(by_freq.items()) if v}
        if len(kept) > 1:
            out.append(FrequencyConflict(t, labels[t], kept))
    if unsure:
        rows = ((r.uid, r.frequency, _plain_fields(r)) for r in facts.values() if counts_for_frequency(r.status, r.mode))
        out.extend(frequency_conflicts_of(rows, canon, label, only=unsure))
    return out


class _Conflicts(Sequence[FrequencyConflict]):
    """The cache's frequency conflicts in their order, each kept marshalled by its field until it is read.

    A province has thousands; an edit that moves no report's columns or frequency changes none of them,
    and its rules read only the few whose findings point into the edited report.
    """

    def __init__(self, encoded: dict[str, bytes]) -> None:
        self.encoded = encoded
        self.fields = list(encoded)
        self._read: dict[str, FrequencyConflict] = {}

    def get(self, field: str) -> FrequencyConflict:
        c = self._read.get(field)
        if c is None:
            label, frequencies = marshal.loads(self.encoded[field])
            c = self._read[field] = FrequencyConflict(field, label, frequencies)
        return c

    def __getitem__(self, i: Any) -> Any:
        return [self.get(f) for f in self.fields[i]] if isinstance(i, slice) else self.get(self.fields[i])

    def __iter__(self) -> Iterator[FrequencyConflict]:
        return map(self.get, self.fields)

    def __len__(self) -> int:
        return len(self.fields)


def _conflict_fields(conflicts: Sequence[FrequencyConflict]) -> list[str]:
    return conflicts.fields if isinstance(conflicts, _Conflicts) else [c.field for c in conflicts]


def _conflicts_of(conflicts: Sequence[FrequencyConflict], fields: set[str]) -> dict[str, FrequencyConflict]:
    """The conflicts of ``fields``, in the conflicts' order, by field (only those read when they are cached)."""
    if isinstance(conflicts, _Conflicts):
        return {f: conflicts.get(f) for f in conflicts.fields if f in fields}
    return {c.field: c for c in conflicts if c.field in fields}


def _encoded_conflicts(conflicts: Sequence[FrequencyConflict]) -> dict[str, bytes]:
    """Field → its conflict's label and frequencies, marshalled (as :class:`_Conflicts` reads them)."""
    if isinstance(conflicts, _Conflicts):
        return conflicts.encoded
    return {c.field: marshal.dumps((c.label, dict(c.frequencies))) for c in conflicts}


def _conflict_hits(findings: list[Diagnostic]) -> tuple[dict[str, list[Diagnostic]], dict[str, list[str]]]:
    """The YBT204 findings by the field in conflict, and for each report the fields of those that point into it."""
    hits: dict[str, list[Diagnostic]] = {}
    reports: dict[str, list[str]] = {}
    for d in findings:
        if d.code == _CONFLICT_RULE and d.object_id and "#" in d.object_id:
            report, field = d.object_id.split("#", 1)
            hits.setdefault(field, []).append(d)
            reports.setdefault(report, []).append(field)
    return hits, reports


def _run_rules(
    cache: Cache,
    project: Project,
    options: CheckOptions,
    dupes: DupesResult,
    facts: _Facts,
    fresh: list[Report],
    asked: set[str],
    touched: set[str],
    refs_moved: bool,
    lang: str,
) -> tuple[RuleRun, list[Diagnostic]]:
    """The rules on the changed reports and the whole-project rules on the facts, and the project
    findings: the rules' and those reused. Frequency-conflict findings (thousands in a province) are
    taken from the cache for the conflicts that cannot have changed: neither their field is asked by a
    changed report nor their finding points into one. The usage rules' findings are taken from the
    cache unless ``refs_moved``."""
    stale = set(asked)
    for u in touched:
        stale.update(cache.conflict_reports.get(u, ()))
    present = set(_conflict_fields(dupes.frequency_conflicts))
    recheck = tuple(_conflicts_of(dupes.frequency_conflicts, {f for f in present if f in stale or f not in cache.conflict_hits}).values())
    reused = [d for f, ds in cache.conflict_hits.items() if f not in stale and f in present for d in ds]
    rechecked = dataclasses.replace(dupes, frequency_conflicts=recheck)
    ctx = Context(project, options.today, _dupes=rechecked, _reports=facts, _states=facts.states, _catalog=cache.catalog)
    run = run_rules(ctx, options, reports=fresh, catalog=cache.catalog_findings, lang=lang, usage=None if refs_moved else cache.usage_findings)
    return run, [*run.project, *reused]


def _plain_fields(r: ReportFacts) -> list[str]:
    return [f for f, agg, _ in r.columns if f and agg is None]


def _refresh(
    root: Path,
    cache: Cache,
    current: dict[str, str],
    changed: list[str],
    fresh: Mapping[str, Report],
    new_facts: dict[str, ReportFacts],
    facts: _Facts,
    dupes: DupesResult,
    per_report: dict[str, list[Diagnostic]],
    sups: dict[str, list[SuppressionFacts]],
    starts: _Lazy[tuple[str, int], str],
    old_uids: set[str],
) -> None:
    """Write the cache as a full check of the changed project would have left it."""
    for rel in changed:
        if rel in current:
            cache.files[rel] = current[rel]
            cache.objects[rel] = tuple(("report", u) for u, r in fresh.items() if r.doc.rel == rel)
        else:
            cache.files.pop(rel, None)
            cache.objects.pop(rel, None)
    cache.reports = facts
    cache.dupes = dupes
    cache.single = _single_frequencies(facts, dupes.canonical)
    cache.retires_refs = frozenset({*(u for u in cache.retires_refs), *(u for r in fresh.values() if r.admission is not None for u in r.admission.retires)})
    cache.per_report = per_report
    cache.redone = old_uids | set(fresh)
    cache.suppressions = sups
    cache.starts = starts
    _save(root, cache)


# --- the cache on disk: builtins only (marshal), the model's skeleton a pickled blob ------------------

_new = tuple.__new__  # the facts, overlaps and conflicts are named tuples: rebuilt from their cached tuples in one step


_CATALOG_FIELDS = tuple(f.name for f in dataclasses.fields(CatalogFacts))
#: Catalog facts kept marshalled in the cache until a rule reads them (see :class:`_Marshalled`).
_CATALOG_LAZY = ("own_fields", "own_codelists")


def _encode_catalog(catalog: CatalogFacts) -> tuple[Any, ...]:
    out = []
    for name in _CATALOG_FIELDS:
        v = getattr(catalog, name)
        out.append(_Marshalled.encode(v) if name in _CATALOG_LAZY else dict(v) if isinstance(v, Mapping) else v)
    return tuple(out)


def _decode_catalog(parts: tuple[Any, ...]) -> CatalogFacts:
    return CatalogFacts(**{name: _Marshalled(v) if name in _CATALOG_LAZY else v for name, v in zip(_CATALOG_FIELDS, parts, strict=True)})


def _encode(c: Cache) -> dict[str, Any]:
    if c.raw is not None:
        return _encode_changes(c, c.raw)
    return {
        # what only a full check changes
        "key": c.key,
        "library_paths": c.library_paths,
        "include": c.include,
        "exclude": c.exclude,
        "skeleton": c.skeleton,
        "org": c.org,
        "documents": c.documents.encoded(),
        "docs": c.docs,
        "known": c.known,
        "catalog": _encode_catalog(c.catalog),
        "canonical": dict(c.dupes.canonical),
        "compared_pairs": c.dupes.compared_pairs,
        "usage_sensitive": c.usage_sensitive.encoded(),
        **_encode_reports(c),
    }


def _encode_changes(c: Cache, raw: dict[str, Any]) -> dict[str, Any]:
    """The encoded cache after an incremental run: the catalog parts as read, the rest updated; the
    columns of reports that did not change are written back as they were read, and the findings too
    when no report changed (a run that found only new file times)."""
    return {**raw, **_encode_reports(c, findings=bool(c.redone))}


def _encode_reports(c: Cache, findings: bool = True) -> dict[str, Any]:
    """The parts an incremental run changes. The findings (unless ``findings`` is false) are packed
    together, the catalog's first, then each report's, then each conflict's (see :func:`_findings`)."""
    states, columns = c.reports.encoded()
    out = {
        "files": c.files,
        "objects": c.objects.encoded(),
        "states": states,
        "reports": columns,
        "signatures": c.signatures.encoded(),
        "overlaps": [tuple(o) for o in c.dupes.report_overlaps],
        "conflicts": _encoded_conflicts(c.dupes.frequency_conflicts),
        "usage": c.usage.encoded(),
        "retires_refs": c.retires_refs,
        "single": c.single,
        "suppressions": c.suppressions,
        "starts": c.starts.encoded(),
        "stats": c.stats,
        "scanned_ns": c.scanned_ns,
    }
    if findings:
        out["findings"] = pack_diagnostics([c.catalog_findings, c.usage_findings, *c.per_report.values(), *c.conflict_hits.values()])
        out["per_report"] = list(c.per_report)
        out["conflict_hits"] = list(c.conflict_hits)
        out["conflict_reports"] = c.conflict_reports
    return out


def _findings(d: Mapping[str, Any]) -> dict[str, Any]:
    """The cache's findings as :func:`_encode_reports` packed them: the catalog's, the usage rules',
    each report's and each conflict's."""
    reports, conflicts = d["per_report"], d["conflict_hits"]
    catalog, usage, *groups = unpack_diagnostics(d["findings"])
    if len(groups) != len(reports) + len(conflicts):
        raise ValueError("the cached findings do not match their reports and conflicts")
    return {
        "catalog_findings": catalog,
        "usage_findings": usage,
        "per_report": dict(zip(reports, groups[: len(reports)], strict=True)),
        "conflict_hits": dict(zip(conflicts, groups[len(reports) :], strict=True)),
        "conflict_reports": d["conflict_reports"],
    }


def _decode(d: dict[str, Any]) -> Cache:
    overlaps = tuple(_new(ReportOverlap, t) for t in d["overlaps"])
    return Cache(
        key=d["key"],
        **_project_fields(d),
        reports=_Facts.decoded(d["states"], d["reports"]),
        catalog=_decode_catalog(d["catalog"]),
        dupes=DupesResult((), overlaps, _Conflicts(d["conflicts"]), d["canonical"], d["compared_pairs"]),
        **_findings(d),
        suppressions=d["suppressions"],
        starts=_Lazy.marshalled(d["starts"]),
        stats=d["stats"],
        scanned_ns=d["scanned_ns"],
        raw=d,
    )
