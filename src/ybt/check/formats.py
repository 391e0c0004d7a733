"""Rendering lint findings: text for people, and JSON, SARIF, GitHub annotations and JUnit for machines.

Every format renders the same :class:`~ybt.diagnostics.Diagnostic` objects. ``text`` prints to a rich
console grouped by file (like ruff); the other formats return the whole document as one string,
without a trailing newline, for the caller to write out unchanged. Output is deterministic: findings
are sorted, nothing depends on the clock, and the same findings always give the same bytes.

SARIF follows 2.1.0 as GitHub code scanning reads it: file URIs are percent-encoded and relative to
``tool_root`` (``%SRCROOT%``), columns count Unicode code points, and every result carries a
``partialFingerprints["ybt/v1"]`` that survives line moves when the finding names a spec object.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from rich.cells import cell_len
from rich.text import Text as RichText

from ybt import __version__, registry
from ybt.diagnostics import Diagnostic, Location, Severity, Text
from ybt.render import console, summary

FORMATS = ("text", "json", "sarif", "github", "junit")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
#: The file a project-level finding (no location) is pinned to in SARIF, when it exists under the root.
PROJECT_FILE = "ybt.yaml"

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(fmt: str, findings: Sequence[Diagnostic], *, lang: str = "both", tool_root: str | None = None, stream: TextIO | None = None) -> str | None:
    """Render ``findings`` as ``fmt``: print text (returns None) or return a machine-readable document."""
    ordered = sorted(findings, key=_order)
    if fmt == "text":
        render_text(ordered, lang=lang, stream=stream)
        return None
    if fmt == "json":
        return render_json(ordered)
    if fmt == "sarif":
        return render_sarif(ordered, tool_root=tool_root)
    if fmt == "github":
        return render_github(ordered, lang=lang, tool_root=tool_root)
    if fmt == "junit":
        return render_junit(ordered, lang=lang)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _order(d: Diagnostic) -> tuple[int, tuple[str, int, int, str], str, str, str]:
    """Sort key: findings without a location last, then file, line, column, code; ties broken by text."""
    return (d.location is None, d.sort_key(), d.object_id or "", d.message.en, d.message.zh)


def _pick(text: Text, lang: str) -> str:
    return text.render(lang)


# --- paths -------------------------------------------------------------------------------------


def _root(tool_root: str | None) -> Path:
    return Path(tool_root).resolve() if tool_root else Path.cwd().resolve()


def _relative(file: str, root: Path) -> str | None:
    """``file`` as a POSIX path relative to ``root`` when it lies below it, else None."""
    path = Path(file)
    absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        return None
    return rel.as_posix()


def _shown_path(file: str, root: Path) -> str:
    rel = _relative(file, root)
    return rel if rel is not None else file


# --- text --------------------------------------------------------------------------------------


def _position(loc: Location) -> str:
    if loc.sheet is not None:
        return f"{loc.sheet}!{loc.cell}" if loc.cell else loc.sheet
    if loc.line <= 0:
        return ""
    return f"{loc.line}:{max(loc.column, 1)}"


def render_text(findings: Sequence[Diagnostic], *, lang: str = "both", stream: TextIO | None = None) -> None:
    """Findings grouped under one heading per file, in line order, then a one-line summary."""
    out = console(stream)
    groups: dict[str | None, list[Diagnostic]] = {}
    for d in findings:
        groups.setdefault(d.location.file if d.location else None, []).append(d)
    project_heading = {"zh": "（整个项目）", "en": "(project)"}.get(lang, "（整个项目）/ (project)")
    for file, diags in groups.items():
        out.print(RichText(file if file is not None else project_heading, style="bold underline"))
        positions = [_position(d.location) if d.location else "" for d in diags]
        width = max(cell_len(p) for p in positions)  # display cells: a CJK sheet name is twice as wide
        for d, pos in zip(diags, positions, strict=True):
            line = RichText("  ")
            if width:
                line.append(pos + " " * (width - cell_len(pos) + 1), style="dim")
            line.append(f"{d.severity.value}[{d.code}] ", style=_STYLE[d.severity])
            # Details line up two columns right of the severity.
            indent = " " * (2 + (width + 1 if width else 0) + 2)
            line.append(_hang(d.message.en if lang == "en" else d.message.zh, indent), style="bold")
            out.print(line)
            if lang == "both":
                out.print(RichText(indent + _hang(d.message.en, indent)))
            if d.hint is not None:
                if lang in ("both", "zh") and d.hint.zh:
                    out.print(RichText(indent + _hang(f"提示：{d.hint.zh}", indent), style="green"))
                if lang in ("both", "en") and d.hint.en:
                    out.print(RichText(indent + _hang(f"hint: {d.hint.en}", indent), style="green"))
            for rel in d.related:
                out.print(RichText(indent + _hang(f"→ {rel.location}: {_pick(rel.message, lang)}", indent), style="dim"))
        out.print()
    out.print(RichText(text_summary(findings, lang), style="bold"))


def _hang(text: str, indent: str) -> str:
    """Indent the continuation lines of a multi-line message so they stay under their finding."""
    return "\n".join(part if i == 0 else indent + part for i, part in enumerate(text.replace("\r\n", "\n").split("\n")))


def text_summary(findings: Sequence[Diagnostic], lang: str = "both") -> str:
    """:func:`ybt.render.summary` plus how many files the findings are in."""
    files = len({d.location.file for d in findings if d.location is not None})
    if not findings:
        return summary(findings, lang)
    zh = f"{summary(findings, 'zh')}（涉及 {files} 个文件）"
    en = f"{summary(findings, 'en')} in {files} file{'s' if files != 1 else ''}"
    return {"zh": zh, "en": en}.get(lang, f"{zh} / {en}")


# --- JSON --------------------------------------------------------------------------------------


def _counts(findings: Sequence[Diagnostic]) -> dict[str, int]:
    return {s.value: sum(1 for d in findings if d.severity is s) for s in Severity}


def render_json(findings: Sequence[Diagnostic]) -> str:
    rules: dict[str, Any] = {}
    for code in sorted({d.code for d in findings}):
        info = registry.get(code)
        if info is not None:
            rules[code] = {"name": info.name, "summary": info.summary.to_dict()}
    payload = {"findings": [d.to_dict() for d in findings], "counts": _counts(findings), "rules": rules}
    return json.dumps(payload, ensure_ascii=False, indent=2)


# --- SARIF 2.1.0 -------------------------------------------------------------------------------

# RFC 3986 characters that need no percent-encoding in a path (besides ASCII letters and digits).
_URI_PATH_SAFE = "/-._~!$&'()*+;=@"


def _uri_path(posix: str) -> str:
    """A relative POSIX path as a URI path: percent-encode everything else (spaces, CJK, ``%``, ``#``, ``:``)."""
    return quote(posix, safe=_URI_PATH_SAFE)


def _artifact_location(file: str, root: Path) -> dict[str, Any]:
    rel = _relative(file, root)
    if rel is not None:
        return {"uri": _uri_path(rel), "uriBaseId": SRCROOT}
    path = Path(file)
    absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
    return {"uri": absolute.as_uri()}


def _sarif_location(loc: Location, root: Path) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact_location(loc.file, root)}
    out: dict[str, Any] = {"physicalLocation": physical}
    if loc.sheet is not None:
        where = f"{loc.sheet}!{loc.cell}" if loc.cell else loc.sheet
        out["message"] = {"text": where}
        out["properties"] = {"sheet": loc.sheet, **({"cell": loc.cell} if loc.cell else {})}
    elif loc.line > 0:
        region: dict[str, int] = {"startLine": loc.line}
        if loc.column > 0:
            region["startColumn"] = loc.column
        physical["region"] = region
    return out


