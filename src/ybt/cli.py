"""The ``ybt`` command line.

Exit codes: 0 success, 1 the specs have errors (or findings at error level), 2 usage or internal
error. Machine-readable output goes to stdout; progress and chatter to stderr. Bad input never
produces a traceback: set ``YBT_DEBUG=1`` to see one for an internal error.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import sys
import threading
import traceback
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
import yaml

from ybt import __version__, atomic, registry, schemas
from ybt.analyze.dupes import DEFAULT_MIN_SCORE, find_duplicates
from ybt.diagnostics import Diagnostic, Location, Severity, Text, YbtError
from ybt.load import DisplayPaths, display_path
from ybt.model import Project, SpecObject
from ybt.pipeline import CompileResult, compile_project
from ybt.render import console, diagnostics_json, render_burden, render_dupes, render_text, summary

if TYPE_CHECKING:
    from ybt.analyze import burden
    from ybt.check.engine import CheckOptions, CheckResult

# Commands import what only they need (merge, the generators, burden) inside their bodies: every
# command starts faster, `ybt check` in an editor above all.

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="ybt",
    help=(
        "ybt（一表通）：报表与台账的声明式编译器。一次定义字段，从台账生成报表，用准入规则把关。\n\n"
        "ybt (one form serves all): a declarative compiler for reports and ledgers — declare each field "
        "once, derive reports from shared ledgers, and gate new forms with admission rules."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Lang(StrEnum):
    both = "both"
    zh = "zh"
    en = "en"


class Format(StrEnum):
    text = "text"
    json = "json"


_state: dict[str, str] = {"lang": os.environ.get("YBT_LANG", "both") if os.environ.get("YBT_LANG") in ("zh", "en", "both") else "both"}


def _lang() -> str:
    return _state["lang"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ybt {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="显示版本 / show the version")] = False,
    lang: Annotated[Lang, typer.Option("--lang", help="提示语言 / message language: zh, en, both", envvar="YBT_LANG")] = Lang.both,
) -> None:
    _state["lang"] = lang.value


def _fail_usage(zh: str, en: str, hint: Text | None = None) -> NoReturn:
    err = console(stderr=True)
    diag = Diagnostic("YBT000", Severity.ERROR, Text(zh, en), None, hint)
    render_text([diag], err, _lang())
    raise typer.Exit(EXIT_USAGE)


def _report(result: CompileResult, fmt: Format, extra: dict[str, object] | None = None) -> None:
    if fmt is Format.json:
        typer.echo(diagnostics_json(result.diagnostics, ok=result.ok, **(extra or {})))
    else:
        render_text(result.diagnostics, console(), _lang())


def _project_summary(result: CompileResult) -> dict[str, int]:
    """Counts of the project's own objects (library objects are counted apart)."""
    p = result.project
    if p is None:
        return {}

    def own(objs: Iterable[SpecObject]) -> int:
        return sum(1 for o in objs if o.library is None)

    return {
        "departments": len(p.departments),
        "org_units": len(p.org_units),
        "codelists": own(p.codelists.values()),
        "fields": own(p.fields.values()),
        "entities": own(p.entities.values()),
        "ledgers": own(p.ledgers.values()),
        "reports": own(p.reports.values()),
        "library_objects": sum(1 for o in p.objects() if o.library is not None),
    }


def _counts_line(counts: dict[str, int]) -> tuple[str, str]:
    zh_names = {
        "departments": "个部门",
        "org_units": "个组织单位",
        "codelists": "个代码表",
        "fields": "个字段",
        "entities": "个对象",
        "ledgers": "个台账",
        "reports": "张报表",
        "library_objects": "个标准库对象",
    }
    zh = "，".join(f"{v} {zh_names[k]}" for k, v in counts.items())
    en = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
    return zh, en


ProjectArg = Annotated[Path, typer.Argument(help="规格项目目录（含 ybt.yaml）/ spec project directory (holds ybt.yaml)", show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="输出格式 / output format")]
TodayOpt = Annotated[str | None, typer.Option("--today", help="按此日期判断准入是否过期（YYYY-MM-DD）/ judge expiry as of this date")]
MinScoreOpt = Annotated[float, typer.Option("--min-score", min=0.0, max=1.0, help="字段归为同一数据元的最低分 / lowest score that joins two fields")]


