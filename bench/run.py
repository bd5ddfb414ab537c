"""Run every benchmark under bench/ (modules named bench_*.py with a main()) and print
their tables. `make bench`; `make bench ONLY=envelope` runs one."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    only = os.environ.get("ONLY", "")
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        names = [n for n in names if only in n]
    failures = 0
    for name in names:
        print(f"\n### {name}\n", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            module.main()
        except Exception as exc:  # one failing benchmark does not hide the others
            failures += 1
            print(f"{name} failed: {exc!r}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