def _fingerprint_base(d: Diagnostic, root: Path) -> str:
    if d.object_id:
        key = f"{d.code}\0{d.object_id}"
    else:
        file = _shown_path(d.location.file, root) if d.location else ""
        key = f"{d.code}\0{file}\0{d.message.en}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _rule_descriptor(code: str) -> dict[str, Any]:
    info = registry.get(code)
    if info is None:
        return {"id": code}
    return {
        "id": code,
        "name": info.name,
        "shortDescription": {"text": info.summary.en},
        "fullDescription": {"text": f"{info.summary.zh} / {info.summary.en}"},
        "help": {"text": info.explanation, "markdown": info.explanation},
        "defaultConfiguration": {"level": _SARIF_LEVEL[info.severity]},
        "properties": {"tags": [info.family]},
    }


def render_sarif(findings: Sequence[Diagnostic], *, tool_root: str | None = None) -> str:
    """A SARIF 2.1.0 log with one run; see the module docstring for how paths and fingerprints are made."""
    root = _root(tool_root)
    codes = sorted({d.code for d in findings})
    rule_index = {code: i for i, code in enumerate(codes)}
    project_file = PROJECT_FILE if (root / PROJECT_FILE).is_file() else None
    occurrences: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for d in findings:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": rule_index[d.code],
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": f"{d.message.zh} / {d.message.en}"},
        }
        if d.location is not None:
            result["locations"] = [_sarif_location(d.location, root)]
        elif project_file is not None:
            # GitHub code scanning rejects a whole log when one result has no location, so a
            # project-level finding is pinned to the project file.
            result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": project_file, "uriBaseId": SRCROOT}}}]
        if d.related:
            related = []
            for i, rel in enumerate(d.related, start=1):
                loc = _sarif_location(rel.location, root)
                text = f"{rel.message.zh} / {rel.message.en}"
                if "message" in loc:  # a workbook cell: say which one
                    text = f"{loc['message']['text']}: {text}"
                related.append({"id": i, **loc, "message": {"text": text}})
            result["relatedLocations"] = related
        base = _fingerprint_base(d, root)
        occurrences[base] = occurrences.get(base, 0) + 1
        result["partialFingerprints"] = {"ybt/v1": f"{base}:{occurrences[base]}"}
        props: dict[str, Any] = {}
        if d.hint is not None:
            props["hint"] = d.hint.to_dict()
        if d.object_id:
            props["objectId"] = d.object_id
        if props:
            result["properties"] = props
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "ybt", "version": __version__, "semanticVersion": __version__, "rules": [_rule_descriptor(c) for c in codes]}},
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, ensure_ascii=False, indent=2)


