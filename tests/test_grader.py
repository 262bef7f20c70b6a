"""The grader against submissions that try to grade themselves. One small assignment
(two answers, tests worth 1 and 2 points, no torch) keeps each kernel run short: a
submission here has a right `double` and a wrong `root`, so the one honest score is 1 / 3,
and a grader fooled by the trick gives more."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from bigtext_lite.book import assignments, cli

HONEST = {"test_double": (1.0, 1.0), "test_root": (0.0, 2.0)}
WRONG_ROOT = "def root(x):\n    return x"


def _answer(grade_id, source):
    return new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
        "solution": True, "task": False}})


def _test(grade_id, points, source):
    return new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points,
        "schema_version": 3, "solution": False, "task": False}})


def _solution():
    return new_notebook(cells=[
        new_markdown_cell("# A small assignment"),
        new_code_cell("import math"),
        _answer("double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                          "    ### END SOLUTION"),
        _test("test_double", 1, "assert double(2) == 4"),
        _answer("root", "def root(x):\n    ### BEGIN SOLUTION\n    return math.sqrt(x)\n"
                        "    ### END SOLUTION"),
        _test("test_root", 2, "assert root(9) == 3"),
    ])


@pytest.fixture
def course(tmp_path, monkeypatch):
    """The instructor's copy as notebooks/assignments/hw.ipynb, and a folder for a learner's."""
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution(), tmp_path / "solutions" / "hw.ipynb")
    monkeypatch.setattr(assignments, "SOLUTIONS", tmp_path / "solutions")
    (tmp_path / "learner").mkdir()
    return tmp_path


def _hand_in(course, answers, edit=lambda cells: cells):
    """A learner's hw.ipynb: the released notebook with ``answers`` (grade_id -> code) filled
    in, then whatever ``edit`` does to its cells."""
    nb = assignments.strip_solutions(_solution())
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nb.cells = edit(nb.cells)
    path = course / "learner" / "hw.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def drop():
    """A folder any account can write to, where a submission leaves what it saw; every
    process whose pid it holds is killed at the end, so a failing run leaks nothing."""
    folder = Path(tempfile.mkdtemp(prefix="bigtext-test-drop-"))
    folder.chmod(0o777)
    yield folder
    for pid_file in folder.glob("*.pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:  # a zombie has ended: only its exit status is left to collect
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_tests_points_and_ids_come_from_the_instructors_copy(course):
    def tamper(cells):
        for cell in cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                cell.source, cell.metadata["nbgrader"]["points"] = "pass", 100
        bonus = _test("bonus", 50, "pass")
        copy = _test("test_root", 100, "pass")  # a grade_id twice
        cells[5].cell_type = "markdown"  # and a test turned into text
        del cells[5]["outputs"], cells[5]["execution_count"]
        return cells + [bonus, copy]

    g = assignments.grade(_hand_in(course, {"double": "def double(x):\n    return 2 * x",
                                            "root": WRONG_ROOT}, tamper))
    assert g.error is None and g.tests == {"test_double": (1.0, 1.0), "test_root": (0.0, 2.0)}
    assert "test 'test_double' differs from the instructor's copy, which ran" in g.notes
    assert "1 code cell(s) not in the instructor's copy did not run: only answer cells are " \
           "graded" in g.notes


def test_a_deleted_test_scores_zero_and_a_zero_total_fails(course, capsys):
    right = {"double": "def double(x):\n    return 2 * x",
             "root": "def root(x):\n    return x ** 0.5"}
    def keep(cells):
        return [c for c in cells if not c.metadata.get("nbgrader", {}).get("grade")]

    path = _hand_in(course, right, keep)
    assert cli.main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "hw.ipynb: 0 / 3 points" in out and "FAIL test_root: 0 / 2" in out, out
    assert "note: test 'test_double' is missing from the submission: 0 points" in out
    from bigtext_lite.book import sandbox

    _, why_not = sandbox.account("nobody")  # root, and nobody cannot run this Python:
    assert (f"note: {why_not}" in err) if why_not else ("note:" not in err)  # it says so

    shutil.copy(path, course / "learner" / "other.ipynb")
    assert cli.main(["check", str(course / "learner" / "other.ipynb")]) == 1
    assert "no instructor copy for other.ipynb" in capsys.readouterr().out

    nbformat.write(new_notebook(cells=keep(_solution().cells)), course / "solutions" / "hw.ipynb")
    assert cli.main(["check", str(path)]) == 1  # an instructor's copy without tests: no score
    assert "has no graded test cells" in capsys.readouterr().out
    (course / "empty").mkdir()
    assert cli.main(["check", str(course / "empty")]) == 1
    assert "nothing graded" in capsys.readouterr().err


def test_an_exception_handler_or_printed_output_cannot_pass_a_test(course):
    hide = ("import sys\n"
            "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n"
            "sys.excepthook = lambda *args: None\n"
            "def double(x):\n    return 2 * x\n"
            "sys.exit(0)")  # IPython catches it: the kernel lives on, and so do the tests
    fake = WRONG_ROOT + "\nprint('ok test_root 2 / 2 points')"
    g = assignments.grade(_hand_in(course, {"double": hide, "root": fake}))
    assert g.error is None and g.tests == HONEST, g.tests
    assert any(n.startswith("review answer 'double': it uses 'get_ipython'") for n in g.notes)


def test_a_looping_cell_stops_at_the_timeout_in_one_line(course, capfd):
    path = _hand_in(course, {"double": "while True:\n    pass", "root": WRONG_ROOT})
    start = time.monotonic()
    assert cli.main(["check", str(path), "--timeout", "2"]) == 1
    out, err = capfd.readouterr()
    assert time.monotonic() - start < 60
    assert ("hw.ipynb: 0 / 3 points  (answer 'double' was still running after 2 s (--timeout): "
            "stopped there)") in out, out
    assert "Traceback" not in out + err and "ZMQ" not in out + err, err


def _spawner(drop: Path, outside: Path) -> str:
    """An answer that starts three sleeps (one in the kernel's process group, one in its own
    session, one orphaned by its shell), tries a file outside its folder, says what it saw."""
    return f"""import json, os, subprocess, time
