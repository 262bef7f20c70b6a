"""Every chapter notebook follows the book's conventions (book/how_built.md)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

spec = importlib.util.spec_from_file_location("sync_repo_url", ROOT / "tools" / "sync_repo_url.py")
sync_repo_url = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync_repo_url)


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def test_there_are_notebooks_and_the_toc_lists_each_one():
    assert NOTEBOOKS, "no notebooks found"
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc, f"{path.name} is missing from _toc.yml"
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", path.stem), f"{path.name}: name it NN_slug.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "\n# " in "\n" + first.source
    assert sync_repo_url.badge(path) in first.source, "Colab badge missing or not from _config.yml"
    assert "What you will learn" in first.source

    install = tagged(nb, "remove-cell")
    assert len(install) == 1 and install[0].cell_type == "code"
    src = install[0].source
    assert 'if "google.colab" in sys.modules:' in src, "the install cell must run only on Colab"
    match = sync_repo_url.INSTALL.search(src)
    assert match and (match["url"], match["release"]) == sync_repo_url.repository()
    for package in ("torch", "numpy", "transformers"):  # Colab's own: never replaced
        assert package in sync_repo_url.KEEP.split("|") and f"-c {match['keep']}" in src
    extras = (match["extras"] or "[]").strip("[]")
    declared = (tomllib.loads((ROOT / "pyproject.toml").read_text())
                ["project"]["optional-dependencies"])
    for extra in filter(None, extras.split(",")):
        assert extra in declared, f"install cell asks for extra {extra!r}, not in pyproject.toml"

    params = tagged(nb, "parameters")
    assert len(params) == 1, "exactly one parameters cell"
    assert "config.profile()" in params[0].source
    after = nb.cells[nb.cells.index(params[0]) + 1:]
    describe = next(c for c in after if c.cell_type == "code")
    assert "config.describe()" in describe.source, "print what produced the outputs right after"
    outputs = "".join(o.get("text", "") for o in describe.get("outputs", []))
    assert re.search(r"profile=(quick|full)", outputs), "committed outputs must say their profile"

    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "\n## Summary" in text and "\n## Exercises" in text
    assert text.count(":::{exercise}") >= 3
    assert text.count(":::{solution}") == text.count(":::{exercise}")
    assert text.count(":class: dropdown") >= text.count(":::{solution}")
    markers = [c.source.split("\n")[0] for c in nb.cells if c.cell_type == "code"
               and re.search(r"^\s*#\s*NBVAL_", c.source, re.M)]
    assert not markers, f"nbval markers readers would see (use the cell tags): {markers}"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, "committed outputs contain an error"


def test_repo_url_is_in_sync_and_the_check_catches_drift(monkeypatch):
    assert all(sync_repo_url.sync(p, write=False) for p in NOTEBOOKS)
    monkeypatch.setattr(sync_repo_url, "repository",
                        lambda: ("https://github.com/fork/bigtext", "main"))
    assert not any(sync_repo_url.sync(p, write=False) for p in NOTEBOOKS)


def test_config_keeps_the_address_in_one_place():
    conf = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert conf["repository"]["url"].startswith("https://github.com/")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert conf["repository"]["release"] == f"v{version}", (
        "the release tag is v + pyproject's version")
    assert conf["only_build_toc_files"] is True


LOCAL_PATH = re.compile(r"(/tmp/|/work/|/home/|/root/|/Users/|\b[A-Z]:\\)")


def local_paths(nb) -> list[str]:
    """Paths of the machine that ran a notebook, in its committed outputs: the reader
    sees them in the book, and they say nothing about the chapter."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            texts = [out.get("text", "")] + [v for k, v in out.get("data", {}).items()
                                             if k.startswith("text/")]
            found += [f"cell {i}: {m[0]}" for t in texts for m in LOCAL_PATH.finditer(str(t))]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_show_no_local_paths(path):
    assert local_paths(nbformat.read(path, as_version=4)) == []


def test_a_local_path_in_an_output_is_found():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(workdir)")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="written to /tmp/abc\n")]
    assert local_paths(nb) == ["cell 0: /tmp/"]
