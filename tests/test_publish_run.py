"""`bigtext publish`: every chapter's run in turn, resumable chapter by chapter, from a
clean commit only. End to end on real chapters in the quick profile; the rules (kept,
rerun, failed, refused) with a stand-in for run_chapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bigtext_lite.config import SettingError
from bigtext_lite.experiments import CHAPTERS, publish
from bigtext_lite.experiments.publish import ORDER


@pytest.fixture(autouse=True)
def profile_restored(monkeypatch):
    monkeypatch.setenv("BIGTEXT_PROFILE", "quick")  # run_chapter sets it for what it runs


def test_the_order_is_every_chapter_once():
    assert sorted(ORDER) == sorted(CHAPTERS) and len(ORDER) == len(set(ORDER))


def test_real_chapters_run_then_are_kept_and_a_cut_off_one_runs_again(tmp_path, real_root):
    first = publish.publish("quick", tmp_path, only=["training_loop", "formulas"],
                            allow_uncommitted=True)
    assert list(first["chapters"]) == ["formulas", "training_loop"]  # the book's order
    assert all(c["status"] == "ran" for c in first["chapters"].values()) and first["complete"]
    files = {c: json.loads((tmp_path / f"{c}-quick.json").read_text()) for c in first["chapters"]}
    assert all(f["complete"] and f["git_commit"] == first["git_commit"] for f in files.values())
    import numpy
    import sklearn
    assert files["formulas"]["packages"]["numpy"] == numpy.__version__  # the versions, stamped
    assert files["formulas"]["packages"]["scikit-learn"] == sklearn.__version__
    assert json.loads((tmp_path / "publish-quick.json").read_text()) == first

    again = publish.publish("quick", tmp_path, only=["formulas", "training_loop"],
                            allow_uncommitted=True)
    assert {c: s["status"] for c, s in again["chapters"].items()} == {
        "formulas": "kept", "training_loop": "kept"}
    # a kept chapter's seconds are its own run's, so the total is the whole run's
    assert again["chapters"]["formulas"]["seconds"] == files["formulas"]["wall_seconds"]

    cut = files["formulas"] | {"complete": False}  # as a run killed mid-way leaves it
    (tmp_path / "formulas-quick.json").write_text(json.dumps(cut))
    third = publish.publish("quick", tmp_path, only=["formulas", "training_loop"],
                            allow_uncommitted=True)
    assert {c: s["status"] for c, s in third["chapters"].items()} == {
        "formulas": "ran", "training_loop": "kept"}
    assert json.loads((tmp_path / "formulas-quick.json").read_text())["complete"]


def fake_env(commit="abc1234", device="CPU (2 cores)", code="c0de"):
    return lambda: {"device": device, "git_commit": commit, "code_hash": code, "date": "today"}


def test_a_failure_is_reported_and_the_other_chapters_still_run(tmp_path, monkeypatch):
    monkeypatch.setattr(publish, "environment", fake_env())
    ran = []

    def run(chapter, profile, out_dir):
        ran.append(chapter)
        if chapter == "fasttext":
            raise RuntimeError("out of memory")
        (out_dir / f"{chapter}-full.json").write_text(json.dumps(
            {**publish.environment(), "complete": True, "wall_seconds": 2.0}))

    summary = publish.publish("full", tmp_path, run=run)
    assert ran == list(ORDER)
    assert summary["chapters"]["fasttext"]["status"] == "failed"
    assert "RuntimeError: out of memory" in summary["chapters"]["fasttext"]["error"]
    assert not summary["complete"]
    ran.clear()
    summary = publish.publish("full", tmp_path, run=run)  # only the failed one again
    assert ran == ["fasttext"]
    # another device, or other code under the same commit's name: every chapter again
    for other in (fake_env(device="NVIDIA H200"), fake_env(code="c0de2")):
        monkeypatch.setattr(publish, "environment", other)
        ran.clear()
        publish.publish("full", tmp_path, run=run)
        assert ran == list(ORDER)


@pytest.mark.parametrize("commit", ["abc1234+uncommitted changes", None])
def test_a_working_copy_whose_code_differs_from_its_commit_is_refused(tmp_path, monkeypatch,
                                                                       commit):
    monkeypatch.setattr(publish, "environment", fake_env(commit))
    with pytest.raises(SettingError, match="commit it first"):
        publish.publish("full", tmp_path, run=lambda *a: pytest.fail("ran"))


def test_an_unknown_chapter_is_named(tmp_path):
    with pytest.raises(SettingError, match="unknown chapter.*lsmt"):
        publish.publish("full", tmp_path, only=["lsmt"])


def test_provenance_names_a_result_whose_code_is_not_its_commits(tmp_path, monkeypatch):
    import subprocess

    from bigtext_lite.experiments import code_hash, environment

    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout.strip()

    (tmp_path / "bigtext_lite").mkdir()
    (tmp_path / "bigtext_lite" / "model.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    commit, results = git("rev-parse", "--short", "HEAD"), tmp_path / "results"
    results.mkdir()

    def result(name, **stamp):
        (results / name).write_text(json.dumps({"complete": True, **stamp}))

    result("lstm-full.json", git_commit=commit, code_hash=code_hash(tmp_path))
    result("bert-full.json", git_commit=commit + "+uncommitted changes", code_hash="x")
    result("old-full.json", git_commit=commit)  # from before runs recorded their code
    assert publish.provenance_problems(results, tmp_path) == []

    (tmp_path / "bigtext_lite" / "model.py").write_text("x = 2\n")  # run, not committed
    result("bert-full.json", git_commit=commit, code_hash=code_hash(tmp_path))
    result("fasttext-full.json", git_commit="0badc0d", code_hash=code_hash(tmp_path))
    assert publish.provenance_problems(results, tmp_path) == [
        f"bert-full.json: ran code {code_hash(tmp_path)}, but commit {commit}'s code is "
        f"{publish.code_hash_at(commit, tmp_path)}: it was not run from that commit",
        "fasttext-full.json: commit 0badc0d is not in this repository"]

    with pytest.raises(FileNotFoundError, match="no bigtext_lite"):
        code_hash(results)
    # the stamp digests the repository the library was imported from
    assert environment()["code_hash"] == code_hash(Path(__file__).resolve().parents[1])
    # a copy without git names its commit in BIGTEXT_COMMIT, and the stamp carries it
    monkeypatch.setattr("bigtext_lite.experiments.git_commit", lambda folder: None)
    monkeypatch.setenv("BIGTEXT_COMMIT", "abc1234")
    assert environment()["git_commit"] == "abc1234"


def test_the_published_results_ran_the_code_of_the_commit_they_name():
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    assert publish.provenance_problems(root / "results", root) == []
