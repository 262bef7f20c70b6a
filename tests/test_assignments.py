"""Assignments: every solution earns every point, every stripped (learner)
version earns none, and the grader survives both."""

import json

import nbformat
import pytest

from bigtext_lite.book import assignments, cli

SOLUTIONS = sorted(assignments.SOLUTIONS.glob("*.ipynb"))


def test_every_chapter_has_an_assignment():
    chapters = {p.stem for p in assignments.SOLUTIONS.parent.glob("*.ipynb")}
    assert len(chapters) >= 9 and chapters <= {p.stem for p in SOLUTIONS}


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_and_stripped_version_fails(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.metadata["nbgrader"]["points"] > 0 for c in graded)
    solution = assignments.grade(path)
    assert solution.error is None and solution.total > 0
    assert solution.score == solution.total and not solution.notes, (solution.tests, solution.notes)

    learner = tmp_path / path.name
    nbformat.write(assignments.strip_solutions(nb), learner)
    text = learner.read_text()
    assert "BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
    stripped = assignments.grade(learner)
    assert stripped.error is None  # the grader ran every cell despite the failures
    assert stripped.total == solution.total and stripped.score == 0, stripped.tests
    assert not stripped.notes  # a handout left as released differs in nothing but its answers


def test_release_and_check_commands(tmp_path, capsys):
    assert cli.main(["assignments", "release", "--out", str(tmp_path / "learner")]) == 0
    released = sorted(p.name for p in (tmp_path / "learner").glob("*.ipynb"))
    assert released == [p.name for p in SOLUTIONS]
    (tmp_path / "learner" / "broken.ipynb").write_text("{not json")
    csv_path = tmp_path / "grades.csv"
    assert cli.main(["check", str(tmp_path / "learner"), "--csv", str(csv_path)]) == 1
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "notebook,score,total,error,notes" and len(rows) == len(SOLUTIONS) + 2
    assert any(r.startswith("broken.ipynb,0,0,cannot read") for r in rows)
    assert "FAIL" in capsys.readouterr().out
    assert cli.main(["check", "09_bert"]) == 0  # a chapter name grades its reference solution


def test_solution_cell_without_region_is_refused():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "x"}})])
    with pytest.raises(ValueError, match="'x' has no ### BEGIN SOLUTION"):
        assignments.strip_solutions(json.loads(nbformat.writes(nb)))


def test_the_instructors_page_lists_every_assignment_with_its_points():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "book" / "instructors.md").read_text()
    for path in SOLUTIONS:
        tests, _ = assignments._graded_cells(nbformat.read(path, as_version=4), path)
        rows = [line for line in page.splitlines() if f"`{path.name}`" in line]
        assert rows, f"{path.name} is not listed on the instructors' page"
        assert rows[0].rstrip().endswith(f"| {sum(tests.values()):g} |"), rows[0]
