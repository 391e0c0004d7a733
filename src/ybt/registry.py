"""The registry of diagnostic codes: every code ybt can emit, with a name, family and explanation.

Codes are stable: ``YBT0xx`` are spec errors found while loading, validating and resolving (always
errors, cannot be silenced); later families (admission, catalog, hygiene) are lint rules that
register themselves here too. ``ybt rule CODE`` prints an entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ybt.diagnostics import Severity, Text

_CODE = re.compile(r"^YBT\d{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class RuleInfo:
    code: str
    name: str
    family: str
    severity: Severity
    summary: Text
    #: Markdown, Chinese first then English, with a bad and a good example.
    explanation: str
    #: Spec errors are always errors; lint rules may be re-graded or switched off in ybt.yaml.
    configurable: bool = True


_REGISTRY: dict[str, RuleInfo] = {}


def register(info: RuleInfo) -> RuleInfo:
    if not _CODE.match(info.code):
        raise ValueError(f"bad rule code {info.code!r}")
    if not _NAME.match(info.name):
        raise ValueError(f"rule name must be kebab-case: {info.name!r}")
    existing = _REGISTRY.get(info.code)
    if existing is not None and existing != info:
        raise ValueError(f"rule code {info.code} registered twice")
    if any(r.name == info.name and r.code != info.code for r in _REGISTRY.values()):
        raise ValueError(f"rule name {info.name} registered twice")
    _REGISTRY[info.code] = info
    return info


def get(code_or_name: str) -> RuleInfo | None:
    key = code_or_name.strip()
    hit = _REGISTRY.get(key.upper())
    if hit is not None:
        return hit
    return next((r for r in _REGISTRY.values() if r.name == key.lower()), None)


def all_rules() -> list[RuleInfo]:
    return sorted(_REGISTRY.values(), key=lambda r: r.code)


def _spec(code: str, name: str, zh: str, en: str, explanation: str) -> str:
    register(RuleInfo(code, name, "spec", Severity.ERROR, Text(zh, en), explanation.strip(), configurable=False))
    return code


USAGE = _spec(
    "YBT000",
    "usage-or-internal",
    "命令用法错误或 ybt 内部错误",
    "usage error or internal error",
    """
命令行参数不对（未知的选项、种类或生成目标），或 ybt 自身出错。退出码为 2。内部错误请设置 YBT_DEBUG=1 重新运行并报告。

The command line is wrong (an unknown option, kind or target), or ybt itself failed. The exit code is 2.
For an internal error, rerun with YBT_DEBUG=1 to see the traceback and please report it.

Bad / 错误写法: `ybt schema feild`. Good / 正确写法: `ybt schema field`.
""",
)

YAML_SYNTAX = _spec(
    "YBT001",
    "yaml-syntax",
    "YAML 语法错误",
    "YAML syntax error",
    """
文件不是合法的 YAML：缩进不一致、冒号后缺空格、引号未闭合等。错误指向解析器停下的位置，问题常在其上一两行。

The file is not valid YAML (inconsistent indentation, a missing space after a colon, an unclosed quote…).
The location is where the parser stopped; the cause is often a line or two above.

Bad / 错误写法:

```yaml
label:身份证号        # 冒号后缺空格 / no space after the colon
aliases: [身份证号码
```

Good / 正确写法:

```yaml
label: 身份证号
aliases: [身份证号码]
```
""",
)

DUPLICATE_KEY = _spec(
    "YBT002",
    "duplicate-key",
    "同一映射中键重复",
    "duplicate key in a mapping",
    """
同一个映射里同一个键写了两次。YAML 解析器通常只保留最后一个值，前一个被悄悄丢掉，因此 ybt 把它当作错误。

A key appears twice in one mapping. Most YAML readers silently keep the last value and drop the first,
so ybt treats it as an error and names both lines.

Bad / 错误写法:

```yaml
label: 姓名
type: string
label: 户主姓名
```

