"""Merge plans: turn the duplicate analysis into reviewable decisions, and carry them out on the specs.

``ybt merge PROJECT --plan FILE`` writes a YAML plan: each field cluster with its canonical field and
why, each proposed shared ledger with the reports that become views over it, and each summary that can
be calculated from ledgers. Every entry has a ``decision`` the reviewer may flip to ``reject``.

``ybt merge PROJECT --apply FILE`` carries the accepted decisions out: members become
``superseded_by`` the canonical field (a department-only cluster first gets a new field in the shared
catalog), every reference is rewritten to the canonical field (a column keeps its form's wording as a
local ``label``), new ledgers are written and the reports derived from them get ``mode: derived`` and
``sources``. Edits are surgical (comments, key order, quoting stay), the edited project must compile
before anything is written, all files are written or none, a plan older than the specs is refused,
and applying a plan twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ybt import __version__, atomic
from ybt.analyze.dupes import ORG_UNIT_FIELDS, DupesResult
from ybt.analyze.labels import normalize
from ybt.diagnostics import Diagnostic, Location, Severity, Text
from ybt.edit import EditError, YamlEditor
from ybt.load import PathKey
from ybt.model import Field, Project, Report
from ybt.pipeline import CompileResult, compile_project
from ybt.validate import column_id

PLAN_KIND = "merge_plan"
NEW_FIELDS_FILE = "catalog/merged_fields.yaml"
LEDGER_DIR = "ledgers"
#: Roster reports join one ledger proposal when they overlap at least this much (Jaccard) …
LEDGER_JACCARD = 0.3
#: … or when one asks for (almost) nothing the other lacks.
LEDGER_CONTAINMENT = 0.75


# --------------------------------------------------------------------------------------------
# Checksums


def project_files(project: Project) -> dict[str, str]:
    """The project's own files (not libraries) and their sha256."""
    return {path: sha for path, sha in sorted(project.file_checksums.items()) if not path.startswith("@")}


