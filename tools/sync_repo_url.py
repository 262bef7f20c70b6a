"""Keep every notebook's Colab badge and Colab install cell in line with the one
repository address and release in _config.yml (repository.url / repository.release).

    python tools/sync_repo_url.py          # rewrite notebooks that are out of date
    python tools/sync_repo_url.py --check  # exit 1 and list them (what the tests do)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((?P<url>[^)]*)\)")
INSTALL = re.compile(r'pip install -q -c (?P<keep>\S+) '
                     r'"bigtext-lite(?P<extras>\[[a-z,]*\])? '
                     r'@ git\+(?P<url>[^"@]*)@(?P<release>[^"]*)"')
# Colab's preloaded packages the install must not replace (a replaced one forces a
# runtime restart): pinned as constraints to the versions the runtime has.
KEEP = "torch|numpy|transformers|tokenizers"
KEEP_FILE = "/tmp/colab-preloaded.txt"


def install_lines(extras: str) -> str:
    """The two pip lines of a chapter's Colab cell, for the release in _config.yml."""
    url, release = repository()
    return (f'    !pip freeze | grep -iE "^({KEEP})==" > {KEEP_FILE}\n'
            f'    !pip install -q -c {KEEP_FILE} "bigtext-lite{extras} @ git+{url}@{release}"')


def repository() -> tuple[str, str]:
    """(url, release tag)"""
    conf = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    return conf["url"].rstrip("/"), conf["release"]


def colab_url(notebook: Path) -> str:
    url, release = repository()
    github_path = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github_path}/blob/{release}/" \
           f"{notebook.resolve().relative_to(ROOT).as_posix()}"


def badge(notebook: Path) -> str:
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook)})")


# The cell's pip lines as written before the release pin, or as this tool writes them.
INSTALL_CELL = re.compile(r'( *!pip freeze [^\n]*\n)? *!pip install -q (-c \S+ )?'
                          r'"bigtext-lite(?P<extras>\[[a-z,]*\])? @ git\+[^"]*"')


def sync(notebook: Path, write: bool) -> bool:
    """Return True if ``notebook`` already matched; rewrite it when ``write``."""
    nb = nbformat.read(notebook, as_version=4)
    changed = False
    for cell in nb.cells:
        new = BADGE.sub(lambda m: badge(notebook), cell.source)
        new = INSTALL_CELL.sub(lambda m: install_lines(m["extras"] or ""), new)
        changed |= new != cell.source
        cell.source = new
    if changed and write:
        nbformat.write(nb, notebook)
    return not changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    args = parser.parse_args()
    stale = [nb for nb in sorted((ROOT / "notebooks").glob("*.ipynb"))
             if not sync(nb, not args.check)]
    for nb in stale:
        print(f"{'out of date' if args.check else 'updated'}: {nb.relative_to(ROOT)}")
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
