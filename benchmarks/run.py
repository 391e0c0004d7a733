"""ybt benchmarks: figures measured in one run on this machine, times as ratios against a baseline
measured in the same run.

    python benchmarks/run.py [--quick] [--json FILE]

Figures (name: what, target):

* ``dupes_scaling_exponent`` — ``ybt dupes`` on a catalog 4× larger takes t₄ = t₁·4^k; k ≤ 1.3
  (blocking, no all-pairs step);
* ``dupes_vs_yaml_parse`` — the analysis of the province (12,000 fields, 2,500 reports at full scale)
  against only parsing all its YAML with PyYAML's C loader, in the same run; ≤ 1.0 (the seconds are in
  the detail column: "seconds, not minutes");
* ``dupes_pairs_compared`` — pairs of fields the analysis scores, as a share of all pairs; ≤ 0.01.

``--quick`` uses a quarter of the province so that the run takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from province import generate

from ybt.analyze.dupes import find_duplicates
from ybt.model import Project
from ybt.pipeline import compile_project


def _best_of(n: int, fn: Callable[[], Any]) -> float:
    best = math.inf
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _project(root: Path, scale: float) -> Project:
    generate(root, scale)
    result = compile_project(root)
    if not result.ok or result.project is None:
        raise SystemExit(f"the generated project does not compile: {[d.message.en for d in result.diagnostics[:3]]}")
    return result.project


def _parse_all(root: Path) -> None:
    for path in sorted(root.rglob("*.yaml")):
        list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))


def run(quick: bool) -> dict[str, dict[str, Any]]:
    full = 0.25 if quick else 1.0
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ybt-bench-") as tmp:
        small = _project(Path(tmp) / "small", full / 4)
        large = _project(Path(tmp) / "large", full)
        t_small = _best_of(3, lambda: find_duplicates(small))
        t_large = _best_of(2, lambda: find_duplicates(large))
        exponent = math.log(t_large / t_small) / math.log(4)
        figures["dupes_scaling_exponent"] = {"value": round(exponent, 3), "target": 1.3, "unit": "exponent", "ok": exponent <= 1.3,
                                             "detail": f"{len(small.fields)} fields {t_small:.2f}s → {len(large.fields)} fields {t_large:.2f}s"}  # fmt: skip
        t_parse = _best_of(2, lambda: _parse_all(Path(tmp) / "large"))
        ratio = t_large / t_parse
        figures["dupes_vs_yaml_parse"] = {"value": round(ratio, 3), "target": 1.0, "unit": "ratio", "ok": ratio <= 1.0,
                                          "detail": f"dupes {t_large:.2f}s vs parse {t_parse:.2f}s; {len(large.fields)} fields"}  # fmt: skip
        result = find_duplicates(large)
        n = sum(1 for f in large.fields.values() if f.status not in ("superseded", "retired"))
        share = result.compared_pairs / (n * (n - 1) / 2)
        figures["dupes_pairs_compared"] = {"value": round(share, 6), "target": 0.01, "unit": "ratio", "ok": share <= 0.01,
                                           "detail": f"{result.compared_pairs:,} of {n * (n - 1) // 2:,} pairs"}  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="ybt benchmarks")
    parser.add_argument("--quick", action="store_true", help="a tenth of the province (about a minute)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(args.quick)
    width = max(len(k) for k in figures)
    print(f"{'figure':<{width}}  {'value':>10}  {'target':>8}  unit      ok   detail")
    for name, f in figures.items():
        print(f"{name:<{width}}  {f['value']:>10}  {'≤ ' + str(f['target']):>8}  {f['unit']:<8}  {'yes' if f['ok'] else 'NO ':<3}  {f['detail']}")
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if all(f["ok"] for f in figures.values()) else 1)


if __name__ == "__main__":
    main()
