"""The chapters form one course: numbered once each in reading order, and each needs
only what comes before it (its prerequisites and the equations it cites)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

LABEL = re.compile(r"^\((sec-[\w-]+)\)=", re.M)           # (sec-x)= on its own line
EQ_LABEL = re.compile(r"\$\$\s*\((eq-[\w-]+)\)")          # $$ (eq-x)
REF = re.compile(r"\{ref\}`(?:[^`<]*<)?(sec-[\w-]+)>?`")  # {ref}`sec-x` or {ref}`text <sec-x>`
EQ_REF = re.compile(r"\{eq\}`(eq-[\w-]+)`")
# Relative or numbered pointers break as soon as chapters move; labels do not.
RELATIVE = re.compile(r"\b(next|previous|preceding|following|last|coming) chapter\b"
                      r"|\bchapters? \d+\b", re.I)


def toc_chapters(toc: dict) -> list[str]:
    """The notebooks of the table of contents, in reading order."""
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f for f in files if f.startswith("notebooks/")]


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def prerequisites(nb) -> list[str] | None:
    """Labels named after '*Prerequisites*:' in the first cell, up to the end of that
    paragraph; None when the cell names no prerequisites."""
    _, marker, rest = nb.cells[0].source.partition("*Prerequisites*")
    return REF.findall(rest.split("\n\n")[0]) if marker else None


def order_problems(chapters: list[str], notebooks: dict[str, object]) -> list[str]:
    """Everything wrong with the course order, one line each; [] when it holds."""
    problems = []
    numbers = [int(re.match(r"notebooks/(\d\d)_", f)[1]) if re.match(r"notebooks/\d\d_", f)
               else None for f in chapters]
    if numbers != list(range(1, len(chapters) + 1)):
        problems.append(f"chapters are not numbered 01..{len(chapters):02} in reading order: "
                        f"{[Path(f).name for f in chapters]}")
    where = {}  # label -> position of the chapter that defines it
    for i, f in enumerate(chapters):
        text = markdown(notebooks[f])
        for label in LABEL.findall(text) + EQ_LABEL.findall(text):
            if label in where:
                problems.append(f"{label} is defined twice")
            where.setdefault(label, i)
    for i, f in enumerate(chapters):
        nb, name = notebooks[f], Path(f).name
        needs = prerequisites(nb)
        if needs is None:
            problems.append(f"{name}: no '*Prerequisites*:' line in the first cell")
            needs = []
        for label in needs:
            if label not in where:
                problems.append(f"{name}: prerequisite {label} is defined nowhere")
            elif where[label] >= i:
                problems.append(f"{name}: prerequisite {label} is in "
                                f"{Path(chapters[where[label]]).name}, not before it")
        text = markdown(nb)
        for label in EQ_REF.findall(text):
            if label not in where:
                problems.append(f"{name}: cites {label}, defined nowhere")
            elif where[label] > i:
                problems.append(f"{name}: cites {label} from the later "
                                f"{Path(chapters[where[label]]).name}")
        for m in RELATIVE.finditer(text):
            problems.append(f"{name}: says {m[0]!r}; refer to a chapter by its label")
    return problems


def test_the_book_is_one_course_in_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = toc_chapters(toc)
    notebooks = {f: nbformat.read(ROOT / f"{f}.ipynb", as_version=4) for f in chapters}
    assert order_problems(chapters, notebooks) == []


def test_book_pages_use_labels_not_chapter_numbers():
    for page in sorted((ROOT / "book").glob("*.md")):
        found = [m[0] for m in RELATIVE.finditer(page.read_text())]
        assert found == [], f"{page.name}: {found}"


def chapter(label, needs="", body=""):
    first = f"({label})=\n# Title\n\n*Prerequisites*: {needs}\n"
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(first),
                                           nbformat.v4.new_markdown_cell(body)])


@pytest.fixture
def two():
    return {"notebooks/01_a": chapter("sec-a", "none", "$$ x $$ (eq-a)"),
            "notebooks/02_b": chapter("sec-b", "{ref}`sec-a`", "as {eq}`eq-a` says")}


def test_the_check_passes_a_course_in_order(two):
    assert order_problems(list(two), two) == []


def test_the_check_finds_a_prerequisite_that_points_forward(two):
    two["notebooks/01_a"] = chapter("sec-a", "{ref}`the b chapter <sec-b>`", "$$ x $$ (eq-a)")
    assert order_problems(list(two), two) == [
        "01_a: prerequisite sec-b is in 02_b, not before it"]


def test_the_check_finds_numbering_a_forward_equation_and_relative_pointers(two):
    two["notebooks/01_a"] = chapter("sec-a", "none", "$$ x $$ (eq-a) as the next chapter shows, "
                                    "with {eq}`eq-b`")
    two["notebooks/02_b"] = chapter("sec-b", "{ref}`sec-a`", "$$ y $$ (eq-b), see Chapter 1")
    renamed = {"notebooks/01_a": two["notebooks/01_a"], "notebooks/03_b": two["notebooks/02_b"]}
    problems = order_problems(list(renamed), renamed)
    assert problems[0].startswith("chapters are not numbered 01..02")
    assert problems[1:] == ["01_a: cites eq-b from the later 03_b",
                            "01_a: says 'next chapter'; refer to a chapter by its label",
                            "03_b: says 'Chapter 1'; refer to a chapter by its label"]


def test_the_check_finds_a_missing_prerequisites_line(two):
    two["notebooks/02_b"].cells[0].source = "(sec-b)=\n# Title\n"
    assert order_problems(list(two), two) == ["02_b: no '*Prerequisites*:' line in the first cell"]


def test_every_run_is_named_after_its_chapter():
    """`bigtext run NAME` and results/NAME-*.json use the chapter's file name, so a reader
    finds one from the other; 'formulas' checks the formulas of every chapter at once."""
    from bigtext_lite.experiments import CHAPTERS

    slugs = {p.stem[3:] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert set(CHAPTERS) - {"formulas"} <= slugs
    # besides the chapters' runs: make bench's table and the Colab twin's record
    names = {f.name.split("-")[0] for f in (ROOT / "results").glob("*.json")} - {"bench", "colab"}
    assert names <= set(CHAPTERS), names - set(CHAPTERS)
