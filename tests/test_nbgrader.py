"""The assignments under nbgrader itself, as an instructor runs it: generate_assignment
on each solution notebook, then autograde two learners, one who hands in the
solution and one who hands in the released (stripped) notebook. Full marks and zero,
as ``bigtext check`` gives them (tests/test_assignments.py)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from bigtext_lite.book import assignments

nbgrader_apps = pytest.importorskip("nbgrader.apps")

NOTEBOOKS = sorted(assignments.SOLUTIONS.glob("*.ipynb"))


def _points(nb) -> float:
    return sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """One nbgrader course: an assignment per chapter, both learners autograded."""
    from traitlets.config import Config

    root = tmp_path_factory.mktemp("course")
    for nb in NOTEBOOKS:
        (root / "source" / nb.stem).mkdir(parents=True)
        shutil.copy(nb, root / "source" / nb.stem / nb.name)
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "bigtext"
    config.ExecutePreprocessor.timeout = 600
    # nbgrader runs alembic (the gradebook's migrations) as a command: it must be on PATH.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    api = nbgrader_apps.NbGraderAPI(config=config)
    results = {}
    for nb in NOTEBOOKS:
        generated = api.generate_assignment(nb.stem, force=True)
        assert generated["success"], generated["log"]
        for student, handed_in in (("solution", root / "source"), ("stripped", root / "release")):
            folder = root / "submitted" / student / nb.stem
            folder.mkdir(parents=True)
            shutil.copy(handed_in / nb.stem / nb.name, folder / nb.name)
            graded = api.autograde(nb.stem, student, force=True)
            assert graded["success"], graded["log"]
    with api.gradebook as gb:
        for nb in NOTEBOOKS:
            results[nb.stem] = {s: gb.find_submission(nb.stem, s) for s in ("solution", "stripped")}
            results[nb.stem] = {s: (sub.score, sub.max_score)
                                for s, sub in results[nb.stem].items()}
    return root, results


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_nbgrader_gives_the_solution_full_marks_and_the_stripped_version_zero(course, path):
    _, results = course
    total = _points(nbformat.read(path, as_version=4))
    assert total > 0
    assert results[path.stem]["solution"] == (total, total)
    assert results[path.stem]["stripped"] == (0.0, total)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_nbgrader_release_strips_what_bigtext_release_strips(course, path):
    """The learner gets the same notebook from either tool: same cells, same code."""
    root, _ = course
    theirs = nbformat.read(root / "release" / path.stem / path.name, as_version=4)
    ours = assignments.strip_solutions(nbformat.read(path, as_version=4))
    assert [c.source for c in theirs.cells] == [c.source for c in ours.cells]
