"""The incremental check: every fast result must equal a full check of the same files."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ybt.check.engine import CheckOptions
from ybt.check.incremental import Outcome, cache_path, check_project

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "qingxi"
TODAY = date(2026, 11, 23)
REPORT = Path("departments/mz/reports/csdb_hmc.yaml")


def _options(root: Path, today: date = TODAY) -> CheckOptions:
    return CheckOptions(today=today, baseline=root / "ybt-baseline.json")


def _run(root: Path, cache: bool = True, today: date = TODAY) -> Outcome:
    return check_project(root, _options(root, today), use_cache=cache)


def _findings(o: Outcome) -> list[tuple[object, ...]]:
    assert o.result is not None
    return [(d.code, d.severity, str(d.location), d.message.en, d.hint.en if d.hint else None, d.object_id) for d in o.result.findings]


def _same_as_full(root: Path, fast: Outcome) -> None:
    full = _run(root, cache=False)
    assert _findings(fast) == _findings(full)
    assert fast.result is not None and full.result is not None
    assert (fast.result.suppressed, fast.result.baselined, fast.result.fixed) == (full.result.suppressed, full.result.baselined, full.result.fixed)


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("YBT_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "qingxi"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target", ".ybt"))
    first = _run(root)
    assert first.stats.mode == "full" and cache_path(root).is_file()
    return root


def test_unchanged_project_uses_the_cache(project: Path) -> None:
    again = _run(project)
    assert again.stats.mode == "unchanged"
    _same_as_full(project, again)
    assert not (project / ".ybt").exists()  # nothing is written into the spec repository


def test_editing_one_report_rechecks_only_it(project: Path) -> None:
    path = project / REPORT
    text = path.read_text(encoding="utf-8")
    # Drop the admission record: YBT101 must appear for this report, exactly as a full check says.
    path.write_text(text[: text.index("admission:")] + text[text.index("status: active") :], encoding="utf-8")
    fast = _run(project)
    assert fast.stats.mode == "reports", fast.stats
    assert ("YBT101", "report.mz.csdb_hmc") in {(c[0], c[5]) for c in _findings(fast)}
    assert fast.stats.changed_files == [REPORT.as_posix()]
    _same_as_full(project, fast)


def test_title_edit_and_a_new_duplicate_report(project: Path) -> None:
    path = project / REPORT
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: 修订后的", 1), encoding="utf-8")
    copy = project / "departments" / "mz" / "reports" / "csdb_hmc_copy.yaml"
    text = path.read_text(encoding="utf-8").replace("id: csdb_hmc", "id: csdb_hmc_copy", 1)
    copy.write_text(text, encoding="utf-8")
    fast = _run(project)
    assert fast.stats.mode == "reports", fast.stats
    codes = {c for c, *_ in _findings(fast)}
    assert "YBT106" in codes  # the copy duplicates the admitted report
    _same_as_full(project, fast)
    # deleting the copy again: still the answer of a full check
    copy.unlink()
    back = _run(project)
    assert back.stats.mode == "reports"
    _same_as_full(project, back)


def test_the_cache_refreshed_by_an_incremental_run_is_the_one_a_full_run_leaves(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ybt.check.incremental as inc

    monkeypatch.setattr(inc, "REFRESH_AFTER", 1)  # write the cache after every incremental run
    path = project / REPORT
    original = path.read_text(encoding="utf-8")
    copy = project / "departments" / "mz" / "reports" / "csdb_hmc_copy.yaml"
    copy.write_text(original.replace("id: csdb_hmc", "id: csdb_hmc_copy", 1), encoding="utf-8")
    assert _run(project).stats.mode == "reports"
    path.write_text(original.replace("title: ", "title: 又改了的", 1), encoding="utf-8")
    second = _run(project)  # against the cache the first incremental run wrote
    assert second.stats.mode == "reports" and second.stats.changed_files == [REPORT.as_posix()]
    _same_as_full(project, second)
    copy.unlink()
    path.write_text(original, encoding="utf-8")
    third = _run(project)
    assert third.stats.mode == "reports"
    _same_as_full(project, third)


@pytest.mark.parametrize("refresh_after", [8, 1])
def test_frequency_changes_update_the_conflicts_as_a_full_check_does(project: Path, monkeypatch: pytest.MonkeyPatch, refresh_after: int) -> None:
    """Moving a report between frequencies makes and unmakes frequency conflicts (YBT204): the fast
    path updates the cached conflicts and may read every report only for a field newly in conflict.
    With ``refresh_after=1`` every step starts from the cache the step before wrote."""
    import ybt.check.incremental as inc

    monkeypatch.setattr(inc, "REFRESH_AFTER", refresh_after)
    path = project / REPORT
    original = path.read_text(encoding="utf-8")
    assert "frequency: quarterly" in original

    def conflicts(o: Outcome) -> set[tuple[object, ...]]:
        return {(c[3], c[5]) for c in _findings(o) if c[0] == "YBT204"}

    seen = [conflicts(_run(project, cache=False))]
    for frequency in ("daily", "monthly", "annual", "daily", "quarterly"):
        path.write_text(original.replace("frequency: quarterly", f"frequency: {frequency}", 1), encoding="utf-8")
        fast = _run(project)
        # back to the text the cache was made from, nothing differs (unless a refreshed cache holds the step before)
        assert fast.stats.mode == ("unchanged" if frequency == "quarterly" and refresh_after > 1 else "reports"), fast.stats
        _same_as_full(project, fast)
        seen.append(conflicts(fast))
    assert seen[-1] == seen[0]  # back where it started
    assert len({frozenset(s) for s in seen}) >= 3  # the conflicts did move with the frequency


def test_lines_moved_without_new_columns_keep_overlaps_but_move_findings(project: Path) -> None:
    """Comment lines added above the columns move every position in the file but leave its columns,
    overlaps and conflicts as they were: the fast path keeps those and still points the frequency-
    conflict findings (YBT204) at the new lines."""
    path = project / "departments" / "cl" / "reports" / "zdcjr_hlbt_ffhmc.yaml"
    before = _findings(_run(project, cache=False))
    path.write_text("# 说明一\n# 说明二\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    fast = _run(project)
    assert fast.stats.mode == "reports", fast.stats
    _same_as_full(project, fast)

    def lines(found: list[tuple[object, ...]]) -> list[int]:
        return sorted(int(str(c[2]).split(":")[-2]) for c in found if c[0] == "YBT204" and str(c[5]).startswith("report.cl.zdcjr_hlbt_ffhmc#"))

    assert len(lines(before)) == 5
    assert lines(_findings(fast)) == [n + 2 for n in lines(before)]  # every one two lines further down


def test_a_field_no_report_asked_can_come_into_conflict(project: Path) -> None:
    """``mz.gyfs`` is asked by no collected report: two new reports asking it monthly and annually put it
    in conflict, which only reading every report's facts can show."""
    path = project / REPORT
    original = path.read_text(encoding="utf-8")
    for new_id, frequency in (("hh_a", "monthly"), ("hh_b", "annual")):
        text = original.replace("id: csdb_hmc", f"id: {new_id}", 1).replace("frequency: quarterly", f"frequency: {frequency}", 1)
        text = text.replace("  - {field: sprq, label: 批准日期}", "  - {field: sprq, label: 批准日期}\n  - {field: mz.gyfs}", 1)
        (path.parent / f"{new_id}.yaml").write_text(text, encoding="utf-8")
    fast = _run(project)
    assert fast.stats.mode == "reports", fast.stats
    assert any(c[0] == "YBT204" and str(c[5]).endswith("#field.mz.gyfs") for c in _findings(fast))
    _same_as_full(project, fast)


