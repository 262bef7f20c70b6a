"""The `bigtext` command."""

from __future__ import annotations

from conftest import make_tar, tiny_files

from bigtext_lite.book import cli


def test_data_reports_splits(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    root.mkdir()
    make_tar(root / "aclImdb_v1.tar.gz", tiny_files())
    monkeypatch.setenv("BIGTEXT_DATA", str(root))
    assert cli.main(["data", "--no-download"]) == 0
    out = capsys.readouterr().out
    assert "train:      4 reviews, 2 positive" in out and "unsup:      3 reviews" in out


def test_data_missing_explains_and_fails(capsys):
    assert cli.main(["data", "--no-download"]) == 1
    assert "BIGTEXT_DATA" in capsys.readouterr().err


def test_info(capsys):
    assert cli.main(["info"]) == 0
    assert "profile=" in capsys.readouterr().out


FAKE_CHAPTER = """
from dataclasses import dataclass

from bigtext_lite.experiments import settings


@dataclass(frozen=True)
class Settings(settings.Settings):
    num_epochs: int = 1
    lr: float = 0.1


def run(s, save_partial):
    save_partial({"rows": []})  # a run cut short keeps what it had
    return {"rows": [{"config": "a", "test_acc": 0.9}], "test_acc": 0.9}
"""


def test_run_writes_a_result_with_where_it_ran(tmp_path, monkeypatch, capsys):
    import importlib.util
    import json
    import sys

    from bigtext_lite import experiments

    monkeypatch.setenv("BIGTEXT_PROFILE", "quick")  # restored after the test: run_chapter sets it
    source = tmp_path / "fake.py"
    source.write_text(FAKE_CHAPTER)
    spec = importlib.util.spec_from_file_location("fake", source)
    chapter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chapter)
    monkeypatch.setitem(sys.modules, "fake", chapter)
    monkeypatch.setitem(experiments.CHAPTERS, "fake", "fake")
    assert cli.main(["run", "fake", "--profile", "quick", "--out", str(tmp_path),
                     "--set", "num_epochs=3", "--set", "lr=0.01", "--tag", "t"]) == 0
    result = json.loads((tmp_path / "fake-quick-t.json").read_text())
    assert result["settings"] == {"num_epochs": 3, "lr": 0.01}
    assert result["overrides"] == {"num_epochs": 3, "lr": 0.01}
    assert result["complete"] is True and result["profile"] == "quick" and result["test_acc"] == 0.9
    assert {"device", "torch", "git_commit", "date", "wall_seconds"} <= set(result)
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--set", "epoch=3"]) == 2
    err = capsys.readouterr().err
    assert "--set epoch=3: unknown setting for fake; did you mean num_epochs?" in err
    assert cli.main(["run", "fake", "--out", str(tmp_path), "--set", "num_epochs"]) == 2


def test_a_bad_profile_is_one_line_for_every_command(monkeypatch, capsys):
    monkeypatch.setenv("BIGTEXT_PROFILE", "fast")
    assert cli.main(["info"]) == 2
    assert capsys.readouterr().err == (
        "bigtext info: BIGTEXT_PROFILE='fast' is not a profile; use one of quick, colab, full\n")
