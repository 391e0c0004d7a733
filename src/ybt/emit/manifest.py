"""The manifest generator: ``manifest.json``, the compiled project as one JSON document.

Like dbt's manifest, it lists every object under a unique id (``report.<dept>.<id>``,
``field.<ns>.<id>``, …) with its file, line, checksum and resolved content, plus ``parent_map`` (what
each object depends on) and ``child_map`` (what depends on it). The output is deterministic: the same
specs give byte-identical JSON (no timestamps, sorted keys).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ybt import MANIFEST_SCHEMA_VERSION, __version__
from ybt.diagnostics import Text
from ybt.emit import Generator, register
from ybt.model import Project, SpecObject, child_map, dependencies

MANIFEST_FILE = "manifest.json"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "doc"}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def document_checksum(data: Any) -> str:
    """Checksum of a document's content, insensitive to comments, key order and formatting."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _object(obj: SpecObject) -> dict[str, Any]:
    body: dict[str, Any] = _plain(obj)
    loc = obj.location
    body.update(
        {
            "unique_id": obj.uid,
            "file": obj.doc.rel,
            "line": loc.line,
            "column": loc.column,
            "checksum": document_checksum(obj.doc.data),
        }
    )
    return body


def build_manifest(project: Project) -> dict[str, Any]:
    parents = dependencies(project)
    files = {path: {"checksum": checksum} for path, checksum in project.file_checksums.items()}
    project_checksum = hashlib.sha256("\n".join(f"{k}:{v}" for k, v in sorted(project.file_checksums.items())).encode()).hexdigest()
    policy = _plain(project.policy)
    return {
        "metadata": {
            "manifest_schema": MANIFEST_SCHEMA_VERSION,
            "ybt_version": __version__,
            "project_id": project.id,
            "project_checksum": project_checksum,
        },
        "project": {
            "id": project.id,
            "name": project.name,
            "description": project.description,
            "uses": list(project.uses),
            "policy": policy,
            "synonyms": [list(g) for g in project.synonyms],
            "org_root": f"org.{project.org_root}" if project.org_root else None,
        },
        "libraries": {lib.id: {"name": lib.name, "version": lib.version} for lib in project.libraries.values()},
        "departments": {
            d.uid: {"unique_id": d.uid, "id": d.id, "name": d.name, "short": d.short, "level": d.level, "office": d.office}
            for d in sorted(project.departments.values(), key=lambda d: d.uid)
        },
        "org_units": {
            u.uid: {
                "unique_id": u.uid,
                "code": u.code,
                "name": u.name,
                "level": u.level,
                "parent": f"org.{u.parent}" if u.parent else None,
                "children": [f"org.{c}" for c in u.children],
            }
            for u in sorted(project.org_units.values(), key=lambda u: u.uid)
        },
        "codelists": {u: _object(o) for u, o in project.codelists.items()},
        "fields": {u: _object(o) for u, o in project.fields.items()},
        "entities": {u: _object(o) for u, o in project.entities.items()},
        "ledgers": {u: _object(o) for u, o in project.ledgers.items()},
        "reports": {u: _object(o) for u, o in project.reports.items()},
        "parent_map": dict(sorted(parents.items())),
        "child_map": child_map(parents),
        "files": dict(sorted(files.items())),
    }


def render(project: Project) -> bytes:
    return (json.dumps(build_manifest(project), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _generate(project: Project, options: Mapping[str, Any]) -> dict[str, bytes]:
    return {MANIFEST_FILE: render(project)}


GENERATOR = register(
    Generator(
        "manifest",
        Text(
            "编译清单 manifest.json：全部对象、位置、校验和与依赖关系",
            "manifest.json: every object with its location, checksum and dependencies",
        ),
        _generate,
    )
)
