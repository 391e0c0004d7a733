"""Stage 2 — validate: every document against its kind's JSON Schema, plus the rules that concern a
single document (unique codes, unique column ids, a well-formed organisation tree).

Each problem is reported at the node's own line and column, with the schema's reason turned into a
sentence a civil servant understands, in Chinese and English, and a hint on how to fix it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

from ybt import registry as codes
from ybt import schemas
from ybt.diagnostics import Diagnostics, Related, Text
from ybt.load import Document, LoadedProject, PathKey, SourceSet

_TYPE_ZH = {
    "string": "文字",
    "integer": "整数",
    "number": "数字",
    "boolean": "是/否（true/false）",
    "array": "列表",
    "object": "映射（键: 值）",
    "null": "空值",
}
LEVEL_ORDER = {"district": 0, "town": 1, "village": 2, "grid": 3}


def _describe(value: Any) -> tuple[str, str]:
    if value is None:
        return "空值", "null"
    if isinstance(value, bool):
        return f"是/否值 {str(value).lower()}", f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"数字 {value}", f"the number {value}"
    if isinstance(value, str):
        return f"文字 “{value}”", f"the text '{value}'"
    if isinstance(value, list):
        return "列表", "a list"
    return "映射", "a mapping"


def _types(expected: Any) -> list[str]:
    return list(expected) if isinstance(expected, list) else [str(expected)]


def _find_property(node: Any, prop: str) -> dict[str, Any]:
    """The first definition of ``prop`` anywhere in a schema (for conditional ``then: required``)."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict) and isinstance(props.get(prop), dict) and len(props[prop]) > 0:
            return dict(props[prop])
        for value in node.values():
            found = _find_property(value, prop)
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _find_property(value, prop)
            if found:
                return found
    return {}


def _prop_schema(schema: dict[str, Any], prop: str, base: str) -> dict[str, Any]:
    sub = schema.get("properties", {}).get(prop) or _find_property(schemas.raw_schema(base.removesuffix(".schema.json")), prop)
    if isinstance(sub, dict) and "$ref" in sub and "title" not in sub:
        return {**schemas.resolve_ref(sub["$ref"], base), **{k: v for k, v in sub.items() if k != "$ref"}}
    return sub if isinstance(sub, dict) else {}


def _enum_labels(schema: dict[str, Any]) -> dict[str, str]:
    labels = schema.get("x-enum-zh")
    return dict(labels) if isinstance(labels, dict) else {}