for name, kw in (("group", {{}}), ("session", {{"start_new_session": True}})):
    with open("{drop}/" + name + ".pid", "w") as f:
        f.write(str(subprocess.Popen(["sleep", "300"], **kw).pid))
subprocess.Popen(["sh", "-c", "sleep 300 & echo $! > {drop}/orphan.pid"], start_new_session=True)
while not (os.path.exists("{drop}/orphan.pid") and os.path.getsize("{drop}/orphan.pid")):
    time.sleep(0.05)
try:
    open("{outside}", "w").close()
    wrote = True
except OSError:
    wrote = False
with open("{drop}/facts.json", "w") as f:
    json.dump({{"uid": os.getuid(), "cwd": os.getcwd(), "wrote": wrote}}, f)
def double(x):
    return 2 * x"""


def test_no_process_outlives_grading_and_the_folder_is_fresh(course, drop):
    outside = course / "outside.txt"
    crash = "import os\nos.kill(os.getpid(), 9)"  # the kernel dies in the second answer
    g = assignments.grade(_hand_in(course, {"double": _spawner(drop, outside), "root": crash}))
    pids = {p.stem: int(p.read_text()) for p in drop.glob("*.pid")}
    assert sorted(pids) == ["group", "orphan", "session"]
    assert not [name for name, pid in pids.items() if _alive(pid)], pids
    assert g.tests == HONEST and "the kernel died in answer 'root'" in (g.error or ""), g
    facts = json.loads((drop / "facts.json").read_text())
    assert facts["cwd"] != str(course / "learner") and not Path(facts["cwd"]).exists()
    from bigtext_lite.book import sandbox

    owner, _ = sandbox.account("nobody")
    assert facts["uid"] == (owner[0] if owner else os.getuid())
    assert facts["wrote"] == (owner is None)  # as nobody, the instructor's files are out of reach


def _python_for_nobody(folder: Path) -> str | None:
    """A Python on this project's packages that the nobody account can run: this one, or a
    virtualenv in ``folder`` on the system's Python of this minor version (this one may live
    under /root, which nobody cannot enter); None when neither can import the project."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [sys.executable]
    if os.path.exists(f"/usr/bin/python{version}"):
        subprocess.run([f"/usr/bin/python{version}", "-m", "venv", "--without-pip", str(folder)],
                       check=True)
        here = next(Path(sys.prefix).glob("lib/python*/site-packages"))
        site = next(folder.glob("lib/python*/site-packages"))
        (site / "zz_bigtext.pth").write_text(f"import site; site.addsitedir({str(here)!r})\n")
        candidates.append(str(folder / "bin" / "python"))
    for python in candidates:  # what the grader checks before it drops to nobody
        probe = ["runuser", "-u", "nobody", "--", python, "-c", "import ipykernel, bigtext_lite"]
        if subprocess.run(probe, cwd="/", capture_output=True).returncode == 0:
            return python
    return None


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root")
def test_as_root_submissions_run_as_nobody(course, drop):
    venv = Path(tempfile.mkdtemp(prefix="bigtext-test-venv-"))
    try:
        venv.chmod(0o755)
        python = _python_for_nobody(venv)
        if python is None:
            pytest.skip("no Python here that the nobody account can run this project with")
        path = _hand_in(course, {"double": _spawner(drop, course / "outside.txt"),
                                 "root": WRONG_ROOT})
        done = subprocess.run([python, "-m", "bigtext_lite.book.cli", "check", str(path),
                               "--source", str(course / "solutions" / "hw.ipynb")],
                              capture_output=True, text=True, timeout=300)
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    assert done.returncode == 1 and "hw.ipynb: 1 / 3 points" in done.stdout, done
    assert "note:" not in done.stderr, done.stderr  # no fallback to root
    facts = json.loads((drop / "facts.json").read_text())
    import pwd

    assert facts["uid"] == pwd.getpwnam("nobody").pw_uid and not facts["wrote"]
    assert not (course / "outside.txt").exists()  # the instructor's files are out of reach
    assert not [p for p in drop.glob("*.pid") if _alive(int(p.read_text()))]


