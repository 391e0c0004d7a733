"""Rebuild a :class:`~ybt.model.Project` from a ``manifest.json``, to compile the SQL of an older pool.

The manifest holds every field, codelist, entity, ledger and report with its full resolved content
(see :mod:`ybt.emit.manifest`), so the SQL built from the rebuilt project is the SQL the old specs
gave. Locations point at the old file and line as the manifest recorded them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ybt import model
from ybt.load import Document
from ybt.model import Codelist, Department, Entity, Field, Ledger, OrgUnit, Project, Report

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, vars(model))
    return _HINTS[cls]


def _value(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _value(args[0], data) if len(args) == 1 else data
    if origin is tuple:
        targs = typing.get_args(tp)
        inner = targs[0] if targs else Any
        return tuple(_value(inner, v) for v in data)
    if origin in (Mapping, dict) or tp is Mapping:
        return MappingProxyType(dict(data))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _make(tp, data)
    return data


def _make(cls: type, data: Mapping[str, Any], **extra: Any) -> Any:
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in extra:
            kwargs[f.name] = extra[f.name]
        elif f.name in data:
            kwargs[f.name] = _value(hints[f.name], data[f.name])
    return cls(**kwargs)


def _doc(rel: str, line: int, column: int) -> Document:
    return Document(file=rel, rel=rel, index=0, data=None, positions={(): (line or 1, column or 1)}, key_positions={})


def project_from_manifest(data: Mapping[str, Any], source: str = "") -> Project:
    """The project a manifest was compiled from (enough of it for the SQL generator)."""
    meta = data.get("project", {})
    root_doc = _doc("ybt.yaml", 1, 1)

    def objects(section: str, cls: type) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for uid, body in sorted(data.get(section, {}).items()):
            doc = _doc(body.get("file", ""), body.get("line", 1), body.get("column", 1))
            out[uid] = _make(cls, body, doc=doc, uid=uid)
        return out

    departments = {
        body["id"]: Department(uid, body["id"], body["name"], root_doc, i, body.get("short"), body.get("level"), bool(body.get("office")))
        for i, (uid, body) in enumerate(sorted(data.get("departments", {}).items()))
    }

    def strip(ref: str | None) -> str | None:
        return ref[4:] if ref and ref.startswith("org.") else ref

    org_units = {
        body["code"]: OrgUnit(
            uid=f"org.{body['code']}",
            code=body["code"],
            name=body["name"],
            level=body["level"],
            parent=strip(body.get("parent")),
            children=tuple(c for c in (strip(x) for x in body.get("children", [])) if c),
        )
        for body in data.get("org_units", {}).values()
    }
    return Project(
        id=meta.get("id") or data.get("metadata", {}).get("project_id", "project"),
        name=meta.get("name", ""),
        root=Path(source or "."),
        doc=root_doc,
        description=meta.get("description"),
        uses=tuple(meta.get("uses", ())),
        departments=MappingProxyType(departments),
        org_units=MappingProxyType(org_units),
        org_root=strip(meta.get("org_root")),
        fields=MappingProxyType(objects("fields", Field)),
        codelists=MappingProxyType(objects("codelists", Codelist)),
        entities=MappingProxyType(objects("entities", Entity)),
        ledgers=MappingProxyType(objects("ledgers", Ledger)),
        reports=MappingProxyType(objects("reports", Report)),
    )