def _schema(e: ValidationError) -> dict[str, Any]:
    """The (sub)schema that failed, as a plain dict (jsonschema types it loosely)."""
    return dict(e.schema) if isinstance(e.schema, Mapping) else {}


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _best_leaf(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf, the alternative that came closest (skip branches of the wrong type)."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        candidates = [e for e in error.context if not (e.validator == "type" and e.path == error.path)]
        if not candidates:
            return error
        error = max(candidates, key=lambda e: (len(e.absolute_path), e.validator != "const"))
    return error


class _Reporter:
    def __init__(self, doc: Document, diags: Diagnostics, schema_name: str) -> None:
        self.doc = doc
        self.diags = diags
        self.base = schema_name

    def report(self, error: ValidationError) -> None:
        leaf = _best_leaf(error)
        if leaf is not error and leaf.validator in ("oneOf", "anyOf"):
            self._one_of(error)
            return
        handler = getattr(self, f"_v_{leaf.validator}", None)
        if handler is not None:
            handler(leaf)
        else:
            self._emit(leaf.absolute_path, Text(f"取值不符合要求：{leaf.message}", leaf.message), None)

    def _emit(self, path: Iterable[Any], message: Text, hint: Text | None, *, key: bool = False) -> None:
        p: PathKey = tuple(path)
        self.diags.error(codes.SCHEMA_VIOLATION, message, self.doc.loc(p, key=key), hint)

    def _where(self, path: Iterable[Any]) -> tuple[str, str]:
        p = list(path)
        if not p:
            return "", ""
        dotted = ".".join(str(x) if isinstance(x, str) else f"[{x}]" for x in p).replace(".[", "[")
        return f"“{dotted}”", f"'{dotted}'"

    # --- one handler per JSON Schema keyword --------------------------------------------------

    def _v_required(self, e: ValidationError) -> None:
        # jsonschema raises one error per missing property, each carrying the whole list.
        missing = [p for p in _listed(e.validator_value) if isinstance(e.instance, dict) and p not in e.instance and repr(p) in e.message][:1]
        for prop in missing:
            sub = _prop_schema(_schema(e), prop, self.base)
            title = sub.get("title", "")
            title_zh = str(title).split(" ")[0] if title else ""
            where_zh, where_en = self._where(e.absolute_path)
            in_zh = f"{where_zh} 中" if where_zh else ""
            in_en = f" in {where_en}" if where_en else ""
            desc = sub.get("description")
            hint = Text(
                f"添加 {prop}:{'（' + title_zh + '）' if title_zh else ''}" + (f"。{desc}" if desc else ""),
                f"add {prop}:" + (f" — {desc}" if desc else ""),
            )
            self._emit(
                e.absolute_path,
                Text(
                    f"{in_zh}缺少必填项 “{prop}”{('（' + title_zh + '）') if title_zh else ''}",
                    f"missing required property '{prop}'{in_en}",
                ),
                hint,
                key=bool(e.absolute_path),
            )

    def _v_additionalProperties(self, e: ValidationError) -> None:
        if not isinstance(e.instance, dict):
            return
        allowed = sorted(_schema(e).get("properties", {}))
        patterns = _schema(e).get("patternProperties", {})
        if not allowed and not patterns and isinstance(_schema(e).get("additionalProperties"), dict):
            self._emit(e.absolute_path, Text(f"取值不符合要求：{e.message}", e.message), None)
            return
        for key in e.instance:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            if close:
                hint = Text(f"是否想写 “{close[0]}”？", f"did you mean '{close[0]}'?")
            else:
                hint = Text(f"允许的属性：{', '.join(allowed)}", f"allowed properties: {', '.join(allowed)}")
            self._emit(
                (*e.absolute_path, key),
                Text(f"不认识的属性 “{key}”", f"unknown property '{key}'"),
                hint,
                key=True,
            )

    def _v_type(self, e: ValidationError) -> None:
        expected = _types(e.validator_value)
        zh = "或".join(_TYPE_ZH.get(t, t) for t in expected)
        en = " or ".join(expected)
        got_zh, got_en = _describe(e.instance)
        hint: Text | None = None
        if "string" in expected and isinstance(e.instance, bool | int | float):
            custom_zh = _schema(e).get("x-message-zh")
            custom_en = _schema(e).get("x-message-en")
            if custom_zh and custom_en:
                hint = Text(str(custom_zh), str(custom_en))
            else:
                hint = Text(
                    '用引号括起来，例如 "01"、"yes"；不加引号时 YAML 会把它读成数字或是/否',
                    'put it in quotes, e.g. "01" or "yes"; unquoted, YAML reads it as a number or a boolean',
                )
        elif "array" in expected and not isinstance(e.instance, list):
            hint = Text("写成列表，例如 [a, b] 或每行一个 “- a”", "write a list, e.g. [a, b] or one '- a' per line")
        elif "object" in expected:
            hint = Text("写成“键: 值”的映射，子项缩进两格", "write a mapping of 'key: value' lines, indented two spaces")
        elif e.instance is None:
            hint = Text("冒号后面没有写值；补上值或删去这一行", "nothing follows the colon: give a value or delete the line")
        self._emit(e.absolute_path, Text(f"应为{zh}，实际是{got_zh}", f"expected {en}, got {got_en}"), hint)

    def _v_enum(self, e: ValidationError) -> None:
        options = [str(v) for v in _listed(e.validator_value)]
        labels = _enum_labels(_schema(e))
        shown = "、".join(f"{o}（{labels[o]}）" if o in labels else o for o in options)
        value = e.instance
        hint_zh = f"可选：{shown}"
        hint_en = f"allowed: {', '.join(options)}"
        reverse = {v: k for k, v in labels.items()}
        if isinstance(value, str):
            stripped = value.strip()
            match = reverse.get(stripped) or next((k for k, v in labels.items() if stripped and stripped in v), None)
            close = difflib.get_close_matches(stripped, options, n=1, cutoff=0.6)
            if match:
                hint_zh, hint_en = f"请写 “{match}”（{labels[match]}）", f"write '{match}'"
            elif close:
                hint_zh, hint_en = f"是否想写 “{close[0]}”？{hint_zh}", f"did you mean '{close[0]}'? {hint_en}"
        got_zh, got_en = _describe(value)
        self._emit(e.absolute_path, Text(f"{got_zh} 不是允许的取值", f"{got_en} is not an allowed value"), Text(hint_zh, hint_en))

    def _v_const(self, e: ValidationError) -> None:
        got_zh, got_en = _describe(e.instance)
        self._emit(
            e.absolute_path,
            Text(f"{got_zh} 不对，这里只能写 “{e.validator_value}”", f"{got_en} is wrong: only '{e.validator_value}' fits here"),
            None,
        )

    def _v_pattern(self, e: ValidationError) -> None:
        got_zh, got_en = _describe(e.instance)
        custom_zh = _schema(e).get("x-message-zh")
        custom_en = _schema(e).get("x-message-en")
        if custom_zh and custom_en:
            hint = Text(str(custom_zh), str(custom_en))
        else:
            hint = Text(f"应匹配正则表达式 {e.validator_value}", f"it must match {e.validator_value}")
        self._emit(e.absolute_path, Text(f"{got_zh} 格式不对", f"{got_en} is not well formed"), hint)

    def _v_format(self, e: ValidationError) -> None:
        got_zh, got_en = _describe(e.instance)
        if e.validator_value == "date":
            self._emit(
                e.absolute_path,
                Text(f"{got_zh} 不是有效的日期", f"{got_en} is not a valid date"),
                Text("日期写成 YYYY-MM-DD，且月、日要存在，例如 2024-02-29", "write YYYY-MM-DD with a real month and day, e.g. 2024-02-29"),
            )
        elif e.validator_value == "regex":
            self._emit(
                e.absolute_path,
                Text(f"{got_zh} 不是有效的正则表达式", f"{got_en} is not a valid regular expression"),
                Text("检查括号是否成对、反斜杠是否写成 \\\\", "check brackets and escape backslashes"),
            )
        else:
            self._emit(e.absolute_path, Text(f"{got_zh} 格式不对（{e.validator_value}）", f"{got_en} is not a valid {e.validator_value}"), None)

    def _v_minLength(self, e: ValidationError) -> None:
        if e.validator_value == 1:
            self._emit(e.absolute_path, Text("不能为空", "must not be empty"), Text("填写内容，或删去这一项", "fill it in or delete the entry"))
        else:
            self._emit(e.absolute_path, Text(f"至少要 {e.validator_value} 个字符", f"needs at least {e.validator_value} characters"), None)

    def _v_maxLength(self, e: ValidationError) -> None:
        self._emit(
            e.absolute_path,
            Text(f"超过 {e.validator_value} 个字符", f"longer than {e.validator_value} characters"),
            Text("缩短文字，详细内容写到 description", "shorten it; put details in description"),
        )

    def _v_minItems(self, e: ValidationError) -> None:
        n = e.validator_value
        self._emit(e.absolute_path, Text(f"至少要有 {n} 项", f"needs at least {n} item{'s' if n != 1 else ''}"), None)

    def _v_maxItems(self, e: ValidationError) -> None:
        self._emit(e.absolute_path, Text(f"最多 {e.validator_value} 项", f"at most {e.validator_value} items"), None)

    def _v_uniqueItems(self, e: ValidationError) -> None:
        seen: set[str] = set()
        for i, item in enumerate(e.instance if isinstance(e.instance, list) else []):
            marker = repr(item)
            if marker in seen:
                self._emit(
                    (*e.absolute_path, i),
                    Text(f"列表中重复的项：{item}", f"duplicate item in the list: {item}"),
                    Text("删去重复的一项", "delete the repeated item"),
                )
                return
            seen.add(marker)

    def _bound(self, e: ValidationError, zh: str, en: str) -> None:
        got_zh, got_en = _describe(e.instance)
        self._emit(e.absolute_path, Text(f"{got_zh} 应{zh} {e.validator_value}", f"{got_en} must be {en} {e.validator_value}"), None)

    def _v_minimum(self, e: ValidationError) -> None:
        self._bound(e, "不小于", "at least")

    def _v_maximum(self, e: ValidationError) -> None:
        self._bound(e, "不大于", "at most")

    def _v_exclusiveMinimum(self, e: ValidationError) -> None:
        self._bound(e, "大于", "greater than")

    def _v_not(self, e: ValidationError) -> None:
        self._emit(
            e.absolute_path,
            Text(
                "这种写法在此处不允许（例如“为空/不为空”条件不需要 value）",
                "this combination is not allowed here (e.g. is_null/not_null take no value)",
            ),
            Text("删去多余的项", "remove the extra entry"),
        )

    def _v_propertyNames(self, e: ValidationError) -> None:
        self._emit(
            e.absolute_path,
            Text(f"键 “{e.instance}” 的写法不对", f"the key '{e.instance}' is not well formed"),
            Text("规则代码写成 YBT 加数字，例如 YBT101", "write rule codes as YBT and digits, e.g. YBT101"),
        )

    def _one_of(self, e: ValidationError) -> None:
        got_zh, got_en = _describe(e.instance)
        self._emit(
            e.absolute_path,
            Text(f"{got_zh} 不符合此处允许的任何一种写法", f"{got_en} matches none of the forms allowed here"),
            Text(
                f"参见 `ybt schema` 中 {self._where(e.absolute_path)[0]} 的定义",
                f"see the definition of {self._where(e.absolute_path)[1]} in `ybt schema`",
            ),
        )


def validate_document(doc: Document, kind: str, diags: Diagnostics) -> None:
    """Check one document against the schema of ``kind`` and its single-document rules."""
    fast = schemas.fast_validator(kind)
    if fast is None or not fast.is_valid(doc.data):
        reporter = _Reporter(doc, diags, schemas.schema_file(kind))
        for error in sorted(schemas.validator(kind).iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path]):
            reporter.report(error)
    check = _DOCUMENT_RULES.get(kind)
    if check is not None:
        check(doc, diags)