def test_what_runs_is_the_instructors_notebook_with_the_learners_answers():
    solution = _solution()
    tests, answers = assignments._graded_cells(solution, Path("hw.ipynb"))
    assert tests == {"test_double": 1.0, "test_root": 2.0} and answers == {"double", "root"}
    submission = assignments.strip_solutions(solution)
    submission.cells[2].cell_type = "raw"  # the answer `double` is no code any more
    submission.cells.insert(4, _answer("root", "ROOT = 1"))  # `root` twice: both run, in order
    submission.cells[6].cell_type = "markdown"  # and the test `test_root` is text: deleted
    cells, notes = assignments._program(solution, submission, tests, answers)
    assert [(c.kind, c.grade_id) for c in cells] == [
        ("setup", None), ("answer", "double"), ("test", "test_double"), ("answer", "root"),
        ("test", "test_root")]
    assert "NotImplementedError" in cells[1].code  # a missing answer runs as the handout's stub
    assert cells[3].code.startswith("ROOT = 1\n") and "NotImplementedError" in cells[3].code
    assert [c.counts for c in cells if c.kind == "test"] == [True, False]
    assert notes == ["answer 'double' is missing: the handout's stub ran instead",
                     "answer 'root' is in 2 cells: they ran in order",
                     "test 'test_root' is missing from the submission: 0 points"]
    tokens = [c.token for c in cells if c.kind == "test"]
    assert len(set(tokens)) == 2 and all(len(t) == 32 and t in c.code
                                         for t, c in zip(tokens, cells[2::2]))


@pytest.mark.parametrize("metadata, problem", [
    ({"grade": True, "grade_id": "test_root", "points": 1}, "a missing or repeated grade_id"),
    ({"grade": True, "grade_id": "t"}, "a test must be code with points > 0"),
    ({"grade": True, "solution": True, "grade_id": "t", "points": 1}, "graded by a person"),
])
def test_a_broken_instructors_copy_is_refused(course, metadata, problem):
    nb = _solution()
    nb.cells.append(new_code_cell("pass", metadata={"nbgrader": metadata}))
    nbformat.write(nb, course / "solutions" / "hw.ipynb")
    g = assignments.grade(_hand_in(course, {}))
    assert problem in (g.error or "") and "hw.ipynb, cell 6" in g.error and not g.passed
