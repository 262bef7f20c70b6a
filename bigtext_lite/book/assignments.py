"""Assignments with autograder tests, in nbgrader's conventions.

A solution notebook (``notebooks/assignments/<chapter>.ipynb``) marks the code a
learner writes between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in cells
whose metadata says ``nbgrader.solution: true``; graded test cells carry
``nbgrader.grade: true`` and ``points``. Instructors who use nbgrader can import
them as they are; everyone else uses:

    bigtext assignments release [--out DIR]   learner versions, solutions stripped
    bigtext check NOTEBOOK_OR_FOLDER          run the tests, print points per test

A submission is graded against the instructor's copy, never against itself: the
tests, their ids and their points come from the solution notebook, and only the
answer cells (matched by ``grade_id``) come from the submission. They run in a
throwaway kernel (``sandbox.py``); a test earns its points when it runs to its end.

Walkthrough: book/instructors.md
"""

from __future__ import annotations

import csv
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from bigtext_lite.book import sandbox

SOLUTIONS = Path(__file__).resolve().parents[2] / "notebooks" / "assignments"
_REGION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION[^\n]*", re.S)
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TIMEOUT = 120  # seconds a cell may run; every test here takes well under one on 2 cores
# Answer code that reaches for these can tamper with grading: a person should read it.
_REVIEW = re.compile(r"get_ipython|set_custom_exc|excepthook|_transformers|events\.register"
                     r"|settrace|setprofile|sys\.modules|builtins|ctypes|_exit|os\.kill"
                     r"|\bsignal\b|subprocess|os\.system|\bfork|setsid"
                     r"|(?<![\w.])(?:exec|eval|compile|__import__)\(")


class GradingError(Exception):
    """A notebook that cannot be graded, with what was wrong and where."""


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata, or {} however a submission mangled it."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _stub(source: str) -> str:
    """Every solution region of ``source`` replaced by nbgrader's stub, indented like it."""
    return _REGION.sub(lambda m: "\n".join(m.group(1) + line for line in STUB.split("\n")), source)


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
            cell.source = _stub(cell.source)
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
    error: str | None = None  # why grading could not start, or stopped early
    notes: list[str] = field(default_factory=list)  # what the submission changed, for a person

    @property
    def score(self) -> float:
        return sum(got for got, _ in self.tests.values())

    @property
    def total(self) -> float:
        return sum(possible for _, possible in self.tests.values())

    @property
    def passed(self) -> bool:
        return self.total > 0 and self.score == self.total and not self.error


@dataclass
class _Cell:
    kind: str  # "setup" and "test" come from the instructor's copy, "answer" from the learner
    name: str  # for messages: "answer 'pad'", "test 'test_pad'", "setup cell 1"
    code: str
    grade_id: str | None = None
    token: str = ""  # a test prints it as its last line: only a test that ran to its end does
    counts: bool = True  # False for a test the submission deleted: it runs, and earns nothing


def instructor_copy(submission: Path, source: str | Path | None = None) -> Path:
    """The solution notebook a submission is graded against: ``source`` (a path or a chapter
    name), else the one of the submission's file name in notebooks/assignments/."""
    if source is None:
        found = SOLUTIONS / submission.name
    else:
        found = Path(source)
        if not found.exists() and (SOLUTIONS / f"{source}.ipynb").exists():
            found = SOLUTIONS / f"{source}.ipynb"
    if not found.is_file():
        hint = "" if source else ": name it like one in notebooks/assignments/, or pass --source"
        raise GradingError(f"no instructor copy for {submission.name} ({found} is no file){hint}")
    return found


def _read(path: Path):
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # not JSON, not a notebook: zero, with the reason
        raise GradingError(f"cannot read {path}: {err}") from None
    if not isinstance(nb.get("cells"), list) or not all(isinstance(c, dict) for c in nb.cells):
        raise GradingError(f"cannot read {path}: its 'cells' is not a list of cells")
    return nb


def _code(cell) -> str | None:
    """A cell's code, None when it is no code cell (a learner may change a cell's type)."""
    source = cell.get("source")
    return source if cell.get("cell_type") == "code" and isinstance(source, str) else None


def _graded_cells(nb, where: Path) -> tuple[dict[str, float], set[str]]:
    """The instructor's tests (grade_id -> points) and answers (grade_ids), checked: each
    graded or solution cell has its own grade_id, each test is code with points > 0."""
    tests, answers = {}, set()
    for i, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        gid, points = meta.get("grade_id"), meta.get("points")
        if not (meta.get("grade") or meta.get("solution")):
            continue
        if not isinstance(gid, str) or not gid or gid in tests or gid in answers:
            raise GradingError(f"{where}, cell {i}: a missing or repeated grade_id ({gid!r})")
        if meta.get("solution") and meta.get("grade"):
            raise GradingError(f"{where}, cell {i} ({gid!r}): an answer with points is graded "
                               f"by a person (nbgrader); bigtext check grades test cells only")
        if meta.get("solution"):
            answers.add(gid)
        elif (_code(cell) is None or isinstance(points, bool)
              or not isinstance(points, (int, float)) or points <= 0):
            raise GradingError(f"{where}, cell {i} ({gid!r}): a test must be code with points > 0")
        else:
            tests[gid] = float(points)
    if not tests:
        raise GradingError(f"{where} has no graded test cells (nbgrader grade: true, points > 0): "
                           f"nothing to score")
    return tests, answers