# More files than this are summarised by folder on the terminal (a province's SQL is thousands of files);
# --format json still lists every one.
LIST_WRITTEN_UP_TO = 20


def _written_lines(out_dir: Path, written: list[str]) -> list[str]:
    """What ``compile`` prints for the files it wrote: each path, or for many, each top-level file and
    a count per folder (``target/sql/tables/ (644 files)``)."""
    if len(written) <= LIST_WRITTEN_UP_TO:
        return written
    base = display_path(out_dir).rstrip("/")
    files: list[str] = []
    folders: dict[str, int] = {}
    for path in written:
        rel = path[len(base) + 1 :] if path.startswith(base + "/") else path
        head, sep, _ = rel.partition("/")
        if sep:
            folders[head] = folders.get(head, 0) + 1
        else:
            files.append(path)
    return files + [f"{base}/{name}/ ({n:,} files)" for name, n in sorted(folders.items())]


@app.command("compile")
def compile_cmd(
    project: ProjectArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="输出目录，缺省为 PROJECT/target / output directory (default PROJECT/target)")] = None,
    target: Annotated[str, typer.Option("--target", "-t", help="生成目标：manifest 或 sql / what to generate: manifest or sql")] = "manifest",
    dialect: Annotated[
        str | None, typer.Option("--dialect", help="SQL 方言（--target sql）：sqlite、duckdb、postgres、mysql、spark / SQL dialect for --target sql")
    ] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """编译规格项目并写出 manifest.json（或 SQL）/ Compile a spec project and write manifest.json (or SQL)."""
    from ybt import emit
    from ybt.sql import DIALECTS

    generator = emit.get(target)
    if generator is None:
        _fail_usage(
            f"未知的生成目标 “{target}”",
            f"unknown target '{target}'",
            Text(f"可用：{', '.join(emit.targets())}", f"available: {', '.join(emit.targets())}"),
        )
    if dialect is not None and dialect not in DIALECTS:
        _fail_usage(
            f"未知的 SQL 方言 “{dialect}”", f"unknown SQL dialect '{dialect}'", Text(f"可用：{', '.join(DIALECTS)}", f"available: {', '.join(DIALECTS)}")
        )
    result = compile_project(project)
    if out is not None:
        out_dir = out
    elif target == "sql":
        out_dir = project / "target" / "sql" / (dialect or "sqlite")
    else:
        out_dir = project / "target"
    written: list[str] = []
    if result.ok and result.project is not None:
        files = generator.generate(result.project, {"dialect": dialect, "lang": _lang()})
        shown = DisplayPaths()  # thousands of files in a few folders: each folder is resolved once
        written = [shown(p) for p in atomic.write_tree(out_dir, files)]
    counts = _project_summary(result)
    _report(result, fmt, {"written": written, "objects": counts})
    if fmt is Format.text:
        err = console(stderr=True)
        if result.ok:
            zh, en = _counts_line(counts)
            name = result.project.name if result.project else ""
            err.print(f"已编译 {name}：{zh}" if _lang() != "en" else f"compiled {name}: {en}", markup=False)
            if _lang() == "both":
                err.print(f"compiled: {en}", markup=False)
            for line in _written_lines(out_dir, written):
                err.print(f"→ {line}", markup=False)
        else:
            err.print(
                "规格有错误，未写出任何文件 / the specs have errors: nothing was written"
                if _lang() == "both"
                else ("规格有错误，未写出任何文件" if _lang() == "zh" else "the specs have errors: nothing was written"),
                markup=False,
            )
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@app.command("validate")
def validate_cmd(project: ProjectArg, fmt: FormatOpt = Format.text) -> None:
    """检查规格（与 compile 相同的检查）但不写文件 / Check the specs like compile does, without writing."""
    result = compile_project(project)
    _report(result, fmt, {"objects": _project_summary(result)})
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


