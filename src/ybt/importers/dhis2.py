"""DHIS2 metadata packages become a draft spec project (``ybt import dhis2``).

Mapping, one package = one department (its namespace is the file name's first word: ``TB_AGG.json`` → ``tb``):

- data element → field: ``valueType`` → ``type`` (with an option set, ``type: code``); uid, code, form name and
  aggregation type in ``meta.dhis2``.
- option set → codelist (option code → code, option name → label).
- category combo → **not** one field per category option combo: each category becomes a codelist and the data
  element's ``meta.disaggregation`` names the combo and lists those codelists. The field is the element's total;
  the breakdown is documented, not multiplied.
- data set → summary report (``form: summary``, ``periodType`` → ``frequency``, filled at ``town`` level as the
  reporting unit), one column per data element; the data set's sections become column groups, in their order.
- validation rule → the spec language has no rule kind yet: kept in the report's ``meta.validation_rules``
  (``#{uid}`` rewritten to field references), on every data set holding all the elements the rule uses.
- indicator → a derived field, ``source: {derived: "(<numerator>) / (<denominator>) × factor"}`` with field
  references; the raw expressions stay in ``meta.dhis2``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ybt import atomic
from ybt.diagnostics import Text
from ybt.importers import ImportFailure
from ybt.importers.draft import dump

VALUE_TYPES = {
    "NUMBER": "decimal",
    "INTEGER": "integer",
    "INTEGER_POSITIVE": "integer",
    "INTEGER_NEGATIVE": "integer",
    "INTEGER_ZERO_OR_POSITIVE": "integer",
    "PERCENTAGE": "decimal",
    "UNIT_INTERVAL": "decimal",
    "TEXT": "string",
    "LONG_TEXT": "text",
    "LETTER": "string",
    "BOOLEAN": "boolean",
    "TRUE_ONLY": "boolean",
    "DATE": "date",
    "DATETIME": "datetime",
    "TIME": "string",
    "AGE": "date",
    "PHONE_NUMBER": "phone",
    "EMAIL": "email",
    "USERNAME": "string",
    "URL": "string",
    "ORGANISATION_UNIT": "string",
    "COORDINATE": "string",
}
PERIODS = {
    "Daily": "daily",
    "Weekly": "weekly",
    "WeeklyWednesday": "weekly",
    "WeeklyThursday": "weekly",
    "WeeklySaturday": "weekly",
    "WeeklySunday": "weekly",
    "BiWeekly": "weekly",
    "Monthly": "monthly",
    "BiMonthly": "monthly",
    "Quarterly": "quarterly",
    "SixMonthly": "semiannual",
    "SixMonthlyApril": "semiannual",
    "SixMonthlyNov": "semiannual",
    "Yearly": "annual",
    "FinancialApril": "annual",
    "FinancialJuly": "annual",
    "FinancialOct": "annual",
    "FinancialNov": "annual",
}
_REF = re.compile(r"#\{([A-Za-z0-9]{11})(?:\.([A-Za-z0-9*]{1,11}))?(?:\.([A-Za-z0-9*]{1,11}))?\}")


def ident(text: str, taken: set[str], limit: int = 55) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"
    base = base if base[0].isalpha() else f"d_{base}"
    base = base[:limit].rstrip("_")
    out, n = base, 2
    while out in taken:
        out, n = f"{base}_{n}", n + 1
    taken.add(out)
    return out


def _label(text: str | None, fallback: str) -> str:
    t = re.sub(r"\s+", " ", (text or "").strip())
    return (t or fallback)[:200]


class _Package:
    def __init__(self, path: Path, dept: str, data: dict[str, Any]) -> None:
        self.path = path
        self.dept = dept
        self.data = data
        self.by_id: dict[str, dict[str, Any]] = {}
        for items in data.values():
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        self.by_id[item["id"]] = item

    def items(self, key: str) -> list[dict[str, Any]]:
        v = self.data.get(key)
        return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def import_packages(paths: list[Path], out: Path, failures: list[ImportFailure]) -> dict[str, Any]:
    packages: list[_Package] = []
    dept_ids: set[str] = set()
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            failures.append(ImportFailure(str(path), Text(f"无法读取 JSON：{exc}", f"cannot read the JSON: {exc}")))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("dataElements"), list):
            failures.append(
                ImportFailure(
                    str(path),
                    Text("不是 DHIS2 元数据包（没有 dataElements）", "not a DHIS2 metadata package (no dataElements)"),
                    Text("用 DHIS2 的元数据导出（metadata.json）", "use a DHIS2 metadata export (metadata.json)"),
                )
            )
            continue
        dept = ident(path.stem.split("_")[0].split("-")[0], dept_ids, 20)
        if dept in ("std", "shared"):
            dept = ident(f"{dept}_pkg", dept_ids, 20)
        packages.append(_Package(path, dept, data))
    files: dict[str, bytes] = {}
    stats = {"fields": 0, "codelists": 0, "reports": 0, "indicators": 0, "validation_rules": 0, "unattached_rules": 0, "disaggregated_fields": 0}
    report_pkgs: list[dict[str, Any]] = []
    for pkg in packages:
        docs, info = _package_docs(pkg)
        files[f"departments/{pkg.dept}.yaml"] = dump(docs).encode("utf-8")
        for k in stats:
            stats[k] += info.get(k, 0)
        report_pkgs.append({"file": pkg.path.name, "department": pkg.dept, **info})
    if not packages:
        return {"packages": [], "stats": stats}
    project = {
        "kind": "project",
        "id": "dhis2_import",
        "name": "DHIS2 元数据导入（草稿） DHIS2 metadata import (draft)",
        "description": "ybt import dhis2 生成：每个元数据包一个部门。Made by ybt import dhis2: one department per metadata package.",
        "uses": ["std"],
        "org": {"code": "100000", "name": "District", "level": "district"},
        "departments": [{"id": p.dept, "name": _label(p.path.stem, p.dept)} for p in packages],
    }
    files["ybt.yaml"] = dump([project]).encode("utf-8")
    report = {"packages": report_pkgs, "stats": stats}
    files["import-report.json"] = (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    files["import-report.md"] = _markdown(report).encode("utf-8")
    atomic.write_tree(out, files)
    return report


def _code_values(pkg: _Package, refs: Any) -> list[dict[str, str]]:
    """Codelist values from references to options (an option set's options, a category's options).

    The option's code (or its id) is the code, cut to 32 characters; a code seen twice falls back to the id.
    """
    values: list[dict[str, str]] = []
    codes: set[str] = set()
    for ref in refs or []:
        opt = pkg.by_id.get(ref.get("id", "")) if isinstance(ref, dict) else None
        if opt is None:
            continue
        code = str(opt.get("code") or opt["id"])[:32]
        if code in codes:
            code = str(opt["id"])
        codes.add(code)
        values.append({"code": code, "label": _label(opt.get("name"), code)})
    return values


def _package_docs(pkg: _Package) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    codelist_ids: set[str] = set()
    field_ids: set[str] = set()
    option_sets: dict[str, str] = {}
    for os_ in pkg.items("optionSets"):
        values = _code_values(pkg, os_.get("options"))
        if not values:
            continue
        cid = ident(os_.get("code") or os_.get("name") or os_["id"], codelist_ids)
        option_sets[os_["id"]] = cid
        docs.append(
            {
                "kind": "codelist",
                "namespace": pkg.dept,
                "id": cid,
                "label": _label(os_.get("name"), cid),
                "status": "draft",
                "values": values,
                "meta": {"dhis2": {"optionSet": os_["id"]}},
            }
        )
    # Categories → codelists (the disaggregation of data elements).
    categories: dict[str, str] = {}
    combos: dict[str, dict[str, Any]] = {}
    for combo in pkg.items("categoryCombos"):
        cats = [c.get("id") for c in combo.get("categories") or [] if isinstance(c, dict)]
        if combo.get("name") == "default" or not cats:
            continue
        refs = []
        for cat_id in cats:
            cat = pkg.by_id.get(cat_id or "")
            if cat is None:
                continue
            if cat_id not in categories:
                values = _code_values(pkg, cat.get("categoryOptions"))
                if not values:
                    continue
                cid = ident(f"cat_{cat.get('code') or cat.get('name') or cat_id}", codelist_ids)
                categories[str(cat_id)] = cid
                docs.append(
                    {
                        "kind": "codelist",
                        "namespace": pkg.dept,
                        "id": cid,
                        "label": _label(cat.get("name"), cid),
                        "description": "DHIS2 分类（category），用于数据元的分解。A DHIS2 category: how data elements are broken down.",
                        "status": "draft",
                        "values": values,
                        "meta": {"dhis2": {"category": cat_id}},
                    }
                )
            refs.append(f"{pkg.dept}.{categories[str(cat_id)]}")
        if refs:
            combos[combo["id"]] = {"category_combo": combo.get("name"), "codelists": refs}
    # Data elements → fields.
    de_field: dict[str, str] = {}
    n_disagg = 0
    for de in pkg.items("dataElements"):
        fid = ident(de.get("code") or de.get("name") or de["id"], field_ids)
        de_field[de["id"]] = fid
        vt = str(de.get("valueType") or "TEXT")
        doc: dict[str, Any] = {"kind": "field", "namespace": pkg.dept, "id": fid, "label": _label(de.get("name"), fid)}
        if de.get("description"):
            doc["description"] = str(de["description"])
        os_ref = de.get("optionSet") if isinstance(de.get("optionSet"), dict) else None
        if os_ref and os_ref.get("id") in option_sets:
            doc["type"] = "code"
            doc["codelist"] = option_sets[os_ref["id"]]
        else:
            doc["type"] = VALUE_TYPES.get(vt, "string")
        if vt == "PERCENTAGE":
            doc["unit"] = "%"
        doc["status"] = "draft"
        dmeta: dict[str, Any] = {"uid": de["id"], "valueType": vt}
        for key in ("code", "shortName", "formName", "aggregationType", "domainType"):
            if de.get(key):
                dmeta[key] = de[key]
        meta: dict[str, Any] = {"dhis2": dmeta}
        cc = de.get("categoryCombo") if isinstance(de.get("categoryCombo"), dict) else None
        if cc and cc.get("id") in combos:
            meta["disaggregation"] = combos[cc["id"]]
            n_disagg += 1
        doc["meta"] = meta
        docs.append(doc)
    # Indicators → derived fields.
    n_ind = 0
    for ind in pkg.items("indicators"):
        fid = ident(f"ind_{ind.get('code') or ind.get('name') or ind['id']}", field_ids)
        num = _expression(str(ind.get("numerator") or ""), pkg, de_field)
        den = _expression(str(ind.get("denominator") or "1"), pkg, de_field)
        itype = pkg.by_id.get((ind.get("indicatorType") or {}).get("id", ""), {})
        factor = itype.get("factor")
        expr = f"({num})" + (f" / ({den})" if den.strip() not in ("1", "") else "") + (f" × {factor}" if factor not in (None, 1) else "")
        docs.append(
            {
                "kind": "field",
                "namespace": pkg.dept,
                "id": fid,
                "label": _label(ind.get("name"), fid),
                **({"description": str(ind["description"])} if ind.get("description") else {}),
                "type": "decimal" if factor not in (None, 1) or den.strip() not in ("1", "") else "integer",
                **({"unit": "%"} if factor == 100 else {}),
                "source": {"derived": expr[:2000]},
                "status": "draft",
                "tags": ["indicator"],
                "meta": {
                    "dhis2": {
                        "indicator": ind["id"],
                        "numerator": ind.get("numerator"),
                        "denominator": ind.get("denominator"),
                        "numeratorDescription": ind.get("numeratorDescription"),
                        "denominatorDescription": ind.get("denominatorDescription"),
                        "indicatorType": itype.get("name"),
                        "factor": factor,
                    }
                },
            }
        )
        n_ind += 1
    # Data sets → summary reports; validation rules → their meta.
    report_ids: set[str] = set()
    set_elements: dict[str, set[str]] = {}
    # Sections of a data set → column groups (and their order).
    section_of: dict[tuple[str, str], tuple[int, str]] = {}
    for sec in pkg.items("sections"):
        ds_id = (sec.get("dataSet") or {}).get("id")
        for ref in sec.get("dataElements") or []:
            if isinstance(ref, dict) and ds_id:
                section_of.setdefault((ds_id, ref.get("id", "")), (int(sec.get("sortOrder") or 0), _label(sec.get("name"), "section")))
    reports: list[dict[str, Any]] = []
    for ds in pkg.items("dataSets"):
        elements = [e["dataElement"]["id"] for e in ds.get("dataSetElements") or [] if isinstance(e, dict) and isinstance(e.get("dataElement"), dict)]
        cols: list[dict[str, Any]] = []
        seen: set[str] = set()
        section_order = {name: order for (sid, _el), (order, name) in section_of.items() if sid == ds["id"]}
        for el in elements:
            if el in de_field and el not in seen:
                seen.add(el)
                col: dict[str, Any] = {"field": de_field[el]}
                section = section_of.get((ds["id"], el))
                if section is not None:
                    col["group"] = section[1]
                cols.append(col)
        # The form's order: by section, as DHIS2 shows it; elements outside any section last.
        cols.sort(key=lambda c: section_order.get(str(c.get("group", "")), 10**6))
        if not cols:
            continue
        period = str(ds.get("periodType") or "")
        rep: dict[str, Any] = {
            "kind": "report",
            "id": ident(ds.get("code") or ds.get("name") or ds["id"], report_ids),
            "department": pkg.dept,
            "title": _label(ds.get("name"), ds["id"]),
            "form": "summary",
            "frequency": PERIODS.get(period, "adhoc"),
            "fill_level": "town",
            "status": "draft",
            "columns": cols,
            "meta": {"dhis2": {"dataSet": ds["id"], "periodType": period, "code": ds.get("code")}},
        }
        set_elements[ds["id"]] = seen
        reports.append(rep)
    n_rules = unattached = 0
    by_set = {r["meta"]["dhis2"]["dataSet"]: r for r in reports}
    for rule in pkg.items("validationRules"):
        left = (rule.get("leftSide") or {}).get("expression") or ""
        right = (rule.get("rightSide") or {}).get("expression") or ""
        used = {m.group(1) for m in _REF.finditer(f"{left} {right}")}
        entry = {
            "name": rule.get("name"),
            "uid": rule.get("id"),
            "left": _expression(left, pkg, de_field),
            "operator": rule.get("operator"),
            "right": _expression(right, pkg, de_field),
            "importance": rule.get("importance"),
            "periodType": rule.get("periodType"),
        }
        n_rules += 1
        homes = [sid for sid, els in set_elements.items() if used and used <= els]
        if not homes:
            homes = [sid for sid, els in set_elements.items() if used & els][:1]
        if not homes:
            unattached += 1
            continue
        for sid in homes:
            by_set[sid]["meta"].setdefault("validation_rules", []).append(entry)
    docs.extend(reports)
    info = {
        "fields": len(de_field),
        "codelists": len(codelist_ids),
        "reports": len(reports),
        "indicators": n_ind,
        "validation_rules": n_rules,
        "unattached_rules": unattached,
        "disaggregated_fields": n_disagg,
    }
    return docs, info


def _expression(expr: str, pkg: _Package, de_field: dict[str, str]) -> str:
    """``#{uid.coc}`` → ``dept.field[option combo name]``; other references stay as written."""

    def repl(m: re.Match[str]) -> str:
        fid = de_field.get(m.group(1))
        if fid is None:
            return m.group(0)
        out = f"{pkg.dept}.{fid}"
        coc = m.group(2)
        if coc and coc != "*":
            name = pkg.by_id.get(coc, {}).get("name")
            out += f"[{name or coc}]"
        return out

    return _REF.sub(repl, expr)


def _markdown(report: dict[str, Any]) -> str:
    s = report["stats"]
    lines = [
        "# DHIS2 导入报告 · DHIS2 import report",
        "",
        f"- 字段 fields: {s['fields']}（分解到分类的 disaggregated: {s['disaggregated_fields']}）；指标 indicators (derived fields): {s['indicators']}",
        f"- 代码表 codelists: {s['codelists']}；报表 reports: {s['reports']}",
        f"- 校验规则 validation rules: {s['validation_rules']}（放在报表的 meta.validation_rules 中，规格语言尚无规则种类；"
        f"未能归属到报表的 unattached: {s['unattached_rules']}）",
        "",
        "| 文件 file | 部门 department | 字段 fields | 报表 reports | 指标 indicators | 规则 rules |",
        "|---|---|---|---|---|---|",
    ]
    for p in report["packages"]:
        lines.append(f"| {p['file']} | {p['department']} | {p['fields']} | {p['reports']} | {p['indicators']} | {p['validation_rules']} |")
    lines.append("")
    return "\n".join(lines)
