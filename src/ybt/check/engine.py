"""Running the rules: severities from ybt.yaml, --select/--ignore, inline suppressions, the baseline,
and the changed-objects filter of CI mode (--base GIT_REF / --state OLD_MANIFEST)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ybt import atomic, registry
from ybt.check.facts import ReportFacts
from ybt.check.rules import RULES, SUPPRESSION_WITHOUT_REASON, UNUSED_SUPPRESSION, Context, Hit, Part, runs_on
from ybt.diagnostics import Diagnostic, Location, Severity, Text, YbtError
from ybt.emit.manifest import build_manifest
from ybt.load import display_path
from ybt.model import Project, Report
from ybt.pipeline import compile_project
from ybt.progress import progress
from ybt.registry import RuleInfo

BASELINE_FILE = "ybt-baseline.json"
_SUPPRESS = re.compile(r"#\s*ybt:\s*ignore\[([A-Za-z0-9_, -]+)\]\s*(.*?)\s*$")
_SECTIONS = ("fields", "codelists", "entities", "ledgers", "reports")


@dataclass
class CheckOptions:
    today: date = field(default_factory=date.today)
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    baseline: Path | None = None
    #: Unique ids of new or modified objects (CI mode); None checks everything.
    changed: set[str] | None = None


@dataclass
class CheckResult:
    findings: list[Diagnostic]
    suppressed: int = 0
    baselined: int = 0
    #: Baseline entries no finding matched any more: debt that was paid.
    fixed: int = 0
    removed: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.findings if d.severity is Severity.ERROR)


def _matches(info: RuleInfo, token: str) -> bool:
    t = token.strip()
    return bool(t) and (info.code == t.upper() or info.code.startswith(t.upper()) or info.family == t.lower() or info.name == t.lower())


def effective_severity(info: RuleInfo, config: Mapping[str, str]) -> Severity | None:
    """The configured severity: the longest matching code or code prefix in policy.rules wins; None if off."""
    best = ""
    for key in config:
        if info.code.startswith(key.upper()) and len(key) > len(best):
            best = key
    if not best:
        return info.severity
    value = config[best]
    return None if value == "off" else Severity(value)


@dataclass
class _Suppression:
    file: str
    line: int
    target: int
    codes: tuple[str, ...]
    reason: str
    used: bool = False


#: A suppression comment as found in a file: (line, target line, codes, reason).
SuppressionFacts = tuple[int, int, tuple[str, ...], str]


def file_suppressions(path: str) -> list[SuppressionFacts]:
    """The ``# ybt: ignore[…]`` comments of one file."""
    try:
        text_all = Path(path).read_text(encoding="utf-8-sig")
    except OSError:
        return []
    if "ybt:" not in text_all:
        return []
    lines = text_all.splitlines()
    out: list[SuppressionFacts] = []
    for n, text in enumerate(lines, start=1):
        m = _SUPPRESS.search(text)
        if not m:
            continue
        codes = tuple(c.strip().upper() for c in m.group(1).split(",") if c.strip())
        target = n
        if text.lstrip().startswith("#"):  # a comment on its own line covers the next line with content
            target = next((k for k in range(n + 1, len(lines) + 1) if lines[k - 1].strip() and not lines[k - 1].lstrip().startswith("#")), n)
        out.append((n, target, codes, m.group(2)))
    return out


def project_files(project: Project) -> list[str]:
    """Files holding the project's own objects (where suppressions may be)."""
    return sorted({o.doc.file for o in project.objects() if o.library is None})


def document_starts(project: Project) -> dict[tuple[str, int], str]:
    return {(o.doc.file, o.location.line): o.uid for o in project.objects() if o.library is None}


