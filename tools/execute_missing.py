"""Execute, in place, every chapter notebook that has no outputs at all (a new
chapter, or one cleared on purpose); leave the others as committed.

    python tools/execute_missing.py        # what `make book` runs before building
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def never_run(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def main() -> int:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if never_run(path):
            print(f"executing {path.relative_to(ROOT)} (it has no outputs yet)")
            cmd = [sys.executable, "-m", "jupyter", "execute", "--inplace", "--timeout=3600",
                   str(path)]
            if subprocess.call(cmd) != 0:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