Good / 正确写法: keep one `label:` (and declare 户主姓名 as its own field with `role: household_head`).
""",
)

UNSAFE_YAML = _spec(
    "YBT003",
    "unsafe-yaml",
    "YAML 内容不安全或过大",
    "unsafe or oversized YAML",
    """
ybt 只做安全加载：拒绝自定义标签（如 `!!python/object`）、展开后过大的别名（“别名炸弹”）、
嵌套过深的结构和超过大小上限的文件。

ybt loads YAML safely only: it refuses custom tags (`!!python/object`…), aliases that expand into huge
documents (alias bombs), too deep nesting and files over the size limit.

Bad / 错误写法:

```yaml
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]   # … grows exponentially
```

Good / 正确写法: write the values out, or split a very large file into several files.
""",
)

UNREADABLE_FILE = _spec(
    "YBT004",
    "unreadable-file",
    "文件无法读取",
    "file cannot be read",
    """
文件无法读取，或不是 UTF-8 编码。请用 UTF-8（无 BOM 亦可）保存规格文件；在 Windows 记事本中“另存为”时选择 UTF-8。

The file could not be read or is not UTF-8. Save spec files as UTF-8 (Notepad: Save As → Encoding UTF-8).

Bad / 错误写法: a file saved as GBK/GB2312. Good / 正确写法: the same file saved as UTF-8.
""",
)

UNKNOWN_KIND = _spec(
    "YBT010",
    "unknown-kind",
    "文档缺少或写错 kind",
    "document kind missing or unknown",
    """
每个 YAML 文档顶层都要有 `kind:`（field、codelist、entity、ledger、report）和 `id:`。

Every YAML document needs a top-level `kind:` (field, codelist, entity, ledger, report) and an `id:`.
`project` belongs only in ybt.yaml and `library` only in a library's library.yaml.

Bad / 错误写法:

```yaml
kind: feild
id: resident_id
```

Good / 正确写法:

```yaml
kind: field
id: resident_id
```
""",
)

SCHEMA_VIOLATION = _spec(
    "YBT011",
    "schema-violation",
    "不符合规格语言的定义",
    "does not follow the spec language",
    """
文档不符合 `specs/schema/` 中该种类的 JSON Schema：缺少必填项、写错属性名、取值不在允许范围、类型不对等。
错误指向出问题的那个节点；`ybt schema KIND` 可输出完整定义，编辑器可通过 yaml-language-server 实时校验。

The document does not follow its kind's JSON Schema (a missing required property, a misspelt key, a value
outside the allowed set, a wrong type…). The location is the node at fault. `ybt schema KIND` prints the
schema; editors validate as you type through yaml-language-server.

Bad / 错误写法:

```yaml
kind: field
id: sex
lable: 性别          # misspelt / 拼错
type: code           # code needs a codelist / 代码型需要代码表
```

Good / 正确写法:

```yaml
kind: field
id: sex
label: 性别
type: code
codelist: std.gb2261_1_sex
```
""",
)

DUPLICATE_ENTRY = _spec(
    "YBT012",
    "duplicate-entry",
    "同一文档内条目重复",
    "duplicate entry inside a document",
    """
同一文档中应当唯一的条目重复了：代码表里的代码、报表里的栏目标识、台账里的字段、组织机构代码、部门标识。

An entry that must be unique appears twice: a code in a codelist, a column id in a report, a field in a
ledger (also when written once as `name` and once as `std.name`), an organisation
code or a department id in ybt.yaml. A report column's id defaults to its field's id, so the same field
twice in one report needs an explicit `id:` on one of them.

Bad / 错误写法:

```yaml
values:
  - {code: "1", label: 男}
  - {code: "1", label: 女}
```

Good / 正确写法:

```yaml
values:
  - {code: "1", label: 男}
  - {code: "2", label: 女}
```
""",
)

UNKNOWN_REFERENCE = _spec(
    "YBT020",
    "unknown-reference",
    "引用的对象不存在",
    "reference to an unknown object",
    """
