"""Shared fixtures: a tiny IMDB in the official layout, isolated data/cache
folders, and an HTTP server on 127.0.0.1 (tests never reach the internet)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from bigtext_lite.data import imdb
from bigtext_lite.data.fetch import Source

# (path inside aclImdb/, text): two reviews per labelled folder, three unlabelled.
TINY_REVIEWS = {
    "train/pos/0_9.txt": "A wonderful film.<br /><br />Loved it!",
    "train/pos/1_7.txt": "Good acting, good story.",
    "train/neg/0_2.txt": "Boring. I fell asleep.",
    "train/neg/1_4.txt": "Not worth the ticket.",
    "test/pos/0_10.txt": "Best movie of the year.",
    "test/pos/1_8.txt": "Charming and funny.",
    "test/neg/0_1.txt": "Awful<br />just awful.",
    "test/neg/1_3.txt": "Weak plot, wooden lines.",
    "train/unsup/0_0.txt": "Saw it on Sunday.",
    "train/unsup/1_0.txt": "My brother liked it.",
    "train/unsup/2_0.txt": "Café scenes were shot in Paris.",
}


def make_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz",
             extra: list[tarfile.TarInfo] | None = None) -> Path:
    """Write a tar archive of ``files`` (name -> bytes) plus raw ``extra`` members."""
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return path


def tiny_files(reviews: dict[str, str] = TINY_REVIEWS) -> dict[str, bytes]:
    files = {f"aclImdb/{k}": v.encode("utf-8") for k, v in reviews.items()}
    files["aclImdb/README"] = b"Large Movie Review Dataset v1.0 (tiny test copy)\n"
    return files


@pytest.fixture
def tiny_archive(tmp_path) -> Path:
    folder = tmp_path / "served"
    folder.mkdir()
    return make_tar(folder / "aclImdb_v1.tar.gz", tiny_files())


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own empty data root and cache. Returns the caller's
    original settings, for the few tests that read the real IMDB."""
    import os
    original = {k: os.environ.get(k) for k in ("BIGTEXT_DATA", "BIGTEXT_CACHE")}
    monkeypatch.setenv("BIGTEXT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BIGTEXT_DATA", str(tmp_path / "data"))
    return original


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; a file named in ``lie_about`` is announced at twice its size
    and cut off, like a connection that drops mid-download."""

    lie_about: set[str] = set()

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        name = self.path.lstrip("/")
        if name in self.lie_about:
            data = (Path(self.directory) / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(2 * len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


@pytest.fixture
def http_server(tiny_archive):
    """Serve the folder holding ``tiny_archive`` on 127.0.0.1; yields (base_url, folder)."""
    folder = tiny_archive.parent
    handler = functools.partial(_Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        _Handler.lie_about = set()


def source_for(base_url: str, archive: Path, sha256: str | None = None) -> Source:
    return Source(filename="aclImdb_v1.tar.gz", urls=(f"{base_url}/{archive.name}",),
                  sha256=sha256 or sha256_of(archive))


@pytest.fixture
def real_root(isolated_dirs, monkeypatch):
    """The real IMDB (BIGTEXT_DATA, else ../shared/data), with the caller's cache
    so the parse is shared with the notebooks."""
    real = (isolated_dirs["BIGTEXT_DATA"]
            or str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    if imdb.find_imdb(Path(real)) is None:
        pytest.skip(f"the real IMDB archive is not under {real}")
    monkeypatch.setenv("BIGTEXT_DATA", real)
    if isolated_dirs["BIGTEXT_CACHE"]:
        monkeypatch.setenv("BIGTEXT_CACHE", isolated_dirs["BIGTEXT_CACHE"])
    else:
        monkeypatch.delenv("BIGTEXT_CACHE")
    return Path(real)
