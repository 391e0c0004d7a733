"""Stage 3 — resolve: give every object its unique id, resolve every reference, build the model.

Rules (see docs/spec-language.md):

* fields, codelists, entities and ledgers live in ``namespace`` (default ``shared`` in a project, the
  library's id inside a library); reports live in their department's namespace;
* a reference ``ns.id`` names its namespace; a bare ``id`` is looked up in the referring namespace,
  then ``shared``, then each library in ``uses`` order;
* an unknown reference names file:line:col and suggests the nearest ids; a duplicate id names both
  files; every error is collected, the stage never stops at the first.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar, cast

from ybt import registry as codes
from ybt._resources import library_names
from ybt.diagnostics import Diagnostics, Related, Text
from ybt.lazy import Deferred
from ybt.load import Document, LoadedProject, PathKey, SourceSet
from ybt.model import (
    SHARED,
    Admission,
    Codelist,
    CodeValue,
    Column,
    Condition,
    Constraints,
    Consumer,
    Department,
    Entity,
    Field,
    Kind,
    Ledger,
    LedgerField,
    Level,
    Library,
    OrgUnit,
    Policy,
    Project,
    Quota,
    Report,
    Source,
    ref_candidates,
    uid,
)
from ybt.validate import Checked, ValidatedSet, column_id

_KIND_ZH = {"field": "字段", "codelist": "代码表", "entity": "对象", "ledger": "台账", "report": "报表", "department": "部门"}

T = TypeVar("T")


@dataclass
class _Entry:
    checked: Checked
    namespace: str
    library: str | None


@dataclass
class _Index:
    entries: dict[str, _Entry] = field(default_factory=dict)
    #: kind → bare id → namespaces declaring it (for suggestions).
    bare: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def add(self, unique: str, entry: _Entry) -> None:
        self.entries[unique] = entry
        kind, ns, ident = unique.split(".", 2)
        self.bare.setdefault(kind, {}).setdefault(ident, []).append(ns)

    def qualified(self, kind: str) -> list[str]:
        return sorted(f"{ns}.{ident}" for ident, nss in self.bare.get(kind, {}).items() for ns in nss)


class _Resolver:
    def __init__(self, loaded: LoadedProject, sets: list[ValidatedSet], diags: Diagnostics) -> None:
        self.loaded = loaded
        self.sets = sets
        self.diags = diags
        self.index = _Index()
        self.library_ids = [s.source.name for s in sets if s.source.is_library]
        self.uses: list[str] = []
        self.departments: dict[str, Department] = {}
        #: References resolved without a problem: (kind, value, namespace, library) → unique id.
        self._resolved: dict[tuple[str, str, str, str | None], str | None] = {}
        self._by_kind: tuple[int, dict[str, list[str]]] | None = None

    # --- references -------------------------------------------------------------------------

    def ref(self, kind: Kind, value: Any, doc: Document, path: PathKey, from_ns: str, library: str | None) -> str | None:
        """Resolve one reference; report it when it does not resolve. Returns the unique id."""
        if not isinstance(value, str):
            return None
        key = (kind, value, from_ns, library)
        if key in self._resolved:
            return self._resolved[key]
        ns, ident = value.split(".", 1) if "." in value else ("", value)
        for unique in ref_candidates(kind, value, from_ns, self.uses, library):
            entry = self.index.entries.get(unique)
            if entry is None:
                continue
            if library is None and entry.library is not None and entry.library not in self.uses:
                self.diags.error(
                    codes.UNKNOWN_REFERENCE,
                    Text(
                        f"引用了库 “{entry.library}” 中的{_KIND_ZH[kind]} “{value}”，但项目没有引用该库",
                        f"'{value}' is a {kind} of library '{entry.library}', which the project does not use",
                    ),
                    doc.loc(path),
                    Text(f"在 ybt.yaml 中加上 uses: [{entry.library}]", f"add uses: [{entry.library}] to ybt.yaml"),
                )
                return None
            found = self._resolved[key] = unique if entry.checked.valid else None
            return found
        self._unknown(kind, value, ident, ns, doc, path, from_ns, library)
        return None

    def _unknown(self, kind: Kind, value: str, ident: str, ns: str, doc: Document, path: PathKey, from_ns: str, library: str | None) -> None:
        candidates = self.index.qualified(kind)
        if library is not None:
            candidates = [c for c in candidates if c.startswith(f"{library}.")]
        suggestions = difflib.get_close_matches(value, candidates, n=3, cutoff=0.6)
        for ns_name in self.index.bare.get(kind, {}).get(ident, []):
            q = f"{ns_name}.{ident}"
            if q not in suggestions and (library is None or ns_name == library):
                suggestions.insert(0, q)
        if not suggestions and "." not in value:
            bare = list(self.index.bare.get(kind, {}))
            for hit in difflib.get_close_matches(ident, bare, n=3, cutoff=0.6):
                suggestions.extend(f"{n}.{hit}" for n in self.index.bare[kind][hit][:1])
        other = [k for k in ("field", "codelist", "entity", "ledger", "report") if k != kind and ident in self.index.bare.get(k, {})]
        hints_zh: list[str] = []
        hints_en: list[str] = []
        if suggestions:
            hints_zh.append(f"是否想写：{'、'.join(suggestions[:3])}？")
            hints_en.append(f"did you mean {', '.join(suggestions[:3])}?")
        if other:
            hints_zh.append(f"“{ident}” 是{_KIND_ZH[other[0]]}，这里需要{_KIND_ZH[kind]}")
            hints_en.append(f"'{ident}' is a {other[0]}, but a {kind} is needed here")
        if ns and ns in library_names() and ns not in self.uses:
            hints_zh.append(f"“{ns}” 是 ybt 自带的库：在 ybt.yaml 中加上 uses: [{ns}]")
            hints_en.append(f"'{ns}' is a library shipped with ybt: add uses: [{ns}] to ybt.yaml")
        elif ns and ns not in self._known_namespaces():
            hints_zh.append(f"没有名为 “{ns}” 的命名空间")
            hints_en.append(f"there is no namespace '{ns}'")
        if not hints_zh:
            scopes = [c.split(".")[1] for c in ref_candidates(kind, value, from_ns, self.uses, library)]
            hints_zh.append(f"在 {'、'.join(scopes)} 中都没有找到；先声明该{_KIND_ZH[kind]}，或写成 命名空间.标识")
            hints_en.append(f"not found in {', '.join(scopes)}; declare the {kind} first or write namespace.id")
        if self.loaded.broken_files:
            hints_zh.append("另有文件未能读取，请先修正其错误")
            hints_en.append("some files could not be read: fix those errors first")
        self.diags.error(
            codes.UNKNOWN_REFERENCE,
            Text(f"找不到{_KIND_ZH[kind]} “{value}”", f"unknown {kind} '{value}'"),
            doc.loc(path),
            Text("；".join(hints_zh), "; ".join(hints_en)),
        )

    def _known_namespaces(self) -> set[str]:
        return {SHARED, *self.library_ids, *self.departments}

    def refs(self, kind: Kind, values: Any, doc: Document, path: PathKey, from_ns: str, library: str | None) -> tuple[str, ...]:
        if not isinstance(values, list):
            return ()
        out = [self.ref(kind, v, doc, (*path, i), from_ns, library) for i, v in enumerate(values)]
        return tuple(dict.fromkeys(u for u in out if u is not None))

    def dept(self, value: Any, doc: Document, path: PathKey, library: str | None) -> str | None:
        if not isinstance(value, str):
            return None
        if value in self.departments:
            return value
        if library is not None:
            # Libraries name stewards by convention; a project need not have every one of them.
            return None
        close = difflib.get_close_matches(value, list(self.departments), n=3, cutoff=0.5)
        listing = "、".join(f"{d.id}（{d.name}）" for d in self.departments.values())
        self.diags.error(
            codes.UNKNOWN_REFERENCE,
            Text(f"找不到部门 “{value}”", f"unknown department '{value}'"),
            doc.loc(path),
            Text(
                (f"是否想写：{'、'.join(close)}？" if close else f"ybt.yaml 中的部门：{listing}") + "；新部门请先在 ybt.yaml 的 departments 中登记",
                (f"did you mean {', '.join(close)}? " if close else f"departments in ybt.yaml: {', '.join(self.departments)}. ")
                + "Register new departments under departments: in ybt.yaml",
            ),
        )
        return None

    # --- project config ---------------------------------------------------------------------

    def project_config(self, vset: ValidatedSet) -> tuple[dict[str, Any], Document | None]:
        doc = vset.source.config
        data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
        self.uses = [u for u in data.get("uses") or [] if isinstance(u, str) and u in self.library_ids]
        reserved = {SHARED, *library_names()}
        for i, d in enumerate(data.get("departments") or []):
            if not (isinstance(d, dict) and isinstance(d.get("id"), str) and isinstance(d.get("name"), str)):
                continue
            assert doc is not None
            did = d["id"]
            if did in reserved:
                self.diags.error(
                    codes.INVALID_PROJECT,
                    Text(f"部门标识 “{did}” 与保留的命名空间冲突", f"department id '{did}' collides with a reserved namespace"),
                    doc.loc(("departments", i, "id")),
                    Text(
                        f"保留名：{', '.join(sorted(reserved))}；请换一个部门标识",
                        f"reserved names: {', '.join(sorted(reserved))}; choose another id",
                    ),
                )
                continue
            if did in self.departments:
                continue  # reported by validate
            level = d.get("level")
            self.departments[did] = Department(
                uid=f"department.{did}",
                id=did,
                name=d["name"],
                doc=doc,
                index=i,
                short=d.get("short") if isinstance(d.get("short"), str) else None,
                level=cast(Level, level) if isinstance(level, str) else None,
                office=d.get("office") is True,
            )
        return data, doc

    def org_units(self, data: dict[str, Any]) -> tuple[dict[str, OrgUnit], str | None]:
        out: dict[str, OrgUnit] = {}

        def walk(node: Any, path: PathKey, parent: str | None) -> str | None:
            if not isinstance(node, dict) or not isinstance(node.get("code"), str) or not isinstance(node.get("name"), str):
                return None
            code: str = node["code"]
            if code in out:
                return None  # duplicate codes are reported by validate
            kids: list[str] = []
            level = node.get("level")
            out[code] = OrgUnit(f"org.{code}", code, node["name"], cast(Level, level if isinstance(level, str) else "district"), parent, (), path)
            for i, child in enumerate(node.get("children") or []):
                got = walk(child, (*path, "children", i), code)
                if got is not None:
                    kids.append(got)
            unit = out[code]
            out[code] = OrgUnit(unit.uid, unit.code, unit.name, unit.level, unit.parent, tuple(kids), unit.path)
            return code

        root = walk(data.get("org"), ("org",), None)
        return out, root

    def policy(self, data: dict[str, Any], doc: Document | None, valid: bool) -> Policy:
        raw = data.get("policy")
        if not valid or not isinstance(raw, dict):
            return Policy()
        assert doc is not None
        office = self.dept(raw.get("admission_office"), doc, ("policy", "admission_office"), None)
        q = raw.get("quota") or {}
        for dept_id in q.get("departments") or {}:
            self.dept(dept_id, doc, ("policy", "quota", "departments", dept_id), None)
        defaults = Policy()
        return Policy(
            admission_office=office,
            quota=Quota(q.get("district"), q.get("department"), MappingProxyType(dict(q.get("departments") or {}))),
            max_frequency=MappingProxyType(dict(raw.get("max_frequency") or {})),
            max_fields=MappingProxyType(dict(raw.get("max_fields") or {})),
            min_deadline_days=MappingProxyType(dict(raw.get("min_deadline_days") or {})),
            minutes_per_entry=float(raw.get("minutes_per_entry", defaults.minutes_per_entry)),
            duplicate_threshold=float(raw.get("duplicate_threshold", defaults.duplicate_threshold)),
            default_roster_rows=int(raw.get("default_roster_rows", defaults.default_roster_rows)),
            ledger_update_share=float(raw.get("ledger_update_share", defaults.ledger_update_share)),
            review_minutes=float(raw.get("review_minutes", defaults.review_minutes)),
            rules=MappingProxyType(dict(raw.get("rules") or {})),
            thresholds=MappingProxyType({k: float(v) for k, v in (raw.get("thresholds") or {}).items()}),
        )

    # --- indexing ---------------------------------------------------------------------------

    def index_sets(self) -> None:
        for vset in self.sets:
            lib = vset.source.name if vset.source.is_library else None
            for checked in vset.documents:
                self._index_one(checked, lib)

    def _index_one(self, checked: Checked, lib: str | None) -> None:
        data = checked.doc.data
        ident = data.get("id")
        if not isinstance(ident, str):
            return
        doc = checked.doc
        if checked.kind == "report":
            ns_value = data.get("department")
            if not isinstance(ns_value, str):
                return
            if lib is None and ns_value not in self.departments:
                self.dept(ns_value, doc, ("department",), None)
            ns = ns_value
        else:
            ns_raw = data.get("namespace")
            ns = ns_raw if isinstance(ns_raw, str) else (lib or SHARED)
            if not self._namespace_ok(ns, doc, lib):
                return
        unique = uid(checked.kind, ns, ident)
        first = self.index.entries.get(unique)
        if first is not None:
            first_loc = first.checked.doc.loc(("id",))
            self.diags.error(
                codes.DUPLICATE_ID,
                Text(
                    f"{_KIND_ZH[checked.kind]}标识 “{ns}.{ident}” 重复：{first_loc} 已声明",
                    f"duplicate {checked.kind} id '{ns}.{ident}': already declared at {first_loc}",
                ),
                doc.loc(("id",)),
                Text(
                    "改名其中一个，或删除重复的声明；部门自建的字段可放到部门命名空间",
                    "rename one or delete the copy; a department's own field may go in the department's namespace",
                ),
                (Related(first_loc, Text("第一次声明", "first declaration")),),
                unique,
            )
            return
        self.index.add(unique, _Entry(checked, ns, lib))

    def _namespace_ok(self, ns: str, doc: Document, lib: str | None) -> bool:
        if lib is not None:
            if ns == lib:
                return True
            message = Text(
                f"库 “{lib}” 中的对象必须在命名空间 “{lib}” 中，而不是 “{ns}”",
                f"objects of library '{lib}' belong in namespace '{lib}', not '{ns}'",
            )
            hint = Text("删去 namespace:，库中的对象默认属于库的命名空间", "drop namespace: — library objects default to the library's namespace")
        elif ns == SHARED or ns in self.departments:
            return True
        elif ns in self.library_ids:
            message = Text(f"项目中的对象不能放在库的命名空间 “{ns}” 中", f"a project object cannot live in library namespace '{ns}'")
            hint = Text("用 namespace: shared（共享目录）或部门标识", "use namespace: shared (the shared catalog) or a department id")
        else:
            close = difflib.get_close_matches(ns, list(self.departments), n=1, cutoff=0.5)
            message = Text(f"命名空间 “{ns}” 既不是 shared 也不是已登记的部门", f"namespace '{ns}' is neither shared nor a registered department")
            hint = Text(
                (f"是否想写 “{close[0]}”？" if close else "") + "把部门登记到 ybt.yaml 的 departments 中，或用 shared",
                (f"did you mean '{close[0]}'? " if close else "") + "register the department in ybt.yaml or use shared",
            )
        self.diags.error(codes.MISPLACED_DOCUMENT, message, doc.loc(("namespace",)), hint)
        return False

    # --- building ---------------------------------------------------------------------------

    def build(self, kind: str, fn: Callable[[_Entry, str], T]) -> dict[str, T]:
        if self._by_kind is None or self._by_kind[0] != len(self.index.entries):
            groups: dict[str, list[str]] = {}
            for unique in sorted(self.index.entries):
                groups.setdefault(unique.split(".", 1)[0], []).append(unique)
            self._by_kind = (len(self.index.entries), groups)
        out: dict[str, T] = {}
        for unique in self._by_kind[1].get(kind, ()):
            entry = self.index.entries[unique]
            if entry.checked.kind == kind and entry.checked.valid:
                out[unique] = fn(entry, unique)
        return out

    def _base(self, entry: _Entry, unique: str) -> dict[str, Any]:
        data = entry.checked.doc.data
        return {
            "uid": unique,
            "kind": entry.checked.kind,
            "namespace": entry.namespace,
            "id": data["id"],
            "library": entry.library,
            "doc": entry.checked.doc,
        }

    def codelist(self, entry: _Entry, unique: str) -> Codelist:
        d = entry.checked.doc.data
        doc = entry.checked.doc
        values = tuple(
            CodeValue(v["code"], v["label"], tuple(v.get("aliases") or ()), v.get("description"), v.get("parent"), v.get("deprecated") is True)
            for v in d["values"]
        )
        return Codelist(
            **self._base(entry, unique),
            label=d["label"],
            values=values,
            description=d.get("description"),
            standard=d.get("standard"),
            steward=self.dept(d.get("steward"), doc, ("steward",), entry.library),
            status=d.get("status", "standard"),
            superseded_by=self.ref("codelist", d.get("superseded_by"), doc, ("superseded_by",), entry.namespace, entry.library),
        )

    def field(self, entry: _Entry, unique: str) -> Field:
        d = entry.checked.doc.data
        doc = entry.checked.doc
        ns, lib = entry.namespace, entry.library
        c = d.get("constraints") or {}
        raw_source = d.get("source", "collected")
        if isinstance(raw_source, dict) and "base_library" in raw_source:
            source = Source("base_library", base_library=raw_source["base_library"])
        elif isinstance(raw_source, dict) and "ledger" in raw_source:
            source = Source("ledger", ledger=self.ref("ledger", raw_source["ledger"], doc, ("source", "ledger"), ns, lib))
        elif isinstance(raw_source, dict) and "derived" in raw_source:
            source = Source("derived", expression=raw_source["derived"])
        else:
            source = Source()
        return Field(
            **self._base(entry, unique),
            label=d["label"],
            type=d["type"],
            aliases=tuple(d.get("aliases") or ()),
            description=d.get("description"),
            filling_rule=d.get("filling_rule"),
            codelist=self.ref("codelist", d.get("codelist"), doc, ("codelist",), ns, lib),
            multiple=d.get("multiple") is True,
            unit=d.get("unit"),
            entity=self.ref("entity", d.get("entity"), doc, ("entity",), ns, lib),
            role=d.get("role", "self"),
            constraints=Constraints(
                required=c.get("required") is True,
                min=c.get("min"),
                max=c.get("max"),
                min_length=c.get("min_length"),
                max_length=c.get("max_length"),
                pattern=c.get("pattern"),
                scale=c.get("scale"),
                unique=c.get("unique") is True,
            ),
            sensitivity=d.get("sensitivity", "internal"),
            source=source,
            steward=self.dept(d.get("steward"), doc, ("steward",), lib),
            update_frequency=d.get("update_frequency"),
            status=d.get("status", "standard"),
            superseded_by=self.ref("field", d.get("superseded_by"), doc, ("superseded_by",), ns, lib),
            standard=d.get("standard"),
            tags=tuple(d.get("tags") or ()),
        )

    def entity(self, entry: _Entry, unique: str) -> Entity:
        d = entry.checked.doc.data
        doc = entry.checked.doc
        ns, lib = entry.namespace, entry.library
        return Entity(
            **self._base(entry, unique),
            label=d["label"],
            category=d["category"],
            key=self.refs("field", d["key"], doc, ("key",), ns, lib),
            parent=self.ref("entity", d.get("parent"), doc, ("parent",), ns, lib),
            description=d.get("description"),
        )

    def ledger(self, entry: _Entry, unique: str, entities: Mapping[str, Entity]) -> Ledger:
        d = entry.checked.doc.data
        doc = entry.checked.doc
        ns, lib = entry.namespace, entry.library
        entity = self.ref("entity", d["entity"], doc, ("entity",), ns, lib)
        fields: list[LedgerField] = []
        seen: dict[str, PathKey] = {}
        for i, item in enumerate(d["fields"]):
            path: PathKey = ("fields", i, "field") if isinstance(item, dict) else ("fields", i)
            f = self.ref("field", item["field"] if isinstance(item, dict) else item, doc, path, ns, lib)
            if f is None:
                continue
            if f in seen:
                first = doc.loc(seen[f])
                self.diags.error(
                    codes.DUPLICATE_ENTRY,
                    Text(
                        f"字段 {f} 在台账中出现两次（第 {first.line} 行已有）",
                        f"field {f} appears twice in the ledger (already on line {first.line})",
                    ),
                    doc.loc(path),
                    Text("删除重复的一项", "delete the repeated entry"),
                    (Related(first, Text("第一次出现", "first occurrence")),),
                )
                continue
            seen[f] = path
            if isinstance(item, dict):
                fields.append(LedgerField(f, item.get("label"), item.get("required") is True))
            else:
                fields.append(LedgerField(f))
        if "key" in d:
            key = self.refs("field", d["key"], doc, ("key",), ns, lib)
        else:
            key = entities[entity].key if entity is not None and entity in entities else ()
        # Key fields are always required columns; key fields not listed are added in front.
        present = {f.field for f in fields}
        fields = [LedgerField(k, None, True) for k in key if k not in present] + [LedgerField(f.field, f.label, True) if f.field in key else f for f in fields]
        return Ledger(
            **self._base(entry, unique),
            label=d["label"],
            entity=entity or "",
            key=key,
            fields=tuple(fields),
            steward=self.dept(d.get("steward"), doc, ("steward",), lib),
            update_frequency=d.get("update_frequency"),
            org_level=d.get("org_level", "village"),
            status=d.get("status", "standard"),
            description=d.get("description"),
        )

    def conditions(
        self, raw: Any, doc: Document, path: PathKey, ns: str, fields: Mapping[str, Field], codelists: Mapping[str, Codelist]
    ) -> tuple[Condition, ...]:
        out: list[Condition] = []
        for i, cond in enumerate(raw or []):
            f = self.ref("field", cond["field"], doc, (*path, i, "field"), ns, None)
            if f is None:
                continue
            value = cond.get("value")
            fld = fields.get(f)
            if fld is not None and fld.type == "code" and value is not None:
                value = [str(v) for v in value] if isinstance(value, list) else str(value)
            self._check_codes(f, value, doc, (*path, i, "value"), fields, codelists)
            out.append(Condition(f, cond["op"], tuple(value) if isinstance(value, list) else value))
        return tuple(out)

    def _check_codes(self, f: str, value: Any, doc: Document, path: PathKey, fields: Mapping[str, Field], codelists: Mapping[str, Codelist]) -> None:
        fld = fields.get(f)
        if fld is None or fld.type != "code" or fld.codelist is None or fld.codelist not in codelists:
            return
        cl = codelists[fld.codelist]
        allowed = cl.codes()
        values = value if isinstance(value, list) else [value]
        for j, v in enumerate(values):
            if v is None:
                continue
            text = str(v)
            if text in allowed:
                continue
            by_label = next((c.code for c in cl.values if c.label == text or text in c.aliases), None)
            p: PathKey = (*path, j) if isinstance(value, list) else path
            shown = "、".join(f"{c.code} {c.label}" for c in cl.values[:12]) + ("…" if len(cl.values) > 12 else "")
            self.diags.error(
                codes.UNKNOWN_REFERENCE,
                Text(f"代码 “{text}” 不在代码表 “{cl.label}”（{cl.qualified}）中", f"code '{text}' is not in codelist '{cl.qualified}'"),
                doc.loc(p),
                Text(
                    f"请写代码 “{by_label}”" if by_label else f"可用代码：{shown}",
                    f"write the code '{by_label}'" if by_label else f"codes: {', '.join(c.code for c in cl.values[:12])}",
                ),
            )

    def report(self, entry: _Entry, unique: str, fields: Mapping[str, Field], codelists: Mapping[str, Codelist], ledgers: Mapping[str, Ledger]) -> Report:
        d = entry.checked.doc.data
        doc = entry.checked.doc
        ns = entry.namespace
        columns: list[Column] = []
        for i, col in enumerate(d["columns"]):
            f = self.ref("field", col.get("field"), doc, ("columns", i, "field"), ns, None) if "field" in col else None
            fld = fields.get(f) if f else None
            local = col.get("label")
            label = local or (fld.label if fld is not None else col.get("id", ""))
            group = col.get("group")
            columns.append(
                Column(
                    id=column_id(col) or f"col_{i + 1}",
                    label=label,
                    local_label=local if local and (fld is None or local != fld.label) else None,
                    field=f,
                    group=tuple([group] if isinstance(group, str) else group or ()),
                    required=col.get("required") is True,
                    aggregate=col.get("aggregate"),
                    where=self.conditions(col.get("where"), doc, ("columns", i, "where"), ns, fields, codelists),
                    unit=col.get("unit") or (fld.unit if fld is not None else None),
                    note=col.get("note"),
                )
            )
        sources = self.refs("ledger", d.get("sources"), doc, ("sources",), ns, None)
        entity = self.ref("entity", d.get("entity"), doc, ("entity",), ns, None)
        if entity is None and "entity" not in d and d["form"] == "roster" and sources and sources[0] in ledgers:
            entity = ledgers[sources[0]].entity or None
        consumers = []
        for i, c in enumerate(d.get("consumers") or []):
            path: PathKey = ("consumers", i)
            consumers.append(
                Consumer(
                    department=self.dept(c["department"], doc, (*path, "department"), None) or c["department"],
                    purpose=c["purpose"],
                    uses=self.refs("field", c.get("uses"), doc, (*path, "uses"), ns, None),
                    grants=self.refs("field", c.get("grants"), doc, (*path, "grants"), ns, None),
                )
            )
        adm = d.get("admission")
        admission = None
        if isinstance(adm, dict):
            admission = Admission(
                status=adm["status"],
                record=adm.get("record"),
                approved_by=self.dept(adm.get("approved_by"), doc, ("admission", "approved_by"), None),
                approved_on=adm.get("approved_on"),
                expires_on=adm.get("expires_on"),
                retires=self.refs("report", adm.get("retires"), doc, ("admission", "retires"), ns, None),
            )
        basis = d.get("legal_basis")
        return Report(
            **self._base(entry, unique),
            department=d["department"],
            title=d["title"],
            form=d["form"],
            mode=d.get("mode", "collected"),
            frequency=d["frequency"],
            fill_level=d["fill_level"],
            columns=tuple(columns),
            entity=entity,
            sources=sources,
            group_by=d.get("group_by") or (d["fill_level"] if d["form"] == "summary" else None),
            where=self.conditions(d.get("where"), doc, ("where",), ns, fields, codelists),
            consumers=tuple(consumers),
            legal_basis=tuple([basis] if isinstance(basis, str) else basis or ()),
            deadline_days=d.get("deadline_days"),
            expected_rows=d.get("expected_rows"),
            admission=admission,
            status=d.get("status", "active"),
            description=d.get("description"),
        )

    # --- cycles -------------------------------------------------------------------------------

    def cycles(self, objects: Mapping[str, Any], attr: str, what_zh: str) -> None:
        reported: set[str] = set()
        for start in objects:
            seen: list[str] = []
            node: str | None = start
            while node is not None and node in objects and node not in seen:
                seen.append(node)
                node = getattr(objects[node], attr)
            if node is None or node not in seen:
                continue
            cycle = seen[seen.index(node) :]
            if reported.intersection(cycle):
                continue
            reported.update(cycle)
            first = objects[cycle[0]]
            chain = " → ".join([*cycle, cycle[0]])
            self.diags.error(
                codes.REFERENCE_CYCLE,
                Text(f"{what_zh}形成循环：{chain}", f"{attr} forms a cycle: {chain}"),
                first.loc(attr),
                Text("让链条终止于一个不再指向别处的对象", "end the chain at an object that points nowhere further"),
                tuple(Related(objects[u].loc(attr), Text("循环中的一环", "part of the cycle")) for u in cycle[1:]),
                cycle[0],
            )


def resolve(loaded: LoadedProject, sets: list[ValidatedSet], diags: Diagnostics) -> Project | None:
    """Build the resolved :class:`Project`; None when the project file itself is unusable."""
    r = _Resolver(loaded, sets, diags)
    project_set = next(s for s in sets if not s.source.is_library)
    data, pdoc = r.project_config(project_set)
    if pdoc is None:
        return None
    org_units, org_root = r.org_units(data)
    policy = r.policy(data, pdoc, project_set.config_valid)
    r.index_sets()

    codelists = r.build("codelist", r.codelist)
    fields = r.build("field", r.field)
    entities = r.build("entity", r.entity)
    ledgers = r.build("ledger", lambda e, u: r.ledger(e, u, entities))
    reports = r.build("report", lambda e, u: r.report(e, u, fields, codelists, ledgers))
    r.cycles(fields, "superseded_by", "字段替代关系")
    r.cycles(codelists, "superseded_by", "代码表替代关系")
    r.cycles(entities, "parent", "对象的上级关系")

    libraries: dict[str, Library] = {}
    synonyms: list[tuple[str, ...]] = []
    for vset in sets:
        src = vset.source
        cfg = src.config.data if src.config is not None and isinstance(src.config.data, dict) else {}
        groups = tuple(tuple(g) for g in cfg.get("synonyms") or [] if isinstance(g, list))
        if src.is_library:
            if src.name in r.uses:
                libraries[src.name] = Library(src.name, str(cfg.get("name", src.name)), cfg.get("version"), src.root, groups)
        elif project_set.config_valid:
            synonyms.extend(groups)

    # Keyed by path relative to the project root; library files as "@<library>/<path>".
    checksums = {(f"@{s.name}/" if s.is_library else "") + sf.rel: sf.sha256 for s in loaded.all_sets() for sf in s.all_files()}

    def frozen(m: dict[str, T]) -> Mapping[str, T]:
        return MappingProxyType(dict(sorted(m.items())))

    return Project(
        id=str(data.get("id", loaded.project.root.name)),
        name=str(data.get("name", loaded.project.root.name)),
        root=loaded.project.root,
        doc=pdoc,
        description=data.get("description"),
        uses=tuple(r.uses),
        libraries=frozen(libraries),
        synonyms=tuple(synonyms),
        policy=policy,
        departments=MappingProxyType(dict(r.departments)),
        org_units=MappingProxyType(org_units),
        org_root=org_root,
        fields=frozen(fields),
        codelists=frozen(codelists),
        entities=frozen(entities),
        ledgers=frozen(ledgers),
        reports=frozen(reports),
        file_checksums=frozen(checksums),
    )


class Rebuilder:
    """The resolve stage of the incremental check: objects of a project resolved before, rebuilt from
    their documents only when something asks for them, and new report documents resolved against
    them.

    ``known`` gives every object's unique id, grouped by (kind, namespace, library — None for the
    project's own); ``documents`` the documents of the catalog objects (fields, codelists, entities,
    ledgers); ``org_tree``, when given, the project file's ``org`` tree, which the skeleton's project
    document then leaves out.
    Problems found while rebuilding were reported by the full resolve that came before and are not
    reported again.
    """

    def __init__(
        self,
        skeleton: Project,
        documents: Mapping[str, Document],
        known: Iterable[tuple[tuple[str, str, str | None], Iterable[str]]],
        diags: Diagnostics,
        org_tree: Callable[[], Any] | None = None,
    ) -> None:
        r = _Resolver(LoadedProject(SourceSet(skeleton.id, skeleton.root, False, None, ()), ()), [], Diagnostics())
        r.library_ids = list(skeleton.libraries)
        r.uses = list(skeleton.uses)
        r.departments = dict(skeleton.departments)
        entries = r.index.entries
        for (kind, ns, lib), uniques in known:
            # One shared placeholder per group; no suggestions index: an unknown reference sends the caller to a full resolve.
            entries.update(dict.fromkeys(uniques, _Entry(Checked(kind, _NO_DOCUMENT, True), ns, lib)))
        self._r = r
        self._diags = diags
        self._documents = documents
        self.codelists: _Built[Codelist] = _Built(self, "codelist", lambda e, u: r.codelist(e, u))
        self.fields: _Built[Field] = _Built(self, "field", lambda e, u: r.field(e, u))
        self.entities: _Built[Entity] = _Built(self, "entity", lambda e, u: r.entity(e, u))
        self.ledgers: _Built[Ledger] = _Built(self, "ledger", lambda e, u: r.ledger(e, u, self.entities))

        def org_units() -> dict[str, OrgUnit]:
            data = skeleton.doc.data if isinstance(skeleton.doc.data, dict) else {}
            return r.org_units(data if org_tree is None else {**data, "org": org_tree()})[0]

        org: Deferred[str, OrgUnit] = Deferred(org_units)
        self.project = dataclasses.replace(skeleton, fields=self.fields, codelists=self.codelists, entities=self.entities, ledgers=self.ledgers, org_units=org)

    def entry(self, unique: str) -> _Entry:
        shared = self._r.index.entries[unique]
        return _Entry(Checked(shared.checked.kind, self._documents[unique], True), shared.namespace, shared.library)

    def kind_ids(self, kind: str) -> list[str]:
        return sorted(u for u in self._documents if u.startswith(kind + "."))

    def reports(self, documents: list[Checked]) -> dict[str, Report]:
        """Resolve new report documents; problems go to the ``diags`` given at construction."""
        r = self._r
        r.diags = self._diags
        fresh: list[str] = []
        for checked in documents:
            data = checked.doc.data
            r._index_one(checked, None)
            unique = uid("report", str(data.get("department")), str(data.get("id")))
            entry = r.index.entries.get(unique)
            if entry is not None and entry.checked is checked and checked.valid:
                fresh.append(unique)
        return {u: r.report(r.index.entries[u], u, self.fields, self.codelists, self.ledgers) for u in sorted(fresh)}


class _Built(Mapping[str, T]):
    """Objects of one kind, each built from its document the first time it is looked up."""

    def __init__(self, owner: Rebuilder, kind: str, build: Callable[[_Entry, str], T]) -> None:
        self._owner = owner
        self._kind = kind
        self._build = build
        self._memo: dict[str, T] = {}
        self._ids: list[str] | None = None

    def __getitem__(self, key: str) -> T:
        hit = self._memo.get(key)
        if hit is None:
            if key not in self:
                raise KeyError(key)
            hit = self._memo[key] = self._build(self._owner.entry(key), key)
        return hit

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.startswith(self._kind + ".") and key in self._owner._documents

    def __iter__(self) -> Iterator[str]:
        if self._ids is None:
            self._ids = self._owner.kind_ids(self._kind)
        return iter(self._ids)

    def __len__(self) -> int:
        if self._ids is None:
            self._ids = self._owner.kind_ids(self._kind)
        return len(self._ids)


_NO_DOCUMENT = Document("", "", 0, {}, MappingProxyType({}), MappingProxyType({}))
