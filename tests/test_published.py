"""Published results where the repository is not at hand (Colab): read from the commit
the library was pip-installed from (experiments/published.py)."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

from bigtext_lite.experiments import load_result, published

RESULT = {"chapter": "nosuch", "rows": [1, 2, 3]}  # a name no results/ folder here holds


def fake_dist(folder, record: dict | None):
    info = folder / "fake_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-pkg\nVersion: 0.1\n")
    if record is not None:
        (info / "direct_url.json").write_text(json.dumps(record))


@pytest.mark.parametrize("record, expected", [
    ({"url": "https://github.com/o/r.git",
      "vcs_info": {"vcs": "git", "requested_revision": "v0.1.0", "commit_id": "abc123"}},
     ("https://github.com/o/r.git", "abc123")),
    ({"url": "file:///work/repo", "dir_info": {"editable": True}}, None),  # make's install
    (None, None),  # installed from an index: no record
])
def test_pips_record_of_a_git_install_gives_the_address_and_commit(tmp_path, monkeypatch,
                                                                   record, expected):
    fake_dist(tmp_path, record)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert published.installed_from("fake-pkg") == expected


def test_a_file_install_reads_the_clones_results(tmp_path, monkeypatch):
    (tmp_path / "clone" / "results").mkdir(parents=True)
    (tmp_path / "clone" / "results" / "nosuch-full.json").write_text(json.dumps(RESULT))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(published, "installed_from", lambda: (f"file://{tmp_path}/clone", "c"))
    assert load_result("nosuch") == RESULT
    assert load_result("nosuch", "quick") is None  # a file the commit does not have


def test_a_github_install_downloads_the_commits_file_once(tmp_path, monkeypatch, capsys):
    site = tmp_path / "site" / "o" / "r" / "abc123" / "results"
    site.mkdir(parents=True)
    (site / "nosuch-full.json").write_text(json.dumps(RESULT))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(published, "RAW", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setattr(published, "installed_from",
                        lambda: ("https://github.com/o/r.git", "abc123"))
    monkeypatch.setenv("BIGTEXT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    try:
        assert load_result("nosuch") == RESULT
        assert load_result("nosuch", "quick") is None  # 404
        assert "could not read the published nosuch-quick.json" in capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
    assert load_result("nosuch") == RESULT  # from the cache, the server gone


def test_an_unknown_host_is_not_guessed():
    assert published.source_of("https://gitlab.com/o/r.git", "abc", "x.json") is None
    assert published.source_of("https://github.com/o/r", "abc", "x.json") == \
        f"{published.RAW}/o/r/abc/results/x.json"