# --- single-document rules --------------------------------------------------------------------


def _dup(diags: Diagnostics, doc: Document, path: PathKey, first: PathKey, what_zh: str, what_en: str, value: str) -> None:
    first_loc = doc.loc(first)
    diags.error(
        codes.DUPLICATE_ENTRY,
        Text(f"{what_zh} “{value}” 重复（第 {first_loc.line} 行已有）", f"duplicate {what_en} '{value}' (already on line {first_loc.line})"),
        doc.loc(path),
        Text("每项只能出现一次，删除或改写其中一个", "each may appear once: delete or change one of them"),
        (Related(first_loc, Text("第一次出现", "first occurrence")),),
    )


def _check_codelist(doc: Document, diags: Diagnostics) -> None:
    values = doc.data.get("values")
    if not isinstance(values, list):
        return
    seen: dict[str, PathKey] = {}
    for i, v in enumerate(values):
        code = v.get("code") if isinstance(v, dict) else None
        if not isinstance(code, str):
            continue
        if code in seen:
            _dup(diags, doc, ("values", i, "code"), seen[code], "代码", "code", code)
        else:
            seen[code] = ("values", i, "code")
    for i, v in enumerate(values):
        parent = v.get("parent") if isinstance(v, dict) else None
        if isinstance(parent, str) and parent not in seen:
            close = difflib.get_close_matches(parent, list(seen), n=3, cutoff=0.5)
            diags.error(
                codes.UNKNOWN_REFERENCE,
                Text(f"上级代码 “{parent}” 不在本代码表中", f"parent code '{parent}' is not in this codelist"),
                doc.loc(("values", i, "parent")),
                Text(
                    f"是否想写：{'、'.join(close)}？" if close else "上级代码须是本表中的代码",
                    f"did you mean {', '.join(close)}?" if close else "a parent must be a code of this codelist",
                ),
            )