def test_catalog_change_takes_the_full_path(project: Path) -> None:
    fields = project / "catalog" / "fields.yaml"
    fields.write_text(fields.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    again = _run(project)
    assert again.stats.mode == "full" and "holds more than reports" in again.stats.reason
    _same_as_full(project, again)


def test_broken_report_falls_back_and_reports_the_error(project: Path) -> None:
    path = project / REPORT
    path.write_text(path.read_text(encoding="utf-8") + "\nextra: [unclosed\n", encoding="utf-8")
    again = _run(project)
    assert again.result is None and again.compile is not None
    assert any(d.location is not None and d.location.file.endswith(REPORT.as_posix()) for d in again.compile.diagnostics)


@pytest.mark.parametrize("damage", [b"", b"not a cache", b"ybt-check-cache\ngarbage", b"\x80\x05garbage"])
def test_corrupt_cache_is_ignored_not_trusted(project: Path, damage: bytes) -> None:
    cache_path(project).write_bytes(damage)
    again = _run(project)
    assert again.stats.mode == "full" and again.stats.reason == "no usable cache"
    _same_as_full(project, again)
    assert cache_path(project).read_bytes().startswith(b"ybt-check-cache")  # rewritten
    assert _run(project).stats.mode == "unchanged"


@pytest.mark.parametrize(
    "part", ["skeleton", "usage", "findings", "per_report", "documents", "catalog", "catalog.own_fields", "states", "reports", "reports.columns"]
)
def test_a_damaged_part_of_a_well_formed_cache_is_not_trusted(project: Path, part: str) -> None:
    """A cache whose envelope reads but one of whose parts does not (written by another build, or
    damaged on disk) gives the full check's answer, never a traceback."""
    import marshal

    import ybt.check.incremental as inc

    raw = cache_path(project).read_bytes()
    data = marshal.loads(raw[len(inc._MAGIC) :])
    if part == "reports.columns":  # the edited report's columns, kept marshalled until read
        data["reports"]["report.mz.csdb_hmc"] = b"\x80\x05 not what was written"
    elif part.startswith("catalog."):  # one of the catalog facts kept marshalled until read
        catalog = list(data["catalog"])
        catalog[inc._CATALOG_FIELDS.index(part.split(".")[1])] = b"\x80\x05 not what was written"
        data["catalog"] = tuple(catalog)
    else:
        data[part] = b"\x80\x05 not what was written"
    cache_path(project).write_bytes(inc._MAGIC + marshal.dumps(data))
    path = project / REPORT
    # a new title and one column fewer: the change moves usage counts, so every lazy part is read
    text = path.read_text(encoding="utf-8").replace("title: ", "title: 改过的", 1).replace("  - {field: sprq, label: 批准日期}\n", "", 1)
    path.write_text(text, encoding="utf-8")
    again = _run(project)
    assert again.stats.reason == "no usable cache"
    _same_as_full(project, again)


def test_other_options_or_version_miss_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(project, today=date(2027, 6, 1)).stats.mode == "full"
    import ybt.check.incremental as inc

    monkeypatch.setattr(inc, "__version__", "999.0")
    assert _run(project).stats.mode == "full"


def test_the_cache_sees_the_files_load_sees(project: Path) -> None:
    text = (project / REPORT).read_text(encoding="utf-8")
    # Not spec files: hidden directories, build output, hidden files.
    for rel in (".drafts/x.yaml", "target/x.yaml", "node_modules/x.yaml", "departments/mz/.x.yaml"):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text.replace("id: csdb_hmc", "id: ignored_copy", 1), encoding="utf-8")
    assert _run(project).stats.mode == "unchanged"
    # A spec file: a .yml report in a new folder.
    (project / "departments" / "mz" / "more").mkdir()
    (project / "departments" / "mz" / "more" / "copy.yml").write_text(text.replace("id: csdb_hmc", "id: yml_copy", 1), encoding="utf-8")
    fast = _run(project)
    assert fast.stats.mode == "reports" and fast.stats.changed_files == ["departments/mz/more/copy.yml"]
    _same_as_full(project, fast)


