"""Build the portal: every page of the catalog as HTML, either as a folder of pages or as one file.

The builder reads the resolved model and the analyses (duplicates, burden, admission findings) and
renders jinja2 templates shipped in ``ybt/portal/templates``. Nothing is fetched at view time: the
stylesheet, the script and the search index are written next to the pages (or inlined into the single
file), charts are SVG drawn here, and ``file://`` is enough to read it.

Pages have keys (``field/std.resident_id``, ``report/mz.csdb_hmc``, ``src/departments/mz/fields.yaml``).
In a folder every key is one file (``field__std.resident_id.html``, all in one directory so that links
need no ``../``); in the single file every page is a ``<template>`` and the script shows the one the
URL hash names (``#/field/std.resident_id``, ``#/src/ybt.yaml:L12`` for a line).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ybt import __version__
from ybt.analyze import burden as burden_mod
from ybt.analyze.dupes import ORG_UNIT_FIELDS, DupesResult, find_duplicates
from ybt.check import engine
from ybt.diagnostics import Diagnostic, Location
from ybt.emit.manifest import build_manifest
from ybt.model import LEVELS, Column, Consumer, Ledger, Project, Report
from ybt.portal import charts, form, search
from ybt.registry import get as rule_info

FREQUENCY_ZH = {"daily": "日报", "weekly": "周报", "monthly": "月报", "quarterly": "季报", "semiannual": "半年报", "annual": "年报", "adhoc": "不定期"}
UPDATE_ZH = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "semiannual": "每半年",
    "annual": "每年",
    "on_change": "变化时",
    "once": "一次性",
}
LEVEL_ZH = {"district": "区县", "town": "镇街", "village": "村（社区）", "grid": "网格"}
SENSITIVITY_ZH = {"public": "公开", "internal": "内部", "personal": "个人信息", "sensitive": "敏感个人信息"}
STATUS_ZH = {"draft": "草案", "standard": "标准", "superseded": "已被替代", "retired": "已停用", "active": "在用"}
ADMISSION_ZH = {"pending": "待审批", "admitted": "已准入", "rejected": "未准入", "retired": "已退出", None: "无准入记录"}
FORM_ZH = {"roster": "花名册", "summary": "汇总表"}
MODE_ZH = {"collected": "基层填报", "derived": "由台账生成"}
SOURCE_ZH = {"collected": "基层采集", "base_library": "基础库", "ledger": "台账", "derived": "计算得出"}
BASE_LIBRARY_ZH = {"natural_person": "自然人库", "legal_person": "法人库", "spatial": "空间地理库", "credit": "信用库", "e_license": "电子证照库"}
AGGREGATE_ZH = {"count": "计数", "count_distinct": "去重计数", "sum": "合计", "avg": "平均", "min": "最小", "max": "最大"}
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}

NAV = (
    ("index", "概览", "Overview"),
    ("fields", "字段目录", "Fields"),
    ("reports", "报表", "Reports"),
    ("ledgers", "台账", "Ledgers"),
    ("analysis", "重复分析", "Overlaps"),
    ("burden", "填报负担", "Burden"),
    ("lineage", "数据血缘", "Lineage"),
    ("findings", "准入检查", "Findings"),
)


@dataclass
class PortalOptions:
    single_file: bool = False
    #: The burden of another project or manifest to compare with (the before state), like ``ybt burden --compare``.
    compare: burden_mod.Burden | None = None
    today: date = field(default_factory=date.today)


@dataclass
class Finding:
    diag: Diagnostic
    tolerated: bool
    name: str
    url: str | None
    object_key: str | None

    @property
    def where(self) -> str:
        return str(self.diag.location) if self.diag.location else ""


@dataclass
class Page:
    key: str
    title: str
    template: str
    context: dict[str, Any]
    section: str


@dataclass
class SiteStats:
    pages: int = 0
    seconds: float = 0.0
    bytes: int = 0
    findings: int = 0


_UNSAFE = re.compile(r'[\\:*?"<>|#%\x00-\x1f]')


def page_file(key: str) -> str:
    """The file name of a page in a folder portal (``field__std.resident_id.html``); links quote it."""
    return "index.html" if key == "index" else _UNSAFE.sub("_", key.replace("/", "__")) + ".html"


class Portal:
    """Everything the templates need, worked out once from the model."""

    def __init__(self, project: Project, options: PortalOptions) -> None:
        self.p = project
        self.o = options
        self.dupes: DupesResult = find_duplicates(project)
        self.manifest = build_manifest(project)
        self.burden = burden_mod.measure(self.manifest, str(project.root))
        self.compared = burden_mod.compare(options.compare, self.burden) if options.compare is not None else None
        self.files = self._file_keys()
        self.reports_by_field: dict[str, list[tuple[Report, Column]]] = defaultdict(list)
        self.consumers_by_field: dict[str, list[tuple[Report, Consumer]]] = defaultdict(list)
        #: Reports whose scope (``where``, on the report or a column) tests the field.
        self.filters_by_field: dict[str, list[Report]] = defaultdict(list)
        self.ledgers_by_field: dict[str, list[Ledger]] = defaultdict(list)
        self.reports_by_ledger: dict[str, list[Report]] = defaultdict(list)
        for r in project.reports.values():
            for col in r.columns:
                if col.field:
                    self.reports_by_field[col.field].append((r, col))
            for cond in [*r.where, *(c for col in r.columns for c in col.where)]:
                if r not in self.filters_by_field[cond.field]:
                    self.filters_by_field[cond.field].append(r)
            for cons in r.consumers:
                for f in cons.uses:
                    self.consumers_by_field[f].append((r, cons))
            for source in r.sources:
                self.reports_by_ledger[source].append(r)
        for led in project.ledgers.values():
            for lf in led.fields:
                self.ledgers_by_field[lf.field].append(led)
        self.clusters = {m.uid: c for c in self.dupes.field_clusters for m in c.members}
        self.overlaps: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for ov in self.dupes.report_overlaps:
            self.overlaps[ov.a].append((ov.b, ov))
            self.overlaps[ov.b].append((ov.a, ov))
        self.findings = self._findings()
        self.findings_by_object: dict[str, list[Finding]] = defaultdict(list)
        for fd in self.findings:
            if fd.diag.object_id:
                self.findings_by_object[fd.diag.object_id.split("#")[0]].append(fd)

    # -- links -------------------------------------------------------------------------------

    def url(self, key: str, anchor: str | None = None) -> str:
        if self.o.single_file:
            return "#/" + key + (f":{anchor}" if anchor else "")
        return quote(page_file(key)) + (f"#{anchor}" if anchor else "")

    def obj_key(self, uid: str) -> str | None:
        kind, _, rest = uid.partition(".")
        if kind in ("field", "report", "ledger") and self.p.get(uid) is not None:
            return f"{kind}/{rest}"
        obj = self.p.get(uid)
        if obj is not None:
            return self.src_key(obj.location)
        return None

    def obj_url(self, uid: str) -> str | None:
        key = self.obj_key(uid)
        if key is None:
            return None
        if key.startswith("src/"):
            path, _, line = key.rpartition(":L")
            return self.url(path, f"L{line}") if line.isdigit() else self.url(key)
        return self.url(key)

    def src_key(self, loc: Location | None) -> str | None:
        if loc is None:
            return None
        rel = self.files.get(loc.file)
        if rel is None:
            return None
        return f"src/{rel}" + (f":L{loc.line}" if loc.line > 0 else "")

    def loc_url(self, loc: Location | None) -> str | None:
        key = self.src_key(loc)
        if key is None:
            return None
        path, _, line = key.rpartition(":L")
        return self.url(path, f"L{line}") if line.isdigit() and path else self.url(key)

    def _file_keys(self) -> dict[str, str]:
        """Display path of every spec file → its path inside the project (library files: ``@std/…``)."""
        out: dict[str, str] = {}
        root = self.p.root.resolve()
        docs = [(o.doc.file, o.library) for o in self.p.objects()] + [(self.p.doc.file, None)]
        for display, lib in docs:
            if display in out:
                continue
            path = Path(display).resolve()
            try:
                if lib is not None:
                    out[display] = f"@{lib}/" + path.relative_to(self.p.libraries[lib].root.resolve()).as_posix()
                else:
                    out[display] = path.relative_to(root).as_posix()
            except (ValueError, KeyError):
                continue
        return out

    def source_path(self, rel: str) -> Path | None:
        if rel.startswith("@"):
            lib, _, rest = rel[1:].partition("/")
            library = self.p.libraries.get(lib)
            return library.root / rest if library is not None else None
        return self.p.root / rel

    # -- names -------------------------------------------------------------------------------

    def dept(self, dept_id: str | None) -> str:
        if not dept_id:
            return "—"
        d = self.p.departments.get(dept_id)
        return (d.short or d.name) if d is not None else dept_id

    def dept_full(self, dept_id: str | None) -> str:
        d = self.p.departments.get(dept_id or "")
        return d.name if d is not None else (dept_id or "—")

    def label(self, uid: str | None) -> str:
        if uid is None:
            return "—"
        obj = self.p.get(uid)
        if obj is None:
            return uid
        return str(getattr(obj, "label", "") or getattr(obj, "title", "") or obj.qualified)

    # -- findings ----------------------------------------------------------------------------

    def _findings(self) -> list[Finding]:
        outcome = engine.check(self.p, engine.CheckOptions(today=self.o.today, baseline=None))
        budget: Counter[tuple[str, str]] = Counter()
        baseline = self.p.root / engine.BASELINE_FILE
        if baseline.is_file():
            budget = engine.read_baseline(baseline)
        out = []
        for d in outcome.findings:
            key = (d.code, d.object_id or (d.location.file if d.location else ""))
            tolerated = budget.get(key, 0) > 0
            if tolerated:
                budget[key] -= 1
            info = rule_info(d.code)
            obj = d.object_id.split("#")[0] if d.object_id else None
            out.append(Finding(d, tolerated, info.name if info else "", self.loc_url(d.location), self.obj_key(obj) if obj else None))
        return out

    # -- pages -------------------------------------------------------------------------------

    def pages(self) -> list[Page]:
        p = self.p
        own = [f for f in p.fields.values()]
        fields_sorted = sorted(own, key=lambda f: (f.library is not None, f.namespace != "shared", f.namespace, f.id))
        reports = sorted(p.reports.values(), key=lambda r: (r.department, r.id))
        ledgers = sorted(p.ledgers.values(), key=lambda x: x.qualified)
        out = [
            Page("index", p.name, "index.html.j2", {"stats": self._overview()}, "index"),
            Page("fields", "字段目录", "fields.html.j2", {"fields": fields_sorted}, "fields"),
            Page("reports", "报表", "reports.html.j2", {"reports": reports}, "reports"),
            Page("ledgers", "台账", "ledgers.html.j2", {"ledgers": ledgers}, "ledgers"),
            Page("analysis", "重复分析", "analysis.html.j2", self._analysis(), "analysis"),
            Page("burden", "填报负担", "burden.html.j2", self._burden(), "burden"),
            Page("lineage", "数据血缘", "lineage.html.j2", self._lineage(), "lineage"),
            Page("findings", "准入检查", "findings.html.j2", self._findings_page(), "findings"),
        ]
        for f in fields_sorted:
            out.append(
                Page(f"field/{f.qualified}", f"{f.label} · {f.qualified}", "field.html.j2", {"f": f, "codelist": p.codelists.get(f.codelist or "")}, "fields")
            )
        for r in reports:
            units = {c.id: c.unit or (p.fields[c.field].unit if c.field is not None and c.field in p.fields else None) for c in r.columns}
            ctx = {"r": r, "header": form.header_rows(r.columns, units), "findings": self.findings_by_object.get(r.uid, [])}
            out.append(Page(f"report/{r.qualified}", r.title, "report.html.j2", ctx, "reports"))
        for led in ledgers:
            out.append(
                Page(f"ledger/{led.qualified}", led.label, "ledger.html.j2", {"l": led, "findings": self.findings_by_object.get(led.uid, [])}, "ledgers")
            )
        for rel in sorted(set(self.files.values()) | {"ybt.yaml"}):
            path = self.source_path(rel)
            if path is None or not path.is_file():
                continue
            lines = path.read_text(encoding="utf-8-sig").splitlines()
            out.append(Page(f"src/{rel}", rel, "source.html.j2", {"rel": rel, "lines": lines}, "findings"))
        return out

    def _overview(self) -> dict[str, Any]:
        p = self.p
        own = [o for o in p.objects() if o.library is None]
        kinds = Counter(o.kind for o in own)
        village = self.burden.levels.get("village")
        return {
            "departments": len(p.departments),
            "fields": kinds["field"],
            "library_fields": sum(1 for f in p.fields.values() if f.library is not None),
            "codelists": kinds["codelist"],
            "ledgers": kinds["ledger"],
            "reports": kinds["report"],
            "clusters": len(self.dupes.field_clusters),
            "duplicate_fields": sum(len(c.members) - 1 for c in self.dupes.field_clusters),
            "overlaps": len(self.dupes.report_overlaps),
            "errors": sum(1 for f in self.findings if f.diag.severity.value == "error"),
            "new_errors": sum(1 for f in self.findings if f.diag.severity.value == "error" and not f.tolerated),
            "warnings": sum(1 for f in self.findings if f.diag.severity.value == "warning"),
            "village": village.to_dict() if village is not None else None,
        }

    def _analysis(self) -> dict[str, Any]:
        p = self.p
        depts = sorted({r.department for r in p.reports.values()}, key=lambda d: (list(p.departments).index(d) if d in p.departments else 99, d))
        idx = {d: i for i, d in enumerate(depts)}
        matrix = [[0] * len(depts) for _ in depts]
        for ov in self.dupes.report_overlaps:
            a, b = idx[p.reports[ov.a].department], idx[p.reports[ov.b].department]
            matrix[a][b] += 1
            if a != b:
                matrix[b][a] += 1
        names = [self.dept(d) for d in depts]
        heat = charts.heatmap(
            names,
            matrix,
            "部门之间的报表重叠 Report overlaps between departments",
            "每格为两个部门之间内容重叠或包含的报表对数；对角线为部门内部。Each cell counts pairs of overlapping reports.",
            "{a} × {b}：{v} 对重叠报表",
        )
        canon = self.dupes.canonical
        usage: dict[str, set[str]] = defaultdict(set)
        depts_by: dict[str, set[str]] = defaultdict(set)
        for r in p.reports.values():
            if r.status == "retired":
                continue
            for f in r.field_uids():
                c = canon.get(f, f)
                if c in ORG_UNIT_FIELDS:
                    continue
                usage[c].add(r.uid)
                depts_by[c].add(r.department)
        ranked = sorted(usage, key=lambda c: (-len(usage[c]), c))
        top = ranked[:20]
        items = [
            (f"{self.label(c)}", float(len(usage[c])), f"{self.label(c)}（{c.split('.', 1)[1]}）：{len(usage[c])} 张报表，{len(depts_by[c])} 个部门")
            for c in top
        ]
        reuse = charts.hbars(
            items,
            "数据元在多少张报表中被采集 How many reports ask for each data element",
            "同义字段归并到同一数据元后，采集次数最多的 20 个数据元。The 20 data elements asked for most, duplicates merged.",
            "reuse",
            " 张",
        )
        spread = Counter(min(len(v), 5) for v in usage.values())
        return {
            "depts": depts,
            "names": names,
            "matrix": matrix,
            "heatmap": Markup(heat),
            "reuse": Markup(reuse),
            "top": [(c, len(usage[c]), sorted(depts_by[c])) for c in top],
            "spread": spread,
            "clusters": self.dupes.field_clusters,
            "overlaps": self.dupes.report_overlaps,
        }

    def _burden(self) -> dict[str, Any]:
        b = self.burden
        per_level = []
        for level, total in b.levels.items():
            rows = [r for r in b.rows if r.level == level and (r.hours_per_year > 0)]
            items = [(self.dept(r.department) if r.department in self.p.departments else r.department, round(r.hours_per_year, 1), "") for r in rows]
            chart = charts.hbars(
                items,
                f"每个{LEVEL_ZH.get(level, level)}每年的填报工时（按部门）Hours a year per {level}, by department",
                f"共 {total.units} 个单位；{total.to_dict()['hours_per_year']} 小时/年。",
                f"burden-{level}",
                " 小时",
            )
            per_level.append({"level": level, "total": total.to_dict(), "rows": [r.to_dict() for r in rows], "chart": Markup(chart)})
        compare_charts: list[dict[str, Any]] = []
        if self.compared is not None:
            metrics = (
                ("reports_per_month", "每月填报的报表数", "reports a month", " 张"),
                ("entries_per_year", "每年录入的数据项", "values typed a year", " 项"),
                ("hours_per_year", "每年填报工时", "hours a year", " 小时"),
            )
            for key, zh, en, unit in metrics:
                pairs: list[tuple[str, float, float]] = []
                for level, c in self.compared.items():
                    bb, aa = c["before"], c["after"]
                    if key == "entries_per_year":
                        pairs.append(
                            (LEVEL_ZH.get(level, level), float(bb[key] + bb["ledger_entries_per_year"]), float(aa[key] + aa["ledger_entries_per_year"]))
                        )
                    else:
                        pairs.append((LEVEL_ZH.get(level, level), float(bb[key]), float(aa[key])))
                chart = charts.paired_bars(
                    pairs, f"{zh}（每个单位）{en} per unit", f"改革前后对比 before → after：{zh}", f"compare-{key}", ("改革前 before", "改革后 after"), unit
                )
                compare_charts.append({"title": f"{zh}（每个单位）{en} per unit", "svg": Markup(chart)})
        return {
            "burden": b,
            "per_level": per_level,
            "compared": self.compared,
            "other": self.o.compare,
            "compare_charts": compare_charts,
            "assumptions": b.assumptions,
        }

    def _lineage(self) -> dict[str, Any]:
        p = self.p
        derived = [r for r in p.reports.values() if r.sources]
        ledgers = [led for led in p.ledgers.values()]
        edges: list[tuple[str, str]] = []
        consumer_nodes: dict[str, charts.Node] = {}
        for r in derived:
            for s in r.sources:
                edges.append((s, r.uid))
            for cons in r.consumers:
                key = f"dept.{cons.department}"
                consumer_nodes.setdefault(key, charts.Node(key, self.dept_full(cons.department), None, "dept"))
                edges.append((r.uid, key))
        layers = [
            [charts.Node(led.uid, led.label, self.url(f"ledger/{led.qualified}"), "ledger") for led in sorted(ledgers, key=lambda x: x.qualified)],
            [charts.Node(r.uid, r.title, self.url(f"report/{r.qualified}"), "view" if r.mode == "derived" else "report") for r in derived],
            sorted(consumer_nodes.values(), key=lambda n: n.key),
        ]
        svg = charts.layered_graph(
            layers,
            sorted(set(edges)),
            "台账 → 报表 → 使用部门 Ledgers → reports → consumers",
            "左列为台账，中列为从台账取数的报表，右列为使用这些报表的部门。Ledgers, the reports drawn from them, and the departments that use them.",
        )
        return {"svg": Markup(svg), "derived": derived, "ledgers": ledgers}

    def _findings_page(self) -> dict[str, Any]:
        by_rule = Counter((f.diag.code, f.name, f.diag.severity.value) for f in self.findings)
        return {
            "findings": self.findings,
            "by_rule": sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])),
            "tolerated": sum(1 for f in self.findings if f.tolerated),
        }

    # -- search ------------------------------------------------------------------------------

    def search_index(self) -> list[list[Any]]:
        p = self.p
        uses = Counter(uid for uid, lst in self.reports_by_field.items() for _ in lst)
        rows = []
        for f in p.fields.values():
            key = f"field/{f.qualified}"
            weight = (20 if f.library is not None else 10 if f.namespace == "shared" else 0) + min(uses[f.uid], 20)
            rows.append(search.entry(key, self.url(key), "field", f.label, f.qualified, f.aliases, self.dept(f.steward) if f.steward else f.namespace, weight))
        for r in p.reports.values():
            key = f"report/{r.qualified}"
            rows.append(search.entry(key, self.url(key), "report", r.title, r.qualified, (), self.dept(r.department), 5))
        for led in p.ledgers.values():
            key = f"ledger/{led.qualified}"
            rows.append(search.entry(key, self.url(key), "ledger", led.label, led.qualified, (), self.dept(led.steward), 15))
        return rows


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("ybt.portal", "templates"),
        autoescape=select_autoescape(["html", "j2", "svg"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        FREQUENCY_ZH=FREQUENCY_ZH,
        UPDATE_ZH=UPDATE_ZH,
        LEVEL_ZH=LEVEL_ZH,
        SENSITIVITY_ZH=SENSITIVITY_ZH,
        STATUS_ZH=STATUS_ZH,
        ADMISSION_ZH=ADMISSION_ZH,
        FORM_ZH=FORM_ZH,
        MODE_ZH=MODE_ZH,
        SOURCE_ZH=SOURCE_ZH,
        BASE_LIBRARY_ZH=BASE_LIBRARY_ZH,
        AGGREGATE_ZH=AGGREGATE_ZH,
        SEVERITY_ZH=SEVERITY_ZH,
        LEVELS=LEVELS,
        NAV=NAV,
        version=__version__,
    )
    return env


def _asset(name: str) -> str:
    return (Path(__file__).parent / "templates" / "assets" / name).read_text(encoding="utf-8")


def _script_json(data: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def build_site(project: Project, options: PortalOptions | None = None) -> tuple[dict[str, bytes], SiteStats]:
    """The portal's files (relative path → bytes) and figures about them."""
    started = time.perf_counter()
    options = options or PortalOptions()
    portal = Portal(project, options)
    env = _env()
    env.globals.update(
        url=portal.url,
        obj_url=portal.obj_url,
        loc_url=portal.loc_url,
        dept=portal.dept,
        dept_full=portal.dept_full,
        label=portal.label,
        portal=portal,
        project=project,
    )
    pages = portal.pages()
    rendered: list[tuple[Page, Markup]] = []
    for page in pages:
        body = env.get_template(page.template).render(page=page, **page.context)
        rendered.append((page, Markup(body)))
    index_js = "window.YBT_INDEX=" + _script_json(portal.search_index()) + ";\n"
    layout = env.get_template("layout.html.j2")
    files: dict[str, bytes] = {}
    common = {"css": Markup(_asset("ybt.css")), "nav": NAV}
    if options.single_file:
        html = layout.render(
            single=True, pages=rendered, page=None, body=None, js=Markup(_asset("ybt.js")), index_js=Markup(index_js), title=project.name, **common
        )
        files["index.html"] = html.encode("utf-8")
    else:
        files["assets/ybt.css"] = _asset("ybt.css").encode("utf-8")
        files["assets/ybt.js"] = _asset("ybt.js").encode("utf-8")
        files["assets/search-index.js"] = index_js.encode("utf-8")
        for page, body in rendered:
            html = layout.render(single=False, pages=None, page=page, body=body, js=None, index_js=None, title=page.title, **common)
            files[page_file(page.key)] = html.encode("utf-8")
    stats = SiteStats(pages=len(pages), seconds=time.perf_counter() - started, bytes=sum(len(v) for v in files.values()), findings=len(portal.findings))
    return files, stats


__all__ = ["Page", "Portal", "PortalOptions", "SiteStats", "build_site", "page_file"]
