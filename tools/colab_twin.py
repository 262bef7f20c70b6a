"""The Colab twin: every chapter run the way a learner runs it on Google Colab, here.

A fresh virtual environment on Python 3.13 holds Colab's preloaded packages at Colab's
versions (tools/colab/runtime.txt, dated). Each chapter's own install cell then runs
unchanged but for the address: a local clone of this repository, with the book's
release tag on the commit under test, stands in for the public one (``file://``).
Then the chapter runs top to bottom in the quick profile, and the twin checks that
the install replaced none of Colab's preloaded packages (a replaced one would force a
runtime restart on Colab).

    python tools/colab_twin.py                    # every chapter (make colab-twin)
    python tools/colab_twin.py 05_baselines 09_bert
    COLAB_PYTHON=/path/to/python3.13 python tools/colab_twin.py

It tests what is committed (the clone is of HEAD) and writes results/colab-twin.json (a
rerun of some chapters replaces their rows; each row names its commit and date).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "tools" / "colab" / "runtime.txt"
TWIN = ROOT / ".colab-twin"
sys.path.insert(0, str(ROOT / "tools"))
from sync_repo_url import INSTALL, repository  # noqa: E402

# Colab imports google.colab at start-up; the install cells test for it.
FAKE_COLAB = ('import sys, types  # the twin: make this kernel look like Colab\'s\n'
              'assert sys.version_info[:2] == (3, 13), sys.executable  # the twin\'s kernel\n'
              'sys.modules.setdefault("google.colab", types.ModuleType("google.colab"))')


def python313() -> str:
    """The interpreter the twin is built on: COLAB_PYTHON, python3.13 on PATH or pyenv's,
    whichever first really runs as 3.13 (a pyenv shim may be on PATH and not run)."""
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"), reverse=True)
    for found in [os.environ.get("COLAB_PYTHON"), shutil.which("python3.13"), *pyenv]:
        if found and subprocess.run([found, "-c", "import sys; assert sys.version_info[:2] "
                                     "== (3, 13)"], capture_output=True).returncode == 0:
            return str(found)
    sys.exit("colab twin: no Python 3.13 found (Colab's): install one or set COLAB_PYTHON")


def pinned(text: str) -> dict[str, str]:
    """{package: version} of a requirements text's ``name==version`` lines (names normalised
    as pip freeze writes them)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s#;]+)", line)
        if m:
            out[m[1].lower().replace("_", "-")] = m[2]
    return out


def replaced(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The preloaded packages whose version changed or that went missing."""
    return [f"{name} {v} -> {after.get(name, 'removed')}" for name, v in sorted(before.items())
            if after.get(name) != v]


def freeze(venv: Path) -> dict[str, str]:
    out = subprocess.run([venv / "bin" / "python", "-m", "pip", "freeze"], check=True,
                         capture_output=True, text=True).stdout
    return pinned(out)


def build_venv(venv: Path) -> None:
    """Create the twin's environment, or reuse it when runtime.txt has not changed."""
    stamp = venv / ".runtime-sha256"
    digest = hashlib.sha256(RUNTIME.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python313(), "-m", "venv", venv], check=True)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    print(f"colab twin: installing Colab's packages ({RUNTIME.relative_to(ROOT)})", flush=True)
    subprocess.run([*pip, "-r", RUNTIME], check=True)
    subprocess.run([venv / "bin" / "python", "-m", "ipykernel", "install", "--sys-prefix",
                    "--name", "python3"], check=True, stdout=subprocess.DEVNULL)
    stamp.write_text(digest)


