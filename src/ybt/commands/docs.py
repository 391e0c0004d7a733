"""``ybt docs``: render the static catalog and report portal of a spec project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ybt import atomic
from ybt.cli import EXIT_OK, Format, ProjectArg, TodayOpt, compiled_or_exit, lang, measure_burden, parse_today
from ybt.load import display_path
from ybt.render import console


def docs_cmd(
    project: ProjectArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="输出目录，缺省为 PROJECT/target/docs / output directory (default PROJECT/target/docs)")
    ] = None,
    single_file: Annotated[
        bool, typer.Option("--single-file", help="只写一个自包含的 index.html（页内跳转）/ write one self-contained index.html (hash routing)")
    ] = False,
    compare_with: Annotated[
        Path | None,
        typer.Option("--compare", help="负担图与另一项目或 manifest.json 对比（改革前）/ compare the burden with another project or manifest.json"),
    ] = None,
    today: TodayOpt = None,
) -> None:
    """生成字段目录与报表门户（静态网页，离线可用）/ Build the static field catalog and report portal (works offline, from file://)."""
    from ybt.portal import PortalOptions, build_site

    as_of = parse_today(today)
    model = compiled_or_exit(project, Format.text)
    before = measure_burden(compare_with, Format.text) if compare_with is not None else None
    files, stats = build_site(model, PortalOptions(single_file=single_file, compare=before, today=as_of))
    out_dir = out if out is not None else project / "target" / "docs"
    previous = _written_before(out_dir)
    n_files = len(files)
    files[LISTING] = (json.dumps(sorted(files), ensure_ascii=False, indent=0) + "\n").encode("utf-8")
    atomic.write_tree(out_dir, files)
    for rel in sorted(previous - set(files)):
        # Pages of objects that are gone: only files an earlier ybt docs wrote here are removed.
        stale = out_dir / rel
        stale.unlink(missing_ok=True)
        if stale.parent != out_dir and not any(stale.parent.iterdir()):
            stale.parent.rmdir()
    err = console(stderr=True)
    size = f"{stats.bytes / 1024 / 1024:.1f} MB"
    zh = f"已生成门户：{stats.pages} 页，{n_files} 个文件，{size}，用时 {stats.seconds:.1f} 秒"
    en = f"portal written: {stats.pages} pages, {n_files} files, {size}, {stats.seconds:.1f} s"
    err.print(zh if lang() == "zh" else en if lang() == "en" else f"{zh}\n{en}", markup=False)
    err.print(f"→ {display_path(out_dir / 'index.html')}", markup=False)
    if single_file and stats.bytes > SINGLE_FILE_WARN:
        zh = "单文件较大，浏览器打开会慢；大项目请去掉 --single-file，生成按页拆分的目录"
        en = "the single file is large and slow to open; for a project this size leave out --single-file to get a folder of pages"
        err.print(zh if lang() == "zh" else en if lang() == "en" else f"{zh} / {en}", markup=False)
    raise typer.Exit(EXIT_OK)


#: Above this size a single-file portal is slow to open: say so and suggest a folder of pages.
SINGLE_FILE_WARN = 40 * 1024 * 1024

#: The files the last run wrote, so that the next run can remove pages of objects that are gone.
LISTING = ".ybt-docs-files.json"


def _written_before(out_dir: Path) -> set[str]:
    try:
        names = json.loads((out_dir / LISTING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    root = out_dir.resolve()
    out = set()
    for name in names if isinstance(names, list) else []:
        if isinstance(name, str) and root in (out_dir / name).resolve().parents:
            out.add(name)
    return out


def register(app: typer.Typer) -> None:
    app.command("docs")(docs_cmd)