def column_id(column: dict[str, Any]) -> str | None:
    """A report column's id: explicit, or its field's id, prefixed by the aggregate when there is one."""
    explicit = column.get("id")
    if isinstance(explicit, str):
        return explicit
    field = column.get("field")
    if not isinstance(field, str):
        return None
    base = field.rsplit(".", 1)[-1]
    agg = column.get("aggregate")
    return f"{agg}_{base}" if isinstance(agg, str) else base


def _check_report(doc: Document, diags: Diagnostics) -> None:
    columns = doc.data.get("columns")
    if not isinstance(columns, list):
        return
    seen: dict[str, PathKey] = {}
    for i, col in enumerate(columns):
        if not isinstance(col, dict):
            continue
        cid = column_id(col)
        if cid is None:
            continue
        path: PathKey = ("columns", i, "id") if "id" in col else ("columns", i, "field")
        if cid in seen:
            _dup(diags, doc, path, seen[cid], "栏目标识", "column id", cid)
            continue
        seen[cid] = path


def _check_ledger(doc: Document, diags: Diagnostics) -> None:
    fields = doc.data.get("fields")
    if not isinstance(fields, list):
        return
    seen: dict[str, PathKey] = {}
    for i, item in enumerate(fields):
        ref = item.get("field") if isinstance(item, dict) else item
        if not isinstance(ref, str):
            continue
        path: PathKey = ("fields", i, "field") if isinstance(item, dict) else ("fields", i)
        if ref in seen:
            _dup(diags, doc, path, seen[ref], "字段", "field", ref)
        else:
            seen[ref] = path


