"""The lint rules: admission (YBT1xx), catalog (YBT2xx) and hygiene (YBT3xx).

Each rule is a small generator over a :class:`Context` that yields :class:`Hit` objects; the
``@rule`` decorator registers it with its code, kebab-case name, family, default severity, summary
and explanation (with a bad and a good example). The engine turns hits into diagnostics with the
configured severity. Derived reports (produced from ledgers, typed by nobody) are exempt from the
rules about filling burden.
"""

from __future__ import annotations

import pickle
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ybt import fork
from ybt.analyze.dupes import ORG_UNIT_FIELDS, DupesResult, find_duplicates
from ybt.analyze.labels import concept, synonym_table
from ybt.check.facts import CatalogFacts, ReportFacts, ReportState, catalog_facts, is_live, report_facts
from ybt.diagnostics import Location, Related, Severity, Text
from ybt.model import PERIODS_PER_YEAR, Field, Project, Report
from ybt.registry import RuleInfo, register

FAMILIES = {"1": "admission", "2": "catalog", "3": "hygiene", "9": "meta"}
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True, slots=True)
class Hit:
    location: Location | None
    message: Text
    hint: Text | None = None
    object_id: str | None = None
    related: tuple[Related, ...] = ()


Scope = Literal["report", "catalog", "usage", "project"]
#: Which reports a per-report part runs on: live ones, collected ones, or every project report.
Over = Literal["live", "collected", "own"]


@dataclass
class Context:
    """What rules see. ``project`` may be the full model or the incremental check's lazy one: rules
    with ``project`` scope work on :attr:`reports` and :attr:`catalog` (facts) and touch ``project``
    only for the few objects they report."""

    project: Project
    today: date
    _dupes: DupesResult | None = field(default=None, repr=False)
    _reports: Mapping[str, ReportFacts] | None = field(default=None, repr=False)
    _states: Mapping[str, ReportState] | None = field(default=None, repr=False)
    _catalog: CatalogFacts | None = field(default=None, repr=False)
    _referenced: tuple[set[str], set[str]] | None = field(default=None, repr=False)

    #: The child :meth:`start_dupes` started, until it sent the duplicate analysis.
    _child: fork.Child | None = field(default=None, repr=False)

    @property
    def dupes(self) -> DupesResult:
        if self._dupes is None:
            child, self._child = self._child, None
            if child is None:
                self._dupes = find_duplicates(self.project)
            else:
                try:  # what the child sent; computed here if it sent nothing readable
                    self._dupes = child.receive(pickle.loads, lambda: find_duplicates(self.project))
                finally:
                    child.cancel()  # reaped
        return self._dupes

    def start_dupes(self) -> None:
        """Start the duplicate analysis (the costliest input of the rules) in a forked child, where the
        project is large and two CPUs are ours, while this process runs the other rules; the first rule
        that asks for :attr:`dupes` collects it. Call :meth:`close` when the rules are done."""
        if self._dupes is None and self._child is None and len(self.project.reports) >= fork.MIN_ITEMS and fork.jobs() >= 2:

            def there() -> bytes:
                return pickle.dumps(find_duplicates(self.project), protocol=pickle.HIGHEST_PROTOCOL)  # in the child: its copy

            self._child = fork.Child(there)

    def close(self) -> None:
        """Stop the child :meth:`start_dupes` started if no rule asked for its analysis."""
        if self._child is not None:
            self._child.cancel()
            self._child = None

    @property
    def reports(self) -> Mapping[str, ReportFacts]:
        """Facts of every report, by unique id, in the project's order."""
        if self._reports is None:
            self._reports = {u: report_facts(r) for u, r in self.project.reports.items()}
        return self._reports

    @property
    def states(self) -> Mapping[str, ReportState]:
        """The reports' states (their facts without the columns), in the same order: what a part that
        scans every report should read, so that the incremental check need not rebuild every report's columns."""
        if self._states is None:
            self._states = {u: r.state() for u, r in self.reports.items()}
        return self._states

    @property
    def catalog(self) -> CatalogFacts:
        if self._catalog is None:
            self._catalog = catalog_facts(self.project)
        return self._catalog

    def threshold(self, name: str, default: float) -> float:
        return float(self.project.policy.thresholds.get(name, default))

    @property
    def held(self) -> Mapping[str, str]:
        """Fields a base library or a ledger already holds → where (for messages)."""
        return self.catalog.held

    def own_fields(self) -> Iterator[Field]:
        return (f for f in self.project.fields.values() if f.library is None)


