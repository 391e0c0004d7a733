"""Printing and saving benchmark figures: one table and one JSON layout for every benchmark script.

A figure is ``{"value", "target", "unit", "ok", "detail"}``; names starting with ``_`` carry context
(the machine) and are written to JSON but not printed in the table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn


def figure(value: float, target: float, unit: str, detail: str, *, ok: bool | None = None, digits: int = 4) -> dict[str, Any]:
    """One figure; ``ok`` is ``value <= target`` unless given."""
    return {"value": round(value, digits), "target": target, "unit": unit, "ok": value <= target if ok is None else ok, "detail": detail}


def finish(figures: dict[str, dict[str, Any]], json_path: Path | None) -> NoReturn:
    """Print the table, write the JSON when asked, and exit 1 when a figure misses its target."""
    shown = {k: f for k, f in figures.items() if not k.startswith("_")}
    width = max(len(k) for k in shown)
    print(f"{'figure':<{width}}  {'value':>10}  {'target':>9}  {'unit':<8}  ok   detail")
    for name, f in shown.items():
        print(f"{name:<{width}}  {f['value']:>10}  {'≤ ' + str(f['target']):>9}  {f['unit']!s:<8}  {'yes' if f['ok'] else 'NO ':<3}  {f['detail']}")
    machine = figures.get("_machine")
    if machine:
        print(f"\nmachine: {machine['cpus']} CPUs, load average {machine['load_average']}, Python {machine['python']}, province scale {machine['scale']}")
    if json_path is not None:
        json_path.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if all(f["ok"] for f in shown.values()) else 1)