def _check_project(doc: Document, diags: Diagnostics) -> None:
    data = doc.data
    seen: dict[str, PathKey] = {}
    for i, dept in enumerate(data.get("departments") or []):
        did = dept.get("id") if isinstance(dept, dict) else None
        if not isinstance(did, str):
            continue
        if did in seen:
            _dup(diags, doc, ("departments", i, "id"), seen[did], "部门标识", "department id", did)
        else:
            seen[did] = ("departments", i, "id")
    org = data.get("org")
    if isinstance(org, dict):
        codes_seen: dict[str, PathKey] = {}
        _check_org(doc, diags, org, ("org",), None, codes_seen)


def _check_org(doc: Document, diags: Diagnostics, node: dict[str, Any], path: PathKey, parent_level: str | None, seen: dict[str, PathKey]) -> None:
    code = node.get("code")
    level = node.get("level")
    if isinstance(code, str):
        if code in seen:
            _dup(diags, doc, (*path, "code"), (*seen[code], "code"), "组织代码", "organisation code", code)
        else:
            seen[code] = path
    if level in LEVEL_ORDER and parent_level in LEVEL_ORDER and LEVEL_ORDER[level] <= LEVEL_ORDER[parent_level]:
        diags.error(
            codes.SCHEMA_VIOLATION,
            Text(
                f"下级单位的层级 “{level}” 不低于上级的 “{parent_level}”",
                f"a child unit's level '{level}' is not below its parent's '{parent_level}'",
            ),
            doc.loc((*path, "level")),
            Text("层级自上而下依次为 district → town → village → grid", "levels go district → town → village → grid, top down"),
        )
    for i, child in enumerate(node.get("children") or []):
        if isinstance(child, dict):
            _check_org(doc, diags, child, (*path, "children", i), level if isinstance(level, str) else None, seen)


