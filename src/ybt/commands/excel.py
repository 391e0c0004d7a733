"""``ybt template`` / ``ybt ingest`` / ``ybt export``: the Excel loop 发填审报 (issue 7). See docs/excel.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ybt.cli import EXIT_FINDINGS, EXIT_OK, Format, FormatOpt, ProjectArg, compiled_or_exit, fail_usage, lang
from ybt.diagnostics import Text
from ybt.excel import rules as _rules  # noqa: F401  (registers YBT701–YBT706 for ybt rule)
from ybt.load import display_path
from ybt.render import console, render_text

DbOpt = Annotated[str, typer.Option("--db", help="数据池地址 / pool URL: sqlite:///FILE, duckdb:///FILE, postgresql://user@host:port/db", show_default=False)]


def _say(zh: str, en: str) -> None:
    t = Text(zh, en)
    console(stderr=True).print(t.render(lang(), "\n") if lang() == "both" else t.render(lang()), markup=False)


def template_cmd(
    project: ProjectArg,
    forms: Annotated[list[str] | None, typer.Argument(help="台账或报表（ns.id）；缺省时用 --all / ledgers or collected reports", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 / output directory")] = Path("templates"),
    all_: Annotated[bool, typer.Option("--all", help="所有台账和采集类报表 / every ledger and collected report")] = False,
    org: Annotated[str | None, typer.Option("--org", help="填报单位代码；缺省时模板第一列选择单位 / organisation unit code")] = None,
    period: Annotated[str | None, typer.Option("--period", help="报表期别，缺省为当期 / report period (default: the current one)")] = None,
    prefill: Annotated[bool, typer.Option("--prefill", help="用数据池中该单位已有的数据预填 / prefill the unit's rows from the pool")] = False,
    db: Annotated[str | None, typer.Option("--db", help="数据池地址（--prefill 用）/ pool URL for --prefill")] = None,
) -> None:
    """生成可填报的 Excel 模板 / Write fillable Excel templates (one .xlsx per form)."""
    from ybt.excel.forms import default_period, find_form, forms_of
    from ybt.excel.prefill import prefill_count, prefill_rows, source_period
    from ybt.excel.template import write_template
    from ybt.sql.pool import PoolError

    model = compiled_or_exit(project, Format.text)
    if prefill and not db:
        fail_usage("--prefill 需要 --db 数据池地址", "--prefill needs --db URL")
    if org is not None and org not in model.org_units:
        fail_usage(f"组织机构中没有单位 {org}", f"no organisation unit {org}")
    if not forms and not all_:
        fail_usage("请指定台账或报表，或用 --all", "name ledgers or reports, or use --all")
    chosen = list(forms_of(model).values()) if all_ else []
    for ref in forms or []:
        form, why = find_form(model, ref)
        if form is None:
            if why == "derived":
                fail_usage(
                    f"“{ref}”是从台账生成的报表，不需要填报模板：请为它的来源台账生成模板，报表用 ybt export 导出",
                    f"'{ref}' is derived from ledgers and needs no template: make templates for its source ledgers and use ybt export for the report",
                )
            if why and why.startswith("ambiguous:"):
                fail_usage(f"“{ref}”有多个同名对象：{why[10:]}，请写成 ns.id", f"'{ref}' is ambiguous: {why[10:]}; write ns.id")
            fail_usage(f"没有台账或报表“{ref}”", f"no ledger or report '{ref}'")
        chosen.append(form)
    written = []
    for form in chosen:
        p = period or (default_period(form.frequency) if form.periodic else None)
        rows: Any = ()
        total: int | None = None
        if prefill and db:
            try:
                src = source_period(db, form, org, p)
                total = prefill_count(db, form, org, src)
                rows = prefill_rows(db, form, org, src)
            except PoolError as exc:
                fail_usage(str(exc), str(exc))
            if src != p:
                _say(f"{form.qualified}：本期尚无数据，按上期 {src} 预填", f"{form.qualified}: nothing for {p} yet, prefilled from {src}")
        name = form.qualified + (f".{org}" if org else "") + (f".{p}" if p else "") + ".xlsx"
        written.append(write_template(model, form, out / name, org=org, period=p, rows=rows, total=total, lang=lang()))
    for path in written:
        console(stderr=True).print(f"  + {display_path(path)}", markup=False)
    _say(f"已生成 {len(written)} 个模板 → {display_path(out)}", f"{len(written)} templates written → {display_path(out)}")


def ingest_cmd(
    files: Annotated[list[Path], typer.Argument(help="填好的模板 / filled templates (.xlsx)", show_default=False)],
    db: DbOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不写入 / check only, write nothing")] = False,
    who: Annotated[str | None, typer.Option("--by", help="记入历史的导入人，缺省为当前用户 / who ingests (for the history)")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """检查填好的模板并导入数据池（全部无误才写入）/ Check filled templates and load them into the pool."""
    from ybt.excel.ingest import ingest
    from ybt.sql.pool import PoolError

    missing = [f for f in files if not f.is_file()]
    if missing:
        fail_usage(f"找不到文件：{', '.join(map(str, missing))}", f"no such file: {', '.join(map(str, missing))}")
    try:
        results = ingest(files, db, dry_run=dry_run, who=who, display={f: display_path(f) for f in files}, lang=lang())
    except PoolError as exc:
        fail_usage(str(exc), str(exc))
    ok = all(r.ok for r in results)
    if fmt is Format.json:
        typer.echo(json.dumps({"ok": ok, "dry_run": dry_run, "files": [r.to_dict() for r in results]}, ensure_ascii=False, indent=2))
    else:
        diags = [d for r in results for d in r.diagnostics]
        if diags:
            render_text(diags, console(), lang())
        for r in results:
            if r.ok:
                verb_zh, verb_en = ("检查通过（未写入）", "checked (dry run)") if dry_run else ("已导入", "ingested")
                _say(
                    f"{r.file}：{verb_zh} {r.rows} 行 → {r.table}（新增 {r.inserted}，更新 {r.updated}，删除 {r.deleted}，未变 {r.unchanged}）",
                    f"{r.file}: {verb_en} {r.rows} rows → {r.table} ({r.inserted} new, {r.updated} updated, {r.deleted} deleted, {r.unchanged} unchanged)",
                )
            else:
                _say(
                    f"{r.file}：{len(r.diagnostics)} 个问题，未写入任何数据",
                    f"{r.file}: {len(r.diagnostics)} problems, nothing written",
                )
    raise typer.Exit(EXIT_OK if ok else EXIT_FINDINGS)


def export_cmd(
    project: ProjectArg,
    report: Annotated[str, typer.Argument(help="报表（部门.表号）/ report (dept.id)", show_default=False)],
    db: DbOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="输出文件 .xlsx 或 .csv / output file", show_default=False)],
    period: Annotated[str | None, typer.Option("--period", help="期别 / period")] = None,
    org: Annotated[str | None, typer.Option("--org", help="只导出该单位及其下级 / only this unit and the units under it")] = None,
    as_dept: Annotated[str | None, typer.Option("--as", help="以哪个部门的身份取数（决定敏感栏目是否脱敏）/ the department reading it")] = None,
) -> None:
    """从数据池一键生成部门报表 / Produce a department's report from the pool (xlsx or csv)."""
    from ybt.excel.export import ExportError, export
    from ybt.sql.pool import PoolError

    if out.suffix.lower() not in (".xlsx", ".csv"):
        fail_usage("--out 应以 .xlsx 或 .csv 结尾", "--out must end in .xlsx or .csv")
    model = compiled_or_exit(project, Format.text)
    try:
        res = export(model, db, report, out, period=period, org=org, as_dept=as_dept, lang=lang())
    except ExportError as exc:
        fail_usage(exc.zh, exc.en)
    except PoolError as exc:
        fail_usage(str(exc), str(exc))
    masked_zh = f"，已脱敏：{'、'.join(res.masked)}" if res.masked else ""
    masked_en = f", masked: {', '.join(res.masked)}" if res.masked else ""
    _say(
        f"已导出 {res.rows} 行（{res.view}{masked_zh}）→ {display_path(res.path)}",
        f"{res.rows} rows exported ({res.view}{masked_en}) → {display_path(res.path)}",
    )
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("template")(template_cmd)
    app.command("ingest")(ingest_cmd)
    app.command("export")(export_cmd)


__all__ = ["EXIT_FINDINGS", "register"]
