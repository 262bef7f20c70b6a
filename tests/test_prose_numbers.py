"""Numbers in a chapter's prose come from its outputs: a measured figure typed into the
text drifts as soon as the run changes (the fastText chapter once quoted batch-size
accuracies that no run had printed). Every percentage, ratio, time, points difference
or decimal in a chapter's markdown must appear in that chapter's executed outputs,
unless its sentence cites its source or the number is listed below with why."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# A number with a unit that says it was measured, or a decimal with two places or more.
MEASURED = re.compile(r"(?<![\w.,$\\{-])(\d[\d,]*(?:\.\d+)?)(?=\s?(?:%|×|x\b|points?\b|s\b|ms\b"
                      r"|seconds\b|minutes?\b|min\b))"
                      r"|(?<![\w.,$\\{-])(\d+\.\d{2,})(?![\d\w])")
# Display math, code blocks, exercise solutions (what the learner's own run prints) and
# the synced *Runtime* lines, each cut out whole before the text is split into sentences.
BLOCKS = re.compile(r"\$\$.*?\$\$|```.*?```|~~~.*?~~~|^:::\{solution\}.*?^:::[ \t]*$"
                    r"|^\*(?:Runtime|Checked against)\*[^\n]*$", re.S | re.M)
# What is not prose within a sentence: inline math and code, links, labels, roles.
NOT_PROSE = re.compile(r"\$[^$\n]*\$|`[^`\n]*`|\]\([^)]*\)|^\(.*?\)=$|\{[a-z:]+\}",
                       re.S | re.M)
SENTENCE = re.compile(r"(?<=[.!?:])\s+(?=[A-Z(*])|\n\n")
CITED = re.compile(r"\{cite(?::[a-z]+)?\}")

# (chapter, number): why it is not a measurement of the chapter's own runs.
NOT_MEASURED = {
    ("03_text_pipeline", "0.18"): "torchtext's last version number",
    ("03_text_pipeline", "0.11"): "the torchtext version that dropped the legacy API",
    ("07_word_vectors", "0.18"): "torchtext's last version number",
    ("04_training_loop", "3.13"): "the last Python version whose Linux default start is fork",
    ("04_training_loop", "3.14"): "the Python version that changes Linux's start method",
}


def outputs(nb) -> str:
    """Everything the chapter's cells printed or displayed as text."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts += [data.get(kind, "") for kind in ("text/plain", "text/markdown")]
    return "\n".join("".join(p) if isinstance(p, list) else p for p in parts)


def prose_numbers(markdown: str) -> list[tuple[str, str]]:
    """(number, its sentence) for each measured-looking number outside citing sentences."""
    found = []
    for sentence in SENTENCE.split(BLOCKS.sub(" ", markdown)):
        if CITED.search(sentence):
            continue
        for m in MEASURED.finditer(NOT_PROSE.sub(" ", sentence)):
            found.append((m[1] or m[2], " ".join(sentence.split())[:300]))
    return found


def unsourced(nb, chapter: str) -> list[tuple[str, str]]:
    printed = outputs(nb)
    markdown = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return [(n, s) for n, s in prose_numbers(markdown)
            if (chapter, n) not in NOT_MEASURED
            and not re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", printed)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_measured_number_in_the_prose_is_in_the_outputs(path):
    nb = nbformat.read(path, as_version=4)
    missing = unsourced(nb, path.stem)
    assert not missing, f"{path.name}: numbers in the prose that no output prints: {missing}"


def test_a_typed_number_is_caught_and_a_printed_or_cited_one_is_not():
    def chapter(markdown, printed):
        cells = [nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell("x")]
        cells[1].outputs = [nbformat.v4.new_output("stream", text=printed)]
        return unsourced(nbformat.v4.new_notebook(cells=cells), "00_fixture")

    printed = "test accuracy 89.93 %\nratio 1.23x in 4.5 s"
    assert chapter("The model reaches 89.93 %, 1.23× faster, in 4.5 s.", printed) == []
    assert chapter("At batch 256 it reaches 83.6 %.", printed) == [
        ("83.6", "At batch 256 it reaches 83.6 %.")]
    assert chapter("They are 0.66 points apart.", printed) == [
        ("0.66", "They are 0.66 points apart.")]
    assert chapter("The correlation is 0.467.", printed)  # a bare measured decimal
    assert chapter("Published: 94.60 % {cite:p}`sun2019`.", printed) == []  # cited
    assert chapter("The loss is $-\\log 0.25$ and `lr=0.05`.", printed) == []  # math, code
    assert chapter("It reaches 9.93 %.", printed)  # 9.93 is not 89.93
    runtime = ("*Runtime*: about 14 s on 2 CPU cores.\n"
               "*Checked against*: Colab's runtime (Python 3.13, torch 2.11.0).\n")
    assert chapter(runtime + "Then 1.5 s.", printed) == [("1.5", "Then 1.5 s.")]