def _answers(submission, ids: set[str], known_code: set[str]) -> tuple[dict[str, list], int]:
    """The submission's cells by grade_id (only ids the instructor's copy has), and how many
    other code cells it has that the instructor's copy does not."""
    by_id, extra = {}, 0
    for cell in submission.cells:
        gid, code = _nbgrader(cell).get("grade_id"), _code(cell)
        if isinstance(gid, str) and gid in ids:
            by_id.setdefault(gid, []).append(cell)
        elif code is not None and code.strip() and code.strip() not in known_code:
            extra += 1
    return by_id, extra


def _program(instructor, submission, tests, answers) -> tuple[list[_Cell], list[str]]:
    """What runs: the instructor's notebook with each answer cell's code taken from the
    submission. Its tests, points and other cells are ignored; the notes say what differed."""
    known = {c.source.strip() for c in instructor.cells if _code(c) is not None}
    theirs, extra = _answers(submission, tests.keys() | answers, known)
    cells, notes = [], []
    for i, cell in enumerate(instructor.cells):
        gid = _nbgrader(cell).get("grade_id")
        mine = [c for c in theirs.get(gid, []) if _code(c) is not None]
        if _code(cell) is None:
            continue
        if gid in answers:
            if not mine:
                notes.append(f"answer {gid!r} is missing: the handout's stub ran instead")
            elif len(mine) > 1:
                notes.append(f"answer {gid!r} is in {len(mine)} cells: they ran in order")
            code = "\n".join(_code(c) for c in mine) if mine else _stub(cell.source)
            cells.append(_Cell("answer", f"answer {gid!r}", code, gid))
            if match := _REVIEW.search(code):
                notes.append(f"review answer {gid!r}: it uses {match.group()!r}, "
                             f"which can tamper with grading")
        elif gid in tests:
            if not mine:
                notes.append(f"test {gid!r} is missing from the submission: 0 points")
            elif len(theirs[gid]) > 1 or _code(mine[0]) != cell.source or (
                    _nbgrader(mine[0]).get("points") != _nbgrader(cell).get("points")):
                notes.append(f"test {gid!r} differs from the instructor's copy, which ran")
            token = secrets.token_hex(16)
            cells.append(_Cell("test", f"test {gid!r}", f"{cell.source}\nprint({token!r})", gid,
                               token, counts=bool(mine)))
        else:
            cells.append(_Cell("setup", f"setup cell {i}", cell.source))
    if extra:
        notes.append(f"{extra} code cell(s) not in the instructor's copy did not run: "
                     f"only answer cells are graded")
    return cells, notes


def _passed(cell: _Cell, outputs: list[dict], status: str | None) -> bool:
    """Whether a test ran to its end without an error. Two signals, and a learner's code can
    fake either only by reaching into the kernel or the grader (see book/instructors.md):
    the kernel's reply status is "error" even when a custom exception handler
    (set_custom_exc, sys.excepthook) hides the traceback from the outputs; and the token,
    random per test and per run, is printed only when the test's last line runs, so no
    printed "fake" output and no swallowed exception can produce it."""
    stdout = "".join(o.get("text", "") for o in outputs
                     if o.get("output_type") == "stream" and o.get("name") == "stdout")
    return cell.counts and status == "ok" and cell.token in stdout


def grade(path: str | Path, *, source: str | Path | None = None, timeout: float = TIMEOUT,
          user: str | None = "nobody") -> Grade:
    """Score a submission: the instructor's copy (``source``, else the solution notebook of
    the same file name) with the submission's answer cells, run in a fresh kernel
    (``sandbox.run``: a temporary folder, ``user``'s account when we are root, ``timeout``
    seconds per cell). Walkthrough: book/instructors.md"""
    path = Path(path)
    try:
        where = instructor_copy(path, source)
        instructor = _read(where)
        tests, answers = _graded_cells(instructor, where)
    except GradingError as err:
        tests, answers, problem = {}, set(), str(err)
    else:
        problem = None
    zero = {gid: (0.0, points) for gid, points in tests.items()}
    try:
        submission = _read(path)
    except GradingError as err:
        return Grade(path.name, zero, str(err))
    if problem:
        return Grade(path.name, zero, problem)
    cells, notes = _program(instructor, submission, tests, answers)
    try:
        run = sandbox.run([c.code for c in cells], [c.name for c in cells], timeout, user)
    except sandbox.SandboxError as err:
        return Grade(path.name, zero, str(err), notes)
    scores = dict(zero)
    for cell, outputs, status in zip(cells, run.outputs, run.status):
        if cell.kind == "test" and _passed(cell, outputs, status):
            scores[cell.grade_id] = (tests[cell.grade_id], tests[cell.grade_id])
    return Grade(path.name, scores, run.error, notes)


def grade_folder(folder: str | Path, csv_path: str | Path | None = None, *,
                 source: str | Path | None = None, timeout: float = TIMEOUT,
                 user: str | None = "nobody") -> list[Grade]:
    """Grade every notebook in ``folder`` (one per learner); optionally write a CSV."""
    grades = [grade(p, source=source, timeout=timeout, user=user)
              for p in sorted(Path(folder).glob("*.ipynb"))]
    if csv_path:
        part = Path(f"{csv_path}.part")  # nothing half-written: the CSV appears whole or not
        with open(part, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["notebook", "score", "total", "error", "notes"])
            for g in grades:
                writer.writerow([g.notebook, g.score, g.total, g.error or "", "; ".join(g.notes)])
        os.replace(part, csv_path)
    return grades
