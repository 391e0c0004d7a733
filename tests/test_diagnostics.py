"""The packed form of diagnostics (the check cache, the parallel loader's pipe): what goes in comes out."""

from __future__ import annotations

import marshal

import pytest

from ybt.diagnostics import Diagnostic, Location, Related, Severity, Text, pack_diagnostics, unpack_diagnostics

HINT = Text("引用标准字段", "reference the standard field")


def _diag(n: int, **kw: object) -> Diagnostic:
    base: dict[str, object] = {
        "code": "YBT201" if n % 2 else "YBT204",
        "severity": Severity.ERROR if n % 3 else Severity.WARNING,
        "message": Text(f"字段 d{n}.f“房屋地址”重复", f"field d{n}.f '房屋地址' is a duplicate"),
        "location": Location(f"departments/d{n % 4}/fields.yaml", n + 1, 3),
        "hint": HINT,
        "object_id": f"field.d{n}.f",
    }
    base.update(kw)
    return Diagnostic(**base)  # type: ignore[arg-type]


def _round_trip(groups: list[list[Diagnostic]]) -> list[list[Diagnostic]]:
    return unpack_diagnostics(marshal.loads(marshal.dumps(pack_diagnostics(groups))))


def test_groups_come_back_equal_and_as_the_same_types() -> None:
    groups = [
        [_diag(1), _diag(2, location=None, hint=None, object_id=None)],
        [],
        [_diag(3, location=Location("roster.xlsx", sheet="花名册", cell="B7"))],
        [_diag(4, related=(Related(Location("specs/std/fields/house.yaml", 21, 1), Text("标准字段", "the standard field")),))],
        [_diag(n) for n in range(5, 40)],
    ]
    back = _round_trip(groups)
    assert back == groups
    assert isinstance(pack_diagnostics(groups)[3], bytes)  # the texts went as one UTF-16 string
    flat = [d for g in back for d in g]
    assert all(type(d) is Diagnostic and type(d.message) is Text for d in flat)
    assert all(d.location is None or type(d.location) is Location for d in flat)
    assert type(back[3][0].related[0]) is Related and type(back[3][0].related[0].location) is Location
    assert back[0][1].location is None and back[0][1].hint is None and back[0][1].object_id is None
    assert all(d.severity in Severity for d in flat) and back[0][0].severity is Severity.ERROR
    hints = {id(d.hint) for d in flat if d.hint is not None}
    assert len(hints) == 1  # a hint that repeats is one object again, as it was stored once


def test_no_groups_and_empty_groups() -> None:
    assert _round_trip([]) == []
    assert _round_trip([[], []]) == [[], []]


@pytest.mark.parametrize("text", ["带\0分隔符", "lone \ud800 surrogate", "a pair as two \ud83d\ude00 code points", ""])
def test_texts_the_utf16_column_cannot_carry_are_kept_as_they_are(text: str) -> None:
    groups = [[_diag(1, message=Text(text, text)), _diag(2)], [_diag(3, message=Text("", text))]]
    back = _round_trip(groups)
    assert back == groups
    assert [d.message for g in back for d in g] == [d.message for g in groups for d in g]
    assert isinstance(pack_diagnostics(groups)[3], bytes if text == "" else list)


def test_a_batch_that_does_not_add_up_is_refused() -> None:
    packed = list(pack_diagnostics([[_diag(1), _diag(2)]]))
    packed[0] = [3]  # claims three diagnostics
    with pytest.raises(ValueError):
        unpack_diagnostics(tuple(packed))
    packed = list(pack_diagnostics([[_diag(1), _diag(2)]]))
    packed[3] = "x".encode("utf-16-le")  # one text instead of four
    with pytest.raises(ValueError):
        unpack_diagnostics(tuple(packed))