def apply_suppressions(
    findings: list[Diagnostic], suppressions: Mapping[str, Sequence[SuppressionFacts]], starts: Mapping[tuple[str, int], str], config: Mapping[str, str]
) -> tuple[list[Diagnostic], int]:
    """Drop the findings inline comments suppress; add YBT901/YBT902 for unused or reasonless ones."""
    sups = [_Suppression(path, *facts) for path in sorted(suppressions) for facts in suppressions[path]]
    if not sups:
        return findings, 0
    kept: list[Diagnostic] = []
    suppressed = 0
    extra: list[Diagnostic] = []
    active = []
    for s in sups:
        if not s.reason:
            sev = effective_severity(SUPPRESSION_WITHOUT_REASON, config)
            if sev is not None:
                extra.append(
                    Diagnostic(
                        SUPPRESSION_WITHOUT_REASON.code,
                        sev,
                        Text(f"忽略 {', '.join(s.codes)} 没有写理由，未生效", f"suppression of {', '.join(s.codes)} has no reason and does not apply"),
                        Location(s.file, s.line, 1),
                        Text("在 ignore[…] 后写明理由", "write the reason after ignore[…]"),
                    )
                )
            continue
        active.append(s)
    for d in findings:
        loc = d.location
        hit = None
        if loc is not None:
            for s in active:
                if s.file != loc.file or d.code not in s.codes:
                    continue
                whole_doc = starts.get((s.file, s.target))
                if s.target == loc.line or (whole_doc is not None and d.object_id is not None and d.object_id.split("#")[0] == whole_doc):
                    hit = s
                    break
        if hit is not None:
            hit.used = True
            suppressed += 1
        else:
            kept.append(d)
    sev = effective_severity(UNUSED_SUPPRESSION, config)
    if sev is not None:
        for s in active:
            if not s.used:
                extra.append(
                    Diagnostic(
                        UNUSED_SUPPRESSION.code,
                        sev,
                        Text(f"忽略 {', '.join(s.codes)} 没有对应的问题", f"the suppression of {', '.join(s.codes)} matches no finding"),
                        Location(s.file, s.line, 1),
                        Text("问题已解决就删除这条注释", "delete the comment once the problem is gone"),
                    )
                )
    return kept + extra, suppressed


def _baseline_key(d: Diagnostic) -> tuple[str, str]:
    return (d.code, d.object_id or (d.location.file if d.location else ""))


