"""Duplicate analysis: fields that mean the same data element, and reports that ask the same things.

Fields are never compared all-against-all. Each field is *blocked* under the concepts of its label and
aliases (role + core meaning, see :mod:`ybt.analyze.labels`) and, for identity types (resident ID,
credit code), under its type; only fields sharing a block are compared. A pair must pass hard
constraints (same role, compatible type, unit, entity and codelist, both or neither a total) and
collects weighted evidence; clusters grow from the strongest pairs, and two clusters join only when
every member of one is compatible with every member of the other (complete linkage), so a chain of
near-misses can never glue 户主姓名 to 姓名.

Report overlaps compare reports by *column signatures* after mapping every field to its cluster's
canonical field: a plain column is its field; an aggregate column is aggregate + field + condition.
Candidate pairs come from an inverted index that skips signatures present in most reports.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from ybt import gcpause
from ybt.analyze.labels import GENERIC_CORES, Concept, SynonymTable, canonical_unit, concept, normalize, synonym_table, to_simplified
from ybt.diagnostics import Text
from ybt.model import Column, Field, Project, Report

#: Field types whose values identify one person or organisation: equal type means equal element.
IDENTITY_TYPES = frozenset({"resident_id", "uscc"})
SEMANTIC_TYPES = frozenset({"resident_id", "uscc", "phone", "division_code", "postal_code", "email", "bank_account"})
_FAMILY = {
    "string": "text",
    "text": "text",
    "code": "text",
    "boolean": "text",
    "integer": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "date",
    "year_month": "year_month",
    **{t: "text" for t in SEMANTIC_TYPES},
}
#: Standard fields that say where a row belongs; every report has them, so they carry no signal.
ORG_UNIT_FIELDS = frozenset({"field.std.town", "field.std.village", "field.std.grid", "field.std.division_code"})
DEFAULT_MIN_SCORE = 0.6
LARGE_BLOCK = 400


class Evidence(NamedTuple):
    """Why two fields are taken for one (a named tuple, like the other results the duplicate analysis's
    second process sends back: pickle rebuilds it in C)."""

    kind: str
    text: Text
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "weight": self.weight, "zh": self.text.zh, "en": self.text.en}


@dataclass(frozen=True, slots=True)
class Profile:
    """What the analysis knows about one field."""

    uid: str
    field: Field
    label_norm: str
    concepts: frozenset[Concept]
    primary: Concept
    role: str
    family: str
    unit: str | None
    codelist_labels: frozenset[str]
    total: bool
    #: The label names an unnamed business event (申请日期, 发放金额): never matched on its label.
    generic: bool

    @property
    def signature(self) -> tuple[str, str, str | None, str | None, str | None, bool]:
        f = self.field
        return (self.role, self.family, self.unit, f.entity, f.codelist if f.type == "code" else None, self.total)


class Member(NamedTuple):
    uid: str
    qualified: str
    label: str
    file: str
    line: int
    library: str | None
    usage: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.qualified,
            "unique_id": self.uid,
            "label": self.label,
            "file": self.file,
            "line": self.line,
            "library": self.library,
            "usage": self.usage,
        }


class FieldCluster(NamedTuple):
    id: str
    canonical: str  # unique id
    canonical_qualified: str
    why: Text
    score: float
    evidence: tuple[Evidence, ...]
    members: tuple[Member, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "canonical": self.canonical_qualified,
            "canonical_unique_id": self.canonical,
            "why": self.why.to_dict(),
            "score": self.score,
            "evidence": [e.to_dict() for e in self.evidence],
            "members": [m.to_dict() for m in self.members],
        }


class ReportOverlap(NamedTuple):
    """Two reports asking much the same (a named tuple, like :class:`FrequencyConflict`: the
    incremental check rebuilds thousands of them from its cache in one step each)."""

    a: str
    b: str
    shared_fields: tuple[str, ...]
    jaccard: float
    containment: float
    a_within_b: bool
    frequencies: tuple[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "shared_fields": list(self.shared_fields),
            "jaccard": self.jaccard,
            "containment": self.containment,
            "a_within_b": self.a_within_b,
            "frequency_a": self.frequencies[0],
            "frequency_b": self.frequencies[1],
        }


class FrequencyConflict(NamedTuple):
    field: str  # canonical unique id
    label: str
    frequencies: Mapping[str, tuple[str, ...]]  # frequency → report unique ids

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "label": self.label, "frequencies": {k: list(v) for k, v in self.frequencies.items()}}


@dataclass(frozen=True, slots=True)
class DupesResult:
    field_clusters: tuple[FieldCluster, ...]
    report_overlaps: tuple[ReportOverlap, ...]
    #: In the order of :func:`conflict_order` (a tuple, or the incremental check's lazily read sequence).
    frequency_conflicts: Sequence[FrequencyConflict]
    #: Every analysed field → its canonical field (itself when it is in no cluster).
    canonical: Mapping[str, str] = field(default_factory=dict)
    compared_pairs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "field_clusters": [c.to_dict() for c in self.field_clusters],
            "report_overlaps": [o.to_dict() for o in self.report_overlaps],
            "frequency_conflicts": [c.to_dict() for c in self.frequency_conflicts],
            "stats": {
                "clusters": len(self.field_clusters),
                "duplicate_fields": sum(len(c.members) - 1 for c in self.field_clusters),
                "compared_pairs": self.compared_pairs,
            },
        }


# --------------------------------------------------------------------------------------------
# Profiles and pairs


def _codelist_labels(project: Project, f: Field) -> frozenset[str]:
    if f.codelist is None or f.codelist not in project.codelists:
        return frozenset()
    return frozenset(normalize(v.label) for v in project.codelists[f.codelist].values)


def profile(project: Project, f: Field, synonyms: SynonymTable) -> Profile:
    explicit_role = f.role if f.role != "self" else None
    read = concept(f.label, synonyms, explicit_role)
    role = read.role
    # The declared unit counts as if it were written in the label: 承包面积 in 亩 is 承包面积（亩）.
    unit = canonical_unit(f.unit) or read.unit
    primary = Concept(role, read.core, unit, read.total)
    names = [concept(a, synonyms, role) for a in f.aliases]
    # An alias without a role word belongs to the field's role (户主姓名 aliased 姓名 is still the head's).
    concepts = {primary, *(Concept(role, c.core, c.unit or unit, c.total) for c in names)}
    return Profile(
        uid=f.uid,
        field=f,
        label_norm=normalize(f.label),
        concepts=frozenset(concepts),
        primary=primary,
        role=role,
        family=_FAMILY.get(f.type, "text"),
        unit=unit,
        codelist_labels=_codelist_labels(project, f),
        total=primary.total,
        generic=primary.core in GENERIC_CORES and primary.core not in synonyms,
    )


def compatible(a: Profile, b: Profile) -> bool:
    """Hard constraints: any failure means the two fields are different data elements."""
    if a.role != b.role or a.total != b.total or a.family != b.family:
        return False
    if a.generic or b.generic:
        return False
    fa, fb = a.field, b.field
    if fa.type in SEMANTIC_TYPES and fb.type in SEMANTIC_TYPES and fa.type != fb.type:
        return False
    if a.unit and b.unit and a.unit != b.unit:
        return False
    if fa.entity and fb.entity and fa.entity != fb.entity:
        return False
    if fa.type == "code" and fb.type == "code" and fa.codelist != fb.codelist and a.codelist_labels and b.codelist_labels:
        common = len(a.codelist_labels & b.codelist_labels)
        if common < 0.5 * min(len(a.codelist_labels), len(b.codelist_labels)):
            return False
    return True


def _has_traditional(label: str) -> bool:
    return to_simplified(label) != label


#: kind → (Chinese, English, weight) of evidence that does not name the pair's two labels; ``{x}`` and
#: ``{y}`` stand for the type, unit, codelist … it names.
_EVIDENCE: dict[str, tuple[str, str, float]] = {
    "label": ("标签相同：{x}", "same label: {x}", 0.6),
    "traditional": ("繁体转简体后一致", "equal after traditional → simplified", 0.0),
    "alias": ("别名一致：{x}", "an alias matches: {x}", 0.45),
    "identity-type": ("同为标识类型 {x}，同一角色只能有一个", "both identify by {x}; one role has one", 0.5),
    "semantic-type": ("语义类型相同：{x}", "same semantic type: {x}", 0.25),
    "type": ("数据类型相同：{x}", "same type: {x}", 0.1),
    "type-compatible": ("数据类型兼容：{x} / {y}", "compatible types: {x} / {y}", 0.1),
    "codelist": ("代码表相同：{x}", "same codelist: {x}", 0.15),
    "codelist-values": ("代码表取值基本一致", "codelists with matching values", 0.1),
    "unit": ("计量单位相同：{x}", "same unit: {x}", 0.1),
    "entity": ("描述同一对象：{x}", "describe the same entity: {x}", 0.05),
    "role": ("角色相同：{x}", "same role: {x}", 0.0),
}


@lru_cache(maxsize=16384)
def _shared_evidence(kind: str, x: str = "", y: str = "") -> Evidence:
    """Evidence that does not name the pair's two labels, built once: a province has tens of
    thousands of pairs but few types, units, codelists and entities."""
    if kind not in _EVIDENCE:
        raise ValueError(kind)
    zh, en, weight = _EVIDENCE[kind]
    return Evidence(kind, Text(zh.format(x=x, y=y), en.format(x=x, y=y)), weight)


def evidence(a: Profile, b: Profile, synonyms: SynonymTable) -> list[Evidence]:
    """Weighted reasons to believe a and b are the same element (assumes :func:`compatible`)."""
    out: list[Evidence] = []
    fa, fb = a.field, b.field
    if a.label_norm == b.label_norm:
        if fa.label == fb.label:
            out.append(_shared_evidence("label", fa.label))
        else:
            out.append(
                Evidence(
                    "label-normalised",
                    Text(f"规范化后标签相同：{fa.label} ≈ {fb.label}", f"same label once normalised: {fa.label} ≈ {fb.label}"),
                    0.55,
                )
            )
        if _has_traditional(fa.label) or _has_traditional(fb.label):
            out.append(_shared_evidence("traditional"))
    elif a.primary == b.primary:
        if _has_traditional(fa.label) or _has_traditional(fb.label):
            out.append(
                Evidence(
                    "traditional",
                    Text(
                        f"繁简转换后同义：{fa.label} ≈ {fb.label}",
                        f"same once traditional characters are simplified: {fa.label} ≈ {fb.label}",
                    ),
                    0.0,
                )
            )
        out.append(Evidence("synonym", Text(f"同义标签：{fa.label} ≈ {fb.label}", f"synonymous labels: {fa.label} ≈ {fb.label}"), 0.5))
    elif a.concepts & b.concepts:
        shared = sorted(c.core for c in a.concepts & b.concepts)[0]
        out.append(_shared_evidence("alias", shared))
    elif fa.type == fb.type and fa.type in IDENTITY_TYPES:
        out.append(_shared_evidence("identity-type", fa.type))
    if fa.type == fb.type and fa.type in SEMANTIC_TYPES:
        out.append(_shared_evidence("semantic-type", fa.type))
    elif fa.type == fb.type:
        out.append(_shared_evidence("type", fa.type))
    elif fa.base_type == fb.base_type:
        out.append(_shared_evidence("type-compatible", fa.type, fb.type))
    if fa.codelist and fa.codelist == fb.codelist:
        out.append(_shared_evidence("codelist", fa.codelist))
    elif a.codelist_labels and b.codelist_labels:
        out.append(_shared_evidence("codelist-values"))
    if a.unit and a.unit == b.unit:
        out.append(_shared_evidence("unit", a.unit))
    if fa.entity and fa.entity == fb.entity:
        out.append(_shared_evidence("entity", fa.entity.split(".", 1)[1]))
    if a.role != "self":
        out.append(_shared_evidence("role", a.role))
    return out


def score(ev: Iterable[Evidence]) -> float:
    return round(min(1.0, sum(e.weight for e in ev)), 2)


# --------------------------------------------------------------------------------------------
# Clustering


def _blocks(profiles: list[Profile]) -> dict[tuple[Any, ...], list[int]]:
    blocks: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, p in enumerate(profiles):
        keys: set[tuple[Any, ...]] = {("c", c.role, c.core, c.total, p.family) for c in p.concepts}
        if p.field.type in IDENTITY_TYPES:
            keys.add(("t", p.role, p.field.type, p.field.entity))
        for k in keys:
            blocks[k].append(i)
    return blocks


def _candidate_pairs(profiles: list[Profile]) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for members in _blocks(profiles).values():
        if len(members) < 2:
            continue
        if len(members) <= LARGE_BLOCK:
            pairs.update(itertools.combinations(members, 2))
            continue
        # Very large blocks: compare within groups of equal signature, and each group's leader
        # with the other leaders; members of a group are compatible with one another by construction.
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for i in members:
            groups[profiles[i].signature].append(i)
        leaders = [g[0] for g in groups.values()]
        for g in groups.values():
            pairs.update((g[0], j) for j in g[1:])
        pairs.update(itertools.combinations(leaders, 2))
    return pairs


class _Clusters:
    def __init__(self, profiles: list[Profile]) -> None:
        self.parent = list(range(len(profiles)))
        self.members: dict[int, list[int]] = {i: [i] for i in range(len(profiles))}
        self.reps: dict[int, dict[tuple[Any, ...], int]] = {i: {p.signature: i} for i, p in enumerate(profiles)}
        self.profiles = profiles

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def try_union(self, i: int, j: int) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return True
        # Complete linkage over signatures: compatibility depends only on a field's signature
        # (and codelist values, which follow its codelist), so one representative per signature suffices.
        for si, pi in self.reps[ri].items():
            for sj, pj in self.reps[rj].items():
                if si == sj:
                    continue
                if not compatible(self.profiles[pi], self.profiles[pj]):
                    return False
        if len(self.members[ri]) < len(self.members[rj]):
            ri, rj = rj, ri
        self.parent[rj] = ri
        self.members[ri].extend(self.members.pop(rj))
        for sig, rep in self.reps.pop(rj).items():
            self.reps[ri].setdefault(sig, rep)
        return True


def _usage(project: Project) -> Counter[str]:
    used: Counter[str] = Counter()
    for r in project.reports.values():
        if r.status == "retired":
            continue
        used.update(r.field_uids())
        used.update(cond.field for col in r.columns for cond in col.where)
    for led in project.ledgers.values():
        used.update(led.field_uids())
    return used


def _rank(p: Profile, usage: Counter[str]) -> tuple[int, int, int, int, str]:
    f = p.field
    tier = 0 if f.library is not None else (1 if f.namespace == "shared" else 2)
    return (tier, 0 if f.status == "standard" else 1, -usage[f.uid], 0 if f.filling_rule else 1, f.uid)


def _why(p: Profile, usage: Counter[str]) -> Text:
    f = p.field
    used = usage[f.uid]
    if f.library is not None:
        std = f"（{f.standard}）" if f.standard else ""
        return Text(
            f"标准库字段{std}，被 {used} 处使用",
            f"standard library field{(' (' + f.standard + ')') if f.standard else ''}, used {used} times",
        )
    if f.namespace == "shared":
        return Text(f"区共享目录中的字段，被 {used} 处使用", f"field of the district's shared catalog, used {used} times")
    return Text(
        f"没有标准字段可用；{f.namespace} 的字段使用最多（{used} 处）" + ("，且有填表规范" if f.filling_rule else ""),
        f"no standard field exists; {f.namespace}'s field is used most ({used} times)" + (" and has a filling rule" if f.filling_rule else ""),
    )


def cluster_fields(project: Project, min_score: float = DEFAULT_MIN_SCORE) -> tuple[list[FieldCluster], dict[str, str], int]:
    synonyms = synonym_table([*project.synonyms, *(g for lib in project.libraries.values() for g in lib.synonyms)])
    live = [f for f in project.fields.values() if f.status not in ("superseded", "retired")]
    profiles = [profile(project, f, synonyms) for f in live]
    pairs = _candidate_pairs(profiles)
    scored: list[tuple[float, int, int, list[Evidence]]] = []
    for i, j in pairs:
        a, b = profiles[i], profiles[j]
        if not compatible(a, b):
            continue
        ev = evidence(a, b, synonyms)
        s = score(ev)
        if s >= min_score:
            scored.append((s, i, j, ev))
    uids = [p.uid for p in profiles]
    scored.sort(key=lambda t: (-t[0], uids[t[1]], uids[t[2]]))
    clusters = _Clusters(profiles)
    edges: dict[int, list[tuple[float, list[Evidence]]]] = defaultdict(list)
    for s, i, j, ev in scored:
        if clusters.try_union(i, j):
            edges[i].append((s, ev))
    usage = _usage(project)
    out: list[FieldCluster] = []
    canonical: dict[str, str] = dict(zip(uids, uids, strict=True))
    # (members in index order, members best-ranked first) of every cluster, by canonical field.
    groups = [(sorted(m), sorted(m, key=lambda k: _rank(profiles[k], usage))) for m in clusters.members.values() if len(m) > 1]
    groups.sort(key=lambda g: uids[g[1][0]])
    for n, (group, ranked) in enumerate(groups, start=1):
        canon = profiles[ranked[0]]
        scores: list[float] = []
        kinds: dict[str, Evidence] = {}
        for k in group:
            for s, ev in edges.get(k, ()):
                scores.append(s)
                for e in ev:
                    kinds.setdefault(e.kind + e.text.en, e)
        members = tuple(
            Member(
                uid=f.uid,
                qualified=f.qualified,
                label=f.label,
                file=f.doc.file,
                line=f.location.line,
                library=f.library,
                usage=usage[f.uid],
            )
            for f in (profiles[k].field for k in ranked)
        )
        for k in group:
            canonical[uids[k]] = canon.uid
        out.append(
            FieldCluster(
                id=f"C{n:03d}",
                canonical=canon.uid,
                canonical_qualified=canon.field.qualified,
                why=_why(canon, usage),
                score=round(sum(scores) / len(scores), 2) if scores else min_score,
                evidence=tuple(sorted(kinds.values(), key=lambda e: (-e.weight, e.kind, e.text.en))),
                members=members,
            )
        )
    # Superseded fields count as their replacement.
    for f in project.fields.values():
        if f.uid not in canonical:
            target = f.uid
            seen: set[str] = set()
            while target in project.fields and project.fields[target].superseded_by and target not in seen:
                seen.add(target)
                target = project.fields[target].superseded_by or target
            canonical[f.uid] = canonical.get(target, target)
    return out, canonical, len(pairs)


# --------------------------------------------------------------------------------------------
# Report overlaps


def column_signature(col: Column, canon: Mapping[str, str]) -> tuple[Any, ...]:
    if col.aggregate is None:  # the common case, without building the conditions
        return ("f", canon.get(col.field, col.field) if col.field else "")
    return signature(col.field, col.aggregate, ((c.field, c.op, repr(c.value)) for c in col.where), canon)


def signature(field: str | None, aggregate: str | None, conditions: Iterable[tuple[str, str, str]], canon: Mapping[str, str]) -> tuple[Any, ...]:
    """What a column asks for, with fields mapped to their canonical field: ("f", field) for a plain
    column, ("a", aggregate, field, conditions) for a count or sum."""
    f = canon.get(field, field) if field else ""
    if aggregate is None:
        return ("f", f)
    return ("a", aggregate, f, tuple(sorted((canon.get(c, c), op, value) for c, op, value in conditions)))


def pair_overlap(
    a: str, sa: frozenset[tuple[Any, ...]], b: str, sb: frozenset[tuple[Any, ...]], frequencies: tuple[str, str], min_jaccard: float, min_containment: float
) -> ReportOverlap | None:
    """The overlap of two reports' signatures, ``a`` being the earlier in the project's order; None
    when it is below both thresholds."""
    shared = sa & sb
    jac = len(shared) / len(sa | sb)
    ca, cb = len(shared) / len(sa), len(shared) / len(sb)
    if jac < min_jaccard and max(ca, cb) < min_containment:
        return None
    if cb > ca or (cb == ca and len(sb) < len(sa)):
        a, b, ca, cb = b, a, cb, ca
        frequencies = (frequencies[1], frequencies[0])
    return ReportOverlap(
        a=a,
        b=b,
        shared_fields=tuple(_signature_fields(shared)),
        jaccard=round(jac, 3),
        containment=round(ca, 3),
        a_within_b=ca == 1.0,
        frequencies=frequencies,
    )


def report_signatures(report: Report, canon: Mapping[str, str]) -> frozenset[tuple[Any, ...]]:
    return frozenset(("f", canon.get(c.field, c.field) if c.field else "") if c.aggregate is None else column_signature(c, canon) for c in report.columns)


def _signature_fields(sigs: Iterable[tuple[Any, ...]]) -> list[str]:
    return sorted({s[1] if s[0] == "f" else s[2] for s in sigs if (s[1] if s[0] == "f" else s[2])})


#: Report pairs below both are not listed as overlaps.
OVERLAP_MIN_JACCARD, OVERLAP_MIN_CONTAINMENT = 0.3, 0.6


def report_overlaps(
    project: Project, canon: Mapping[str, str], min_jaccard: float = OVERLAP_MIN_JACCARD, min_containment: float = OVERLAP_MIN_CONTAINMENT
) -> list[ReportOverlap]:
    reports = [r for r in project.reports.values() if r.status != "retired"]
    uids = [r.uid for r in reports]
    sigs = [report_signatures(r, canon) for r in reports]
    n_with = Counter(itertools.chain.from_iterable(sigs))
    ids = {sig: n for n, sig in enumerate(n_with)}
    encoded = [frozenset(map(ids.__getitem__, s)) for s in sigs]
    # Signatures in most reports (所属村, or columns every form has) give no candidate pairs by
    # themselves; they still count in the exact figures below.
    common_cap = max(50, len(reports) // 20)
    skipped = frozenset(sig for key, sig in ids.items() if n_with[key] > common_cap or (key[0] == "f" and key[1] in ORG_UNIT_FIELDS))
    rare = [s - skipped for s in encoded]
    n_skipped = [len(s) - len(r) for s, r in zip(encoded, rare, strict=True)]
    # Each pair is looked at once, from its smaller report x (fewer signatures; the earlier on a tie).
    # A pair that passes either threshold shares at least alpha * |x| signatures: containment of x
    # needs min_containment * |x|, and Jaccard o / (|x| + |y| - o) >= min_jaccard with |y| >= |x|
    # needs o >= 2 min_jaccard / (1 + min_jaccard) * |x|. At most n_skipped[x] of them are common
    # signatures, so a candidate y must share at least ``need`` rare ones with x. The rare ones are
    # counted for all y at once (in C, by Counter); only candidates reaching ``need`` are looked at.
    alpha = min(min_containment, 2 * min_jaccard / (1 + min_jaccard))
    order = sorted(range(len(reports)), key=lambda i: (len(encoded[i]), i))
    postings: list[list[int]] = [[] for _ in ids]
    for i in order:
        for sig in rare[i]:
            postings[sig].append(i)
    seen = [0] * len(ids)  # how many reports of each posting list are done (x's own entry is next)
    out: list[ReportOverlap] = []
    for x in order:
        later: list[list[int]] = []
        for sig in rare[x]:
            k = seen[sig] = seen[sig] + 1
            if k < len(postings[sig]):
                later.append(postings[sig][k:])
        if not later:
            continue
        need = max(1, math.ceil(alpha * len(encoded[x]) - 1e-6) - n_skipped[x])
        for y, shared_rare in Counter(itertools.chain.from_iterable(later)).most_common():  # sorted in C
            if shared_rare < need:
                break
            i, j = (x, y) if x < y else (y, x)
            si, sj = encoded[i], encoded[j]
            # An upper bound on the overlap decides most pairs without building sets.
            bound = shared_rare + min(n_skipped[i], n_skipped[j])
            small, large = min(len(si), len(sj)), max(len(si), len(sj))
            if bound < min_containment * small and bound < min_jaccard * (small + large - bound):
                continue
            o = pair_overlap(uids[i], sigs[i], uids[j], sigs[j], (reports[i].frequency, reports[j].frequency), min_jaccard, min_containment)
            if o is not None:
                out.append(o)
    out.sort(key=overlap_order)
    return out


def counts_for_frequency(status: str, mode: str) -> bool:
    """Whether a report's columns count towards frequency conflicts: retired and derived reports ask
    nobody for anything."""
    return status != "retired" and mode != "derived"


def frequency_conflicts(project: Project, canon: Mapping[str, str]) -> list[FrequencyConflict]:
    rows = (
        (r.uid, r.frequency, [c.field for c in r.columns if c.field and c.aggregate is None])
        for r in project.reports.values()
        if counts_for_frequency(r.status, r.mode)
    )
    return frequency_conflicts_of(rows, canon, project.field_label)


def frequency_conflicts_of(
    rows: Iterable[tuple[str, str, Iterable[str]]], canon: Mapping[str, str], label: Callable[[str], str], only: Collection[str] | None = None
) -> list[FrequencyConflict]:
    """Fields asked at more than one frequency, from (report, frequency, plain column fields) rows;
    with ``only``, just those (canonical) fields."""
    asked: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for uid, frequency, fields in rows:
        for f in fields:
            target = canon.get(f, f)
            if target not in ORG_UNIT_FIELDS and (only is None or target in only):
                asked[target][frequency].add(uid)
    out = [FrequencyConflict(f, label(f), {k: tuple(sorted(v)) for k, v in sorted(freqs.items())}) for f, freqs in asked.items() if len(freqs) > 1]
    out.sort(key=conflict_order)
    return out


def overlap_order(o: ReportOverlap) -> tuple[float, float, str, str]:
    """The order overlaps are listed in: the closest first."""
    return (-o.containment, -o.jaccard, o.a, o.b)


def conflict_order(c: FrequencyConflict) -> tuple[int, str]:
    """The order conflicts are listed in: most reports first."""
    return (-sum(len(v) for v in c.frequencies.values()), c.field)


def find_duplicates(project: Project, min_score: float = DEFAULT_MIN_SCORE) -> DupesResult:
    with gcpause.paused():
        clusters, canon, compared = cluster_fields(project, min_score)
        return DupesResult(
            field_clusters=tuple(clusters),
            report_overlaps=tuple(report_overlaps(project, canon)),
            frequency_conflicts=tuple(frequency_conflicts(project, canon)),
            canonical=canon,
            compared_pairs=compared,
        )
