"""Columns of different forms that mean the same thing map to the same field — through the duplicate analysis.

There is no second matcher here. Every imported column becomes a provisional field of a scratch project
(its leaf label, the type its values show, the role its header group gives it: a bare 联系电话 under a
监护人 group is the guardian's phone) next to the standard library ``std`` and, with ``--catalog``, the
fields of an existing project. :func:`ybt.analyze.dupes.cluster_fields` then clusters them exactly as
``ybt dupes`` would: labels, synonyms, traditional characters, units, types and roles, with complete
linkage. A column whose cluster holds a catalog or standard field maps to that field; the others become
new draft fields, one per cluster.

Values add evidence the labels cannot give: the same ID numbers or names recurring in two forms. They
join two clusters only when the duplicate analysis finds the fields compatible (same role, type
family, unit) — so 户主身份证号 never joins 身份证号 however equal the values — and two columns of
one form never share a field. Summary (汇总表) measures get a role of their own in the scratch project:
a column that aggregates a roster column is not that column.
"""

from __future__ import annotations

import importlib
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ybt.analyze.dupes import Profile, cluster_fields, compatible, evidence, profile, score
from ybt.analyze.labels import ROLE_PREFIXES, SynonymTable, concept, normalize, split_role, split_unit, synonym_table
from ybt.diagnostics import Text
from ybt.importers.values import overlap
from ybt.importers.xlsx import Form, ImportedColumn
from ybt.model import Project
from ybt.pipeline import compile_project

SCRATCH_NS = "ybtimport"
SUMMARY_ROLE = "summary_measure"
#: Group words that name whose values the columns below are (申请人 is the subject of an application form).
_GROUP_ROLES = {k: v for k, v in ROLE_PREFIXES.items() if v not in ("applicant", "filler", "reviewer")}
_ORG_LABEL = re.compile(
    r"^(?:乡镇|镇街|街道|镇|乡|村|社区|村（社区）|村\(社区\)|单位|单位名称|地区|区域|行政区划|镇（街道）|乡镇（街道）|所在镇街|所属村|所属镇|所属乡镇|村组|村民小组|组)"
)
_LABEL_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"身份证|公民身份|身份號|證件號|证件号"), "resident_id"),
    (re.compile(r"信用代码|信用代碼"), "uscc"),
    (re.compile(r"区划代码|区划编码|區劃代碼"), "division_code"),
    (re.compile(r"邮政编码|^邮编$"), "postal_code"),
    (re.compile(r"银行账号|银行卡号|银行账户|一卡通账号|社保卡号|收款账号|存折账号"), "bank_account"),
    (re.compile(r"电子邮箱|电子邮件|^邮箱$|[Ee]-?mail"), "email"),
    (re.compile(r"电话|手机|電話|联系方式"), "phone"),
    (re.compile(r"出生年月$|年月$"), "year_month"),
    (re.compile(r"日期|时间|出生年月日|生日|時間"), "date"),
    (re.compile(r"金额|元）|元\)|面积|亩|平方米|㎡|资金|收入|补贴|标准|比例|率$"), "decimal"),
    (re.compile(r"人数|户数|个数|数量|年龄|岁|次数|天数|^.{0,6}数$"), "integer"),
)


def label_type(label: str) -> str | None:
    text = normalize(label)
    for pattern, ftype in _LABEL_TYPES:
        if pattern.search(text):
            return ftype
    return None


def group_role(path: Iterable[str]) -> str | None:
    """The role a header group gives the columns below it (innermost group first)."""
    words = sorted(_GROUP_ROLES, key=len, reverse=True)
    for group in reversed(list(path)):
        text = normalize(group)
        for word in words:
            # 监护人 / 监护人信息 / 法定监护人 / 安全负责人: the role word starts the group or ends its name.
            if text.startswith(word) or word in re.split(r"[(（的及和、]|信息|情况|基本", text)[0][-len(word) :]:
                return _GROUP_ROLES[word]
    return None


def is_org_column(label: str) -> bool:
    return bool(_ORG_LABEL.match(normalize(label)))


@dataclass
class Candidate:
    key: str
    form: Form
    column: ImportedColumn
    label: str
    role: str | None
    type: str
    scratch_type: str
    unit: str | None = None
    entity: str | None = None


@dataclass
class Mapping:
    """The outcome: each column's target, and the new fields the draft must declare."""

    #: candidate key → qualified field (``std.resident_id``, ``shared.lxdh``)
    targets: dict[str, str] = field(default_factory=dict)
    #: qualified new field → its candidates
    new_fields: dict[str, list[Candidate]] = field(default_factory=dict)
    candidates: dict[str, Candidate] = field(default_factory=dict)
    uncertain: list[dict[str, Any]] = field(default_factory=list)
    catalog: Project | None = None