AnyFn = Callable[..., Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a rule. ``report`` parts run once per report (the incremental check caches their
    hits per report); ``catalog`` parts read only fields, codelists, entities, ledgers and the project
    file; ``usage`` parts read those and which fields the reports refer to (:attr:`ReportFacts.refs`),
    nothing else of them; ``project`` parts read the facts of every report. A ``late`` part reads the duplicate analysis,
    which may still be computing in a second process (:meth:`Context.start_dupes`): the other parts run
    first. Only the order of work depends on it, never a result."""

    scope: Scope
    fn: AnyFn
    over: Over = "collected"
    late: bool = False


@dataclass(frozen=True, slots=True)
class RuleImpl:
    info: RuleInfo
    parts: tuple[Part, ...]


RULES: dict[str, RuleImpl] = {}


def runs_on(over: Over, r: Report) -> bool:
    """Whether a per-report part with ``over`` applies to ``r``."""
    if over == "own":
        return r.library is None
    return is_live(r) and (over == "live" or r.mode == "collected")


def rule(
    code: str,
    name: str,
    severity: Severity,
    zh: str,
    en: str,
    explanation: str,
    scope: Scope = "project",
    over: Over = "collected",
    late: bool = False,
) -> Callable[[AnyFn], AnyFn]:
    def wrap(fn: AnyFn) -> AnyFn:
        info = register(RuleInfo(code, name, FAMILIES[code[3]], severity, Text(zh, en), explanation.strip()))
        RULES[code] = RuleImpl(info, (Part(scope, fn, over, late),))
        return fn

    return wrap


def part(code: str, scope: Scope, over: Over = "collected", late: bool = False) -> Callable[[AnyFn], AnyFn]:
    """Another part of an already registered rule (e.g. its ledger checks beside its report checks)."""

    def wrap(fn: AnyFn) -> AnyFn:
        impl = RULES[code]
        RULES[code] = RuleImpl(impl.info, (*impl.parts, Part(scope, fn, over, late)))
        return fn

    return wrap


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _fields_text(project: Project, uids: Iterable[str]) -> str:
    return "、".join(f"{project.field_label(u)}（{u.split('.', 1)[1]}）" for u in uids)


# =====================================================================================================
# Admission 准入


@rule(
    "YBT101",
    "report-without-admission",
    E,
    "报表没有准入记录",
    "report without an admission record",
    """
下发给基层填报的报表都要经过表格准入：没有 `admission` 记录的报表不能下发。

Every report the grass roots fill must pass admission (表格准入); a report without an `admission` record
may not be sent down.

Bad / 错误写法:

```yaml
kind: report
id: tjb
department: mz
title: 临时统计表
# no admission
```

Good / 正确写法:

```yaml
admission: {status: admitted, record: QX-ZR-2026-003, approved_by: jcjf, approved_on: 2026-03-01}
```
""",
    scope="report",
    over="collected",
)
def report_without_admission(ctx: Context, r: Report) -> Iterator[Hit]:
    if r.admission is None:
        yield Hit(
            r.loc("title"),
            Text(f"报表《{r.title}》没有准入记录", f"report '{r.qualified}' has no admission record"),
            Text("向归口审批机构申请准入，并写入 admission", "apply to the admission office and record it under admission:"),
            r.uid,
        )


@rule(
    "YBT102",
    "report-not-admitted",
    E,
    "报表未获准入仍在使用",
    "report in use without being admitted",
    """
准入状态为 `pending`（待审批）或 `rejected`（未准入）的报表不能下发给基层。

A report whose admission is `pending` or `rejected` may not be sent to the grass roots.

Bad / 错误写法: `admission: {status: pending}` on an active report.
Good / 正确写法: wait for `status: admitted`, or set the report's `status: draft` until then.
""",
    scope="report",
    over="collected",
)
def report_not_admitted(ctx: Context, r: Report) -> Iterator[Hit]:
    if r.admission is not None and r.admission.status in ("pending", "rejected") and r.status == "active":
        zh = {"pending": "待审批", "rejected": "未准入"}[r.admission.status]
        yield Hit(
            r.loc("admission", "status"),
            Text(f"报表《{r.title}》准入状态为“{zh}”，却已在使用", f"report '{r.qualified}' is in use but its admission is {r.admission.status}"),
            Text("审批通过前把报表设为 status: draft", "keep the report at status: draft until it is admitted"),
            r.uid,
        )


@rule(
    "YBT103",
    "approved-by-wrong-office",
    E,
    "报表不是由归口机构审批",
    "report approved by an office that is not the designated one",
    """
报表准入实行归口审批：只有 ybt.yaml 中 `policy.admission_office` 指定的机构可以审批。部门自己批准自己的报表不算准入。

Admission is approved by one responsible office (归口审批): the one named by `policy.admission_office`.
A department approving its own report does not count.

Bad / 错误写法: `approved_by: gtzy` (the department itself). Good / 正确写法: `approved_by: jcjf` (the admission office).
""",
    scope="report",
    over="collected",
)
def approved_by_wrong_office(ctx: Context, r: Report) -> Iterator[Hit]:
    office = ctx.project.policy.admission_office
    if office is None:
        return
    a = r.admission
    if a is not None and a.status == "admitted" and a.approved_by not in (None, office):
        yield Hit(
            r.loc("admission", "approved_by"),
            Text(
                f"报表《{r.title}》由 {a.approved_by} 审批，归口审批机构是 {office}",
                f"'{r.qualified}' was approved by {a.approved_by}; the admission office is {office}",
            ),
            Text(f"报 {office} 重新审批", f"have {office} approve it"),
            r.uid,
        )


@rule(
    "YBT104",
    "admission-expired",
    E,
    "准入已过期",
    "admission expired",
    """
准入有有效期：`expires_on` 已过的报表要重新审批，或者退出。

An admission has a term: once `expires_on` has passed, the report must be approved again or retired.

Bad / 错误写法: `expires_on: 2025-12-31` on a report still in use in 2026.
Good / 正确写法: a renewed approval with a new `approved_on` and `expires_on`, or `status: retired`.
""",
    scope="report",
    over="collected",
)
def admission_expired(ctx: Context, r: Report) -> Iterator[Hit]:
    a = r.admission
    if a is not None and a.status == "admitted" and a.expires_on and date.fromisoformat(a.expires_on) < ctx.today:
        yield Hit(
            r.loc("admission", "expires_on"),
            Text(f"报表《{r.title}》的准入已于 {a.expires_on} 过期", f"the admission of '{r.qualified}' expired on {a.expires_on}"),
            Text("重新申请准入，或让报表退出", "renew the admission or retire the report"),
            r.uid,
        )


def _newest_last(reports: list[ReportState]) -> list[ReportState]:
    return sorted(reports, key=lambda r: (r.approved_on or "9999", r.uid))


@rule(
    "YBT105",
    "quota-exceeded",
    E,
    "超过报表总量控制",
    "report quota exceeded",
    """
表格总量控制：每个部门、全区在用的填报报表不能超过 `policy.quota` 的数量；新增一张，就要退出一张
（在新表的 `admission.retires` 中写明替换的报表）。超出的报表按审批先后排在最后的那些被指出。

The total is kept constant: a department's and the district's reports in use may not exceed
`policy.quota`; a new report must retire an old one (list it under `admission.retires`). The reports
beyond the quota, by approval date, are the ones reported.

Bad / 错误写法: a seventh report for a department whose quota is 6.
Good / 正确写法: `admission: {…, retires: [mz.old_report]}` and the old report `status: retired`.
""",
)
def quota_exceeded(ctx: Context) -> Iterator[Hit]:
    quota = ctx.project.policy.quota
    collected = [r for r in ctx.states.values() if r.collected]
    by_dept: dict[str, list[ReportState]] = defaultdict(list)
    for r in collected:
        by_dept[r.department].append(r)
    flagged: set[str] = set()
    for dept, reports in sorted(by_dept.items()):
        limit = quota.departments.get(dept, quota.department)
        if limit is None or len(reports) <= limit:
            continue
        for r in _newest_last(reports)[limit:]:
            flagged.add(r.uid)
            yield Hit(
                r.location(r.department_at),
                Text(f"{dept} 在用报表 {len(reports)} 张，超过限额 {limit} 张", f"{dept} has {len(reports)} reports in use, over its quota of {limit}"),
                Text("退出一张旧表（admission.retires），或合并到共享台账", "retire an old report (admission.retires) or merge into a shared ledger"),
                r.uid,
            )
    if quota.district is not None and len(collected) > quota.district:
        for r in _newest_last(collected)[quota.district :]:
            if r.uid not in flagged:
                yield Hit(
                    r.location(r.department_at),
                    Text(
                        f"全区在用报表 {len(collected)} 张，超过总量 {quota.district} 张",
                        f"the district has {len(collected)} reports in use, over its quota of {quota.district}",
                    ),
                    Text("新增一张就要退出一张", "a new report must retire an old one"),
                    r.uid,
                )


@rule(
    "YBT106",
    "duplicates-admitted-report",
    E,
    "新报表与已准入报表重复",
    "report duplicates an admitted report",
    """
一类工作一张表：与已准入报表的重合度（包含度或 Jaccard）达到 `policy.duplicate_threshold`（默认 0.8）的报表不予准入，
应改为复用已有报表或共享台账。比较时先把各部门自建的重复字段映射到同一个标准字段。

One kind of work, one form: a report whose overlap with an admitted report (containment or Jaccard,
after mapping duplicated fields to one canonical field) reaches `policy.duplicate_threshold` (0.8)
duplicates it. Reuse the admitted report or derive it from the shared ledger instead.

Bad / 错误写法: a new 重度残疾人护理补贴上报花名册 asking the same 姓名、身份证号、残疾等级 as the admitted roster.
Good / 正确写法: `mode: derived` with `sources: [shared.cl_person_tz]`, so nobody types it again.
""",
    late=True,
)
def duplicates_admitted_report(ctx: Context) -> Iterator[Hit]:
    threshold = ctx.project.policy.duplicate_threshold
    collected = {r.uid for r in ctx.states.values() if r.collected}
    admitted = {r.uid for r in ctx.states.values() if r.live and r.admission_status == "admitted"}
    seen: set[str] = set()
    for o in ctx.dupes.report_overlaps:
        if max(o.containment, o.jaccard) < threshold:
            continue
        # The newer (or unadmitted) of the two is the duplicate.
        pair = sorted(
            [ctx.states[o.a], ctx.states[o.b]],
            key=lambda r: (r.uid in admitted, -(int((r.approved_on or "0").replace("-", "")) if r.admission_status is not None else 0)),
            reverse=True,
        )
        if pair[1].uid not in collected or pair[0].uid not in admitted or pair[1].uid in seen:
            continue
        seen.add(pair[1].uid)
        keeper, dup = pair
        yield Hit(
            dup.location(dup.title_at),
            Text(
                f"报表《{dup.title}》与已准入的《{keeper.title}》重复"
                f"（包含度 {o.containment:.0%}，Jaccard {o.jaccard:.0%}，共同栏目 {len(o.shared_fields)} 个）",
                f"'{dup.qualified}' duplicates the admitted '{keeper.qualified}' "
                f"(containment {o.containment:.0%}, Jaccard {o.jaccard:.0%}, {len(o.shared_fields)} shared columns)",
            ),
            Text(
                f"复用《{keeper.title}》，或改为 mode: derived 从共享台账生成",
                f"reuse '{keeper.qualified}' or derive the report from a shared ledger (mode: derived)",
            ),
            dup.uid,
            (Related(keeper.location(keeper.title_at), Text("已准入的报表", "the admitted report")),),
        )


@rule(
    "YBT107",
    "collects-held-data",
    W,
    "报表重复采集台账或基础库已有的数据",
    "report collects data a ledger or base library already holds",
    """
“从找基层要数据到在系统取数据”：台账或基础库（自然人、法人、空间地理……）已有的字段不应再让基层手填，应预填或由台账生成。

"Take data from the system instead of asking the grass roots": fields a ledger or a base library already
holds should be pre-filled or derived, not typed again.

Bad / 错误写法: a collected roster asking 姓名、身份证号、户籍地址 that 户籍人口台账 holds.
Good / 正确写法: `sources: [shared.hjrk_tz]` and `mode: derived`, or a template pre-filled from the ledger.
""",
    scope="report",
    over="collected",
)
def collects_held_data(ctx: Context, r: Report) -> Iterator[Hit]:
    share = ctx.threshold("collects-held-data", 0.5)
    plain = [(i, c) for i, c in enumerate(r.columns) if c.field and c.aggregate is None and c.field not in ORG_UNIT_FIELDS]
    held = [(i, c) for i, c in plain if c.field in ctx.held]
    if plain and held and len(held) / len(plain) >= share:
        first = held[0][0]
        names = _fields_text(ctx.project, [c.field for _, c in held[:6] if c.field]) + ("……" if len(held) > 6 else "")
        yield Hit(
            r.loc("columns", first, "field"),
            Text(
                f"报表《{r.title}》{len(plain)} 栏中有 {len(held)} 栏是台账或基础库已有的数据：{names}",
                f"{len(held)} of the {len(plain)} columns of '{r.qualified}' are held by a ledger or base library",
            ),
            Text("从台账预填或改为 mode: derived，并在 sources 中写明台账", "pre-fill them from the ledger or derive the report (mode: derived, sources: …)"),
            r.uid,
        )


@rule(
    "YBT108",
    "summary-computable",
    W,
    "汇总表可由台账计算，不应手填",
    "summary can be calculated from ledgers",
    """
“数据自动生成，不再手工汇总”：汇总表的每一栏都是对台账中字段的计数或求和时，应由台账自动计算（`mode: derived`），而不是让镇街手填。

"Calculated, never entered": when every column of a summary counts or sums fields a ledger holds, the
summary should be computed from the ledger (`mode: derived`), not typed by the town.

Bad / 错误写法: a collected 特困人员供养情况统计表 counting what 社会救助对象台账 holds.
Good / 正确写法: `mode: derived` with `sources: [mz.shjz_dx_tz]`.
""",
    scope="report",
    over="collected",
)
def summary_computable(ctx: Context, r: Report) -> Iterator[Hit]:
    if r.form != "summary":
        return
    needed = {x for c in r.columns for x in [c.field, *(w.field for w in c.where)] if x} - ORG_UNIT_FIELDS
    if needed and all(f in ctx.held for f in needed):
        where = sorted({ctx.held[f] for f in needed})
        yield Hit(
            r.loc("form"),
            Text(f"汇总表《{r.title}》的每一栏都可由{'、'.join(where)}计算", f"every column of '{r.qualified}' can be calculated from {', '.join(where)}"),
            Text("改为 mode: derived，sources 写明台账", "set mode: derived and list the ledger under sources"),
            r.uid,
        )


_FREQ_ORDER = {f: PERIODS_PER_YEAR[f] for f in ("daily", "weekly", "monthly", "quarterly", "semiannual", "annual")}


@rule(
    "YBT109",
    "frequency-too-high",
    E,
    "填报频次高于该层级允许的频次",
    "frequency above what the fill level allows",
    """
频次规范：`policy.max_frequency` 规定各层级最多多久填一次（如村级最多按季度）。月报压给村里的，应降频或改由台账生成。

`policy.max_frequency` sets how often each fill level may be asked (e.g. villages at most quarterly).
Reports asked more often must be made less frequent or derived from a ledger.

Bad / 错误写法: `fill_level: village, frequency: monthly` with `max_frequency: {village: quarterly}`.
Good / 正确写法: `frequency: quarterly`, or `mode: derived`.
""",
    scope="report",
    over="collected",
)
def frequency_too_high(ctx: Context, r: Report) -> Iterator[Hit]:
    limits = ctx.project.policy.max_frequency
    limit = limits.get(r.fill_level)
    if limit and r.frequency in _FREQ_ORDER and limit in _FREQ_ORDER and _FREQ_ORDER[r.frequency] > _FREQ_ORDER[limit]:
        yield Hit(
            r.loc("frequency"),
            Text(
                f"《{r.title}》按 {r.frequency} 填报，{r.fill_level} 级最多 {limit}",
                f"'{r.qualified}' is {r.frequency}; {r.fill_level} level allows at most {limit}",
            ),
            Text(f"改为 frequency: {limit}，或由台账生成", f"use frequency: {limit}, or derive it from a ledger"),
            r.uid,
        )


@rule(
    "YBT110",
    "zombie-report",
    E,
    "僵尸表：没有使用方，或使用方不用其中任何数据",
    "zombie report: nobody uses it",
    """
只填不用的“僵尸表”一律取消：报表必须列出使用方（`consumers`）及用途；使用方列出的 `uses` 字段与报表栏目毫无交集的，同样是僵尸表。

Zombie forms are cut: a report must name who uses it and for what (`consumers`); one whose consumers
list `uses` that none of its columns provide is a zombie too.

Bad / 错误写法: no `consumers`, or `consumers: [{department: scjg, purpose: 统计, uses: [std.uscc]}]` on a report without that column.
Good / 正确写法: `consumers: [{department: mz, purpose: 核定补贴, uses: [std.resident_id, std.disability_grade]}]`.
""",
    scope="report",
    over="live",
)
def zombie_report(ctx: Context, r: Report) -> Iterator[Hit]:
    if not r.consumers:
        yield Hit(
            r.loc("title"),
            Text(f"《{r.title}》没有任何使用方", f"'{r.qualified}' has no consumers"),
            Text("写明使用部门和用途（consumers），无人使用的报表应取消", "name its consumers and purpose, or cut the report"),
            r.uid,
        )
        return
    fields = set(r.field_uids()) | {w.field for c in r.columns for w in c.where}
    declared = [c for c in r.consumers if c.uses]
    if declared and len(declared) == len(r.consumers) and not any(set(c.uses) & fields for c in declared):
        yield Hit(
            r.loc("consumers", key=True),
            Text(f"《{r.title}》的使用方用到的字段本表一栏都没有", f"the consumers of '{r.qualified}' use none of its fields"),
            Text("核对使用方的 uses；无人使用的报表应取消", "check the consumers' uses, or cut the report"),
            r.uid,
        )


@rule(
    "YBT111",
    "too-many-fields",
    W,
    "栏目过多",
    "too many fields for the fill level",
    """
`policy.max_fields` 限定各层级一张表的最多栏目数，过长的表格（“一张表 78 项”）应拆分或由台账生成。

`policy.max_fields` caps the columns of one report per fill level; over-long forms should be split or
derived from ledgers.
Bad / 错误写法: 22 columns where `max_fields: {village: 20}`. Good / 正确写法: 20 or fewer, the rest from a ledger.
""",
    scope="report",
    over="collected",
)
def too_many_fields(ctx: Context, r: Report) -> Iterator[Hit]:
    limit = ctx.project.policy.max_fields.get(r.fill_level)
    if limit is not None and len(r.columns) > limit:
        yield Hit(
            r.loc("columns", key=True),
            Text(
                f"《{r.title}》有 {len(r.columns)} 栏，{r.fill_level} 级最多 {limit} 栏",
                f"'{r.qualified}' has {len(r.columns)} columns; {r.fill_level} allows {limit}",
            ),
            Text("拆分报表，或把台账已有的栏目改由台账生成", "split it, or take the columns a ledger holds from the ledger"),
            r.uid,
        )


@rule(
    "YBT112",
    "deadline-too-short",
    W,
    "填报时限太短",
    "deadline too short for the fill level",
    """
“上午发、下午要”的临时报表逼得基层估摸着填。`policy.min_deadline_days` 规定各层级最短的填报天数。

Reports due the same day force the grass roots to guess. `policy.min_deadline_days` sets the shortest
deadline per fill level.
Bad / 错误写法: `deadline_days: 1` at village level with a minimum of 5. Good / 正确写法: `deadline_days: 5`.
""",
    scope="report",
    over="collected",
)
def deadline_too_short(ctx: Context, r: Report) -> Iterator[Hit]:
    limit = ctx.project.policy.min_deadline_days.get(r.fill_level)
    if limit is not None and r.deadline_days is not None and r.deadline_days < limit:
        yield Hit(
            r.loc("deadline_days"),
            Text(
                f"《{r.title}》只给 {r.deadline_days} 天，{r.fill_level} 级至少 {limit} 天",
                f"'{r.qualified}' allows {r.deadline_days} days; {r.fill_level} needs at least {limit}",
            ),
            Text(f"deadline_days 至少 {limit}", f"give deadline_days of at least {limit}"),
            r.uid,
        )


# =====================================================================================================
# Catalog 目录


@rule(
    "YBT201",
    "duplicates-standard-field",
    E,
    "部门字段与标准字段重复",
    "department field duplicates a standard field",
    """
字段在共享目录中只定义一次：部门自建的字段与标准库或区共享目录中的字段是同一数据元时，应引用标准字段并把自建字段标为
`superseded_by`（`ybt merge` 可以生成并执行合并方案）。

A field is declared once: a department's own field that is the same data element as a standard-library
or shared-catalog field should reference the standard one and become `superseded_by` it (`ybt merge`
plans and applies this).

Bad / 错误写法: `namespace: cl, id: sfzh, label: 身份证号码, type: resident_id`.
Good / 正确写法: reports use `std.resident_id`; `cl.sfzh` has `status: superseded, superseded_by: std.resident_id`.
""",
    scope="catalog",
    late=True,
)
def duplicates_standard_field(ctx: Context) -> Iterator[Hit]:
    for c in ctx.dupes.field_clusters:
        canon = ctx.project.fields[c.canonical]
        if canon.library is None and canon.namespace != "shared":
            continue
        for m in c.members:
            f = ctx.project.fields[m.uid]
            if m.uid == c.canonical or f.library is not None or f.namespace == "shared":
                continue
            yield Hit(
                f.loc("label"),
                Text(
                    f"字段 {f.qualified}“{f.label}”与标准字段 {c.canonical_qualified}“{canon.label}”是同一数据元",
                    f"{f.qualified} '{f.label}' is the same data element as {c.canonical_qualified} '{canon.label}'",
                ),
                Text(
                    f"引用 {c.canonical_qualified}，并把本字段标为 superseded_by: {c.canonical_qualified}（ybt merge 可代劳）",
                    f"reference {c.canonical_qualified} and mark this field superseded_by it (ybt merge does this)",
                ),
                f.uid,
                (Related(canon.location, Text("标准字段", "the standard field")),),
            )


@rule(
    "YBT202",
    "field-without-filling-rule",
    W,
    "字段没有填表规范",
    "field without a filling rule",
    """
填表规范让基层知道怎么填：字段要有 `filling_rule`，或有能校验取值的定义（代码表、语义类型如 resident_id、正则、取值范围、长度）。

Filling rules tell the grass roots how to fill: a field needs a `filling_rule`, or something that checks
its values (a codelist, a semantic type such as resident_id, a pattern, a range or a length).

Bad / 错误写法: `label: 经营状况, type: string` and nothing else.
Good / 正确写法: `type: code, codelist: scjg.jyzk` or `filling_rule: 填写正常营业、停业、歇业之一`.
""",
    scope="catalog",
)
def field_without_filling_rule(ctx: Context) -> Iterator[Hit]:
    for f in ctx.own_fields():
        if f.status in ("superseded", "retired") or f.filling_rule:
            continue
        c = f.constraints
        validated = f.type not in ("string", "text") or f.codelist or c.pattern or c.max_length or c.min is not None or c.max is not None
        if not validated:
            yield Hit(
                f.loc("label"),
                Text(f"字段 {f.qualified}“{f.label}”既没有填表规范也没有任何校验", f"{f.qualified} '{f.label}' has neither a filling rule nor any validation"),
                Text(
                    "写 filling_rule，或用代码表、语义类型、正则约束取值", "add a filling_rule, or constrain it with a codelist, a semantic type or a pattern"
                ),
                f.uid,
            )


@rule(
    "YBT203",
    "retired-field-referenced",
    E,
    "仍在使用已替代或停用的字段",
    "superseded or retired field still referenced",
    """
已被替代（superseded）或停用（retired）的字段、代码表不应再出现在报表和台账里；改为引用替代它的字段。

Fields and codelists that are superseded or retired must not be asked for any more; reference their
replacement.
Bad / 错误写法: `field: scjg.zch` (注册号, superseded by 统一社会信用代码).
Good / 正确写法: `field: std.uscc`.
""",
    scope="report",
    over="live",
)
def retired_field_referenced(ctx: Context, r: Report) -> Iterator[Hit]:
    for i, c in enumerate(r.columns):
        f = ctx.project.fields.get(c.field or "")
        if f is not None and f.status in ("superseded", "retired"):
            repl = f" → {f.superseded_by.split('.', 1)[1]}" if f.superseded_by else ""
            yield Hit(
                r.loc("columns", i, "field"),
                Text(
                    f"《{r.title}》仍在使用{'已被替代' if f.status == 'superseded' else '已停用'}的字段 {f.qualified}{repl}",
                    f"'{r.qualified}' still asks for {f.status} field {f.qualified}{repl}",
                ),
                Text("改为引用替代字段", "reference the replacement") if f.superseded_by else Text("删除该栏", "drop the column"),
                r.uid,
            )


@part("YBT203", "catalog")
def retired_field_in_catalog(ctx: Context) -> Iterator[Hit]:
    for led in ctx.project.ledgers.values():
        if led.library is not None:
            continue
        for lf in led.fields:
            f = ctx.project.fields.get(lf.field)
            if f is not None and f.status in ("superseded", "retired"):
                yield Hit(
                    led.loc("fields"),
                    Text(f"台账 {led.qualified} 仍含{f.status}字段 {f.qualified}", f"ledger {led.qualified} still holds {f.status} field {f.qualified}"),
                    Text("改为引用替代字段", "reference the replacement"),
                    led.uid,
                )
    for f in ctx.own_fields():
        cl = ctx.project.codelists.get(f.codelist or "")
        if cl is not None and cl.status in ("superseded", "retired") and f.status not in ("superseded", "retired"):
            yield Hit(
                f.loc("codelist"),
                Text(f"字段 {f.qualified} 使用{cl.status}的代码表 {cl.qualified}", f"{f.qualified} uses {cl.status} codelist {cl.qualified}"),
                Text("改用替代的代码表", "use the replacement codelist"),
                f.uid,
            )


@rule(
    "YBT204",
    "field-frequency-conflict",
    W,
    "同一字段以不同频次采集",
    "same field collected at different frequencies",
    """
同样的数据，这个部门按月要，那个部门按季度再要一次：应统一频次，由牵头部门采集后共享。

The same data asked monthly by one department and quarterly by another: agree on one frequency, let the
lead department collect it and share it.
Bad / 错误写法: 残疾等级 in a monthly 残联 roster and a quarterly 民政 roster.
Good / 正确写法: both derived from one 残疾人信息台账.
""",
    late=True,
)
def field_frequency_conflict(ctx: Context) -> Iterator[Hit]:
    basics = ctx.catalog.basics
    canonical = ctx.dupes.canonical
    first: dict[str, dict[str, int]] = {}  # report → canonical field → its first column
    for conflict in ctx.dupes.frequency_conflicts:
        if conflict.field in basics:
            continue  # 姓名、身份证号 appear everywhere; base libraries serve them
        freqs = sorted(conflict.frequencies, key=lambda f: -PERIODS_PER_YEAR.get(f, 0))
        most = conflict.frequencies[freqs[0]][0]
        r = ctx.reports[most]
        if most not in first:
            first[most] = {}
            for i, (f, _, _) in enumerate(r.columns):
                if f:
                    first[most].setdefault(canonical.get(f, f), i)
        index = first[most][conflict.field]
        parts = "、".join(f"{f} {len(v)} 张" for f, v in conflict.frequencies.items())
        yield Hit(
            r.location(r.columns_at[index]),
            Text(f"“{conflict.label}”以不同频次采集：{parts}", f"'{conflict.label}' is collected at different frequencies: {', '.join(conflict.frequencies)}"),
            Text("统一采集频次，由一张台账提供", "agree on one frequency and serve it from one ledger"),
            f"{r.uid}#{conflict.field}",
        )


def _sensitive(ctx: Context, r: Report) -> list[str]:
    return [u for u in r.field_uids() if (f := ctx.project.fields.get(u)) is not None and f.sensitivity == "sensitive"]


@rule(
    "YBT205",
    "sensitive-without-legal-basis",
    E,
    "采集敏感个人信息没有法律依据",
    "sensitive personal data collected without a legal basis",
    """
《个人信息保护法》：处理身份证号、健康、残疾、金融账户等敏感个人信息要有明确的法律依据。采集这类字段的报表必须写 `legal_basis`。

PIPL: processing sensitive personal information (ID numbers, health, disability, financial accounts…)
needs a legal basis; a report collecting such fields must state `legal_basis`.
Bad / 错误写法: a roster with 身份证号、银行账号 and no legal_basis.
Good / 正确写法: `legal_basis: 《社会保险法》第…条`.
""",
    scope="report",
    over="collected",
)
def sensitive_without_legal_basis(ctx: Context, r: Report) -> Iterator[Hit]:
    sensitive = _sensitive(ctx, r)
    if sensitive and not r.legal_basis:
        yield Hit(
            r.loc("title"),
            Text(
                f"《{r.title}》采集敏感个人信息（{_fields_text(ctx.project, sensitive[:4])}）却没有法律依据",
                f"'{r.qualified}' collects sensitive personal data without a legal basis",
            ),
            Text("写明 legal_basis，或删除不必要的敏感栏目", "state legal_basis, or drop the sensitive columns it does not need"),
            r.uid,
        )


@rule(
    "YBT206",
    "sensitive-without-grant",
    E,
    "使用方未经授权使用敏感个人信息",
    "sensitive data exposed to a consumer without a grant",
    """
敏感个人信息只给有授权的使用方看明文：使用方在 `uses` 中用到敏感字段，必须在 `grants` 中获得授权；否则模板、导出和视图中应脱敏。

Sensitive data is shown in clear only to consumers granted it: a consumer whose `uses` includes a
sensitive field must list it under `grants`; otherwise templates, exports and views mask it.
Bad / 错误写法: `uses: [std.resident_id]` without `grants`.
Good / 正确写法: `uses: [std.resident_id], grants: [std.resident_id]`, or use a masked field.
""",
    scope="report",
    over="live",
)
def sensitive_without_grant(ctx: Context, r: Report) -> Iterator[Hit]:
    for i, c in enumerate(r.consumers):
        exposed = [u for u in c.uses if (f := ctx.project.fields.get(u)) is not None and f.sensitivity == "sensitive" and u not in c.grants]
        if exposed:
            yield Hit(
                r.loc("consumers", i, "uses"),
                Text(
                    f"《{r.title}》的使用方 {c.department} 未经授权使用敏感字段：{_fields_text(ctx.project, exposed)}",
                    f"consumer {c.department} of '{r.qualified}' uses sensitive fields without a grant",
                ),
                Text("在 grants 中授权，或不再使用这些字段", "grant them under grants, or stop using them"),
                f"{r.uid}#{c.department}",
            )


# =====================================================================================================
# Hygiene 整洁


def _referenced(ctx: Context) -> tuple[set[str], set[str]]:
    """(fields, codelists) something uses; worked out once per run for YBT301 and YBT302."""
    if ctx._referenced is None:
        cat = ctx.catalog
        fields: set[str] = set(cat.catalog_field_refs)
        for r in ctx.reports.values():
            fields.update(r.refs)
        codelists = {cl for f, cl in cat.field_codelist.items() if f in fields}
        ctx._referenced = (fields, codelists | cat.catalog_codelist_refs)
    return ctx._referenced


@rule(
    "YBT301",
    "unused-field",
    INFO,
    "字段没有被任何报表或台账使用",
    "field used by no report or ledger",
    """
目录里没有人用的字段要么删掉，要么说明为什么保留（如将来的台账）。已被替代的字段不算。

A field no report or ledger uses: delete it or say why it stays. Superseded fields are exempt.
Bad / 错误写法: a department field declared and never asked. Good / 正确写法: delete it, or use it.
""",
    scope="usage",
)
def unused_field(ctx: Context) -> Iterator[Hit]:
    used, _ = _referenced(ctx)
    for uid, status, qualified, label, file, at in ctx.catalog.own_fields:
        if uid not in used and status not in ("superseded", "retired"):
            yield Hit(
                Location(file, *at),
                Text(f"字段 {qualified}“{label}”没有被使用", f"field {qualified} is not used"),
                Text("删除它，或在报表、台账中使用", "delete it or use it"),
                uid,
            )


@rule(
    "YBT302",
    "unused-codelist",
    INFO,
    "代码表没有被任何字段使用",
    "codelist used by no field",
    """
没有字段引用的代码表可以删除。Bad / 错误写法: a codelist no field points to. Good / 正确写法: delete it or reference it.

A codelist no used field points to can go.
""",
    scope="usage",
)
def unused_codelist(ctx: Context) -> Iterator[Hit]:
    _, used = _referenced(ctx)
    for uid, status, qualified, label, file, at in ctx.catalog.own_codelists:
        if uid not in used and status not in ("superseded", "retired"):
            yield Hit(
                Location(file, *at),
                Text(f"代码表 {qualified}“{label}”没有被使用", f"codelist {qualified} is not used"),
                Text("删除它，或让字段引用它", "delete it or reference it"),
                uid,
            )


def _no_chinese(qualified: str, text: str, loc: Location, uid: str) -> Hit:
    return Hit(
        loc,
        Text(f"{qualified} 的名称“{text}”没有中文", f"{qualified} is named '{text}', with no Chinese"),
        Text("写中文名称，英文可放在 aliases 或 description", "give a Chinese name; English can go in aliases or description"),
        uid,
    )


@rule(
    "YBT303",
    "missing-chinese-label",
    W,
    "缺少中文名称",
    "missing Chinese label",
    """
基层看到的名称要用中文：字段、代码表、台账的 `label` 和报表的 `title` 应含中文。

What the grass roots read must be Chinese: labels of fields, codelists and ledgers and report titles.
Bad / 错误写法: `label: household size`. Good / 正确写法: `label: 家庭人口数`.
""",
    scope="catalog",
)
def missing_chinese_label(ctx: Context) -> Iterator[Hit]:
    p = ctx.project
    for table in (p.fields, p.codelists, p.ledgers):
        for o in table.values():
            if o.library is None and not _CJK.search(o.label):
                yield _no_chinese(o.qualified, o.label, o.loc("label"), o.uid)


@part("YBT303", "report", over="own")
def missing_chinese_title(ctx: Context, r: Report) -> Iterator[Hit]:
    if not _CJK.search(r.title):
        yield _no_chinese(r.qualified, r.title, r.loc("title"), r.uid)


@rule(
    "YBT304",
    "inconsistent-units",
    W,
    "同一内容使用不同计量单位",
    "same quantity in different units",
    """
同一内容的计量单位要统一（亩与平方米、元与万元），否则汇总和比对会出错。报表栏目的单位也要与字段一致。

The same quantity must use one unit (亩 or ㎡, 元 or 万元), or totals and comparisons go wrong; a report
column's unit must match its field's.
Bad / 错误写法: 承包面积 in 亩 at 农业农村 and in ㎡ at 规划自然资源; or `unit: 万元` on a column whose field is in 元.
Good / 正确写法: one unit in the catalog; convert in a derived measure if needed.
""",
    scope="catalog",
)
def inconsistent_units(ctx: Context) -> Iterator[Hit]:
    syn = synonym_table(ctx.project.synonyms)
    groups: dict[tuple[str, str], list[Field]] = defaultdict(list)
    for f in ctx.project.fields.values():
        if f.unit and f.status not in ("superseded", "retired"):
            meaning = concept(f.label, syn, f.role if f.role != "self" else None)
            groups[(meaning.role, meaning.core)].append(f)
    for fields in groups.values():
        units = Counter(f.unit for f in fields)
        if len(units) < 2:
            continue
        common = units.most_common(1)[0][0]
        for f in fields:
            if f.unit != common and f.library is None:
                other = next(g for g in fields if g.unit == common)
                yield Hit(
                    f.loc("unit"),
                    Text(
                        f"{f.qualified}“{f.label}”用 {f.unit}，同类字段多用 {common}",
                        f"{f.qualified} '{f.label}' is in {f.unit}; the same quantity elsewhere is in {common}",
                    ),
                    Text(f"统一为 {common}", f"use {common}"),
                    f.uid,
                    (Related(other.loc("unit"), Text(f"用 {common} 的字段", f"a field in {common}")),),
                )


@part("YBT304", "report", over="live")
def inconsistent_column_units(ctx: Context, r: Report) -> Iterator[Hit]:
    written = r.doc.data["columns"]
    for i, c in enumerate(r.columns):
        raw = written[i].get("unit") if isinstance(written[i], dict) else None
        if not raw:
            continue
        fld = ctx.project.fields.get(c.field or "")
        if fld is not None and fld.unit and raw != fld.unit and c.aggregate in (None, "sum", "avg", "min", "max"):
            yield Hit(
                r.loc("columns", i, "unit"),
                Text(
                    f"《{r.title}》栏目单位 {raw} 与字段 {fld.qualified} 的 {fld.unit} 不一致",
                    f"column unit {raw} differs from {fld.qualified}'s {fld.unit}",
                ),
                Text("栏目单位与字段保持一致", "keep the column's unit the field's"),
                r.uid,
            )


# =====================================================================================================
# Meta: suppressions (hits come from the engine, the registry entries are here)

UNUSED_SUPPRESSION = register(
    RuleInfo(
        "YBT901",
        "unused-suppression",
        "meta",
        W,
        Text("行内忽略没有忽略任何问题", "inline suppression suppresses nothing"),
        """
`# ybt: ignore[CODE] 理由` 只应留在确实有该问题的地方；问题修好后要删掉忽略注释。

An inline `# ybt: ignore[CODE] reason` must sit where that problem is; once fixed, delete the comment.
Bad / 错误写法: `# ybt: ignore[YBT110] 临时` on a report that now has consumers. Good / 正确写法: remove the comment.
""".strip(),
    )
)

SUPPRESSION_WITHOUT_REASON = register(
    RuleInfo(
        "YBT902",
        "suppression-without-reason",
        "meta",
        E,
        Text("行内忽略没有写理由", "inline suppression without a reason"),
        """
忽略某条规则必须说明理由，便于审核：`# ybt: ignore[YBT110] 区委交办的临时统计，2026 年底退出`。没有理由的忽略不生效。

Silencing a rule needs a reason reviewers can read; a suppression without one has no effect.
Bad / 错误写法: `# ybt: ignore[YBT110]`. Good / 正确写法: `# ybt: ignore[YBT110] 区委交办临时统计，年底退出`.
""".strip(),
    )
)
