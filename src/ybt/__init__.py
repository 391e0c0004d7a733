"""ybt (一表通): a declarative report-definition compiler for grass-roots government.

The pipeline runs load → validate → resolve (→ analyze → check → emit); each stage is one module
and they share the typed model in :mod:`ybt.model`.
"""

__version__ = "0.1.0"

#: Version of the manifest layout written by ``ybt compile``; bump on incompatible changes.
MANIFEST_SCHEMA_VERSION = "ybt.manifest/v1"