def test_cached_project_file_positions_are_read_back_when_asked(project: Path) -> None:
    import marshal

    import ybt.check.incremental as inc
    from ybt.load import env_limits
    from ybt.pipeline import compile_project

    cache = inc._read_cache(cache_path(project), inc._key(_options(project), env_limits()))
    assert cache is not None
    skeleton = inc._unpickle(cache.skeleton)
    full = compile_project(project).project
    assert full is not None
    for dept_id, dept in full.departments.items():
        assert skeleton.departments[dept_id].location == dept.location
        assert skeleton.departments[dept_id].doc.data is skeleton.doc.data  # marshalled once, shared as before
    # the organisation tree is kept beside the skeleton and rebuilt into the same org units when asked for
    assert "org" not in skeleton.doc.data and {**skeleton.doc.data, "org": marshal.loads(cache.org)} == full.doc.data
    from ybt.diagnostics import Diagnostics

    rebuilt = inc._catalog(skeleton, cache, Diagnostics()).project
    assert dict(rebuilt.org_units) == dict(full.org_units) and len(full.org_units) == 26
    assert skeleton.doc.loc(("org", "children", 0, "name")) == full.doc.loc(("org", "children", 0, "name"))


def test_no_home_directory_checks_without_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "qingxi"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target", ".ybt"))
    for name in ("YBT_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    out = _run(root)
    assert out.result is not None and out.stats.mode == "full"
    _same_as_full(root, out)


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="the second process is forked, which ybt does on Linux only")
def test_a_cache_built_beside_the_duplicate_analysis_is_the_one_built_in_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large project's duplicate analysis, part of its cache, comes from a forked child: the cache holds
    what the one-process cache holds, also when that child dies, and serves warm runs."""
    import marshal
    import os

    from ybt import fork
    from ybt.check import rules

    monkeypatch.setenv("YBT_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "qingxi"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target", ".ybt"))

    def unpacked(v: Any) -> Any:
        if isinstance(v, bytes):
            return unpacked(marshal.loads(v))
        if isinstance(v, dict):
            return {k: unpacked(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(unpacked(x) for x in v)
        return v

    def cached() -> dict[str, object]:
        """The cache file's content, its marshalled parts read too, all the way down (marshal's bytes
        differ with reference counts)."""
        raw = cache_path(root).read_bytes()
        data = marshal.loads(raw[raw.index(b"\n") + 1 :])
        parts = ("objects", "documents", "docs", "signatures", "usage_sensitive", "usage", "starts", "org", "reports")
        return {k: unpacked(v) if k in parts else v for k, v in data.items()}

    monkeypatch.setattr(fork, "jobs", lambda: 1)
    assert _run(root).stats.mode == "full"
    one = cached()
    monkeypatch.setattr(fork, "jobs", lambda: 2)
    monkeypatch.setattr(fork, "MIN_ITEMS", 1)
    cache_path(root).unlink()
    assert _run(root).stats.mode == "full"
    assert cached() == one
    parent, real_find = os.getpid(), rules.find_duplicates

    def dies_in_the_child(p: object) -> object:
        if os.getpid() != parent:
            os._exit(3)
        return real_find(p)  # type: ignore[arg-type]

    monkeypatch.setattr(rules, "find_duplicates", dies_in_the_child)
    cache_path(root).unlink()
    assert _run(root).stats.mode == "full"
    assert cached() == one
    path = root / REPORT
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: 修订后的", 1), encoding="utf-8")
    fast = _run(root)
    assert fast.stats.mode == "reports"
    _same_as_full(root, fast)


def test_cached_frequency_conflicts_read_back_one_by_one_are_the_analysis_conflicts() -> None:
    """The cache keeps each frequency conflict marshalled under its field and reads only those asked for;
    read back, in any way, they are the duplicate analysis's conflicts in its order."""
    import marshal

    from ybt.analyze.dupes import find_duplicates
    from ybt.check import incremental as inc
    from ybt.pipeline import compile_project

    project = compile_project(EXAMPLE).project
    assert project is not None
    conflicts = find_duplicates(project).frequency_conflicts
    assert len(conflicts) >= 2  # the example district asks some fields at two frequencies
    lazy = inc._Conflicts(marshal.loads(marshal.dumps(inc._encoded_conflicts(conflicts))))  # as a cache file holds them
    assert inc._conflict_fields(lazy) == [c.field for c in conflicts]
    last = conflicts[-1].field
    assert inc._conflicts_of(lazy, {last}) == {last: conflicts[-1]}
    assert list(lazy._read) == [last]  # only that one was read
    assert list(lazy) == list(conflicts) and len(lazy) == len(conflicts)
    assert lazy[0] == conflicts[0] and lazy[1:] == list(conflicts[1:])
    assert inc._encoded_conflicts(lazy) is lazy.encoded  # written back as it was read


