"""The Colab twin's own logic (tools/colab_twin.py): which cell it rewrites, what it
pins, and what counts as a replaced preloaded package. The twin itself is `make
colab-twin` (Python 3.13 and 6 GB of packages: not in CI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("colab_twin", ROOT / "tools" / "colab_twin.py")
twin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twin)


def test_the_runtime_pins_every_package_the_install_cells_keep():
    pins = twin.pinned(twin.RUNTIME.read_text())
    keep = ["torch", "numpy", "transformers", "tokenizers"]  # sync_repo_url.KEEP
    assert all(name in pins for name in keep), pins
    assert "Taken 20" in twin.RUNTIME.read_text(), "runtime.txt must say when it was taken"


def test_only_the_address_of_the_install_cell_changes(tmp_path):
    path = ROOT / "notebooks" / "06_fasttext.ipynb"
    original = nbformat.read(path, as_version=4)
    nb = twin.as_on_colab(nbformat.read(path, as_version=4), tmp_path / "clone")
    url, release = twin.repository()
    assert len(nb.cells) == len(original.cells) + 1 and "google.colab" in nb.cells[0].source
    changed = [(a.source, b.source) for a, b in zip(original.cells, nb.cells[1:])
               if a.source != b.source]
    assert len(changed) == 1
    before, after = changed[0]
    assert f"git+file://{tmp_path / 'clone'}@{release}" in after and url not in after
    assert after == before.replace(f"git+{url}@", f"git+file://{tmp_path / 'clone'}@")


def test_a_notebook_without_an_install_cell_is_refused():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    with pytest.raises(ValueError, match="one install cell, found 0"):
        twin.as_on_colab(nb, Path("/clone"))


def test_a_changed_or_removed_preloaded_package_is_reported():
    before = twin.pinned("torch==2.11.0\nnumpy==2.1.3\nTqdm==4.67.1  # comment\n")
    assert before == {"torch": "2.11.0", "numpy": "2.1.3", "tqdm": "4.67.1"}
    assert twin.replaced(before, dict(before)) == []
    after = {"torch": "2.13.0", "tqdm": "4.67.1"}
    assert twin.replaced(before, after) == ["numpy 2.1.3 -> removed", "torch 2.11.0 -> 2.13.0"]


spec_rt = importlib.util.spec_from_file_location("sync_runtime", ROOT / "tools" / "sync_runtime.py")
sync_runtime = importlib.util.module_from_spec(spec_rt)
spec_rt.loader.exec_module(sync_runtime)


def test_every_chapters_runtime_lines_are_its_measurements():
    """Each chapter's *Runtime* lines are what tools/sync_runtime.py writes from
    results/colab-twin.json and the full runs: a time typed by hand would drift."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "tools/sync_runtime.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_runtime_lines_say_what_was_measured_and_what_is_an_estimate(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / "08_lstm.ipynb", as_version=4)
    twin_run = {"runtime": "2026-11", "python": "3.13.0",
                "packages": {"torch": "2.11.0", "transformers": "5.15.1"},
                "chapters": [{"chapter": "08_lstm", "ran": True, "seconds": 319.4,
                              "date": "2026-12-02"}]}
    text = sync_runtime.block(nb, "08_lstm", twin_run)
    assert "about 5 min on 2 CPU cores" in text and "end to end on 2026-12-02" in text
    assert "*Checked against*: Colab's runtime of 2026-11 (Python 3.13, torch 2.11.0" in text
    assert "not been timed on a T4" in text and "memory bandwidth" in text  # estimate, grounds
    assert "should take no longer" not in text  # a GPU runtime compiles and converts more
    assert "`colab` profile, for a free Colab runtime ({doc}`../book/how_to_run`)" in text
    twin_run["chapters"][0]["ran"] = False
    with pytest.raises(SystemExit, match="failed in the Colab twin"):
        sync_runtime.block(nb, "08_lstm", twin_run)


@pytest.mark.parametrize("backstage", [
    "has not been run for the book yet", "(an estimate)", "a copy of Colab's environment",
    "The `colab` profile is the `full` one here", "no measured time to scale from"])
def test_the_runtime_lines_are_written_for_readers(backstage):
    """Build notes (what has not been run yet, an estimate without its grounds, an
    undefined profile) belong on the how-it-is-built page, not in a chapter's first cell."""
    twin = sync_runtime.load("colab-twin.json")
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert backstage not in sync_runtime.block(nb, path.stem, twin), path.name
