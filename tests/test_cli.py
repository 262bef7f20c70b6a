"""The `bigtext` command."""

from __future__ import annotations

from bigtext_lite import cli

from conftest import make_tar, tiny_files


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