_DOCUMENT_RULES = {
    "codelist": _check_codelist,
    "report": _check_report,
    "ledger": _check_ledger,
    "project": _check_project,
}


# --- the stage --------------------------------------------------------------------------------


def _check_kind(doc: Document, diags: Diagnostics, allowed: tuple[str, ...], where_zh: str, where_en: str) -> str | None:
    data = doc.data
    if not isinstance(data, dict):
        got_zh, got_en = _describe(data)
        diags.error(
            codes.UNKNOWN_KIND,
            Text(
                f"文档顶层应为映射（kind: …, id: …），实际是{got_zh}",
                f"a document's top level must be a mapping (kind: …, id: …), got {got_en}",
            ),
            doc.loc(()),
            Text("每个文档以 kind: 和 id: 开头", "start each document with kind: and id:"),
        )
        return None
    kind = data.get("kind")
    if kind is None:
        diags.error(
            codes.UNKNOWN_KIND,
            Text("文档缺少 kind:", "the document has no kind:"),
            doc.loc(()),
            Text(
                f"在文档开头写明种类，{where_zh}可用：{', '.join(allowed)}",
                f"state the kind at the top; {where_en} allows: {', '.join(allowed)}",
            ),
        )
        return None
    if kind in allowed:
        return str(kind)
    text = str(kind)
    close = difflib.get_close_matches(text, list(allowed), n=1, cutoff=0.6)
    if kind in schemas.ALL_KINDS:
        diags.error(
            codes.MISPLACED_DOCUMENT,
            Text(f"kind: {text} 不能出现在{where_zh}", f"kind: {text} does not belong in {where_en}"),
            doc.loc(("kind",)),
            Text(
                "project 只能写在 ybt.yaml，library 只能写在库的 library.yaml",
                "project belongs in ybt.yaml and library in a library's library.yaml",
            ),
        )
    else:
        diags.error(
            codes.UNKNOWN_KIND,
            Text(f"未知的种类 “{text}”", f"unknown kind '{text}'"),
            doc.loc(("kind",)),
            Text(
                (f"是否想写 “{close[0]}”？" if close else "") + f"可用：{', '.join(allowed)}",
                (f"did you mean '{close[0]}'? " if close else "") + f"allowed: {', '.join(allowed)}",
            ),
        )
    return None


@dataclass(frozen=True, slots=True)
class Checked:
    """A spec document after validation: its kind, and whether it follows its schema."""

    kind: str
    doc: Document
    valid: bool


@dataclass(frozen=True, slots=True)
class ValidatedSet:
    source: SourceSet
    #: The config document (ybt.yaml / library.yaml) exists and follows its schema.
    config_valid: bool
    documents: tuple[Checked, ...]


def validate_set(source: SourceSet, diags: Diagnostics) -> ValidatedSet:
    """Validate a project or library: its config document and every spec document."""
    config_ok = False
    if source.config is not None:
        config_kind = "library" if source.is_library else "project"
        where = ("库描述文件", "a library file") if source.is_library else ("ybt.yaml", "ybt.yaml")
        kind = _check_kind(source.config, diags, (config_kind,), *where)
        if kind is not None:
            before = len(diags)
            validate_document(source.config, kind, diags)
            config_ok = len(diags) == before
    out: list[Checked] = []
    for sf in source.files:
        for doc in sf.documents:
            kind = _check_kind(doc, diags, schemas.SPEC_KINDS, "规格文件中", "a spec file")
            if kind is None:
                continue
            before = len(diags)
            validate_document(doc, kind, diags)
            out.append(Checked(kind, doc, len(diags) == before))
    return ValidatedSet(source, config_ok, tuple(out))


def validate_project(loaded: LoadedProject, diags: Diagnostics) -> list[ValidatedSet]:
    """Validate every set, libraries first, then the project."""
    return [validate_set(s, diags) for s in loaded.all_sets()]
