"""Write a draft spec project from imported forms: fields with provenance, reports with the forms' header layout.

The draft is an ordinary spec project that ``ybt compile``, ``ybt dupes`` and ``ybt check`` accept as it
is::

    DRAFT/
    ├── ybt.yaml                    # the catalog project's, plus the department `imported`; or a new one
    ├── imported/fields.yaml        # new fields (namespace shared), meta: where each came from
    ├── imported/reports/*.yaml     # one report per form (status: draft), columns grouped as on the form
    ├── import-report.md            # what the importer was unsure about, for a person to review
    └── import-report.json          # the same, as data

With ``--catalog`` the catalog project's spec files are copied in too, so that columns can reference its
fields (``cl.sfzh``) and the draft still compiles on its own.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ybt import atomic
from ybt.analyze.labels import normalize, split_unit
from ybt.importers.mapping import SUMMARY_ROLE, Mapping, _initials
from ybt.importers.xlsx import Form, SkippedSheet

DEPARTMENT = "imported"
_FREQUENCIES = (
    (re.compile(r"日报|每日|每天"), "daily"),
    (re.compile(r"周报|每周"), "weekly"),
    (re.compile(r"月报|月度|每月|[0-9一二三四五六七八九十]+月份?"), "monthly"),
    (re.compile(r"季报|季度|每季"), "quarterly"),
    (re.compile(r"半年"), "semiannual"),
    (re.compile(r"年报|年度|每年|\d{4}年"), "annual"),
)
_UNIT_CANON = {"㎡": "㎡", "km²": "km²", "m³": "m³", "kg": "kg", "kW": "kW"}


#: Labels whose values identify people or places: never turned into a code table (they would leak into the draft).
_PERSONAL = re.compile(r"姓名|名字|人$|人员$|户主|联系人|监护人|代理人|号码|号$|编号|账号|地址|住址|住所|电话|手机|身份")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Quote strings YAML would read as something else (codes, yes/no, dates).
    style = None
    if data and (re.fullmatch(r"[-+.]?[0-9][0-9.eE:+\-_]*|yes|no|on|off|true|false|null|~|y|n|\.inf|\.nan", data, re.I) or data[0] in "*&!%@`'\"{[|>#-?:,"):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(docs: Iterable[dict[str, Any]]) -> str:
    return yaml.dump_all(list(docs), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=160, default_flow_style=None)


def _clean(text: str, limit: int = 200) -> str:
    return re.sub(r"\s+", "", text)[:limit] or "?"


def frequency_of(title: str) -> str:
    for pattern, freq in _FREQUENCIES:
        if pattern.search(title):
            return freq
    return "adhoc"


def _unique(base: str, taken: set[str]) -> str:
    base = (base if base and base[0].isalpha() else f"r{base}")[:55] or "report"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def write_draft(
    out: Path,
    forms: list[Form],
    mapping: Mapping,
    skipped: list[SkippedSheet],
    failures: list[dict[str, str]],
    catalog: Path | None = None,
) -> dict[str, Any]:
    """Write the draft project below ``out``; returns the import report (also written as JSON)."""
    files: dict[str, bytes] = {}
    department = DEPARTMENT
    if catalog is not None:
        project = yaml.safe_load((catalog / "ybt.yaml").read_text(encoding="utf-8"))
        ids = {d.get("id") for d in project.get("departments", [])}
        n = 2
        while department in ids:
            department, n = f"{DEPARTMENT}{n}", n + 1
        project["departments"].append({"id": department, "name": "导入的旧表 imported legacy forms"})
        for src in sorted(catalog.rglob("*")):
            rel = src.relative_to(catalog)
            if any(p.startswith(".") or p in ("target", "node_modules", "__pycache__") for p in rel.parts) or rel.name.startswith("import-report."):
                continue
            if src.is_file() and rel.as_posix() != "ybt.yaml":
                files[rel.as_posix()] = src.read_bytes()
    else:
        project = {
            "kind": "project",
            "id": "imported_draft",
            "name": "导入的旧表（草稿）",
            "description": "ybt import 从旧表生成的规格草稿，请审阅 import-report.md 后再纳入共享目录。A draft made by ybt import; review import-report.md.",
            "uses": ["std"],
            "org": {"code": "100000", "name": "导入草稿", "level": "district"},
            "departments": [{"id": department, "name": "导入的旧表 imported legacy forms"}],
        }
    files["ybt.yaml"] = dump([project]).encode("utf-8")
    # Fields.
    field_docs: list[dict[str, Any]] = []
    codelist_docs: list[dict[str, Any]] = []
    taken_codelists = {c.id for c in mapping.catalog.codelists.values() if c.namespace == "shared"} if mapping.catalog is not None else set()
    for qualified, cands in mapping.new_fields.items():
        ident = qualified.split(".", 1)[1]
        labels: list[str] = []
        for c in cands:
            if c.label not in labels:
                labels.append(c.label)
        label = sorted(labels, key=lambda x: (-sum(1 for c in cands if c.label == x), len(x), x))[0]
        doc: dict[str, Any] = {"kind": "field", "id": ident, "label": label}
        aliases = [x for x in labels if x != label and normalize(x) != normalize(label)]
        if aliases:
            doc["aliases"] = aliases[:20]
        types = [c.type for c in cands]
        ftype = max(set(types), key=lambda t: (types.count(t), t))
        doc["type"] = ftype
        unit = split_unit(normalize(label))[1] or next((c.unit for c in cands if c.unit), None)
        if unit:
            doc["unit"] = unit
        roles = {c.role for c in cands} - {None}
        role = next(iter(roles)) if len(roles) == 1 else None
        if role == SUMMARY_ROLE:
            doc["source"] = {"derived": "汇总表中的统计数，由明细数据汇总得出（导入时推断） aggregated from roster data (inferred on import)"}
        elif role:
            doc["role"] = role
        doc["status"] = "draft"
        meta: dict[str, Any] = {
            "imported_from": [
                {"file": c.form.file, "sheet": c.form.sheet, "cell": c.column.cell, "column": c.column.col, "label": c.column.label} for c in cands
            ]
        }
        if role == SUMMARY_ROLE:
            meta["summary_measure"] = True
        distinct = set().union(*(c.column.values.distinct for c in cands)) if cands else set()
        counted = [c for c in cands if c.column.values.count]
        personal = role not in (None, SUMMARY_ROLE) or _PERSONAL.search(normalize(label))
        if ftype == "string" and not personal and counted and all(c.column.values.low_cardinality() for c in counted) and 1 < len(distinct) <= 12:
            # A handful of values repeated down the column: a code table in all but name.
            codelist = _unique(f"{ident}_codes", taken_codelists)
            doc["type"] = "code"
            doc["codelist"] = codelist
            codelist_docs.append(
                {
                    "kind": "codelist",
                    "id": codelist,
                    "label": f"{label[:190]}代码",
                    "description": "导入时由表中出现的取值生成，请核对并改用标准代码。Made from the values found on import: check it, prefer a standard table.",
                    "status": "draft",
                    "values": [{"code": str(i), "label": v[:200]} for i, v in enumerate(sorted(distinct), start=1)],
                }
            )
        doc["meta"] = meta
        field_docs.append(doc)
    if field_docs:
        files[f"{department}/fields.yaml"] = dump(codelist_docs + field_docs).encode("utf-8")
    # Reports.
    taken: set[str] = set()
    report_entries: list[dict[str, Any]] = []
    for form in forms:
        name = form.title or form.sheet or Path(form.file).stem
        rid = _unique(_initials(normalize(name)) or "report", taken)
        columns: list[dict[str, Any]] = []
        col_ids: set[str] = set()
        structural: list[dict[str, Any]] = []
        for col in form.columns:
            if col.field is None:
                structural.append({"col": col.col, "cell": col.cell, "label": col.label, "kind": col.structural or "unmapped"})
                continue
            entry: dict[str, Any] = {"field": col.field}
            default_id = col.field.split(".", 1)[1]
            if default_id in col_ids:
                entry["id"] = _unique(f"{default_id}_{col.col.lower()}", col_ids)
            else:
                col_ids.add(default_id)
            target_label = _field_label(mapping, col.field, field_docs)
            leaf = _clean(col.label)
            if leaf != target_label:
                entry["label"] = leaf
            if col.path:
                groups = [_clean(p) for p in col.path][-4:]
                entry["group"] = groups[0] if len(groups) == 1 else groups
            columns.append(entry)
        if not columns:
            continue
        doc = {
            "kind": "report",
            "id": rid,
            "department": department,
            "title": _clean(name, 200) if form.title is None else form.title[:200],
            "form": form.kind,
            "frequency": frequency_of(name),
            "fill_level": "town" if form.kind == "summary" else "village",
            "status": "draft",
            "columns": columns,
            "meta": {
                "imported_from": {
                    "file": form.file,
                    "sheet": form.sheet,
                    "title_cell": form.title_cell,
                    "header_rows": list(form.header_rows),
                    "numbering_row": form.numbering_row,
                    "data_rows": list(form.data_rows) if form.data_rows else None,
                    "data_row_count": form.data_row_count,
                },
                "fill_in": form.fill_in or None,
                "columns": [{"col": c.col, "cell": c.cell, "label": c.label, "field": c.field, "type": c.type} for c in form.columns],
                "structural_columns": structural or None,
            },
        }
        if form.kind == "roster" and form.data_row_count:
            doc["expected_rows"] = max(1, form.data_row_count)
        files[f"{department}/reports/{rid}.yaml"] = dump([doc]).encode("utf-8")
        report_entries.append({"report": f"{department}.{rid}", "file": form.file, "sheet": form.sheet})
    report = {
        "forms": [f.to_dict() for f in forms],
        "reports": report_entries,
        "new_fields": sorted(mapping.new_fields),
        "skipped_sheets": [{"file": s.file, "sheet": s.sheet, "zh": s.reason.zh, "en": s.reason.en} for s in skipped],
        "failures": failures,
        "uncertain": mapping.uncertain + [_form_note(f, n.zh, n.en) for f in forms for n in f.notes],
        "stats": _stats(forms, mapping),
    }
    files["import-report.json"] = (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    files["import-report.md"] = markdown(report).encode("utf-8")
    if out.exists() and (out / department).is_dir():
        shutil.rmtree(out / department)  # a re-import replaces the previous one
    atomic.write_tree(out, files)
    return report


def _field_label(mapping: Mapping, qualified: str, field_docs: list[dict[str, Any]]) -> str:
    ns, ident = qualified.split(".", 1)
    if ns == "shared":
        for d in field_docs:
            if d["id"] == ident:
                return str(d["label"])
    project = mapping.catalog
    if project is not None:
        f = project.fields.get(f"field.{ns}.{ident}")
        if f is not None:
            return f.label
    return ""


def _form_note(f: Form, zh: str, en: str) -> dict[str, Any]:
    return {"file": f.file, "sheet": f.sheet, "zh": zh, "en": en}


def _stats(forms: list[Form], mapping: Mapping) -> dict[str, Any]:
    cols = [c for f in forms for c in f.columns]
    mapped = [c for c in cols if c.field]
    return {
        "forms": len(forms),
        "columns": len(cols),
        "mapped_columns": len(mapped),
        "structural_columns": sum(1 for c in cols if c.structural),
        "catalog_fields_used": len({c.field for c in mapped if c.field not in mapping.new_fields}),
        "new_fields": len(mapping.new_fields),
        "shared_new_fields": sum(1 for v in mapping.new_fields.values() if len({id(c.form) for c in v}) > 1),
        "data_rows": sum(f.data_row_count for f in forms),
    }


def markdown(report: dict[str, Any]) -> str:
    s = report["stats"]
    lines = [
        "# 导入报告 · Import report",
        "",
        f"- 表单 forms: {s['forms']}；栏目 columns: {s['columns']}（映射 mapped {s['mapped_columns']}，结构栏目 structural {s['structural_columns']}）",
        f"- 使用已有字段 existing fields used: {s['catalog_fields_used']}；新字段 new fields: {s['new_fields']}"
        f"（其中多表共用 shared by several forms: {s['shared_new_fields']}）",
        f"- 数据行 data rows read: {s['data_rows']}",
        "",
        "## 需要核对 · To review",
        "",
    ]
    if not report["uncertain"]:
        lines.append("没有。None.")
    for u in report["uncertain"]:
        where = f"{u['file']} · {u['sheet']}" + (f" · {u['col']} 列 ({u.get('label', '')})" if u.get("col") else "")
        lines.append(f"- {where}：{u['zh']}  \n  {u['en']}")
    lines += ["", "## 表单 · Forms", ""]
    for f in report["forms"]:
        lines.append(f"### {f['file']} · {f['sheet']} — {f['title'] or '（无标题 no title）'}")
        lines.append("")
        lines.append(
            f"{'汇总表 summary' if f['kind'] == 'summary' else '明细表 roster'}；表头 header rows {f['header_rows'][0]}–{f['header_rows'][1]}"
            + (f"，栏次行 numbering row {f['numbering_row']}" if f["numbering_row"] else "")
            + (f"，数据 data rows {f['data_rows'][0]}–{f['data_rows'][1]}（{f['data_row_count']}）" if f["data_rows"] else "，无数据 no data")
        )
        lines.append("")
        lines.append("| 列 col | 表头 label | 分组 group | 字段 field | 类型 type |")
        lines.append("|---|---|---|---|---|")
        for c in f["columns"]:
            label = c["label"].replace("\n", " ").replace("|", "\\|")
            lines.append(f"| {c['col']} | {label} | {' / '.join(c['path'])} | {c['field'] or '—'} | {c['type'] or ''} |")
        lines.append("")
    if report["skipped_sheets"]:
        lines += ["## 跳过的工作表 · Sheets skipped", ""]
        lines += [f"- {x['file']} · {x['sheet']}：{x['zh']} / {x['en']}" for x in report["skipped_sheets"]]
        lines.append("")
    if report["failures"]:
        lines += ["## 未能导入的文件 · Files not imported", ""]
        lines += [f"- {x['file']}：{x['zh']} / {x['en']}" for x in report["failures"]]
        lines.append("")
    return "\n".join(lines)
