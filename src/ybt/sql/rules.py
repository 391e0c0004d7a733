"""Diagnostic codes of pool migrations (``YBT6xx``), registered for ``ybt rule``.

Kept apart from :mod:`ybt.sql.migrate` so that the CLI can register them without importing sqlglot.
"""

from __future__ import annotations

from ybt.diagnostics import Severity, Text
from ybt.registry import RuleInfo, register


def _rule(code: str, name: str, severity: Severity, zh: str, en: str, bad: str, good: str) -> str:
    explanation = f"{zh}\n\n{en}\n\nBad / 错误写法: {bad}\n\nGood / 正确写法: {good}"
    register(RuleInfo(code, name, "sql", severity, Text(zh, en), explanation, configurable=False))
    return code


TYPE_CHANGE = _rule(
    "YBT601",
    "sql-type-change",
    Severity.ERROR,
    "数据池迁移：栏目的数据类型改变了，ybt 不自动转换已有数据",
    "pool migration: a column's type changed; ybt does not convert existing data",
    "changing a field from `string` to `integer` after the ledger holds rows, then `ybt db init`.",
    "add a new field of the new type, fill it from the old one with SQL you review, then retire the old field.",
)
DROPPED_COLUMN = _rule(
    "YBT602",
    "sql-dropped-column",
    Severity.WARNING,
    "数据池迁移：规格中已去掉的栏目仍保留在表中，数据不删除",
    "pool migration: a column no longer in the specs is kept in its table, with its data",
    "expecting `ybt db init` to delete a ledger column (and its data) you removed from the specs.",
    "export the column's data, then drop it by hand: `ALTER TABLE … DROP COLUMN …`.",
)
KEY_CHANGE = _rule(
    "YBT603",
    "sql-key-change",
    Severity.ERROR,
    "数据池迁移：台账主键改变了，已有数据可能违反新主键",
    "pool migration: a ledger's key changed; existing rows may break the new key",
    "changing a ledger's `key` from `mz.gmsfhm` to `std.resident_id` on a pool with rows.",
    "create a new ledger with the new key and copy the rows with SQL you review; or rebuild the pool.",
)
DROPPED_TABLE = _rule(
    "YBT604",
    "sql-dropped-table",
    Severity.WARNING,
    "数据池迁移：规格中已去掉的台账或报表的表仍保留，数据不删除",
    "pool migration: the table of a ledger or report no longer in the specs is kept, with its data",
    "expecting a retired ledger's table (and its rows) to disappear from the pool.",
    "archive the table and drop it by hand once nobody needs its rows.",
)
CONSTRAINT_CHANGE = _rule(
    "YBT605",
    "sql-constraint-change",
    Severity.WARNING,
    "数据池迁移：必填、取值约束或代码表引用改变了，已有表上不自动修改",
    "pool migration: a NOT NULL, CHECK or code-table constraint changed; it is not changed on the existing table",
    "tightening `constraints.max` and expecting the pool to reject the rows already stored.",
    "check the existing rows against the new rule, then rebuild the table (or add the constraint by hand).",
)
REMOVED_CODE = _rule(
    "YBT606",
    "sql-removed-code",
    Severity.WARNING,
    "数据池迁移：代码表中去掉的代码（或组织单位）保留在库中，已有数据可能还在用",
    "pool migration: codes (or org units) removed from the specs stay in the pool; rows may still use them",
    "deleting a code from a codelist and expecting the pool to forget it.",
    "mark the code `deprecated: true` instead; ybt records that in the code table.",
)


FIELD_MERGED = _rule(
    "YBT607",
    "sql-field-merged",
    Severity.INFO,
    "数据池迁移：字段已被合并（superseded_by），其栏目的数据复制到替代字段的栏目",
    "pool migration: a field was merged (superseded_by); its column's values are copied into the replacing field's column",
    "copying the values of a merged department field into the shared field by hand after `ybt merge --apply`.",
    "let `ybt db init` rebuild the table: it carries every row over into the new columns in one transaction.",
)