def checksum(files: Mapping[str, str]) -> str:
    return hashlib.sha256("\n".join(f"{k}:{v}" for k, v in sorted(files.items())).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Planning


def _new_shared_id(project: Project, wanted: str) -> str:
    taken = {f.id for f in project.fields.values() if f.namespace == "shared"}
    ident, n = wanted, 2
    while ident in taken:
        ident, n = f"{wanted}_{n}", n + 1
    return ident


_TITLE_STOP = re.compile(
    r"花名册|统计表|汇总表|采集表|登记表|调查表|对比表|申请表|审批表|月报表|季报表|年报表|报表|明细表|名录|名册|台账|一览表|"
    r"情况|信息|发放|变化|上报|基本|动态更新|数据|[《》（）()0-9、，,\s]|表$"
)


def _ledger_label(reports: list[Report], department: str, entity_label: str) -> str:
    """A name from what the titles share: 残疾人 in most titles gives 残疾人信息台账."""
    counts: Counter[str] = Counter()
    for r in reports:
        seen: set[str] = set()
        for segment in _TITLE_STOP.split(r.title):
            for size in range(min(len(segment), 8), 1, -1):
                for i in range(len(segment) - size + 1):
                    seen.add(segment[i : i + size])
        counts.update(seen)
    need = max(2, (len(reports) + 1) // 2)
    best = sorted((g for g, c in counts.items() if c >= need), key=lambda g: (-counts[g] * len(g), g))
    return f"{best[0]}信息台账" if best else f"{department}{entity_label}信息台账"


def _components(pairs: Iterable[tuple[str, str]], nodes: Iterable[str]) -> list[list[str]]:
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in parent:
        groups[find(n)].append(n)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def build_plan(project: Project, result: DupesResult, source: str) -> dict[str, Any]:
    canon: dict[str, str] = dict(result.canonical)
    clusters: list[dict[str, Any]] = []
    for c in result.field_clusters:
        target_field = project.fields[c.canonical]
        promote = target_field.library is None and target_field.namespace != "shared"
        canonical = f"shared.{_new_shared_id(project, target_field.id)}" if promote else c.canonical_qualified
        clusters.append(
            {
                "id": c.id,
                "decision": "accept",
                "canonical": canonical,
                "promote_from": c.canonical_qualified if promote else None,
                "label": target_field.label,
                "why": c.why.zh + " / " + c.why.en + (" — 提升为区共享目录字段 / promoted to the shared catalog" if promote else ""),
                "score": c.score,
                "evidence": [e.text.zh for e in c.evidence],
                "members": [{"field": m.qualified, "label": m.label, "file": m.file, "line": m.line} for m in c.members],
            }
        )
    ledgers, extensions, derived = _ledger_plan(project, result, canon, clusters)
    files = project_files(project)
    return {
        "kind": PLAN_KIND,
        "project": project.id,
        "source": source,
        "ybt_version": __version__,
        "project_checksum": checksum(files),
        "clusters": clusters,
        "ledger_extensions": extensions,
        "ledgers": ledgers,
        "derived_reports": derived,
        "files": files,
    }


def _ledger_plan(
    project: Project, result: DupesResult, canon: Mapping[str, str], clusters: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Shared ledgers behind the rosters, the way 一表通 builds them.

    For each entity, the attributes most rosters ask for (姓名, 身份证号, 联系电话 …) belong in one
    base ledger, entered once: an existing ledger of that entity is extended when it already holds
    a good part of them, otherwise a new one is proposed. Rosters that share business data beyond
    those basics (残疾类别, 残疾等级 …) are grouped, and each group gets a business ledger. A roster
    then becomes a view over the base ledger and its business ledger.
    """
    ledgers: list[dict[str, Any]] = []
    extensions: list[dict[str, Any]] = []
    held: dict[str, set[str]] = {led.qualified: {canon.get(f, f) for f in led.field_uids()} for led in project.ledgers.values()}
    derived_sources: dict[str, list[str]] = {}
    taken_ids = {led.id for led in project.ledgers.values()}

    def new_id(base: str) -> str:
        ident, n = base, 2
        while ident in taken_ids:
            ident, n = f"{base}_{n}", n + 1
        taken_ids.add(ident)
        return ident

    def refs(fields: Iterable[str]) -> list[str]:
        return [_qualified(_final(project, clusters, f)) for f in fields]

    rosters = [r for r in project.reports.values() if r.form == "roster" and r.status != "retired" and r.mode == "collected" and r.entity]
    by_entity: dict[str, list[Report]] = defaultdict(list)
    for r in rosters:
        by_entity[r.entity or ""].append(r)
    for entity_uid, group in sorted(by_entity.items()):
        entity = project.entities.get(entity_uid)
        if entity is None:
            continue
        plain: dict[str, list[str]] = {}
        for r in group:
            seen: list[str] = []
            for col in r.columns:
                if col.field and col.aggregate is None:
                    f = canon.get(col.field, col.field)
                    if f not in ORG_UNIT_FIELDS and f not in seen:
                        seen.append(f)
            plain[r.uid] = seen
        # Basic attributes: what the base libraries hold (自然人库 …), or what most departments ask.
        depts_asking: dict[str, set[str]] = defaultdict(set)
        for r in group:
            for f in plain[r.uid]:
                depts_asking[f].add(r.department)
        n_depts = len({r.department for r in group})
        key = [canon.get(k, k) for k in entity.key]

        def is_basic(f: str, asking: set[str], n_depts: int = n_depts) -> bool:
            fld = project.fields.get(f)
            from_base = fld is not None and fld.source.kind == "base_library"
            return len(asking) >= 2 and (from_base or (len(asking) >= 3 and 2 * len(asking) >= n_depts))

        basic = [f for f, asking in sorted(depts_asking.items(), key=lambda kv: (-len(kv[1]), kv[0])) if is_basic(f, asking)]
        basic = [*[k for k in key if k not in basic], *basic] if basic else []
        # The base ledger: an existing ledger of the entity that already holds a third of the basics, or a new one.
        base_ref: str | None = None
        if basic:
            candidates = [led for led in project.ledgers.values() if led.entity == entity_uid and led.library is None]
            fitting = [led for led in candidates if 3 * len(held[led.qualified] & set(basic)) >= len(basic)]
            # A shared ledger of everyone (户籍人口台账) before a department's ledger of a few.
            best = max(fitting, key=lambda led: (led.namespace == "shared", len(held[led.qualified] & set(basic)), led.uid), default=None)
            if best is not None:
                base_ref = best.qualified
                missing = [f for f in basic if f not in held[base_ref]]
                if missing:
                    extensions.append({"ledger": base_ref, "decision": "accept", "label": best.label, "add_fields": refs(missing)})
                    held[base_ref] |= set(missing)
            else:
                ident = new_id(f"{entity.id}_base_tz")
                base_ref = f"shared.{ident}"
                stewards = Counter(r.department for r in group)
                ledgers.append(
                    {
                        "id": ident,
                        "decision": "accept",
                        "label": f"{entity.label}基础信息台账",
                        "entity": _qualified(entity_uid),
                        "steward": sorted(stewards, key=lambda d: (-stewards[d], d))[0],
                        "file": f"{LEDGER_DIR}/{ident}.yaml",
                        "fields": refs(basic),
                        "reports": [],
                    }
                )
                held[base_ref] = set(basic)
        basics = set(basic)
        business = {u: [f for f in fs if f not in basics] for u, fs in plain.items()}
        pairs = []
        for a, b in itertools.combinations(sorted(business), 2):
            sa, sb = set(business[a]), set(business[b])
            common = len(sa & sb)
            if common >= 2 and (common / len(sa | sb) >= LEDGER_JACCARD or common / min(len(sa), len(sb)) >= LEDGER_CONTAINMENT):
                pairs.append((a, b))
        grouped: set[str] = set()
        for component in _components(pairs, sorted(business)):
            reports = [project.reports[u] for u in component]
            fields = list(dict.fromkeys([*key, *(f for u in component for f in business[u])]))
            stewards = Counter(r.department for r in reports)
            steward = sorted(stewards, key=lambda d: (-stewards[d], d))[0]
            ident = new_id(f"{steward}_{entity.id}_tz")
            ref = f"shared.{ident}"
            held[ref] = set(fields)
            ledgers.append(
                {
                    "id": ident,
                    "decision": "accept",
                    "label": _ledger_label(reports, project.departments[steward].short or project.departments[steward].name, entity.label.split("（")[0]),
                    "entity": _qualified(entity_uid),
                    "steward": steward,
                    "file": f"{LEDGER_DIR}/{ident}.yaml",
                    "fields": refs(fields),
                    "reports": [r.qualified for r in reports],
                }
            )
            for u in component:
                derived_sources[u] = [s for s in (base_ref, ref) if s]
                grouped.add(u)
        # Rosters outside any group: derivable when the ledgers already hold all they ask.
        for u, fs in business.items():
            if u in grouped or base_ref is None:
                continue
            if not fs:
                derived_sources[u] = [base_ref]
                continue
            home = next((q for q, h in sorted(held.items()) if q != base_ref and set(fs) <= h), None)
            if home is not None:
                derived_sources[u] = [base_ref, home]
    derived = [
        {"report": project.reports[u].qualified, "decision": "accept", "sources": sources, "title": project.reports[u].title}
        for u, sources in sorted(derived_sources.items())
    ]
    # Summaries whose every aggregated field one ledger holds: calculated, never entered.
    for r in sorted(project.reports.values(), key=lambda r: r.uid):
        if r.form != "summary" or r.status == "retired" or r.mode == "derived":
            continue
        needed = {canon.get(x, x) for col in r.columns for x in [col.field, *(c.field for c in col.where)] if x} - ORG_UNIT_FIELDS
        home = next((q for q, h in sorted(held.items()) if needed and needed <= h), None)
        if home is not None:
            derived.append({"report": r.qualified, "decision": "accept", "sources": [home], "title": r.title})
    return ledgers, extensions, derived


def _qualified(unique_id: str) -> str:
    return unique_id.split(".", 1)[1] if unique_id.count(".") >= 2 else unique_id


def _final(project: Project, clusters: list[dict[str, Any]], f: str) -> str:
    """A field's unique id after the plan: the promoted shared field where one is created."""
    q = _qualified(f)
    for c in clusters:
        if c["promote_from"] == q:
            return "field." + str(c["canonical"])
    return f


PLAN_HEADER = """\
# ybt 合并方案 / merge plan
# 审阅每一项的 decision：accept 采纳，reject 不采纳；然后运行 ybt merge PROJECT --apply 本文件。
# Review each decision (accept or reject), then run: ybt merge PROJECT --apply THIS_FILE
# 方案记录了生成时规格文件的校验和；规格改动后方案即失效，需要重新生成。
# The plan records the specs' checksums: once the specs change it is stale and must be made again.
"""


def dump_plan(plan: Mapping[str, Any]) -> str:
    return PLAN_HEADER + yaml.safe_dump(dict(plan), allow_unicode=True, sort_keys=False, width=4096)


# --------------------------------------------------------------------------------------------
# Applying


@dataclass
class ApplyResult:
    files: dict[str, str] = field(default_factory=dict)  # rel path → new text
    created: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.files)


def _plan_error(plan_file: str, zh: str, en: str, hint: Text | None = None) -> Diagnostic:
    return Diagnostic("YBT030", Severity.ERROR, Text(zh, en), Location(plan_file), hint)


def _field_doc(project: Project, source: Field, ident: str, members: list[Field]) -> dict[str, Any]:
    """A shared catalog field made from the chosen member, with every member's wording as aliases."""
    aliases: list[str] = []
    for m in members:
        for name in (m.label, *m.aliases):
            if name != source.label and name not in aliases:
                aliases.append(name)
    doc: dict[str, Any] = {"kind": "field", "id": ident, "namespace": "shared", "label": source.label}
    if aliases:
        doc["aliases"] = aliases
    for key in ("description", "filling_rule"):
        value = getattr(source, key)
        if value:
            doc[key] = value
    doc["type"] = source.type
    if source.codelist:
        doc["codelist"] = _qualified(source.codelist)
    if source.multiple:
        doc["multiple"] = True
    if source.unit:
        doc["unit"] = source.unit
    if source.entity:
        doc["entity"] = _qualified(source.entity)
    if source.role != "self":
        doc["role"] = source.role
    c = source.constraints
    constraints = {k: getattr(c, k) for k in ("required", "min", "max", "min_length", "max_length", "pattern", "scale", "unique")}
    constraints = {k: v for k, v in constraints.items() if v not in (None, False)}
    if constraints:
        doc["constraints"] = constraints
    doc["sensitivity"] = source.sensitivity
    if source.source.kind == "base_library":
        doc["source"] = {"base_library": source.source.base_library}
    if source.steward:
        doc["steward"] = source.steward
    if source.update_frequency:
        doc["update_frequency"] = source.update_frequency
    doc["status"] = "standard"
    return doc


class _Applier:
    def __init__(self, project: Project, plan: Mapping[str, Any]) -> None:
        self.project = project
        self.plan = plan
        self.editors: dict[str, YamlEditor] = {}
        self.new_docs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        #: member unique id → canonical reference (qualified) for accepted clusters
        self.replace: dict[str, str] = {}

    def editor(self, rel: str) -> YamlEditor:
        if rel not in self.editors:
            self.editors[rel] = YamlEditor((self.project.root / rel).read_text(encoding="utf-8"))
        return self.editors[rel]

    def run(self) -> None:
        accepted = [c for c in self.plan.get("clusters") or [] if c.get("decision") == "accept"]
        for c in accepted:
            self._cluster(c)
        self._rewrite_references()
        for ext in self.plan.get("ledger_extensions") or []:
            if ext.get("decision") == "accept":
                self._extend(ext)
        for led in self.plan.get("ledgers") or []:
            if led.get("decision") == "accept":
                self._ledger(led)
        for d in self.plan.get("derived_reports") or []:
            if d.get("decision") == "accept":
                self._derive(str(d["report"]), [str(s) for s in d.get("sources") or []])

    def _cluster(self, c: Mapping[str, Any]) -> None:
        canonical = str(c["canonical"])
        promote = c.get("promote_from")
        members = [self.project.fields.get(f"field.{m['field']}") for m in c.get("members") or []]
        present = [m for m in members if m is not None]
        if promote and f"field.{canonical}" not in self.project.fields:
            source = self.project.fields.get(f"field.{promote}")
            if source is None:
                raise EditError(f"field {promote} named by cluster {c['id']} no longer exists")
            self.new_docs[NEW_FIELDS_FILE].append(_field_doc(self.project, source, canonical.split(".", 1)[1], present))
            self.counts["fields_created"] += 1
        for m in present:
            if m.qualified == canonical or m.library is not None:
                continue
            self.replace[m.uid] = canonical
            if m.status == "superseded" and m.superseded_by == f"field.{canonical}":
                continue
            ed = self.editor(m.doc.rel)
            ed.set_key(m.doc.index, (), "status", "superseded", after="label")
            ed.set_key(m.doc.index, (), "superseded_by", canonical, after="status" if "status" in m.doc.data else "label")
            self.counts["fields_superseded"] += 1

    def _new_ref(self, value: Any, ns: str) -> tuple[str | None, str | None]:
        """(resolved unique id, replacement reference or None) for one written field reference."""
        if not isinstance(value, str):
            return None, None
        target = self.project.lookup("field", value, ns)
        new = self.replace.get(target or "")
        return target, (new if new != value else None)

    def _ref(self, rel: str, index: int, path: PathKey, value: Any, ns: str) -> str | None:
        """Rewrite one field reference if it points at a superseded member; returns the new ref."""
        _, new = self._new_ref(value, ns)
        if new is None:
            return None
        self.editor(rel).set_scalar(index, path, new)
        self.counts["references_rewritten"] += 1
        return new

    def _ref_list(self, rel: str, index: int, path: PathKey, values: Any, ns: str, key: str | None = None) -> None:
        """Rewrite a list of references; an item that now repeats an earlier one is removed."""
        seen: set[str] = set()
        for vi, item in enumerate(values or []):
            value = item.get(key) if key and isinstance(item, dict) else item
            target, new = self._new_ref(value, ns)
            final = f"field.{new}" if new else target
            if final is not None and final in seen:
                self.editor(rel).remove_item(index, (*path, vi))
                self.counts["references_rewritten"] += 1
                continue
            if final is not None:
                seen.add(final)
            if new is not None:
                self.editor(rel).set_scalar(index, (*path, vi, key) if key and isinstance(item, dict) else (*path, vi), new)
                self.counts["references_rewritten"] += 1

    def _condition(self, rel: str, index: int, path: PathKey, cond: Mapping[str, Any], ns: str) -> None:
        old, new = self._new_ref(cond.get("field"), ns)
        if new is None or old is None:
            return
        self.editor(rel).set_scalar(index, (*path, "field"), new)
        self.counts["references_rewritten"] += 1
        # Codes of the member's codelist become the canonical codelist's codes with the same label.
        before, after = self.project.fields.get(old), self.project.fields.get(f"field.{new}")
        if before is None or after is None or before.codelist == after.codelist or not before.codelist or not after.codelist:
            return
        src, dst = self.project.codelists.get(before.codelist), self.project.codelists.get(after.codelist)
        if src is None or dst is None:
            return
        by_label = {normalize(n): v.code for v in dst.values for n in (v.label, *v.aliases)}
        value = cond.get("value")
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for j, v in items:
            code = next((c for c in src.values if c.code == str(v)), None)
            mapped = next((by_label[normalize(n)] for n in ((code.label, *code.aliases) if code else ()) if normalize(n) in by_label), None)
            if mapped is not None and mapped != str(v):
                self.editor(rel).set_scalar(index, (*path, "value") if j is None else (*path, "value", j), mapped)

    def _columns(self, r: Report) -> None:
        d, rel, i, ns = r.doc.data, r.doc.rel, r.doc.index, r.namespace
        taken: set[str] = set()
        for ci, col in enumerate(d.get("columns") or []):
            old_id = column_id(col) or ""
            if "field" not in col:
                taken.add(old_id)
                for wi, cond in enumerate(col.get("where") or []):
                    self._condition(rel, i, ("columns", ci, "where", wi), cond, ns)
                continue
            old = self.project.lookup("field", col["field"], ns)
            new = self._ref(rel, i, ("columns", ci, "field"), col["field"], ns)
            if new is not None:
                if "label" not in col and old is not None and old in self.project.fields:
                    canon = self.project.fields.get(f"field.{new}")
                    old_label = self.project.fields[old].label
                    if canon is None or canon.label != old_label:
                        self.editor(rel).set_key(i, ("columns", ci), "label", old_label, after="field")
                new_id = column_id({**col, "field": new}) or ""
                if new_id in taken and "id" not in col:
                    # Two columns now name one field: keep this column's id as it was.
                    self.editor(rel).set_key(i, ("columns", ci), "id", old_id, after="field")
                    new_id = old_id
                taken.add(new_id)
            else:
                taken.add(old_id)
            for wi, cond in enumerate(col.get("where") or []):
                self._condition(rel, i, ("columns", ci, "where", wi), cond, ns)

    def _rewrite_references(self) -> None:
        if not self.replace:
            return
        for r in self.project.reports.values():
            if r.library is not None:
                continue
            d, rel, i, ns = r.doc.data, r.doc.rel, r.doc.index, r.namespace
            self._columns(r)
            for wi, cond in enumerate(d.get("where") or []):
                self._condition(rel, i, ("where", wi), cond, ns)
            for ki, consumer in enumerate(d.get("consumers") or []):
                for key in ("uses", "grants"):
                    self._ref_list(rel, i, ("consumers", ki, key), consumer.get(key), ns)
        for led in self.project.ledgers.values():
            if led.library is None:
                d = led.doc.data
                self._ref_list(led.doc.rel, led.doc.index, ("fields",), d.get("fields"), led.namespace, key="field")
                self._ref_list(led.doc.rel, led.doc.index, ("key",), d.get("key"), led.namespace)
        for ent in self.project.entities.values():
            if ent.library is None:
                self._ref_list(ent.doc.rel, ent.doc.index, ("key",), ent.doc.data.get("key"), ent.namespace)

    def _ledger(self, led: Mapping[str, Any]) -> None:
        ident = str(led["id"])
        if f"ledger.shared.{ident}" not in self.project.ledgers:
            doc = {
                "kind": "ledger",
                "id": ident,
                "label": led["label"],
                "description": "由 ybt merge 按重复报表合并生成 / made by ybt merge from overlapping reports: "
                + ", ".join(str(r) for r in led.get("reports") or []),
                "entity": led["entity"],
                "steward": led["steward"],
                "update_frequency": "on_change",
                "fields": list(led["fields"]),
            }
            self.new_docs[str(led.get("file") or f"{LEDGER_DIR}/{ident}.yaml")].append(doc)
            self.counts["ledgers_created"] += 1

    def _extend(self, ext: Mapping[str, Any]) -> None:
        led = self.project.ledgers.get(f"ledger.{ext['ledger']}")
        if led is None:
            raise EditError(f"ledger {ext['ledger']} named by the plan no longer exists")
        have = {self.project.lookup("field", str(i.get("field") if isinstance(i, dict) else i), led.namespace) for i in led.doc.data.get("fields") or []}
        have |= {f"field.{self.replace[h]}" for h in list(have) if h in self.replace}
        for ref in ext.get("add_fields") or []:
            if f"field.{ref}" not in have and self.project.lookup("field", str(ref), led.namespace) not in have:
                self.editor(led.doc.rel).append_item(led.doc.index, ("fields",), str(ref))
                self.counts["ledger_fields_added"] += 1

    def _derive(self, report_ref: str, sources: list[str]) -> None:
        r = self.project.reports.get(f"report.{report_ref}")
        if r is None:
            raise EditError(f"report {report_ref} named by the plan no longer exists")
        ed = self.editor(r.doc.rel)
        current = [self.project.lookup("ledger", s, r.namespace) for s in r.doc.data.get("sources") or []]
        wanted = [s for s in sources if f"ledger.{s}" not in current]
        if r.mode == "derived" and not wanted:
            return
        if wanted:
            if "sources" in r.doc.data:
                for s in wanted:
                    ed.append_item(r.doc.index, ("sources",), s)
            else:
                ed.set_key(r.doc.index, (), "sources", wanted, after="fill_level")
        if r.mode != "derived":
            ed.set_key(r.doc.index, (), "mode", "derived", after="form")
        self.counts["reports_derived"] += 1


def apply_plan(project: Project, plan: Mapping[str, Any], plan_file: str) -> ApplyResult:
    """Compute the edited files (nothing is written here). Stale or foreign plans give diagnostics."""
    out = ApplyResult()
    if plan.get("kind") != PLAN_KIND:
        out.diagnostics.append(_plan_error(plan_file, "这不是 ybt 合并方案（缺少 kind: merge_plan）", "not a ybt merge plan (no kind: merge_plan)"))
        return out
    if plan.get("project") != project.id:
        out.diagnostics.append(
            _plan_error(
                plan_file,
                f"方案属于项目 “{plan.get('project')}”，不是 “{project.id}”",
                f"the plan is for project '{plan.get('project')}', not '{project.id}'",
            )
        )
        return out
    applier = _Applier(project, plan)
    try:
        applier.run()
    except (EditError, KeyError) as exc:
        out.diagnostics.append(
            _plan_error(
                plan_file,
                f"方案与当前规格不符：{exc}",
                f"the plan does not fit the current specs: {exc}",
                Text("重新生成方案：ybt merge PROJECT --plan FILE", "make the plan again: ybt merge PROJECT --plan FILE"),
            )
        )
        return out
    for rel, ed in applier.editors.items():
        if ed.changed:
            out.files[rel] = ed.result()
    for rel, docs in applier.new_docs.items():
        path = project.root / rel
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        chunks = [yaml.safe_dump(d, allow_unicode=True, sort_keys=False, width=4096) for d in docs]
        header = "" if text else "# 由 ybt merge 生成 / written by ybt merge\n"
        joined = "---\n".join(chunks)
        out.files[rel] = text + ("---\n" if text.strip() else header) + joined
        if not path.exists():
            out.created.append(rel)
    out.counts = applier.counts
    if out.changed:
        files = project_files(project)
        if checksum(files) != plan.get("project_checksum"):
            before = plan.get("files") or {}
            changed = sorted(k for k in set(files) | set(before) if files.get(k) != before.get(k))
            out.files.clear()
            out.created.clear()
            out.diagnostics.append(
                _plan_error(
                    plan_file,
                    f"方案已过期：生成方案后规格已改动（{', '.join(changed[:5])}{' 等' if len(changed) > 5 else ''}）",
                    f"the plan is stale: the specs changed after it was made ({', '.join(changed[:5])}{' …' if len(changed) > 5 else ''})",
                    Text("重新生成并审阅方案：ybt merge PROJECT --plan FILE", "make and review the plan again: ybt merge PROJECT --plan FILE"),
                )
            )
    return out


def write_files(root: Path, files: Mapping[str, str]) -> None:
    atomic.replace_files({root / rel: text.encode("utf-8") for rel, text in files.items()})


def check_edited(project: Project, files: Mapping[str, str]) -> CompileResult:
    """Compile a scratch copy of the project with the edited files in place."""
    with tempfile.TemporaryDirectory(prefix="ybt-merge-") as tmp:
        scratch = Path(tmp) / project.root.name
        shutil.copytree(project.root, scratch, ignore=shutil.ignore_patterns("target", ".*"))
        for rel, text in files.items():
            path = scratch / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return compile_project(scratch)
