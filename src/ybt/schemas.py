"""The spec language's JSON Schemas: loading, validators, and self-contained bundles for editors."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema is imported when a document fails its schema (slow to import, rarely needed)
    from jsonschema import Draft202012Validator
    from referencing import Registry

from ybt._resources import schema_dir

#: Kinds of document that may appear in spec files (``project`` and ``library`` only in their config file).
SPEC_KINDS = ("field", "codelist", "entity", "ledger", "report")
CONFIG_KINDS = ("project", "library")
ALL_KINDS = SPEC_KINDS + CONFIG_KINDS
COMMON = "common.schema.json"


def schema_file(kind: str) -> str:
    return f"{kind}.schema.json"


@cache
def _raw() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(schema_dir().glob("*.schema.json")):
        out[path.name] = json.loads(path.read_text(encoding="utf-8"))
    return out


def raw_schema(kind: str) -> dict[str, Any]:
    return _raw()[schema_file(kind)]


@cache
def _registry() -> Registry[Any]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = [(name, Resource.from_contents(doc, default_specification=DRAFT202012)) for name, doc in _raw().items()]
    return Registry().with_resources(resources)


@cache
def validator(kind: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(raw_schema(kind), registry=_registry(), format_checker=FormatChecker())


@cache
def fast_validator(kind: str) -> Any:
    """A compiled validator (jsonschema-rs) of the bundled schema, for the common case of a valid
    document; None when the package is unavailable. Invalid documents are re-checked by
    :func:`validator`, whose errors carry what the messages need."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return jsonschema_rs.Draft202012Validator(bundle(kind), validate_formats=True)


def resolve_ref(ref: str, base: str) -> dict[str, Any]:
    """Follow a ``$ref`` written in the schema file ``base`` (used to find titles and enum labels)."""
    target, _, pointer = ref.partition("#")
    doc = _raw()[target or base]
    node: Any = doc
    for part in pointer.strip("/").split("/") if pointer else []:
        node = node[part]
    return node if isinstance(node, dict) else {}


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith(COMMON):
                out[k] = v[len(COMMON) :]
            else:
                out[k] = _rewrite_refs(v)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def bundle(kind: str | None = None) -> dict[str, Any]:
    """A self-contained schema (no external ``$ref``) for one kind, or for every spec kind at once.

    The all-kinds schema dispatches on ``kind:`` so that one editor setting validates any spec file.
    """
    common_defs = copy.deepcopy(_raw()[COMMON]["$defs"])
    if kind is not None:
        schema = copy.deepcopy(raw_schema(kind))
        schema["$defs"] = {**common_defs, **schema.get("$defs", {})}
        return dict(_rewrite_refs(schema))
    defs: dict[str, Any] = dict(common_defs)
    branches = []
    for k in SPEC_KINDS + CONFIG_KINDS:
        sub = copy.deepcopy(raw_schema(k))
        for name, d in sub.pop("$defs", {}).items():
            defs[f"{k}_{name}"] = _prefix_local_refs(d, k)
        sub = _prefix_local_refs(sub, k)
        sub.pop("$schema", None)
        defs[f"kind_{k}"] = sub
        branches.append({"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]}, "then": {"$ref": f"#/$defs/kind_{k}"}})
    combined: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ybt spec document 规格文档",
        "description": "Any ybt spec document; dispatches on `kind`. 任意 ybt 规格文档，按 kind 选择定义。",
        "type": "object",
        "required": ["kind", "id"],
        "properties": {"kind": {"enum": list(SPEC_KINDS + CONFIG_KINDS)}},
        "allOf": branches,
        "$defs": defs,
    }
    return dict(_rewrite_refs(combined))


def _prefix_local_refs(node: Any, kind: str) -> Any:
    """Point a kind's own ``#/$defs/x`` refs at ``#/$defs/<kind>_x`` inside the combined schema."""
    own = set(raw_schema(kind).get("$defs", {}))
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/") and v[8:] in own:
                out[k] = f"#/$defs/{kind}_{v[8:]}"
            else:
                out[k] = _prefix_local_refs(v, kind)
        return out
    if isinstance(node, list):
        return [_prefix_local_refs(v, kind) for v in node]
    return node