def read_baseline(path: Path) -> Counter[tuple[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Counter({(e["code"], e["object_id"]): int(e.get("count", 1)) for e in data["entries"]})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise YbtError(
            Diagnostic(
                "YBT000",
                Severity.ERROR,
                Text(f"无法读取基线文件：{exc}", f"cannot read the baseline: {exc}"),
                Location(display_path(path)),
                Text("用 ybt check --write-baseline 重新生成", "make it again with ybt check --write-baseline"),
            )
        ) from exc


def write_baseline(path: Path, findings: Iterable[Diagnostic]) -> int:
    counts = Counter(_baseline_key(d) for d in findings)
    entries = [{"code": c, "object_id": o, "count": n} for (c, o), n in sorted(counts.items())]
    payload = {"version": 1, "note": "ybt check baseline: existing findings tolerated, keyed by rule and object id (not by line)", "entries": entries}
    atomic.write_text(path, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return len(entries)


def _tokens(values: Sequence[str]) -> list[str]:
    """--select/--ignore values, also comma-separated (--select YBT101,YBT2)."""
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def selected(info: RuleInfo, options: CheckOptions) -> bool:
    select, ignore = _tokens(options.select), _tokens(options.ignore)
    if select and not any(_matches(info, t) for t in select):
        return False
    return not any(_matches(info, t) for t in ignore)


@dataclass
class RuleRun:
    """The rules' findings, kept apart by the scope of the part that found them: the incremental
    check caches the per-report, catalog and usage findings and recomputes only what a change touches."""

    per_report: dict[str, list[Diagnostic]] = field(default_factory=dict)
    catalog: list[Diagnostic] = field(default_factory=list)
    usage: list[Diagnostic] = field(default_factory=list)
    project: list[Diagnostic] = field(default_factory=list)

    def all(self) -> list[Diagnostic]:
        return [*self.catalog, *self.usage, *self.project, *(d for ds in self.per_report.values() for d in ds)]


def run_rules(
    ctx: Context,
    options: CheckOptions,
    reports: Iterable[Report] | None = None,
    catalog: list[Diagnostic] | None = None,
    lang: str = "both",
    usage: list[Diagnostic] | None = None,
) -> RuleRun:
    """Run the selected rules. ``reports`` limits the per-report parts to those reports (default: all);
    ``catalog`` and ``usage`` give the findings of those scopes' parts from an earlier run instead of
    running them (see :class:`~ybt.check.rules.Part`)."""
    config = ctx.project.policy.rules
    run = RuleRun(catalog=list(catalog) if catalog is not None else [], usage=list(usage) if usage is not None else [])
    targets = list(ctx.project.reports.values()) if reports is None else list(reports)
    for r in targets:
        run.per_report[r.uid] = []
    active: list[tuple[str, Severity, Part]] = []
    for code in sorted(RULES):
        impl = RULES[code]
        severity = effective_severity(impl.info, config) if selected(impl.info, options) else None
        if severity is not None:
            active.extend((code, severity, p) for p in impl.parts)

    def diag(code: str, severity: Severity, hit: Hit) -> Diagnostic:
        return Diagnostic(code, severity, hit.message, hit.location, hit.hint, hit.related, hit.object_id)

    report_parts = [(c, s, p) for c, s, p in active if p.scope == "report"]
    with progress(Text("检查报表", "checking reports"), total=len(targets), lang=lang) as advance:
        for r in targets:
            found = run.per_report[r.uid]
            for code, severity, p in report_parts:
                if runs_on(p.over, r):
                    found.extend(diag(code, severity, hit) for hit in p.fn(ctx, r))
            advance(1)
    # the whole-project parts, those reading the duplicate analysis last; their findings in the rules' order
    given = {"catalog": catalog is not None, "usage": usage is not None, "project": False}
    whole = [(c, s, p) for c, s, p in active if p.scope != "report" and not given[p.scope]]
    hits_of: dict[int, list[Diagnostic]] = {}
    for i in sorted(range(len(whole)), key=lambda i: whole[i][2].late):
        code, severity, p = whole[i]
        hits_of[i] = [diag(code, severity, hit) for hit in p.fn(ctx)]
    into = {"catalog": run.catalog, "usage": run.usage, "project": run.project}
    for i, (_, _, p) in enumerate(whole):
        into[p.scope].extend(hits_of[i])
    return run


@dataclass
class FullCheck:
    """A check of the whole project, with what went into its result (the incremental check caches it)."""

    context: Context
    rules: RuleRun
    suppressions: dict[str, list[SuppressionFacts]]
    starts: dict[tuple[str, int], str]
    result: CheckResult
    #: What ``check_all``'s ``prepare`` gave.
    prepared: Any = None


#: Work for the time the duplicate analysis takes in its second process: (project, the reports' facts) → anything.
Prepare = Callable[[Project, Mapping[str, ReportFacts]], Any]


def check_all(project: Project, options: CheckOptions, lang: str = "both", prepare: Prepare | None = None) -> FullCheck:
    """Run every selected rule on the whole project (no cache). ``prepare`` runs while the duplicate
    analysis may be computing in a second process (see :meth:`Context.start_dupes`), before the rules
    that need it; its result is :attr:`FullCheck.prepared`."""
    ctx = Context(project, options.today)
    ctx.start_dupes()
    try:
        # this process's own work first, the parts reading the duplicate analysis last (run_rules)
        prepared = prepare(project, ctx.reports) if prepare is not None else None
        suppressions = {path: file_suppressions(path) for path in project_files(project)}
        starts = document_starts(project)
        run = run_rules(ctx, options, lang=lang)
        result = finish(project, run.all(), options, suppressions, starts)
    finally:
        ctx.close()
    return FullCheck(ctx, run, suppressions, starts, result, prepared)


def check(project: Project, options: CheckOptions, lang: str = "both") -> CheckResult:
    """Run every selected rule on the whole project (no cache)."""
    return check_all(project, options, lang).result


def finish(
    project: Project,
    findings: list[Diagnostic],
    options: CheckOptions,
    suppressions: Mapping[str, Sequence[SuppressionFacts]],
    starts: Mapping[tuple[str, int], str],
) -> CheckResult:
    """Suppressions, the baseline and the CI-mode filter, applied to the rules' findings."""
    findings, suppressed = apply_suppressions(findings, suppressions, starts, project.policy.rules)
    wanted = {code: _known_and_selected(code, options) for code in {d.code for d in findings}}
    findings = [d for d in findings if wanted[d.code]] if not all(wanted.values()) else list(findings)
    baselined = fixed = 0
    if options.baseline is not None and options.baseline.exists():
        budget = read_baseline(options.baseline)
        kept = []
        for d in findings:
            key = _baseline_key(d)
            if budget.get(key, 0) > 0:
                budget[key] -= 1
                baselined += 1
            else:
                kept.append(d)
        # Entries of rules that did not run (--select/--ignore) or of objects not checked are not "fixed".
        if options.changed is None:
            fixed = sum(n for (code, _), n in budget.items() if _known_and_selected(code, options))
        findings = kept
    if options.changed is not None:
        files = {o.doc.file for o in project.objects() if o.uid in options.changed}
        findings = [
            d for d in findings if (d.object_id.split("#")[0] in options.changed if d.object_id else (d.location is not None and d.location.file in files))
        ]
    findings.sort(key=Diagnostic.sort_key)
    return CheckResult(findings, suppressed, baselined, fixed)


def _known_and_selected(code: str, options: CheckOptions) -> bool:
    """Whether findings of ``code`` belong in this run (a baseline may name codes of an older ybt)."""
    info = registry.get(code)
    return info is not None and selected(info, options)


# --- CI mode: what changed against a base -----------------------------------------------------------


def object_checksums(manifest: Mapping[str, Any]) -> dict[str, str]:
    return {uid: str(obj["checksum"]) for section in _SECTIONS for uid, obj in manifest.get(section, {}).items() if obj.get("library") is None}


def changes(current: Project, base: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """(new or modified unique ids, removed unique ids) of the project's own objects against a base manifest."""
    now = object_checksums(build_manifest(current))
    before = object_checksums(base)
    changed = {uid for uid, sha in now.items() if before.get(uid) != sha}
    removed = sorted(set(before) - set(now))
    return changed, removed


def base_manifest_from_git(root: Path, ref: str) -> dict[str, Any]:
    """Compile the project as it was at ``ref`` (a git revision) and return its manifest."""

    def git(*args: str, cwd: Path) -> str:
        run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        if run.returncode != 0:
            raise YbtError(
                Diagnostic(
                    "YBT000",
                    Severity.ERROR,
                    Text(f"git 出错：{run.stderr.strip()}", f"git failed: {run.stderr.strip()}"),
                    Location(display_path(root)),
                    Text("检查 --base 是否为有效的提交，项目是否在 git 仓库中", "check that --base names a commit and the project is in a git repository"),
                )
            )
        return run.stdout.strip()

    top = Path(git("rev-parse", "--show-toplevel", cwd=root))
    rel = root.resolve().relative_to(top.resolve())
    with tempfile.TemporaryDirectory(prefix="ybt-base-") as tmp:
        archive = subprocess.run(["git", "archive", "--format=tar", ref, "--", str(rel) if str(rel) != "." else "."], cwd=top, capture_output=True)
        if archive.returncode != 0:
            git("rev-parse", "--verify", ref, cwd=top)  # raises with git's own message
            raise YbtError(
                Diagnostic(
                    "YBT000", Severity.ERROR, Text(f"在 {ref} 中找不到项目 {rel}", f"the project {rel} does not exist at {ref}"), Location(display_path(root))
                )
            )
        tar = Path(tmp) / "base.tar"
        tar.write_bytes(archive.stdout)
        shutil.unpack_archive(str(tar), tmp)
        result = compile_project(Path(tmp) / rel)
        if result.project is None:
            return {section: {} for section in _SECTIONS}
        return build_manifest(result.project)
