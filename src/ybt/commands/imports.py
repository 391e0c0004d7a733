"""``ybt import xlsx`` and ``ybt import dhis2``: legacy forms and DHIS2 metadata become a draft spec project."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ybt.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Format, FormatOpt, fail_usage, lang
from ybt.diagnostics import Diagnostic, Location, Severity, Text
from ybt.importers import ImportFailure
from ybt.load import display_path
from ybt.render import console, render_text

import_app = typer.Typer(
    name="import",
    help="把旧表（Excel）和 DHIS2 元数据导入为规格草稿 / Import legacy Excel forms and DHIS2 metadata as a draft spec project.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="草稿项目目录 / directory of the draft project", show_default=False)]
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def _failure_diag(f: ImportFailure) -> Diagnostic:
    return Diagnostic("YBT000", Severity.ERROR, f.text, Location(f.file), f.hint)


def _expand(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in suffixes and not q.name.startswith(("~$", "."))))
        else:
            out.append(p)
    return out


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        fail_usage(f"--out 不是目录：{display_path(out)}", f"--out is not a directory: {display_path(out)}")
    if out.is_dir() and (out / "ybt.yaml").exists() and not (out / "import-report.json").exists():
        fail_usage(
            f"{display_path(out)} 已经是一个规格项目，导入不会覆盖它",
            f"{display_path(out)} already holds a spec project; the import will not overwrite it",
            Text("请换一个 --out 目录；要对照已有项目请用 --catalog", "pick another --out directory; use --catalog to map onto an existing project"),
        )


def _print_failures(failures: list[ImportFailure]) -> None:
    if failures:
        render_text([_failure_diag(f) for f in failures], console(stderr=True), lang())


@import_app.command("xlsx")
def xlsx_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Excel 文件或目录 / Excel files or directories", show_default=False)],
    out: OutOpt,
    catalog: Annotated[Path | None, typer.Option("--catalog", help="先对照此项目的字段目录 / map onto this project's catalog first")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """导入旧 Excel 报表：识别表头、栏目和类型，合并同义栏目，写出规格草稿 / Import legacy Excel forms as a draft spec project."""
    from ybt.importers.draft import write_draft
    from ybt.importers.mapping import map_columns
    from ybt.importers.xlsx import Form, SkippedSheet, read_workbook

    _check_out(out)
    if catalog is not None and not (catalog / "ybt.yaml").is_file():
        fail_usage(
            f"--catalog 不是规格项目（缺少 ybt.yaml）：{display_path(catalog)}", f"--catalog is not a spec project (no ybt.yaml): {display_path(catalog)}"
        )
    files = _expand(paths, EXCEL_SUFFIXES)
    if not files:
        fail_usage("没有找到 Excel 文件", "no Excel files found", Text("给出 .xlsx 文件或含有它们的目录", "give .xlsx files or directories holding them"))
    started = time.perf_counter()
    forms: list[Form] = []
    skipped: list[SkippedSheet] = []
    failures: list[ImportFailure] = []
    names: dict[str, int] = {}
    for path in files:
        if not path.is_file():
            failures.append(ImportFailure(str(path), Text("文件不存在", "no such file")))
            continue
        display = path.name if names.setdefault(path.name, 0) == 0 else display_path(path)
        names[path.name] += 1
        try:
            wb = read_workbook(path, display)
        except ImportFailure as exc:
            exc.file = display_path(path)
            failures.append(exc)
            continue
        forms.extend(wb.forms)
        skipped.extend(wb.skipped)
    _print_failures(failures)
    if not forms:
        if not failures:
            fail_usage("没有在这些工作簿中找到任何表单", "no forms found in these workbooks")
        raise typer.Exit(EXIT_USAGE)
    try:
        mapping = map_columns(forms, catalog)
    except ValueError as exc:
        fail_usage(f"无法编译 --catalog 项目：{exc}", f"the --catalog project does not compile: {exc}")
    failure_dicts = [{"file": f.file, "zh": f.text.zh, "en": f.text.en} for f in failures]
    report = write_draft(out, forms, mapping, skipped, failure_dicts, catalog)
    elapsed = time.perf_counter() - started
    _finish(report, fmt, out, elapsed, failures)


def _finish(report: dict[str, Any], fmt: Format, out: Path, elapsed: float, failures: list[ImportFailure]) -> None:
    if fmt is Format.json:
        payload = {"forms": report["forms"], "out": display_path(out), "seconds": round(elapsed, 3), **{k: v for k, v in report.items() if k != "forms"}}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        s = report["stats"]
        err = console(stderr=True)
        zh = (
            f"已导入 {s['forms']} 张表、{s['columns']} 个栏目：沿用已有字段 {s.get('catalog_fields_used', 0)} 个，"
            f"新字段 {s.get('new_fields', 0)} 个，待核对 {len(report['uncertain'])} 处"
        )
        en = (
            f"imported {s['forms']} forms, {s['columns']} columns: {s.get('catalog_fields_used', 0)} existing fields used, "
            f"{s.get('new_fields', 0)} new fields, {len(report['uncertain'])} things to review"
        )
        err.print(Text(zh, en).render(lang(), "\n"), markup=False)
        err.print(f"→ {display_path(out)} （{display_path(out / 'import-report.md')}） {elapsed:.1f}s", markup=False)
    raise typer.Exit(EXIT_FINDINGS if failures else EXIT_OK)


@import_app.command("dhis2")
def dhis2_cmd(
    paths: Annotated[list[Path], typer.Argument(help="DHIS2 元数据 JSON 文件或目录 / DHIS2 metadata JSON files or directories", show_default=False)],
    out: OutOpt,
    fmt: FormatOpt = Format.text,
) -> None:
    """导入 DHIS2 元数据包：数据元→字段，数据集→汇总表 / Import DHIS2 metadata packages as a draft spec project."""
    from ybt.importers.dhis2 import import_packages

    _check_out(out)
    files = _expand(paths, (".json",))
    if not files:
        fail_usage("没有找到 DHIS2 元数据文件（.json）", "no DHIS2 metadata files (.json) found")
    started = time.perf_counter()
    failures: list[ImportFailure] = []
    report = import_packages(files, out, failures)
    _print_failures(failures)
    if not report["packages"]:
        raise typer.Exit(EXIT_USAGE)
    elapsed = time.perf_counter() - started
    if fmt is Format.json:
        typer.echo(json.dumps({"out": display_path(out), "seconds": round(elapsed, 3), **report}, ensure_ascii=False, indent=2))
    else:
        s = report["stats"]
        zh = (
            f"已导入 {len(report['packages'])} 个元数据包：{s['fields']} 个字段，{s['codelists']} 个代码表，{s['reports']} 张报表，"
            f"{s['indicators']} 个指标，{s['validation_rules']} 条校验规则"
        )
        en = (
            f"imported {len(report['packages'])} packages: {s['fields']} fields, {s['codelists']} codelists, {s['reports']} reports, "
            f"{s['indicators']} indicators, {s['validation_rules']} validation rules"
        )
        err = console(stderr=True)
        err.print(Text(zh, en).render(lang(), "\n"), markup=False)
        err.print(f"→ {display_path(out)} {elapsed:.1f}s", markup=False)
    raise typer.Exit(EXIT_FINDINGS if failures else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
