"""Assignments with autograder tests, in nbgrader's conventions.

A solution notebook (``notebooks/assignments/<chapter>.ipynb``) marks the code a
learner writes between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in cells
whose metadata says ``nbgrader.solution: true``; graded test cells carry
``nbgrader.grade: true`` and ``points``. Instructors who use nbgrader can import
them as they are; everyone else uses:

    bigtext assignments release [--out DIR]   learner versions, solutions stripped
    bigtext check NOTEBOOK_OR_FOLDER          run the tests, print points per test

Grading runs every cell even after a failure (a stripped solution raises
``NotImplementedError``), and a test cell earns its points when it runs
without an error.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
_REGION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION[^\n]*", re.S)
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def strip_solutions(nb):
    """The learner version: every solution region becomes nbgrader's stub
    (indented like the region), and no output is kept."""
    nb = nbformat.from_dict(nb)  # a copy
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if _nbgrader(cell).get("solution"):
            if "### BEGIN SOLUTION" not in cell.source:
                raise ValueError(f"solution cell {_nbgrader(cell).get('grade_id')!r} has no "
                                 f"### BEGIN SOLUTION / ### END SOLUTION region")
            cell.source = _REGION.sub(lambda m: "\n".join(m.group(1) + line for line in STUB.split("\n")),
                                      cell.source)
    return nb


def release(out_dir: str | Path, solutions: Path = SOLUTIONS) -> list[Path]:
    """Write the learner version of every solution notebook into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(solutions.glob("*.ipynb")):
        nbformat.write(strip_solutions(nbformat.read(path, as_version=4)), out_dir / path.name)
        written.append(out_dir / path.name)
    return written


@dataclass
class Grade:
    notebook: str
    tests: dict[str, tuple[float, float]]  # grade_id -> (points earned, points possible)
    error: str | None = None  # the notebook could not be run at all

    @property
    def score(self) -> float:
        return sum(got for got, _ in self.tests.values())

    @property
    def total(self) -> float:
        return sum(possible for _, possible in self.tests.values())


def grade(path: str | Path, timeout: int = 600) -> Grade:
    """Run a (submitted) notebook top to bottom and score its graded test cells."""
    from nbclient import NotebookClient

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # not JSON, not a notebook: zero, with the reason
        return Grade(path.name, {}, f"cannot read {path}: {err}")
    tests = {(_nbgrader(c).get("grade_id") or f"cell {i}"): c for i, c in enumerate(nb.cells)
             if _nbgrader(c).get("grade")}
    try:
        NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as err:  # a dead kernel, a timeout: what ran still counts
        error = f"{type(err).__name__}: {err}"
    else:
        error = None
    scores = {}
    for grade_id, cell in tests.items():
        possible = float(_nbgrader(cell).get("points", 0))
        ran = cell.get("execution_count") is not None
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        scores[grade_id] = (possible if ran and not failed else 0.0, possible)
    return Grade(path.name, scores, error)


def grade_folder(folder: str | Path, csv_path: str | Path | None = None) -> list[Grade]:
    """Grade every notebook in ``folder`` (one per learner); optionally write a CSV."""
    grades = [grade(p) for p in sorted(Path(folder).glob("*.ipynb"))]
    if csv_path:
        with open(csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["notebook", "score", "total", "error"])
            for g in grades:
                writer.writerow([g.notebook, g.score, g.total, g.error or ""])
    return grades