# --- GitHub Actions workflow commands ----------------------------------------------------------


def escape_data(value: str) -> str:
    """Escape a workflow command's message (as @actions/core does)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value: the message rules plus ``:`` and ``,``."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _github_message(d: Diagnostic, lang: str) -> str:
    lines = [_pick(d.message, lang)]
    if d.hint is not None:
        parts = []
        if lang in ("both", "zh") and d.hint.zh:
            parts.append(f"提示：{d.hint.zh}")
        if lang in ("both", "en") and d.hint.en:
            parts.append(f"hint: {d.hint.en}")
        if parts:
            lines.append(" / ".join(parts))
    for rel in d.related:
        lines.append(f"→ {rel.location}: {_pick(rel.message, lang)}")
    return "\n".join(lines)


def render_github(findings: Sequence[Diagnostic], *, lang: str = "both", tool_root: str | None = None) -> str:
    """One ``::error``/``::warning``/``::notice`` workflow command per finding."""
    root = _root(tool_root)
    out = []
    for d in findings:
        props: list[tuple[str, str]] = []
        loc = d.location
        if loc is not None:
            props.append(("file", _shown_path(loc.file, root)))
            if loc.sheet is None and loc.line > 0:
                props.append(("line", str(loc.line)))
                if loc.column > 0:
                    props.append(("col", str(loc.column)))
        info = registry.get(d.code)
        props.append(("title", f"{d.code} {info.name}" if info is not None else d.code))
        head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
        out.append(f"::{_GITHUB_COMMAND[d.severity]} {head}::{escape_data(_github_message(d, lang))}")
    return "\n".join(out)


# --- JUnit XML ---------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text.replace("\r\n", "\n"))


def _junit_body(d: Diagnostic, lang: str) -> str:
    lines = [str(d.location) if d.location else {"zh": "（整个项目）", "en": "(project)"}.get(lang, "（整个项目）/ (project)")]
    if lang in ("both", "zh"):
        lines.append(d.message.zh)
    if lang in ("both", "en"):
        lines.append(d.message.en)
    if d.hint is not None:
        if lang in ("both", "zh") and d.hint.zh:
            lines.append(f"提示：{d.hint.zh}")
        if lang in ("both", "en") and d.hint.en:
            lines.append(f"hint: {d.hint.en}")
    for rel in d.related:
        lines.append(f"→ {rel.location}: {_pick(rel.message, lang)}")
    return _xml("\n".join(lines))


def render_junit(findings: Sequence[Diagnostic], *, lang: str = "both") -> str:
    """One ``<testsuite name="ybt check">``; a failing test case per error or warning, a passing one per info."""
    failures = sum(1 for d in findings if d.severity is not Severity.INFO)
    suite = ET.Element(
        "testsuite", {"name": "ybt check", "tests": str(max(len(findings), 1)), "failures": str(failures), "errors": "0", "skipped": "0", "time": "0"}
    )
    if not findings:
        ET.SubElement(suite, "testcase", {"classname": "ybt", "name": "ybt check", "time": "0"})
    for d in findings:
        loc = d.location
        classname = loc.file if loc is not None else "ybt"
        where = d.object_id or (str(loc) if loc is not None else "project")
        case = ET.SubElement(suite, "testcase", {"classname": _xml(classname), "name": _xml(f"{d.code} {where}"), "time": "0"})
        body = _junit_body(d, lang)
        if d.severity is Severity.INFO:
            ET.SubElement(case, "system-out").text = body
        else:
            failure = ET.SubElement(case, "failure", {"message": _xml(_pick(d.message, lang)), "type": d.code})
            failure.text = body
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode")