def clone_release(into: Path) -> tuple[Path, str]:
    """A clone of HEAD with the book's release tag on it; (its folder, the commit)."""
    _, release = repository()
    subprocess.run(["git", "clone", "--quiet", ROOT, into], check=True)
    subprocess.run(["git", "-C", into, "tag", "-f", release, "HEAD"], check=True,
                   stdout=subprocess.DEVNULL)
    commit = subprocess.run(["git", "-C", into, "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    return into, commit


def as_on_colab(nb, clone: Path):
    """The notebook as the twin runs it: its install cell pointed at ``clone`` (the
    release and the rest of the cell unchanged) and a first cell that fakes Colab."""
    url, _ = repository()
    cells = [c for c in nb.cells if c.cell_type == "code" and INSTALL.search(c.source)]
    if len(cells) != 1:
        raise ValueError(f"expected one install cell, found {len(cells)}")
    cells[0].source = cells[0].source.replace(f"git+{url}@", f"git+file://{clone}@")
    nb.cells.insert(0, nbformat.v4.new_code_cell(FAKE_COLAB))
    return nb


def run_chapter(path: Path, venv: Path, clone: Path, work: Path, env: dict) -> dict:
    nb = as_on_colab(nbformat.read(path, as_version=4), clone)
    # A Colab runtime starts without the book: an install left by an earlier twin run
    # would make pip skip this one ("already satisfied"), and the library would then
    # name that run's clone, long deleted, as where it came from.
    subprocess.run([venv / "bin" / "python", "-m", "pip", "uninstall", "--quiet", "--yes",
                    "bigtext-lite"], check=True, capture_output=True)
    before = freeze(venv)
    preloaded = {k: before[k] for k in pinned(RUNTIME.read_text()) if k in before}
    copy = work / path.name  # a folder of its own, like Colab's /content
    nbformat.write(nb, copy)
    start = time.perf_counter()
    done = subprocess.run([venv / "bin" / "jupyter-execute", "--timeout=1800", "--inplace",
                           copy.name], cwd=work, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    error = None
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        error = re.sub(r"\x1b\[[0-9;]*m", "", last)[:300]  # without the terminal colours
        # jupyter-execute leaves the notebook unexecuted when a cell fails: keep its
        # traceback (stderr) beside the chapter as it ran
        kept = venv / "failed" / path.name
        kept.parent.mkdir(exist_ok=True)
        shutil.copy(copy, kept)
        kept.with_suffix(".stderr.txt").write_text(done.stderr)
        error += f" (the run: {kept.relative_to(ROOT)} and its .stderr.txt)"
    changed = replaced(preloaded, freeze(venv))
    return {"chapter": path.stem, "ran": done.returncode == 0, "seconds": round(seconds, 1),
            "preloaded_replaced": changed, "error": error}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="notebook names (default: all)")
    args = parser.parse_args()
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if p.stem in args.chapters or p.name in args.chapters]
    if subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True,
                      text=True).stdout.strip():
        print("colab twin: the working tree has changes; the twin tests HEAD only")
    build_venv(TWIN)
    rows = []
    with tempfile.TemporaryDirectory(prefix="colab-twin-") as tmp:
        clone, commit = clone_release(Path(tmp) / "bigtext")
        env = {**os.environ, "PATH": f"{TWIN / 'bin'}:{os.environ['PATH']}",
               "VIRTUAL_ENV": str(TWIN),
               "JUPYTER_PATH": str(TWIN / "share" / "jupyter"),
               "JUPYTER_DATA_DIR": str(Path(tmp) / "jupyter"),
               "BIGTEXT_PROFILE": "quick", "HF_HUB_OFFLINE": "1",
               "BIGTEXT_CACHE": str(Path(tmp) / "cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        for path in paths:
            work = Path(tmp) / "content" / path.stem
            work.mkdir(parents=True)
            print(f"colab twin: {path.stem} ...", flush=True)
            row = run_chapter(path, TWIN, clone, work, env)
            row.update(commit=commit, date=time.strftime("%Y-%m-%d", time.gmtime()))
            rows.append(row)
            status = "ok" if row["ran"] and not row["preloaded_replaced"] else "FAILED"
            print(f"  {status} in {row['seconds']:.0f} s"
                  + (f"; replaced {row['preloaded_replaced']}" if row["preloaded_replaced"] else "")
                  + (f"; {row['error']}" if row["error"] else ""), flush=True)
    runtime = RUNTIME.read_text()
    result = {"runtime": re.search(r"Taken (\S+)", runtime)[1],
              "python": subprocess.run([TWIN / "bin" / "python", "-V"], capture_output=True,
                                       text=True).stdout.split()[-1],
              "packages": pinned(runtime), "chapters": rows}
    out = ROOT / "results" / "colab-twin.json"
    if args.chapters and out.exists():  # a rerun of some chapters replaces their rows only
        before = json.loads(out.read_text(encoding="utf-8"))
        if before["packages"] == result["packages"]:
            ran = {r["chapter"] for r in rows}
            result["chapters"] = sorted([r for r in before["chapters"] if r["chapter"] not in ran]
                                        + rows, key=lambda r: r["chapter"])
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"colab twin: wrote {out.relative_to(ROOT)}")
    return 0 if all(r["ran"] and not r["preloaded_replaced"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