def parse_today(today: str | None) -> date:
    """The --today option: the date admissions are judged by (default: today)."""
    if today is None:
        return date.today()
    try:
        return date.fromisoformat(today)
    except ValueError:
        _fail_usage(f"--today 应写成 YYYY-MM-DD：{today}", f"--today takes YYYY-MM-DD: {today}")


def measure_burden(source: Path, fmt: Format) -> burden.Burden:
    from ybt.analyze import burden
    from ybt.emit.manifest import build_manifest

    """The burden of another state (--compare): a project directory or a saved manifest.json."""
    if source.is_dir():
        return burden.measure(build_manifest(_compiled_or_exit(source, fmt)), display_path(source))
    try:
        return burden.measure(json.loads(source.read_text(encoding="utf-8")), display_path(source))
    except (OSError, ValueError, KeyError) as exc:
        _fail_usage(
            f"无法读取对比用的 manifest：{display_path(source)}（{exc}）",
            f"cannot read the manifest to compare with: {display_path(source)} ({exc})",
        )


def _compiled_or_exit(project: Path, fmt: Format) -> Project:
    """Compile the specs for an analysis command; on spec errors print them and exit 1."""
    result = compile_project(project)
    if not result.ok or result.project is None:
        _report(result, fmt)
        raise typer.Exit(EXIT_FINDINGS)
    return result.project


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"


