"""Stage 1: positions of every node, and safe loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import at, codes, count_forks, only
from ybt.diagnostics import Diagnostics
from ybt.load import Limits, read_file


def load(tmp_path: Path, text: str, limits: Limits | None = None, raw: bytes | None = None):
    path = tmp_path / "doc.yaml"
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(text, encoding="utf-8")
    diags = Diagnostics()
    sf = read_file(path, "doc.yaml", diags, limits or Limits())
    return sf, tuple(diags.items)


def test_positions_of_block_and_flow_nodes(tmp_path: Path) -> None:
    sf, diags = load(
        tmp_path,
        "kind: report\nid: r\ncolumns:\n  - field: std.name\n    label: 姓名\n  - {field: std.resident_id, group: [基本情况, 身份]}\n",
    )
    assert not diags
    assert sf is not None
    doc = sf.documents[0]
    assert doc.positions[("kind",)] == (1, 7)
    assert doc.positions[("columns", 0, "field")] == (4, 12)
    assert doc.key_positions[("columns", 0, "label")] == (5, 5)
    assert doc.positions[("columns", 1, "field")] == (6, 13)
    # Columns count characters, as editors do: 身份 is the 44th character of line 6.
    assert doc.positions[("columns", 1, "group", 1)] == (6, 44)
    # A path that does not exist falls back to its nearest ancestor.
    loc = doc.loc(("columns", 1, "missing"))
    assert (loc.line, loc.column) == (6, 5)


def test_several_documents_in_one_file_keep_their_own_lines(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "kind: field\nid: a\n---\n# comment\nkind: field\nid: b\n")
    assert not diags and sf is not None
    assert [d.data["id"] for d in sf.documents] == ["a", "b"]
    assert sf.documents[1].positions[("id",)] == (6, 5)
    assert sf.documents[1].index == 1


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "kind: field\nid: name\nlabel: 姓名\ntype: string\nlabel: 户主姓名\n")
    d = only(diags, "YBT002")
    assert at(d) == (5, 1)
    assert d.related[0].location.line == 3
    assert "label" in d.message.zh and "label" in d.message.en
    # The first value is kept, not silently replaced by the last.
    assert sf is not None and sf.documents[0].data["label"] == "姓名"


def test_duplicate_key_inside_a_nested_mapping(tmp_path: Path) -> None:
    _, diags = load(tmp_path, "kind: field\nconstraints:\n  min: 0\n  max: 5\n  min: 1\n")
    assert at(only(diags, "YBT002")) == (5, 3)


def test_dates_and_keys_stay_as_written(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "approved_on: 2024-03-01\nno: 1\non: yes\ncode: 01\nstr: '01'\n")
    assert not diags and sf is not None
    data = sf.documents[0].data
    assert data["approved_on"] == "2024-03-01"
    assert data["no"] == 1 and data["on"] is True  # keys are text; values follow YAML
    assert data["code"] == 1  # an unquoted 01 is a number: validation catches it for codes
    assert data["str"] == "01"


def test_merge_keys_are_supported_and_explicit_keys_win(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "base: &b {type: string, unit: 元}\nf:\n  <<: *b\n  unit: 万元\n")
    assert not diags and sf is not None
    assert sf.documents[0].data["f"] == {"type": "string", "unit": "万元"}


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcdefg", "abcdef", strict=True):
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    sf, diags = load(tmp_path, text, Limits(max_nodes=100_000))
    d = only(diags, "YBT003")
    assert "alias" in d.message.en
    assert sf is not None and sf.documents == ()


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    _, diags = load(tmp_path, "kind: field\nmeta: &a [*a]\n")
    assert "cycle" in only(diags, "YBT003").message.en


def test_custom_tags_are_refused(tmp_path: Path) -> None:
    _, diags = load(tmp_path, "kind: field\nid: !!python/object:os.system ls\n")
    d = only(diags, "YBT003")
    assert at(d) == (2, 5)
    assert "python/object" in d.message.en


def test_oversize_file_is_refused(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "x: " + "a" * 5000 + "\n", Limits(max_file_bytes=1000))
    assert sf is None
    assert "too large" in only(diags, "YBT003").message.en


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "", raw="kind: field\nlabel: 姓名\n".encode("gbk"))
    assert sf is None
    d = only(diags, "YBT004")
    assert d.location is not None and d.location.line == 2
    assert "UTF-8" in d.hint.zh  # type: ignore[union-attr]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "", raw="\ufeffkind: field\nid: a\n".encode())
    assert not diags and sf is not None and sf.documents[0].data["kind"] == "field"


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        ("kind: field\nlabel:姓名\n  type: string\n", (3, 7), "冒号"),
        ("kind: field\nlabel: 姓名: 户主\n", (2, 10), "键: 值"),
        ("kind: field\nid: a\n\ttype: string\n", (3, 1), "Tab"),
        ("kind: field\naliases: [a, b\n", (3, 1), ""),
        ('kind: field\nlabel: "姓名\n', (3, 1), "引号"),
        ("kind: field\nid: *missing\n", (2, 5), "别名"),
    ],
)
def test_yaml_syntax_errors_are_located_and_explained(tmp_path: Path, text: str, where: tuple[int, int], needle: str) -> None:
    _, diags = load(tmp_path, text)
    d = only(diags, "YBT001")
    assert at(d) == where
    assert needle in d.message.zh + (d.hint.zh if d.hint else "")
    assert d.hint is not None and d.hint.en


def test_documents_before_a_syntax_error_are_kept(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "kind: field\nid: a\n---\nkind: field\nid: [b\n")
    assert codes(diags) == ["YBT001"]
    assert sf is not None and [d.data["id"] for d in sf.documents] == ["a"]


def test_trailing_document_separator_is_not_a_document(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "kind: field\nid: a\n---\n# nothing more\n")
    assert not diags and sf is not None and len(sf.documents) == 1


def test_scalars_resolve_as_the_safe_loader_does(tmp_path: Path) -> None:
    import yaml

    text = "a: [0, 017, 0x1F, 1_000, 1:30, 1.5, .inf, 1e3, yes, No, off, ~, null, '', f01, n1, ' 7', \"true\", =a, <<a]\n"
    sf, diags = load(tmp_path, text)
    assert not diags and sf is not None
    expected = yaml.safe_load(text)["a"]
    assert sf.documents[0].data["a"] == expected
    assert [type(v) for v in sf.documents[0].data["a"]] == [type(v) for v in expected]


@pytest.mark.parametrize("text", ["kind: field\nid: =\n", "kind: field\nid: <<\n"])
def test_special_plain_scalars_are_refused_as_tags(tmp_path: Path, text: str) -> None:
    _, diags = load(tmp_path, text)
    assert at(only(diags, "YBT003")) == (2, 5)


def test_merged_keys_keep_the_positions_of_the_merged_mapping(tmp_path: Path) -> None:
    sf, diags = load(tmp_path, "base: &b {a: 1, c: 2}\nx:\n  a: 5\n  <<: *b\n")
    assert not diags and sf is not None
    doc = sf.documents[0]
    assert doc.data["x"] == {"a": 5, "c": 2}
    assert doc.positions[("x",)] == (3, 3)
    assert doc.positions[("x", "c")] == (1, 20)


def test_parse_documents_matches_read_file(tmp_path: Path) -> None:
    from ybt.load import parse_documents

    text = "kind: field\nid: a\n---\nkind: field\nid: [b\n"
    sf, file_diags = load(tmp_path, text)
    diags = Diagnostics()
    docs = parse_documents(text, "doc.yaml", "doc.yaml", diags)
    assert sf is not None and docs is not None
    assert [(d.data, dict(d.positions)) for d in docs] == [(d.data, dict(d.positions)) for d in sf.documents]
    assert codes(tuple(diags.items)) == codes(file_diags) == ["YBT001"]
    assert parse_documents("id: [b\n", "x.yaml", "x.yaml", Diagnostics()) is None


def test_loading_restores_the_garbage_collector(tmp_path: Path) -> None:
    import gc

    from ybt.load import load_project

    (tmp_path / "ybt.yaml").write_text("kind: project\nid: p\n", encoding="utf-8")
    assert gc.isenabled()
    load_project(tmp_path, Diagnostics())
    assert gc.isenabled()
    gc.disable()
    try:
        load_project(tmp_path, Diagnostics())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_project_files_are_shown_as_display_path_shows_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ybt.load import display_path, load_project

    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / "ybt.yaml").write_text("kind: project\nid: p\n", encoding="utf-8")
    (real / "sub" / "a.yaml").write_text("kind: field\nid: a\n", encoding="utf-8")
    (tmp_path / "elsewhere.yaml").write_text("kind: field\nid: b\n", encoding="utf-8")
    (real / "b.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    (tmp_path / "link").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    loaded = load_project(Path("link"), Diagnostics())
    assert loaded is not None
    shown = {sf.rel: sf.file for sf in loaded.project.all_files()}
    assert shown == {rel: display_path(Path("link") / rel) for rel in ("ybt.yaml", "b.yaml", "sub/a.yaml")}
    assert shown["b.yaml"] == "elsewhere.yaml" and shown["sub/a.yaml"] == "real/sub/a.yaml"


def test_default_discovery_walk_finds_what_the_globs_find(tmp_path: Path) -> None:
    """The default include is found by one os.walk; it must list exactly what globbing the patterns lists."""
    import os

    from ybt.load import DEFAULT_INCLUDE, discover_files

    for rel in ("ybt.yaml", "a/x.yaml", "a/.h/y.yaml", "target/z.yaml", "b/node_modules/w.yaml", ".q.yaml", "c/v.yml", "real/r.yaml", "a/n.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("kind: field\n", encoding="utf-8")
    (tmp_path / "c" / "link").symlink_to(tmp_path / "real")  # a linked directory: not followed
    (tmp_path / "c" / "broken.yaml").symlink_to(tmp_path / "missing.yaml")
    (tmp_path / "c" / "dir.yaml").mkdir()
    os.mkfifo(tmp_path / "c" / "fifo.yaml")
    for exclude in ([], ["c/*"], ["**/r.yaml"]):
        walked = discover_files(tmp_path, [], exclude, "ybt.yaml")
        assert walked == discover_files(tmp_path, list(DEFAULT_INCLUDE), exclude, "ybt.yaml")
    assert [rel for _, rel in discover_files(tmp_path, [], [], "ybt.yaml")] == ["a/x.yaml", "c/v.yml", "real/r.yaml"]


def _many_files(root: Path, n: int = 240) -> None:
    """A project of ``n`` spec files, some of them broken in the half a second process parses."""
    (root / "ybt.yaml").write_text("kind: project\nid: many\nname: 许多文件\n", encoding="utf-8")
    for i in range(n):
        path = root / "departments" / f"d{i % 7}" / f"r{i:03d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"kind: report\nid: r{i:03d}\ntitle: 第{i}号报表\ncolumns:\n  - {{field: f{i}, label: 栏目{i}}}\n  - field: g{i}\n", encoding="utf-8")
    (root / "departments" / "d3" / "r150.yaml").write_text("kind: report\nid: [unclosed\n", encoding="utf-8")
    (root / "departments" / "d4" / "r200.yaml").write_bytes("kind: report\ntitle: 报表\n".encode("gbk"))
    (root / "departments" / "d0" / "r210.yaml").write_text("kind: report\nid: a\nid: b\n", encoding="utf-8")
    (root / "departments" / "d3" / "r220.yaml").write_text("kind: report\nid: one\n---\nkind: report\nid: two\n", encoding="utf-8")


def _loaded(root: Path) -> tuple[object, list[object]]:
    from ybt.load import load_project

    diags = Diagnostics()
    loaded = load_project(root, diags)
    assert loaded is not None
    return loaded.project, diags.items


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="the second parsing process is forked, which ybt does on Linux only")
def test_parsing_in_two_processes_gives_what_one_process_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ybt.load as load

    _many_files(tmp_path)
    forks = count_forks(monkeypatch)
    monkeypatch.setattr(load.fork, "jobs", lambda: 2)
    two, two_diags = _loaded(tmp_path)
    assert len(forks) == 1
    monkeypatch.setenv("YBT_JOBS", "1")
    monkeypatch.setattr(load.fork, "jobs", lambda: 1)
    one, one_diags = _loaded(tmp_path)
    assert len(forks) == 1
    assert two == one
    assert two_diags == one_diags
    # the broken files of the second half are reported, in file order, where one process reports them
    assert {d.location.file.rsplit("/", 1)[-1] for d in one_diags if d.location is not None} >= {"r150.yaml", "r200.yaml", "r210.yaml"}


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="the second parsing process is forked, which ybt does on Linux only")
@pytest.mark.parametrize(
    "config",
    [
        "exclude: [departments/d3/*]\n",  # broken files read on the guess, then ruled out: their problems go too
        "include: ['departments/d[0-2]/*.yaml', 'extra/*.spec']\n",  # fewer files, and one the default walk never finds
        "id: [unclosed\n",  # a broken project file, read by the child
    ],
)
def test_files_read_in_two_processes_before_the_project_file_is_known_are_those_it_selects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str
) -> None:
    """A large set is read in two processes on the guess that the project file selects the default files;
    the child reads the project file meanwhile. What its include/exclude rule out is dropped, with its
    problems, and what they add is read after: the same files and problems, in the same order, as one
    process reading the project file first."""
    import ybt.load as load

    _many_files(tmp_path)
    with (tmp_path / "ybt.yaml").open("a", encoding="utf-8") as fh:
        fh.write(config)
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "more.spec").write_text("kind: report\nid: extra\n", encoding="utf-8")
    forks = count_forks(monkeypatch)
    monkeypatch.setattr(load.fork, "jobs", lambda: 2)
    two = _loaded(tmp_path)
    assert len(forks) == 1
    monkeypatch.setattr(load.fork, "jobs", lambda: 1)
    one = _loaded(tmp_path)
    assert len(forks) == 1
    assert two == one
    files = {sf.rel for sf in one[0].files}  # type: ignore[attr-defined]
    problems = {d.location.file.rsplit("/", 1)[-1] for d in one[1] if d.location is not None}  # type: ignore[attr-defined]
    if config.startswith("exclude"):
        assert not any(rel.startswith("departments/d3/") for rel in files) and "r150.yaml" not in problems
        assert "r200.yaml" in problems  # a broken file that stays is still reported
    elif config.startswith("include"):
        assert "extra/more.spec" in files and all(rel.startswith(("departments/d0/", "departments/d1/", "departments/d2/", "extra/")) for rel in files)
    else:
        assert "ybt.yaml" in problems and len(files) > 200


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="the second parsing process is forked, which ybt does on Linux only")
def test_a_failing_second_process_leaves_the_parse_to_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ybt.load as load

    _many_files(tmp_path)
    monkeypatch.setattr(load.fork, "jobs", lambda: 1)
    expected = _loaded(tmp_path)

    def broken(files: list[object]) -> list[object]:
        raise ValueError("unmarshallable")  # what the child meets with a value marshal cannot carry

    monkeypatch.setattr(load.fork, "jobs", lambda: 2)
    monkeypatch.setattr(load, "_files_out", broken)
    assert _loaded(tmp_path) == expected
