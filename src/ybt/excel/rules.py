"""Diagnostic codes of the Excel loop (YBT7xx), registered when the ``ybt`` CLI loads its plug-ins.

Kept apart from :mod:`ybt.excel.ingest` so that ``ybt rule YBT703`` works without loading the
workbook readers.
"""

from __future__ import annotations

from ybt.diagnostics import Severity, Text
from ybt.registry import RuleInfo, register


def _rule(code: str, name: str, zh: str, en: str, bad: str, good: str) -> str:
    explanation = f"{zh}\n\n{en}\n\nBad / 错误写法: {bad}\n\nGood / 正确写法: {good}"
    register(RuleInfo(code, name, "excel", Severity.ERROR, Text(zh, en), explanation, configurable=False))
    return code


NOT_TEMPLATE = _rule(
    "YBT701",
    "excel-not-template",
    "文件不是 ybt 模板，或无法读取",
    "the file is not a ybt template, or cannot be read",
    "导入自己新建的工作簿，或删除了隐藏的 _ybt 工作表",
    "用 ybt template 生成模板，填好后原样导入",
)
TEMPLATE_CHANGED = _rule(
    "YBT702",
    "excel-template-changed",
    "模板与数据池中的表定义不一致：表头被改动、列被移动，或模板版本过旧",
    "the template no longer matches the form in the pool: the header was edited, columns moved, or the template is out of date",
    "在“姓名”前插入一列，或用去年的模板填报",
    "重新生成模板（ybt template），把数据粘贴到新模板的对应列",
)
BAD_VALUE = _rule(
    "YBT703",
    "excel-bad-value",
    "单元格的值不符合填表规范（类型、代码、长度、格式、校验位、日期）",
    "a cell's value breaks the filling rules (type, code, length, format, check digit, date)",
    "身份证号码 110101199003071234（校验位错）、日期 2024.13.45",
    "110101199003074477、2024-03-15",
)
REQUIRED = _rule("YBT704", "excel-required", "必填栏目未填写", "a required column is empty", "“姓名”空着", "每一行都填写带 * 的栏目")
FORMULA = _rule(
    "YBT705",
    "excel-formula",
    "单元格含公式或以 = + - @ 开头的文字（公式注入），不能导入",
    "a cell holds a formula or text starting with = + - @ (formula injection); it cannot be ingested",
    '=HYPERLINK("http://…","点击")',
    "只填写数据本身，不写公式",
)
INCONSISTENT = _rule(
    "YBT706",
    "excel-inconsistent",
    "同一行的栏目互相矛盾（性别、出生日期与身份证号码不符），或同一对象填了两行",
    "columns of one row disagree (sex or birth date against the ID number), or one entity has two rows",
    "身份证号码为女性（第 17 位偶数），性别填“男”",
    "按身份证号码核对性别和出生日期",
)
