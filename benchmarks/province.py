"""A deterministic province-scale spec project for benchmarks.

At scale 1.0: 40 departments, an organisation tree of 1,000 towns and 15,000 villages, 12,000 fields of
which about a third re-declare a data element another department already has (under a synonym, with
traditional characters, spaces or a bracketed unit), and 2,500 reports with about 80,000 field
references. The same seed and scale always give the same files.

    python benchmarks/province.py OUT_DIR [--scale 1.0] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import yaml

SUBJECTS = ["残疾人", "老年人", "低保对象", "特困人员", "退役军人", "农户", "儿童", "患者", "就业人员", "参保人员", "受灾人员", "流动人口",
            "经营主体", "企业", "合作社", "家庭农场", "房屋", "地块", "宅基地", "危房", "隐患点", "网格", "社区", "学校"]  # fmt: skip
ATTRIBUTES = ["类别", "等级", "状况", "补贴标准", "补贴金额", "发放方式", "认定日期", "面积", "数量", "人数", "户数", "收入", "支出",
              "负责人", "编号", "名称", "地址", "用途", "结构", "产量", "产值", "规模", "评估结果", "服务需求", "签约状态", "登记状态",
              "核查结果", "整改情况", "责任人", "联系人"]  # fmt: skip
UNITS = {"面积": "亩", "补贴标准": "元", "补贴金额": "元", "收入": "元", "支出": "元", "产值": "万元", "产量": "吨", "人数": "人", "户数": "户"}
TRADITIONAL = {"残疾人": "殘疾人", "老年人": "老年人", "补贴": "補貼", "发放": "發放", "面积": "面積", "收入": "收入", "认定": "認定", "联系": "聯繫"}
PERSON_FIELDS = ["std.name", "std.resident_id", "std.sex", "std.birth_date", "std.phone", "std.residence_address", "std.household_register_address",
                 "std.ethnicity", "std.education", "std.bank_account"]  # fmt: skip
PERSON_SYNONYMS = {
    "std.name": ["姓名", "名字", "对象姓名"],
    "std.resident_id": ["身份证号", "公民身份号码", "证件号码", "身份證號碼"],
    "std.phone": ["联系电话", "手机号码", "联系方式"],
    "std.residence_address": ["现住址", "家庭住址", "居住地址"],
    "std.sex": ["性别", "性別"],
}
FREQUENCIES = ["monthly", "quarterly", "quarterly", "annual", "annual", "semiannual", "adhoc"]


def _variant(rng: random.Random, label: str) -> str:
    """How another department writes the same label."""
    choice = rng.random()
    if choice < 0.25:
        for simple, trad in TRADITIONAL.items():
            if simple in label:
                return label.replace(simple, trad)
    if choice < 0.5:
        return " ".join(label) if len(label) <= 4 else label[:2] + "\n" + label[2:]
    if choice < 0.75:
        return label.replace("（", "(").replace("）", ")") if "（" in label else label + "："
    return label


def generate(out: Path, scale: float = 1.0, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    n_depts, n_towns, villages_per_town = 40, max(2, round(1000 * scale)), 15
    n_fields, n_reports = round(12000 * scale), round(2500 * scale)
    depts = [{"id": f"d{i:02d}", "name": f"第{i}部门"} for i in range(1, n_depts + 1)] + [{"id": "jcjf", "name": "基层减负办", "office": True}]
    towns = []
    for t in range(1, n_towns + 1):
        town_code = f"{500000 + t // 100:06d}{t % 1000:03d}"
        villages = [{"code": f"{town_code}{200 + v:03d}", "name": f"第{t}镇第{v}村", "level": "village"} for v in range(1, villages_per_town + 1)]
        towns.append({"code": town_code, "name": f"第{t}镇", "level": "town", "children": villages})
    project = {
        "kind": "project",
        "id": "province",
        "name": "基准省",
        "uses": ["std"],
        "org": {"code": "500000", "name": "基准省", "level": "district", "children": towns},
        "departments": depts,
        "policy": {"admission_office": "jcjf", "quota": {"district": n_reports, "department": n_reports}},
    }
    (out / "ybt.yaml").write_text(yaml.safe_dump(project, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # Concepts: subject × attribute. Each field declares one; about a third re-declare one another department has.
    concepts = [(s, a) for s in SUBJECTS for a in ATTRIBUTES]
    rng.shuffle(concepts)
    fields_by_dept: dict[str, list[str]] = {d["id"]: [] for d in depts[:n_depts]}
    docs_by_dept: dict[str, list[dict[str, object]]] = {d["id"]: [] for d in depts[:n_depts]}
    declared: list[tuple[str, str]] = []
    for i in range(n_fields):
        dept = depts[i % n_depts]["id"]
        if declared and rng.random() < 0.33:
            subject, attribute = rng.choice(declared)
            label = _variant(rng, f"{subject}{attribute}")
        else:
            subject, attribute = concepts[i % len(concepts)]
            label = f"{subject}{attribute}"
            if i >= len(concepts):  # past the pool: a distinct element with a qualifier
                label = f"{subject}{attribute}{i // len(concepts)}号"
            declared.append((subject, attribute))
        unit = UNITS.get(attribute)
        doc: dict[str, object] = {"kind": "field", "id": f"f{i:05d}", "namespace": dept, "label": label,
                                  "type": "decimal" if unit else "string"}  # fmt: skip
        if unit:
            doc["unit"] = unit
        docs_by_dept[dept].append(doc)
        fields_by_dept[dept].append(f"f{i:05d}")
    # Department-declared person fields under synonym labels (the classic duplication).
    for dept in fields_by_dept:
        for std_ref, labels in PERSON_SYNONYMS.items():
            ident = f"p_{std_ref.split('.')[1]}"
            ftype = "resident_id" if std_ref == "std.resident_id" else ("phone" if std_ref == "std.phone" else "string")
            docs_by_dept[dept].append({"kind": "field", "id": ident, "namespace": dept, "label": rng.choice(labels), "type": ftype})
            fields_by_dept[dept].append(ident)
    refs = 0
    for dept, docs in docs_by_dept.items():
        folder = out / "departments" / dept
        folder.mkdir(parents=True)
        (folder / "fields.yaml").write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for r in range(n_reports):
        dept = depts[r % n_depts]["id"]
        own = fields_by_dept[dept]
        n_cols = rng.randint(24, 40)
        person = rng.sample(PERSON_FIELDS, k=rng.randint(3, 6))
        chosen = person + [f for f in rng.sample(own, k=min(len(own), n_cols - len(person))) if f not in person]
        columns = [{"field": f} for f in chosen]
        refs += len(columns)
        report = {"kind": "report", "id": f"r{r:05d}", "department": dept, "title": f"第{r}号报表", "form": "roster",
                  "frequency": rng.choice(FREQUENCIES), "fill_level": rng.choice(["village", "town"]), "entity": "std.person",
                  "columns": columns, "consumers": [{"department": dept, "purpose": "业务管理"}],
                  "admission": {"status": "admitted", "record": f"ZR-{r:05d}", "approved_by": "jcjf", "approved_on": "2026-01-01"}}  # fmt: skip
        path = out / "departments" / dept / "reports" / f"r{r:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(report, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return {
        "departments": n_depts,
        "towns": n_towns,
        "villages": n_towns * villages_per_town,
        "fields": n_fields + n_depts * len(PERSON_SYNONYMS),
        "reports": n_reports,
        "field_references": refs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(generate(args.out, args.scale, args.seed))


if __name__ == "__main__":
    main()
