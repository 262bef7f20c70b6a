"""fetch: trust on first use (what gets pinned, what is removed), damaged pins, and
the temporary folders a killed extraction leaves. Against 127.0.0.1 only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import make_tar, tiny_files

from bigtext_lite import vectors
from bigtext_lite.data import archives, fetch
from bigtext_lite.data.fetch import Source
from bigtext_lite.data.imdb import load_imdb
from bigtext_lite.errors import DataError

PORTAL = b"<!DOCTYPE html>\n<html><body>Please log in to the guest Wi-Fi</body></html>\n"


def write_zip(path: Path, text: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("glove.test.txt", text)
    return path


def spec_for(base: str) -> vectors.Pretrained:
    source = Source("vecs.zip", (f"{base}/vecs.zip",), sha256=None)
    return vectors.Pretrained(source, "glove.test.txt")


def test_captive_portal_page_is_not_pinned(http_server, tmp_path):
    base, served = http_server
    (served / "vecs.zip").write_bytes(PORTAL)  # what the network answers before log-in
    folder = tmp_path / "vectors"
    with pytest.raises(DataError, match=r"not a zip archive as vecs\.zip should be: it is a web "
                                        r"page .*Nothing was kept or pinned"):
        vectors.fetch_vectors(spec_for(base), folder)
    assert sorted(p.name for p in folder.iterdir()) == []
    write_zip(served / "vecs.zip", "a 1 2\n")  # the network is back
    with pytest.warns(UserWarning, match="recorded sha256"):
        assert vectors.load(vectors.fetch_vectors(spec_for(base), folder)).words == ["a"]


def test_pinned_file_that_does_not_extract_is_unpinned_and_removed(http_server, tmp_path):
    base, served = http_server
    folder = tmp_path / "vectors"
    folder.mkdir()
    # What an older version left: the portal page pinned as the real archive.
    (folder / "vecs.zip").write_bytes(PORTAL)
    digest = fetch.sha256sum(folder / "vecs.zip")
    (folder / "vecs.zip.sha256").write_text(f"{digest}  vecs.zip  (from {base}/vecs.zip)\n")
    write_zip(served / "vecs.zip", "b 3 4\n")
    gone = folder / "vecs.zip"
    with pytest.raises(DataError, match=rf"File is not a zip file\. .*removed {gone} and its "
                                        r"pin vecs\.zip\.sha256; the next call downloads"):
        vectors.fetch_vectors(spec_for(base), folder)
    assert sorted(p.name for p in folder.iterdir()) == []
    with pytest.warns(UserWarning, match="recorded sha256"):
        assert vectors.load(vectors.fetch_vectors(spec_for(base), folder)).words == ["b"]


def test_an_archive_the_user_put_there_is_never_removed(tmp_path):
    own = tmp_path / "glove.6B.zip"
    own.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=rf"cannot extract glove\.6B\.50d\.txt from {own}"):
        fetch.extract_member(own, "glove.6B.50d.txt", tmp_path)
    assert own.read_bytes() == b"PK\x03\x04 not really a zip"  # not ours: not pinned, kept


@pytest.mark.parametrize("pin", [b"", b"\n", b"not-a-checksum  vecs.zip\n", b"\xff\xfe\x00\x01",
                                 b"c40f74a18d3b61f9  vecs.zip  (cut short)\n"])
def test_damaged_pin_is_named_with_what_to_do(http_server, tmp_path, pin):
    base, served = http_server
    write_zip(served / "vecs.zip", "a 1 2\n")
    (tmp_path / "vecs.zip.sha256").write_bytes(pin)
    with pytest.raises(DataError, match=rf"the checksum pin {tmp_path / 'vecs.zip.sha256'} is "
                                        r"damaged: .* Delete it"):
        fetch.download(Source("vecs.zip", (f"{base}/vecs.zip",), None), tmp_path)
    assert (tmp_path / "vecs.zip.sha256").read_bytes() == pin  # left for the user to judge


# --- temporary folders of killed extractions ------------------------------------------

KILL_DURING_EXTRACTION = """
import importlib.util, os, signal, sys, tarfile
spec = importlib.util.spec_from_file_location("archives", sys.argv[1])
archives = sys.modules["archives"] = importlib.util.module_from_spec(spec)  # alone: no torch
spec.loader.exec_module(archives)
extract = tarfile.TarFile.extractall
def extract_then_die(self, *args, **kwargs):
    extract(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # like the OOM killer, or a kernel restart
tarfile.TarFile.extractall = extract_then_die
archives.safe_extract(sys.argv[2], sys.argv[3])
"""


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_folder_of_a_killed_extraction_is_removed_next_time(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    archive = make_tar(root / "aclImdb_v1.tar.gz", tiny_files())
    run = subprocess.run([sys.executable, "-c", KILL_DURING_EXTRACTION, archives.__file__,
                          str(archive), str(root)], capture_output=True, timeout=300)
    assert run.returncode == -9, run.stderr.decode()
    (left,) = root.glob(".extract-*")
    assert list(left.rglob("0_9.txt"))  # the reviews, half-way to their place
    age(left, 2 * 3600)  # past any rule for "stale" (a minute with locks, an hour without)
    with pytest.warns(UserWarning, match=rf"removed {left}, a temporary folder left by an "
                                         r"interrupted extraction"):
        assert len(load_imdb("test", root=root, download=False)) == 4
    assert sorted(p.name for p in root.iterdir()) == ["aclImdb_v1.tar.gz"]


def test_folder_of_a_running_extraction_is_kept(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    running, starting = tmp_path / ".extract-running", tmp_path / ".extract-starting"
    running.mkdir()
    starting.mkdir()  # created an instant ago, not locked yet
    with open(running / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as safe_extract holds it while it works
        age(running, 2 * 3600)
        assert archives.remove_stale_extractions(tmp_path) == []
    age(running, 2 * 3600)
    with pytest.warns(UserWarning, match="interrupted extraction"):
        assert archives.remove_stale_extractions(tmp_path) == [running]  # its process is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [".extract-starting"]