def _column_type(col: ImportedColumn) -> str:
    by_label = label_type(col.label)
    by_values = col.type
    if by_values in (None, "string", "text") and by_label is not None and col.values.count == 0:
        return by_label
    if by_values is None:
        return by_label or "string"
    if by_label in ("resident_id", "uscc", "phone", "division_code", "postal_code", "bank_account", "email") and by_values in ("string", "integer"):
        # A labelled identity column whose values fail the check: keep the label's meaning, report it.
        return by_label
    if by_label in ("date", "year_month") and by_values in ("date", "year_month", "datetime"):
        return by_values
    if by_label == "date" and by_values == "integer" and all(s.isdigit() and 20000 <= int(s) <= 60000 for s in col.values.samples):
        return "date"  # Excel date serials in a cell formatted as General
    return by_values


def _scratch_type(ftype: str) -> str:
    return {"year_month": "date", "datetime": "date", "boolean": "string", "text": "string"}.get(ftype, ftype)


_GROUP_TAIL = re.compile(r"(?:的)?(?:基本信息|基本情况|信息|情况|资料)$")


def _field_label(leaf: str, path: list[str], role_from_group: bool, repeated: bool) -> str:
    """The label a field gets: the leaf, qualified by its group when the group says whose it is or tells
    two equal leaves apart (监护人 + 联系电话 → 监护人联系电话; 城市低保 + 户数 → 城市低保户数)."""
    if (role_from_group or repeated) and path:
        group = _GROUP_TAIL.sub("", re.sub(r"\s+", "", path[-1])) or re.sub(r"\s+", "", path[-1])
        if not leaf.startswith(group):
            return (group + leaf)[:200]
    return leaf


_ORG_SUBJECT = re.compile(r"统一社会信用代码|信用代码|注册号|^单位名称$|企业名称|市场主体|商户名称|店名|字号|机构名称|^法定代表人|^法人代表")
_PERSON_SUBJECT = re.compile(r"^(?:\S{0,6}姓名|名字)$|身份证|公民身份")


def form_subject(form: Form) -> str | None:
    """``organisation`` for a form whose rows are organisations (credit code, 单位名称, no person of its own),
    ``person`` for one whose rows are people; the contact phone of a shop is not a resident's phone."""
    labels = [normalize(c.label) for c in form.columns if c.structural is None and group_role(c.path) is None]
    person = any(_PERSON_SUBJECT.search(x) and split_role(x)[0] == "self" for x in labels)
    if any(_ORG_SUBJECT.search(x) for x in labels) and not person:
        return "organisation"
    return "person" if person else None


def _candidates(forms: list[Form]) -> list[Candidate]:
    out: list[Candidate] = []
    n = 0
    for form in forms:
        subject = form_subject(form)
        leaves: dict[str, int] = defaultdict(int)
        for col in form.columns:
            leaves[normalize(col.label)] += 1
        for col in form.columns:
            if col.structural is not None:
                continue
            leaf = re.sub(r"\s+", "", col.label)[:200]
            if not leaf:
                continue
            n += 1
            ftype = _column_type(col)
            col.type = ftype
            own_role = split_role(normalize(leaf))[0]
            role = group_role(col.path) if own_role == "self" else None
            label = _field_label(leaf, col.path, role is not None, leaves[normalize(col.label)] > 1)
            if form.kind == "summary" and not is_org_column(leaf):
                role = SUMMARY_ROLE
            scratch = _scratch_type(ftype)
            entity = None
            if subject == "organisation" and not is_org_column(leaf) and role != SUMMARY_ROLE:
                entity = "std.organisation"
            elif subject == "person" and scratch in ("phone", "email", "bank_account"):
                entity = "std.person"
            out.append(Candidate(f"c{n:05d}", form, col, label, role, ftype, scratch, _count_unit(leaf), entity))
    return out


def _count_unit(label: str) -> str | None:
    """Counts carry their unit in the word (人数 is in 人, 户数 in 户): the standard fields declare it."""
    core, unit = split_unit(normalize(label))
    if unit is not None:
        return None
    for suffix, u in (("人数", "人"), ("人员数", "人"), ("户数", "户"), ("个数", "个"), ("次数", "次"), ("天数", "天")):
        if core.endswith(suffix):
            return u
    return None