引用的字段、代码表、对象、台账、报表或部门找不到。不带命名空间的引用依次在本命名空间、`shared`、
各个 `uses` 库中查找；ybt 会给出最接近的标识供参考。

A referenced field, codelist, entity, ledger, report or department does not exist. A bare `id` is looked up
in the referring namespace, then `shared`, then each library in `uses`; ybt suggests the nearest ids.

Bad / 错误写法:

```yaml
columns:
  - field: resident_idd
```

Good / 正确写法:

```yaml
columns:
  - field: std.resident_id
```
""",
)

DUPLICATE_ID = _spec(
    "YBT021",
    "duplicate-id",
    "标识重复",
    "duplicate id",
    """
同一命名空间中两个同种对象用了同一个标识。ybt 列出两处位置；改名其一，或删除重复的定义。

Two objects of the same kind share an id in one namespace. ybt names both places: rename one or delete the
copy. (A department's own field may share an id with a `shared` one: they are in different namespaces.)

Bad / 错误写法: `id: name` declared in fields/person.yaml and again in fields/extra.yaml, both `namespace: shared`.

Good / 正确写法: one declaration, or `namespace: mz` on the department's own copy.
""",
)

REFERENCE_CYCLE = _spec(
    "YBT022",
    "reference-cycle",
    "引用成环",
    "reference cycle",
    """
`superseded_by` 或对象的 `parent` 形成了环（A 被 B 替代，B 又被 A 替代），无法确定最终替代者。

`superseded_by` or an entity's `parent` forms a cycle (A superseded by B, B superseded by A), so there is
no final replacement.

Bad / 错误写法: `a: superseded_by: b` and `b: superseded_by: a`.
Good / 正确写法: both superseded by the same canonical field `c`, which is `status: standard`.
""",
)

INVALID_PROJECT = _spec(
    "YBT023",
    "invalid-project",
    "项目配置有误",
    "invalid project",
    """
项目目录缺少 ybt.yaml，引用了不存在的库，或部门标识与保留的命名空间（shared、库名）冲突。

The project directory has no ybt.yaml, `uses` names an unknown library, or a department id collides with a
reserved namespace (`shared`, a library id).

Bad / 错误写法:

```yaml
uses: [stdlib]
departments:
  - {id: shared, name: 共享}
```

Good / 正确写法:

```yaml
uses: [std]
departments:
  - {id: mz, name: 民政局}
```
""",
)

PLAN_REFUSED = _spec(
    "YBT030",
    "plan-refused",
    "合并方案无法执行",
    "merge plan refused",
    """
`ybt merge --apply` 拒绝了方案：它不是合并方案、属于别的项目、在生成后规格又改动过（过期），或者执行后的规格无法通过编译。
任何文件都没有被修改。请重新生成并审阅方案。

`ybt merge --apply` refused the plan: it is not a merge plan, it belongs to another project, the specs
changed after it was made (stale), or the specs would not compile after it. No file was changed. Make
the plan again and review it.

Bad / 错误做法: edit a report after `ybt merge --plan plan.yaml`, then `--apply plan.yaml`.
Good / 正确做法: `ybt merge PROJECT --plan plan.yaml`, review, then `--apply plan.yaml` right away.
""",
)

MISPLACED_DOCUMENT = _spec(
    "YBT024",
    "misplaced-document",
    "文档放错了位置",
    "document in the wrong place",
    """
文档的种类或命名空间与所在位置不符：项目文件里写了 `kind: project`（只能在 ybt.yaml），
或项目中的对象声明在某个库的命名空间（如 `namespace: std`）里，或命名空间既不是 shared 也不是部门。

A document's kind or namespace does not fit where it is: `kind: project` outside ybt.yaml, a project object
declared in a library's namespace (`namespace: std`), or a namespace that is neither `shared` nor a
department of the project.

Bad / 错误写法: `namespace: std` in a project file. Good / 正确写法: `namespace: shared` or a department id.
""",
)
