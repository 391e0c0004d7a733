"""Write ybt's generated reference documentation (docs/reference/*.md), or check that it is current.

    python docs/generate.py          # write docs/reference/spec-schema.md, rules.md, cli.md
    python docs/generate.py --check  # exit 1 if a committed file differs from what the code gives

The generators live in ybt.portal.reference; tests/test_docs_reference.py runs the same check.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ybt.portal.reference import GENERATORS

DOCS = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when a file is out of date instead of writing it")
    args = parser.parse_args()
    os.environ.pop("YBT_LANG", None)
    stale = []
    for rel, generate in GENERATORS.items():
        path = DOCS / rel
        text = generate()
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote docs/{rel}")
    if stale:
        print("out of date (run python docs/generate.py): " + ", ".join(f"docs/{r}" for r in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