#: Short headings of legacy forms the standard synonyms do not list; used only while mapping.
IMPORT_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("所属村（社区）", "村", "村名称", "村（社区）名称", "社区名称", "所在村", "村别"),
    ("所属镇（街道）", "镇", "乡（镇）", "乡镇名称", "镇街名称", "所在镇街", "乡镇（街道）名称"),
)
_IDENTITY_ENTITY = {"resident_id": "std.person", "uscc": "std.organisation"}


def _scratch_project(root: Path, candidates: list[Candidate], catalog: Path | None) -> None:
    if catalog is not None:
        for src in catalog.rglob("*"):
            rel = src.relative_to(catalog)
            if any(part.startswith(".") or part in ("target", "node_modules", "__pycache__") for part in rel.parts):
                continue
            if src.is_file() and src.suffix in (".yaml", ".yml"):
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, root / rel)
        project = yaml.safe_load((root / "ybt.yaml").read_text(encoding="utf-8"))
        project.setdefault("departments", []).append({"id": SCRATCH_NS, "name": "导入 import"})
    else:
        project = {
            "kind": "project",
            "id": "scratch",
            "name": "导入 import",
            "uses": ["std"],
            "org": {"code": "100000", "name": "导入", "level": "district"},
            "departments": [{"id": SCRATCH_NS, "name": "导入 import"}],
        }
    project["synonyms"] = [*(project.get("synonyms") or []), *(list(g) for g in IMPORT_SYNONYMS)]
    (root / "ybt.yaml").write_text(yaml.safe_dump(project, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with_std = "std" in (project.get("uses") or [])
    docs = []
    for c in candidates:
        doc: dict[str, Any] = {"kind": "field", "namespace": SCRATCH_NS, "id": c.key, "label": c.label, "type": c.scratch_type}
        if c.role:
            doc["role"] = c.role
        if c.unit:
            doc["unit"] = c.unit
        if with_std and c.entity:
            doc["entity"] = c.entity
        elif with_std and c.scratch_type in _IDENTITY_ENTITY:
            # Identity types are compared within their entity (dupes blocks on it), as the standard fields are.
            doc["entity"] = _IDENTITY_ENTITY[c.scratch_type]
        docs.append(doc)
    target = root / f"{SCRATCH_NS}_fields" / "fields.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _compile(root: Path) -> Project:
    compiled = compile_project(root)
    if not compiled.ok or compiled.project is None:
        bad = [d for d in compiled.diagnostics if d.severity.value == "error"][:3]
        raise ValueError("; ".join(f"{d.location}: {d.message.en}" for d in bad))
    return compiled.project


def _implied_units(project: Project, candidates: list[Candidate], synonyms: SynonymTable) -> bool:
    """A legacy heading often leaves the unit out (家庭人口 for 家庭人口数 in 人). When the catalog has exactly one
    unit for the heading's meaning, the column is taken to be in it; the analysis then compares like with like."""
    units: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for f in project.fields.values():
        if f.namespace == SCRATCH_NS:
            continue
        p = profile(project, f, synonyms)
        for c in p.concepts:
            units[(c.role, c.core)].add(p.unit)
    changed = False
    for cand in candidates:
        if cand.unit is not None or cand.role == SUMMARY_ROLE:
            continue
        read = concept(cand.label, synonyms, cand.role)
        if read.unit is not None:
            continue
        found = units.get((read.role, read.core), set())
        if len(found) == 1 and None not in found:
            cand.unit = next(iter(found))
            changed = True
    return changed


class _Union:
    def __init__(self, keys: Iterable[str]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, k: str) -> str:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _evidence_dicts(a: Profile, b: Profile, synonyms: SynonymTable) -> tuple[list[dict[str, Any]], float]:
    ev = evidence(a, b, synonyms)
    return [e.to_dict() for e in ev], score(ev)


def map_columns(forms: list[Form], catalog: Path | None = None, min_score: float = 0.6) -> Mapping:
    """Map every non-structural column of ``forms`` to a catalog field or a new draft field."""
    candidates = _candidates(forms)
    result = Mapping(candidates={c.key: c for c in candidates})
    if not candidates:
        return result
    scratch = Path(tempfile.mkdtemp(prefix="ybt-import-"))
    try:
        _scratch_project(scratch, candidates, catalog)
        project = _compile(scratch)
        synonyms = synonym_table([*project.synonyms, *(g for lib in project.libraries.values() for g in lib.synonyms)])
        if _implied_units(project, candidates, synonyms):
            _scratch_project(scratch, candidates, catalog)
            project = _compile(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.catalog = project
    _clusters, canonical, _n = cluster_fields(project, min_score)
    uid = {c.key: f"field.{SCRATCH_NS}.{c.key}" for c in candidates}
    profiles: dict[str, Profile] = {c.key: profile(project, project.fields[uid[c.key]], synonyms) for c in candidates}
    # Groups of candidates by their canonical field.
    groups = _Union(c.key for c in candidates)
    target_of: dict[str, str] = {}
    for c in candidates:
        canon = canonical.get(uid[c.key], uid[c.key])
        if canon.startswith(f"field.{SCRATCH_NS}."):
            groups.union(canon.rsplit(".", 1)[1], c.key)
        else:
            target_of[c.key] = canon
    first_of: dict[str, str] = {}
    for c in candidates:
        if c.key in target_of:
            groups.union(first_of.setdefault(target_of[c.key], c.key), c.key)
    _value_evidence(candidates, profiles, groups, target_of, synonyms, min_score, result.uncertain)
    # Two columns of one form never share a field: keep the closest, split off the others.
    members: dict[str, list[str]] = defaultdict(list)
    for c in candidates:
        members[groups.find(c.key)].append(c.key)
    final_groups: list[list[str]] = []
    for keys in members.values():
        seen: dict[int, list[str]] = defaultdict(list)
        for k in keys:
            seen[id(result.candidates[k].form)].append(k)
        main: list[str] = []
        extra: list[list[str]] = []
        for ks in seen.values():
            main.append(ks[0])
            for k in ks[1:]:
                extra.append([k])
                c = result.candidates[k]
                other = result.candidates[ks[0]]
                if c.column.path != other.column.path and normalize(c.column.label) == normalize(other.column.label):
                    continue  # the same leaf under two groups (城市低保 / 农村低保 户数): different by construction
                result.uncertain.append(
                    _note(
                        c,
                        Text(
                            f"与同表 {other.column.col} 列（{other.label}）像是同一字段，已单独建字段，请核对",
                            f"looks like column {other.column.col} ({other.label}) of the same form; kept as a field of its own, please check",
                        ),
                    )
                )
        final_groups.append(main)
        final_groups.extend(extra)
    taken = _taken_ids(project)
    for keys in final_groups:
        first = keys[0]
        target = target_of.get(first)
        if target is not None and all(target_of.get(k) == target for k in keys):
            f = project.fields[target]
            for k in keys:
                result.targets[k] = f.qualified
                ev, s = _evidence_dicts(profiles[k], profile(project, f, synonyms), synonyms)
                result.candidates[k].column.evidence = ev + [e for e in result.candidates[k].column.evidence if e["kind"] == "values"]
                if s < 0.75 and normalize(result.candidates[k].label) not in {normalize(f.label), *(normalize(a) for a in f.aliases)}:
                    result.uncertain.append(
                        _note(
                            result.candidates[k],
                            Text(f"映射到 {f.qualified}（{f.label}）的证据较弱（{s}）", f"mapped to {f.qualified} ({f.label}) on weak evidence ({s})"),
                        )
                    )
            continue
        qualified = f"shared.{_new_id([result.candidates[k] for k in keys], taken)}"
        result.new_fields[qualified] = [result.candidates[k] for k in keys]
        for k in keys:
            result.targets[k] = qualified
            others = [o for o in keys if o != k]
            if others:
                ev, _s = _evidence_dicts(profiles[k], profiles[others[0]], synonyms)
                result.candidates[k].column.evidence = ev + result.candidates[k].column.evidence
    for c in candidates:
        c.column.field = result.targets.get(c.key)
    _type_notes(result)
    return result


def _value_evidence(
    candidates: list[Candidate],
    profiles: dict[str, Profile],
    groups: _Union,
    target_of: dict[str, str],
    synonyms: SynonymTable,
    min_score: float,
    uncertain: list[dict[str, Any]],
) -> None:
    """Join clusters whose columns hold the same values (ID numbers, names…) when the fields are compatible."""
    index: dict[str, list[str]] = defaultdict(list)
    usable = [c for c in candidates if len(c.column.values.distinct) >= 5 and c.type not in ("integer", "decimal", "boolean")]
    for c in usable:
        for v in c.column.values.distinct:
            if len(v) >= 2:
                index[v].append(c.key)
    pair_counts: dict[tuple[str, str], int] = defaultdict(int)
    cap = max(20, len(usable) // 4)
    for keys in index.values():
        if 2 <= len(keys) <= cap:
            for i, a in enumerate(keys):
                for b in keys[i + 1 :]:
                    pair_counts[(a, b) if a < b else (b, a)] += 1
    by_key = {c.key: c for c in candidates}
    for (a, b), n in sorted(pair_counts.items(), key=lambda t: -t[1]):
        ca, cb = by_key[a], by_key[b]
        if ca.form is cb.form or n < 3:
            continue
        share = overlap(ca.column.values.distinct, cb.column.values.distinct)
        if share < 0.5:
            continue
        pa, pb = profiles[a], profiles[b]
        if not compatible(pa, pb):
            if pa.role != pb.role and SUMMARY_ROLE not in (pa.role, pb.role):
                uncertain.append(
                    _note(
                        ca,
                        Text(
                            f"与《{_form_name(cb)}》{cb.column.col} 列（{cb.column.label}）有 {n} 个相同的值，但角色不同（{pa.role} / {pb.role}），未合并",
                            f"shares {n} values with {_form_name(cb)} column {cb.column.col} ({cb.column.label}) but the roles differ "
                            f"({pa.role} / {pb.role}): kept apart",
                        ),
                    )
                )
            continue
        note: dict[str, Any] = {
            "kind": "values",
            "weight": 0.4,
            "zh": f"取值重合：{n} 个相同的值（{share:.0%}）见于《{_form_name(cb)}》{cb.column.col} 列",
            "en": f"the same values: {n} equal values ({share:.0%}) in {_form_name(cb)} column {cb.column.col}",
        }
        ca.column.evidence.append(note)
        cb.column.evidence.append(
            {
                **note,
                "zh": f"取值重合：{n} 个相同的值（{share:.0%}）见于《{_form_name(ca)}》{ca.column.col} 列",
                "en": f"the same values: {n} equal values ({share:.0%}) in {_form_name(ca)} column {ca.column.col}",
            }
        )
        if groups.find(a) == groups.find(b):
            continue
        ta, tb = target_of.get(a), target_of.get(b)
        if ta is not None and tb is not None and ta != tb:
            continue
        if score(evidence(pa, pb, synonyms)) + 0.4 < min_score:
            continue
        # Complete linkage: every member of one group compatible with every member of the other.
        ga = [k for k in by_key if groups.find(k) == groups.find(a)]
        gb = [k for k in by_key if groups.find(k) == groups.find(b)]
        if all(compatible(profiles[x], profiles[y]) for x in ga for y in gb):
            groups.union(a, b)
            if tb is not None:
                for k in ga:
                    target_of[k] = tb
            elif ta is not None:
                for k in gb:
                    target_of[k] = ta


def _form_name(c: Candidate) -> str:
    return f"{c.form.file}:{c.form.sheet}"


def _note(c: Candidate, text: Text) -> dict[str, Any]:
    return {"file": c.form.file, "sheet": c.form.sheet, "col": c.column.col, "cell": c.column.cell, "label": c.column.label, "zh": text.zh, "en": text.en}


def _type_notes(result: Mapping) -> None:
    for c in result.candidates.values():
        col = c.column
        by_label = label_type(c.label)
        if by_label in ("resident_id", "uscc", "phone") and col.values.count and col.values.infer()[0] not in (by_label, None):
            result.uncertain.append(
                _note(
                    c,
                    Text(
                        f"表头像 {by_label}，但取值大多不符合（{col.values.samples[:2]}）",
                        f"the label suggests {by_label} but most values do not fit ({col.values.samples[:2]})",
                    ),
                )
            )


def _taken_ids(project: Project) -> set[str]:
    return {f.id for f in project.fields.values() if f.namespace == "shared"}


def _new_id(cands: list[Candidate], taken: set[str]) -> str:
    label = _common_label(cands)
    core, _unit = split_unit(normalize(label))
    base = _initials(core) or "field"
    if not base[0].isalpha():
        base = f"f{base}"
    base = base[:50]
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def _common_label(cands: list[Candidate]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for c in cands:
        counts[c.label] += 1
    return sorted(counts, key=lambda k: (-counts[k], len(k), k))[0]


def _initials(text: str) -> str:
    """Pinyin initials of a Chinese label (身份证号 → sfzh), as district catalogs name fields."""
    try:  # optional (not needed to type-check): without it, ids are field, field_2…
        pypinyin: Any = importlib.import_module("pypinyin")
    except ImportError:  # pragma: no cover
        return ""
    out = []
    for ch in text:
        if ch.isascii():
            if ch.isalnum():
                out.append(ch.lower())
            continue
        py = pypinyin.lazy_pinyin(ch, style=pypinyin.Style.FIRST_LETTER)
        if py and py[0].isascii() and py[0].isalpha():
            out.append(py[0].lower())
    ident = re.sub(r"[^a-z0-9_]", "", "".join(out))
    return ident