def test_usage_findings_are_reused_until_a_changed_report_moves_its_references(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """YBT301/302 read only the catalog and which fields the reports refer to: a title edit reuses
    their cached findings, a new reference to an unused field runs them again."""
    from ybt.check import rules

    calls: list[str] = []
    for code in ("YBT301", "YBT302"):
        impl = rules.RULES[code]

        def counted(fn: Any, code: str = code) -> Any:
            def run(*args: Any) -> Any:
                calls.append(code)
                return fn(*args)

            return run

        parts = tuple(rules.Part(p.scope, counted(p.fn), p.over, p.late) for p in impl.parts)
        monkeypatch.setitem(rules.RULES, code, rules.RuleImpl(impl.info, parts))
    path = project / REPORT
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: ", "title: 修订后的", 1), encoding="utf-8")
    fast = _run(project)
    assert fast.stats.mode == "reports" and calls == []
    assert ("YBT301", "field.ga.hh") in {(c[0], c[5]) for c in _findings(fast)}
    _same_as_full(project, fast)
    calls.clear()
    path.write_text(text.replace("  - {field: jtzz}\n", "  - {field: jtzz}\n  - {field: ga.hh}\n", 1), encoding="utf-8")
    fast = _run(project)
    assert fast.stats.mode == "reports" and sorted(set(calls)) == ["YBT301", "YBT302"]
    assert ("YBT301", "field.ga.hh") not in {(c[0], c[5]) for c in _findings(fast)}
    _same_as_full(project, fast)


def test_a_changed_library_file_takes_the_full_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Library files are compared by size and time like the project's own, and read again when those
    moved: a library edit is never served from the cache."""
    from ybt import _resources

    specs = tmp_path / "specs"
    shutil.copytree(_resources.specs_dir(), specs)
    monkeypatch.setattr(_resources, "specs_dir", lambda: specs)
    monkeypatch.setenv("YBT_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "qingxi"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target", ".ybt"))
    assert _run(root).stats.mode == "full"
    assert _run(root).stats.mode == "unchanged"  # this run records the files' sizes and times
    library_file = next((specs / "std").rglob("*.yaml"))
    library_file.write_text(library_file.read_text(encoding="utf-8") + "\n# 改过\n", encoding="utf-8")
    again = _run(root)
    assert again.stats.mode == "full" and again.stats.reason == "a library file changed"
    _same_as_full(root, again)


def test_a_title_edit_reads_the_columns_of_few_reports(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules that scan every report read the reports' states; a warm check rebuilds the columns of
    the edited report and of those its rechecked findings point into, not of every report."""
    import ybt.check.incremental as inc

    path = project / REPORT
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: 修订后的", 1), encoding="utf-8")
    read: list[str] = []
    real_getitem = inc._Facts.__getitem__

    def getitem(self: Any, uid: str) -> Any:
        if uid not in self._built:
            read.append(uid)
        return real_getitem(self, uid)

    monkeypatch.setattr(inc._Facts, "__getitem__", getitem)
    fast = _run(project)
    assert fast.stats.mode == "reports"
    reports = len(list((project / "departments").glob("*/reports/*.yaml")))
    assert "report.mz.csdb_hmc" in read and len(set(read)) <= reports // 3, (len(set(read)), reports)
    monkeypatch.undo()
    _same_as_full(project, fast)