@app.command("check")
def check_cmd(
    project: ProjectArg,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = CheckFormat.text,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="只运行这些规则（代码、代码前缀、族或名称）/ run only these rules (code, prefix, family or name)")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="跳过这些规则 / skip these rules")] = None,
    baseline: Annotated[Path | None, typer.Option("--baseline", help="基线文件，缺省为 PROJECT/ybt-baseline.json / baseline file")] = None,
    write_baseline: Annotated[
        bool, typer.Option("--write-baseline", help="把当前全部问题记为基线（已有欠账）/ record every current finding as tolerated debt")
    ] = False,
    base: Annotated[
        str | None, typer.Option("--base", help="只检查相对该 git 提交新增或改动的对象 / check only what is new or changed since this git revision")
    ] = None,
    state: Annotated[
        Path | None, typer.Option("--state", help="只检查相对旧 manifest.json 新增或改动的对象 / like --base, against an old manifest.json")
    ] = None,
    today: TodayOpt = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="不用也不写增量缓存（~/.cache/ybt，YBT_CACHE_DIR）/ neither use nor write the incremental cache (~/.cache/ybt, YBT_CACHE_DIR)"
        ),
    ] = False,
) -> None:
    """表格准入检查：拒绝重复、未经审批或不合规的报表 / Admission checks that reject duplicate or unapproved reports."""
    from ybt.check import engine, formats, incremental

    # A check is a short-lived process whose millions of small objects (a province's specs) stay alive
    # to the end and form no cycles worth collecting: the cyclic collector would only walk them again
    # and again (a third of a province-sized check). Not for every command: sqlglot's trees are
    # cyclic, and the SQL build needs them collected. Only in the `ybt` process itself (not when a
    # test or a program drives the app), which ends right after.
    if _state.get("process") == "ybt":
        gc.disable()
    as_of = parse_today(today)
    if base is not None and state is not None:
        _fail_usage("--base 与 --state 只能选一个", "give --base or --state, not both")
    err = console(stderr=True)
    baseline_path = baseline if baseline is not None else project / engine.BASELINE_FILE
    options = engine.CheckOptions(today=as_of, select=select or (), ignore=ignore or (), baseline=None if write_baseline else baseline_path)
    if base is None and state is None:
        done = incremental.check_project(project, options, use_cache=not no_cache, lang=_lang())
        if done.result is None:
            assert done.compile is not None
            out = formats.render(fmt.value, list(done.compile.diagnostics), lang=_lang())
            if out is not None:
                sys.stdout.write(out if out.endswith("\n") else out + "\n")
            raise typer.Exit(EXIT_FINDINGS)
        _check_report(done.result, options, [], baseline_path, write_baseline, fmt)
    result = compile_project(project)
    if not result.ok or result.project is None:
        out = formats.render(fmt.value, list(result.diagnostics), lang=_lang())
        if out is not None:
            sys.stdout.write(out if out.endswith("\n") else out + "\n")
        raise typer.Exit(EXIT_FINDINGS)
    model = result.project
    removed: list[str] = []
    if base is not None or state is not None:
        if state is not None:
            try:
                old = json.loads(state.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                _fail_usage(f"无法读取 --state 的 manifest：{exc}", f"cannot read the --state manifest: {exc}")
        else:
            assert base is not None
            err.print(f"编译 {base} 时的项目以比较 / compiling the project as of {base} to compare", markup=False)
            old = engine.base_manifest_from_git(project, base)
        options.changed, removed = engine.changes(model, old)
    _check_report(engine.check(model, options, lang=_lang()), options, removed, baseline_path, write_baseline, fmt)


def _check_report(outcome: CheckResult, options: CheckOptions, removed: list[str], baseline_path: Path, write_baseline: bool, fmt: CheckFormat) -> NoReturn:
    from ybt.check import engine, formats

    err = console(stderr=True)
    if write_baseline:
        n = engine.write_baseline(baseline_path, outcome.findings)
        err.print(f"已写出基线：{n} 项 / baseline written: {n} entries → {display_path(baseline_path)}", markup=False)
        raise typer.Exit(EXIT_OK)
    out = formats.render(fmt.value, outcome.findings, lang=_lang())
    if out is not None:
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    notes = []
    if outcome.suppressed:
        notes.append(f"行内忽略 {outcome.suppressed} 项 / {outcome.suppressed} suppressed inline")
    if outcome.baselined:
        notes.append(f"基线容忍 {outcome.baselined} 项 / {outcome.baselined} tolerated by the baseline")
    if outcome.fixed:
        notes.append(f"基线中 {outcome.fixed} 项已解决，可重写基线 / {outcome.fixed} baseline entries are fixed: rewrite the baseline")
    if options.changed is not None:
        notes.append(f"只检查了新增或改动的 {len(options.changed)} 个对象 / checked the {len(options.changed)} new or changed objects")
    for uid in removed:
        notes.append(f"已删除 / removed: {uid}")
    for note in notes:
        err.print(note, markup=False)
    raise typer.Exit(EXIT_FINDINGS if outcome.errors else EXIT_OK)


@app.command("dupes")
def dupes_cmd(
    project: ProjectArg,
    fmt: FormatOpt = Format.text,
    min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
    limit: Annotated[int, typer.Option("--limit", min=1, help="文本输出中每类最多显示的条数 / rows per section in text output")] = 50,
) -> None:
    """找出各部门重复采集的字段和重叠的报表 / Find fields and reports duplicated across departments."""
    model = _compiled_or_exit(project, fmt)
    result = find_duplicates(model, min_score)
    if fmt is Format.json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        render_dupes(result, model, console(), _lang(), limit)


@app.command("burden")
def burden_cmd(
    project: ProjectArg,
    compare_with: Annotated[
        Path | None,
        typer.Option("--compare", help="与另一项目或 manifest.json 对比（改革前）/ compare with another project or manifest.json (the before state)"),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """测算基层填报负担（报表数、录入项、工时）/ Measure the burden on the grass roots (reports, entries, hours)."""
    from ybt.analyze import burden
    from ybt.emit.manifest import build_manifest

    after = burden.measure(build_manifest(_compiled_or_exit(project, fmt)), display_path(project))
    before = measure_burden(compare_with, fmt) if compare_with is not None else None
    compared = burden.compare(before, after) if before is not None else None
    if fmt is Format.json:
        payload: dict[str, object] = {"burden": after.to_dict()}
        if before is not None:
            payload["before"] = before.to_dict()
            payload["comparison"] = compared
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    render_burden(after, console(), _lang(), compared, before)


@app.command("merge")
def merge_cmd(
    project: ProjectArg,
    plan: Annotated[Path | None, typer.Option("--plan", help="写出待审阅的合并方案 / write a merge plan to review")] = None,
    apply: Annotated[Path | None, typer.Option("--apply", help="执行审阅过的合并方案 / carry out a reviewed plan")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示将改动的文件 / show what would change, write nothing")] = False,
    min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
    fmt: FormatOpt = Format.text,
) -> None:
    """合并重复字段、生成共享台账 / Merge duplicated fields into the catalog and shared ledgers."""
    from ybt import merge

    if (plan is None) == (apply is None):
        _fail_usage("请给出 --plan FILE 或 --apply FILE（二选一）", "give either --plan FILE or --apply FILE")
    model = _compiled_or_exit(project, fmt)
    err = console(stderr=True)
    if plan is not None:
        result = find_duplicates(model, min_score)
        text = merge.dump_plan(merge.build_plan(model, result, display_path(project)))
        atomic.write_text(plan, text)
        data = yaml.safe_load(text)
        n_clusters, n_ledgers, n_views = len(data["clusters"]), len(data["ledgers"]), len(data["derived_reports"])
        zh = f"已写出合并方案：{n_clusters} 组重复字段，{n_ledgers} 个共享台账，{n_views} 张报表改由台账生成"
        en = f"merge plan written: {n_clusters} field clusters, {n_ledgers} shared ledgers, {n_views} reports become views"
        err.print(Text(zh, en).render(_lang(), "\n") if _lang() == "both" else Text(zh, en).render(_lang()), markup=False)
        err.print(f"→ {display_path(plan)}", markup=False)
        return
    assert apply is not None
    try:
        plan_data = yaml.safe_load(apply.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        _fail_usage(f"无法读取合并方案 {display_path(apply)}：{exc}", f"cannot read the merge plan {display_path(apply)}: {exc}")
    if not isinstance(plan_data, dict):
        plan_data = {}
    outcome = merge.apply_plan(model, plan_data, display_path(apply))
    if outcome.diagnostics:
        _emit(outcome.diagnostics, fmt)
        raise typer.Exit(EXIT_FINDINGS)
    if outcome.changed:
        # The edited project must compile before a single file is written.
        check = merge.check_edited(model, outcome.files)
        if not check.ok:
            _emit(list(check.diagnostics), fmt)
            err.print("合并后的规格无法编译，未改动任何文件 / the merged specs would not compile: nothing was changed", markup=False)
            raise typer.Exit(EXIT_FINDINGS)
        if not dry_run:
            merge.write_files(model.root, outcome.files)
    summary_counts = dict(outcome.counts)
    if fmt is Format.json:
        typer.echo(
            json.dumps(
                {"changed": sorted(outcome.files), "created": outcome.created, "counts": summary_counts, "dry_run": dry_run}, ensure_ascii=False, indent=2
            )
        )
        return
    if not outcome.changed:
        err.print("方案已执行过，没有需要改动的内容 / the plan is already applied: nothing to change", markup=False)
        return
    verb = ("将改动", "would change") if dry_run else ("已改动", "changed")
    err.print(
        f"{verb[0]} {len(outcome.files)} 个文件 / {verb[1]} {len(outcome.files)} files: " + ", ".join(f"{k}={v}" for k, v in sorted(summary_counts.items())),
        markup=False,
    )
    for rel in sorted(outcome.files):
        err.print(f"  {'+' if rel in outcome.created else '~'} {rel}", markup=False)


def _emit(diags: list[Diagnostic], fmt: Format) -> None:
    if fmt is Format.json:
        typer.echo(diagnostics_json(diags, ok=False))
    else:
        render_text(diags, console(), _lang())


@app.command("schema")
def schema_cmd(
    kind: Annotated[
        str | None,
        typer.Argument(
            help=f"种类 / kind: {', '.join(schemas.ALL_KINDS)}；缺省为适用于全部规格文件的合并定义 / default: one schema for all",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="写入文件而不是标准输出 / write to a file instead of stdout")] = None,
) -> None:
    """输出规格语言的 JSON Schema，供编辑器校验 / Print the spec language's JSON Schema for editors."""
    if kind is not None and kind not in schemas.ALL_KINDS:
        _fail_usage(
            f"未知的种类 “{kind}”",
            f"unknown kind '{kind}'",
            Text(f"可用：{', '.join(schemas.ALL_KINDS)}", f"available: {', '.join(schemas.ALL_KINDS)}"),
        )
    text = json.dumps(schemas.bundle(kind), ensure_ascii=False, indent=2) + "\n"
    if out is not None:
        atomic.write_text(out, text)
        console(stderr=True).print(f"→ {display_path(out)}", markup=False)
    else:
        sys.stdout.write(text)


@app.command("rule")
def rule_cmd(
    code: Annotated[str | None, typer.Argument(help="规则代码或名称，如 YBT020 / rule code or name, e.g. YBT020", show_default=False)] = None,
    list_all: Annotated[bool, typer.Option("--list", help="列出全部规则 / list every rule")] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """解释一个诊断代码 / Explain a diagnostic code."""
    from ybt.check import rules as _rules  # noqa: F401  (registers the lint rules)

    if list_all or code is None:
        rules = registry.all_rules()
        if fmt is Format.json:
            typer.echo(json.dumps([_rule_dict(r) for r in rules], ensure_ascii=False, indent=2))
            return
        out = console()
        for r in rules:
            out.print(f"{r.code}  {r.name:<22} {r.severity.value:<8} {r.summary.render(_lang())}", markup=False)
        return
    info = registry.get(code)
    if info is None:
        _fail_usage(f"没有规则 “{code}”", f"no rule '{code}'", Text("用 ybt rule --list 查看全部规则", "see ybt rule --list"))
    if fmt is Format.json:
        typer.echo(json.dumps(_rule_dict(info), ensure_ascii=False, indent=2))
        return
    out = console()
    out.print(f"{info.code} {info.name}  ({info.family}, {info.severity.value})", markup=False)
    out.print(info.summary.render(_lang()), markup=False)
    out.print("", markup=False)
    out.print(info.explanation, markup=False)


def _rule_dict(r: registry.RuleInfo) -> dict[str, object]:
    return {
        "code": r.code,
        "name": r.name,
        "family": r.family,
        "severity": r.severity.value,
        "summary": r.summary.to_dict(),
        "explanation": r.explanation,
        "configurable": r.configurable,
    }


# The helpers command plug-ins (ybt.commands.*) use: they share exit codes, languages and errors.
lang = _lang
fail_usage = _fail_usage
compiled_or_exit = _compiled_or_exit
emit_diagnostics = _emit


def _register_plugins() -> None:
    from ybt.commands import register_all

    register_all(app)


_register_plugins()


def main() -> None:
    """Entry point: run the app; turn any unexpected exception into exit 2 without a traceback."""
    try:
        _run()
    except SystemExit as exc:
        _leave(exc.code)
        raise
    _leave(0)


def _leave(code: object) -> None:
    """End the process now, without freeing a province's objects one by one (half a second after
    ``compile --target sql``): the exit handlers run and the output is flushed as on a normal exit.
    Left to the interpreter when another thread still runs or the exit code is not a number."""
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if code is None:
        code = EXIT_OK
    if not isinstance(code, int) or run_exit_handlers is None or threading.active_count() > 1:
        return
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (``ybt … | head``): nothing more can be said
            stream.flush()
    os._exit(code)


def _run() -> None:
    _state["process"] = "ybt"
    try:
        app()
    except YbtError as exc:
        render_text([exc.diagnostic], console(stderr=True), _lang())
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence, see module docstring
        if os.environ.get("YBT_DEBUG"):
            traceback.print_exc()
        diag = Diagnostic(
            "YBT000",
            Severity.ERROR,
            Text(f"ybt 内部错误：{type(exc).__name__}: {exc}", f"internal error in ybt: {type(exc).__name__}: {exc}"),
            Location("ybt"),
            Text(
                "这是 ybt 的缺陷，不是你的规格的问题；设置 YBT_DEBUG=1 重新运行可看到详细信息，并请报告",
                "this is a bug in ybt, not in your specs; rerun with YBT_DEBUG=1 for details and please report it",
            ),
        )
        render_text([diag], console(stderr=True), _lang())
        sys.exit(EXIT_USAGE)


__all__ = ["TodayOpt", "app", "compiled_or_exit", "console", "emit_diagnostics", "fail_usage", "lang", "main", "parse_today", "summary"]
