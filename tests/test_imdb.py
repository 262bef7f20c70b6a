"""The IMDB loader: finding, parsing, caching, downloading and refusing bad archives."""

from __future__ import annotations

import gzip
import itertools
import json
import lzma
import os
import socket
import tarfile
import threading
from pathlib import Path

import pytest
from conftest import TINY_REVIEWS, make_tar, sha256_of, source_for, tiny_files

from bigtext_lite import config
from bigtext_lite.data import imdb
from bigtext_lite.data.fetch import Source
from bigtext_lite.data.imdb import load_imdb
from bigtext_lite.data.reviews import Reviews, train_valid_split
from bigtext_lite.errors import DataError


def leftovers(root: Path) -> list[str]:
    """Anything a failed download or extraction might have left behind."""
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


# --- parsing -----------------------------------------------------------------

def test_archive_and_folder_give_the_same_splits(tiny_archive, tmp_path):
    from_archive = imdb.parse_imdb(tiny_archive)
    extracted = tmp_path / "x"
    with tarfile.open(tiny_archive) as tar:
        tar.extractall(extracted, filter="data")
    from_folder = imdb.parse_imdb(extracted / "aclImdb")
    for split in imdb.SPLITS:
        assert vars(from_archive[split]) == vars(from_folder[split])
    assert [len(from_archive[s]) for s in imdb.SPLITS] == [4, 4, 3]


def test_labels_ratings_ids_and_br_cleaning(tiny_archive):
    train = imdb.parse_imdb(tiny_archive)["train"]
    # sorted by (label, id): negatives first
    assert train.labels == [0, 0, 1, 1]
    assert train.ratings == [2, 4, 9, 7]
    assert train.ids == ["train/neg/0_2", "train/neg/1_4", "train/pos/0_9", "train/pos/1_7"]
    assert train[2].text == "A wonderful film.  Loved it!"
    assert "<br" not in " ".join(imdb.parse_imdb(tiny_archive)["test"].texts)
    unsup = imdb.parse_imdb(tiny_archive)["unsup"]
    assert set(unsup.labels) == {-1} and set(unsup.ratings) == {0}
    assert "Café" in unsup.texts[2]  # UTF-8 kept


def test_rating_that_contradicts_its_folder_is_refused(tmp_path):
    bad = dict(TINY_REVIEWS)
    bad["train/pos/5_3.txt"] = "three stars filed as positive"
    archive = make_tar(tmp_path / "aclImdb_bad.tar.gz", tiny_files(bad))
    with pytest.raises(DataError, match=r"train/pos/5_3\.txt: rating 3 does not fit label 'pos'"):
        imdb.parse_imdb(archive)


def test_non_utf8_review_names_the_file_and_nothing_is_cached(tmp_path):
    files = tiny_files()
    files["aclImdb/test/neg/1_3.txt"] = b"caf\xe9 latin-1"  # replaces a review: sizes stay right
    root = tmp_path / "data"
    root.mkdir()
    make_tar(root / "aclImdb_latin1.tar.gz", files)
    with pytest.raises(DataError, match=r"test/neg/1_3\.txt is not UTF-8 .*get a fresh one"):
        load_imdb("train", root=root, download=False)
    assert not (config.cache_dir() / "imdb").exists()


def test_archive_any_compression_found_under_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    make_tar(root / "aclImdb_reviews.tar.xz", tiny_files(), mode="w:xz")
    monkeypatch.setenv("BIGTEXT_DATA", str(root))
    assert len(load_imdb("test", download=False)) == 4


def test_second_load_reads_the_cache(tiny_archive, monkeypatch):
    monkeypatch.setenv("BIGTEXT_DATA", str(tiny_archive.parent))
    first = load_imdb("train", download=False)
    cached = list((config.cache_dir() / "imdb").glob("*.json"))
    assert sorted(p.name.split("-")[0] for p in cached) == ["test", "train", "unsup"]

    def no_parse(_):
        raise AssertionError("parsed again instead of reading the cache")

    monkeypatch.setattr(imdb, "parse_imdb", no_parse)
    assert vars(load_imdb("train", download=False)) == vars(first)
    assert len(load_imdb("unsup", download=False)) == 3


def test_changed_archive_invalidates_the_cache(tiny_archive, monkeypatch):
    monkeypatch.setenv("BIGTEXT_DATA", str(tiny_archive.parent))
    assert len(load_imdb("test", download=False)) == 4
    more = dict(TINY_REVIEWS, **{"test/pos/9_9.txt": "One more."})
    make_tar(tiny_archive, tiny_files(more))
    os.utime(tiny_archive, ns=(1, 1))  # a different mtime even on coarse clocks
    assert len(load_imdb("test", download=False)) == 5


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown IMDB split 'valid'"):
        load_imdb("valid")


# --- validation split and subsets -------------------------------------------

def test_train_valid_split_is_deterministic_stratified_and_disjoint():
    n = 1000
    reviews = Reviews([f"r{i}" for i in range(n)], [i % 2 for i in range(n)],
                      [9 if i % 2 else 2 for i in range(n)], [str(i) for i in range(n)])
    train, valid = train_valid_split(reviews, 0.2, seed=3)
    again_train, again_valid = train_valid_split(reviews, 0.2, seed=3)
    assert valid.ids == again_valid.ids and train.ids == again_train.ids
    assert len(valid) == 200 and sum(valid.labels) == 100
    assert set(train.ids).isdisjoint(valid.ids) and len(set(train.ids) | set(valid.ids)) == n
    assert train_valid_split(reviews, 0.2, seed=4)[1].ids != valid.ids
    sub = reviews.sample(50, seed=1)
    assert len(sub) == 50 and sum(sub.labels) == 25
    with pytest.raises(ValueError):
        train_valid_split(reviews, 1.5)


# --- download path, against a server on 127.0.0.1 ------------------------------

def test_download_with_good_checksum_extracts_and_loads(http_server, tmp_path):
    base, folder = http_server
    root = tmp_path / "fresh"
    source = source_for(base, folder / "aclImdb_v1.tar.gz")
    test = load_imdb("test", root=root, source=source)
    assert len(test) == 4
    assert (root / "aclImdb" / "train" / "pos" / "0_9.txt").is_file()
    assert leftovers(root) == ["aclImdb", "aclImdb_v1.tar.gz"]  # no .part, no temp folder


def test_wrong_checksum_fails_and_leaves_nothing(http_server, tmp_path):
    base, folder = http_server
    root = tmp_path / "fresh"
    source = source_for(base, folder / "aclImdb_v1.tar.gz", sha256="0" * 64)
    with pytest.raises(DataError, match="checksum mismatch") as err:
        load_imdb("train", root=root, source=source)
    assert "BIGTEXT_DATA" in str(err.value)
    assert leftovers(root) == []


def test_connection_dropped_mid_download_fails_and_leaves_nothing(http_server, tmp_path):
    base, folder = http_server
    from conftest import _Handler
    _Handler.lie_about = {"aclImdb_v1.tar.gz"}
    root = tmp_path / "fresh"
    with pytest.raises(DataError, match="could not download"):
        load_imdb("train", root=root, source=source_for(base, folder / "aclImdb_v1.tar.gz"))
    assert leftovers(root) == []


def test_truncated_archive_with_matching_checksum_fails_and_leaves_nothing(http_server, tmp_path):
    base, folder = http_server
    full = (folder / "aclImdb_v1.tar.gz").read_bytes()
    cut = folder / "cut.tar.gz"
    cut.write_bytes(full[: len(full) // 2])  # the publisher's own file is damaged
    root = tmp_path / "fresh"
    source = Source("aclImdb_v1.tar.gz", (f"{base}/cut.tar.gz",), sha256_of(cut))
    for _ in range(2):  # the verified download stays, and is refused again when read in place
        with pytest.raises(DataError, match=r"aclImdb_v1\.tar\.gz is truncated or corrupt"):
            load_imdb("train", root=root, source=source)
        assert leftovers(root) == ["aclImdb_v1.tar.gz"]  # nothing extracted


@pytest.mark.parametrize("name,kind", [
    ("aclImdb/../../evil.txt", "path"),
    ("/etc/evil.txt", "path"),
    ("aclImdb/link", "symlink"),
    ("aclImdb/train/pos/5_9.txt", "hardlink"),
    ("aclImdb/dev", "device"),
    ("aclImdb/train/pos/6_9.txt", "fifo"),
])
def test_unsafe_member_fails_leaves_nothing_and_stays_refused(http_server, tmp_path, name, kind):
    base, folder = http_server
    extra = tarfile.TarInfo(name)
    extra.type, extra.linkname = {
        "symlink": (tarfile.SYMTYPE, "/etc/passwd"),
        "hardlink": (tarfile.LNKTYPE, "aclImdb/train/pos/0_9.txt"),  # even one inside
        "device": (tarfile.CHRTYPE, ""), "fifo": (tarfile.FIFOTYPE, ""),
    }.get(kind, (tarfile.REGTYPE, ""))
    evil = make_tar(folder / "evil.tar.gz", tiny_files(), extra=[extra] if kind != "path" else None)
    if kind == "path":  # a regular file with a hostile name, after the good ones
        make_tar(evil, {**tiny_files(), name: b"gotcha"})
    root = tmp_path / "fresh"
    source = Source("aclImdb_v1.tar.gz", (f"{base}/evil.tar.gz",), sha256_of(evil))
    with pytest.raises(DataError, match="refusing to extract") as err:
        load_imdb("train", root=root, source=source)
    assert name in str(err.value)
    assert leftovers(root) == ["aclImdb_v1.tar.gz"]
    assert not (tmp_path / "evil.txt").exists()
    # The archive stays in the data root; read in place, it is refused just the same.
    with pytest.raises(DataError) as again:
        load_imdb("train", root=root, source=source)
    assert str(again.value) == str(err.value)
    assert not (config.cache_dir() / "imdb").exists()


def _with_test_last(n: int) -> dict[str, bytes]:
    """An IMDB-shaped archive's files, ``n`` reviews per folder, the test split last."""
    files = {}
    for folder, stars in [("train/pos", 9), ("train/neg", 2), ("train/unsup", 0),
                          ("test/pos", 8), ("test/neg", 3)]:
        for i in range(n):
            files[f"aclImdb/{folder}/{i}_{stars}.txt"] = f"{folder} {i}".encode()
    return files


@pytest.mark.parametrize("compress", ["none", "gzip", "xz"])
@pytest.mark.parametrize("via", ["in place", "download"])
def test_tar_cut_at_a_member_boundary_is_refused(http_server, tmp_path, compress, via):
    base, served = http_server
    whole = make_tar(tmp_path / "whole.tar", _with_test_last(20), mode="w")
    with tarfile.open(whole) as tar:
        cut_at = tar.getmembers()[3 * 20 + 25].offset  # after 25 of the 40 test reviews
    data = whole.read_bytes()[:cut_at]
    data = {"none": data, "gzip": gzip.compress(data), "xz": lzma.compress(data)}[compress]
    name = "aclImdb_v1.tar" + {"none": "", "gzip": ".gz", "xz": ".xz"}[compress]
    root = tmp_path / "data"
    root.mkdir()
    (served if via == "download" else root).joinpath(name).write_bytes(data)
    sha = sha256_of(served / name) if via == "download" else "0"
    source = Source(name, (f"{base}/{name}",), sha)
    for _ in range(2):  # and again: a download that was refused stays refused
        with pytest.raises(DataError, match=rf"{name} stops after member "
                           r"'aclImdb/test/neg/4_3\.txt' without tar's end-of-archive marker"):
            load_imdb("test", root=root, download=via == "download", source=source)
    assert not (config.cache_dir() / "imdb").exists()  # nothing partial cached
    assert not list(root.glob(".extract-*"))


@pytest.mark.parametrize("extra", ["imdb.vocab", "train/urls_pos.txt", "test/labeledBow.feat"])
@pytest.mark.parametrize("kind", ["archive", "folder"])
def test_the_official_layout_must_have_the_official_sizes(tmp_path, monkeypatch, extra, kind):
    root = tmp_path / "data"
    root.mkdir()
    files = {**_with_test_last(2), f"aclImdb/{extra}": b"x\n"}
    archive = make_tar(tmp_path / "aclImdb_v1.tar.gz", files)
    if kind == "archive":
        os.replace(archive, root / archive.name)
    else:  # an official copy whose extraction stopped part way
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    location = root / ("aclImdb" if kind == "folder" else archive.name)
    with pytest.raises(DataError) as err:
        load_imdb("test", root=root, download=False)
    assert f"{location} is the official IMDB (it has aclImdb/{extra})" in str(err.value)
    assert "train/pos 2 of 12,500; train/neg 2 of 12,500; test/pos 2 of 12,500; " \
           "test/neg 2 of 12,500; train/unsup 2 of 50,000 reviews" in str(err.value)
    assert not (config.cache_dir() / "imdb").exists()
    # With the sizes it expects, the same data set loads: the check is exact, not a refusal.
    monkeypatch.setattr(imdb, "OFFICIAL_SIZES", dict.fromkeys(imdb.OFFICIAL_SIZES, 2))
    assert len(load_imdb("test", root=root, download=False)) == 4


# --- an extracted folder: what a plain `tar -x` of a hostile archive leaves ------------

@pytest.fixture
def extracted(tmp_path) -> Path:
    """A data root holding the tiny IMDB as an extracted aclImdb/ folder."""
    root = tmp_path / "data"
    with tarfile.open(make_tar(tmp_path / "tiny.tar.gz", tiny_files())) as tar:
        tar.extractall(root, filter="data")
    return root


def test_link_out_of_the_folder_is_refused_and_named(extracted, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = extracted / "aclImdb" / "train" / "pos" / "5_9.txt"
    link.symlink_to(secret)
    with pytest.raises(DataError, match="refusing to follow it") as err:
        load_imdb("train", root=extracted, download=False)
    where = extracted / "aclImdb"
    assert f"{link} is a symbolic link to {secret}, outside {where}" in str(err.value)
    assert not (config.cache_dir() / "imdb").exists()


def test_link_to_a_folder_is_refused_one_inside_the_folder_is_read(extracted, tmp_path):
    pos = extracted / "aclImdb" / "train" / "pos"
    (pos / "2_8.txt").symlink_to(pos / "0_9.txt")  # stays inside: read like a copy
    assert len(load_imdb("train", root=extracted, download=False)) == 5
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (extracted / "aclImdb" / "train" / "more").symlink_to(elsewhere)
    with pytest.raises(DataError, match=r"train/more is a symbolic link to .*elsewhere, outside"):
        imdb.parse_imdb(extracted / "aclImdb")
    (extracted / "aclImdb" / "train" / "more").unlink()
    (extracted / "aclImdb" / "train" / "again").symlink_to(pos)  # inside, but a folder
    with pytest.raises(DataError, match=r"train/again is a symbolic link to .*pos, a folder"):
        imdb.parse_imdb(extracted / "aclImdb")


def _feed_when_read(fifo: Path, data: bytes, stop: threading.Event) -> None:
    """Write ``data`` into ``fifo`` once something opens it to read: a reader that opens
    it then gets this text back instead of blocking the test forever."""
    def feed():
        while not stop.wait(0.05):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while nobody reads
            except OSError:
                continue
            os.write(fd, data)
            os.close(fd)
            return
    threading.Thread(target=feed, daemon=True).start()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no fifos here")
def test_fifo_in_the_folder_is_refused_not_read(extracted):
    fifo = extracted / "aclImdb" / "train" / "pos" / "5_9.txt"
    os.mkfifo(fifo)
    stop = threading.Event()
    _feed_when_read(fifo, b"gotcha", stop)
    try:
        with pytest.raises(DataError, match=rf"{fifo} is a fifo, device or socket, not a file"):
            load_imdb("train", root=extracted, download=False)
    finally:
        stop.set()


# --- the cache -------------------------------------------------------------------

@pytest.mark.parametrize("damage", [b'{"texts": ["cut', b"[]", b'{"texts": []}', b"\xff\xfe",
                                    b'{"texts": ["a"], "labels": [], "ratings": [], "ids": []}'])
def test_damaged_cache_is_parsed_again(tiny_archive, damage):
    first = load_imdb("test", root=tiny_archive.parent, download=False)
    cache = imdb._cache_paths(tiny_archive)["test"]
    cache.write_bytes(damage)
    with pytest.warns(UserWarning, match=rf"the IMDB cache {cache} is damaged"):
        assert vars(load_imdb("test", root=tiny_archive.parent, download=False)) == vars(first)
    assert json.loads(cache.read_text()) == vars(first)  # rewritten whole


def test_cache_from_the_older_parser_is_not_used(tiny_archive, monkeypatch):
    # Version 1 cached what it read through links and from cut archives.
    with monkeypatch.context() as m:
        m.setattr(imdb, "PARSE_VERSION", 1)
        old = imdb._cache_paths(tiny_archive)["test"]
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"texts": ["root:x:0:0"], "labels": [1], "ratings": [9],
                               "ids": ["test/pos/0_9"]}))
    assert len(load_imdb("test", root=tiny_archive.parent, download=False)) == 4


def test_leftover_part_file_is_never_read_as_data(http_server, tmp_path):
    base, folder = http_server
    root = tmp_path / "data"
    root.mkdir()
    # A killed download left a .part; even a complete-looking one is not trusted.
    five = dict(TINY_REVIEWS, **{"test/pos/2_9.txt": "x"})
    make_tar(root / "aclImdb_v1.tar.gz.part", tiny_files(five))
    with pytest.raises(DataError, match="not found"):
        load_imdb("test", root=root, download=False)
    source = source_for(base, folder / "aclImdb_v1.tar.gz")
    assert len(load_imdb("test", root=root, source=source)) == 4
    assert leftovers(root) == ["aclImdb", "aclImdb_v1.tar.gz"]


def test_no_data_and_no_network_says_what_to_do(tmp_path):
    with socket.socket() as s:  # a port nobody listens on: connection refused, instantly
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp_path / "empty"
    source = Source("aclImdb_v1.tar.gz", (f"http://127.0.0.1:{port}/aclImdb_v1.tar.gz",), "0" * 64)
    with pytest.raises(DataError) as err:
        load_imdb("train", root=root, source=source)
    message = str(err.value)
    assert str(root) in message and "BIGTEXT_DATA" in message and "aclImdb" in message
    assert f"127.0.0.1:{port}" in message  # which URL failed
    with pytest.raises(DataError, match="downloading is switched off"):
        load_imdb("train", root=root, download=False)


def test_truncated_local_archive_is_named(tmp_path, tiny_archive):
    root = tmp_path / "data"
    root.mkdir()
    data = tiny_archive.read_bytes()
    (root / "aclImdb_v1.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"aclImdb_v1\.tar\.gz is truncated or corrupt"):
        load_imdb("train", root=root, download=False)


# --- the real dataset ----------------------------------------------------------

@pytest.mark.slow
def test_real_imdb_counts_balance_and_ratings(real_root):
    splits = {s: load_imdb(s, root=real_root, download=False) for s in imdb.SPLITS}
    sizes = {"train": 25_000, "test": 25_000, "unsup": 50_000}
    assert {s: len(r) for s, r in splits.items()} == sizes
    for s in ("train", "test"):
        assert sum(splits[s].labels) == 12_500
        assert set(splits[s].ratings) == {1, 2, 3, 4, 7, 8, 9, 10}
        assert not any("<br" in t for t in splits[s].texts)
    assert set(splits["unsup"].labels) == {-1}


@pytest.mark.slow
def test_real_imdb_is_recognised_as_the_official_release(real_root):
    # So load_imdb holds it to the official sizes (the test above: they check out).
    location = imdb.find_imdb(real_root)
    if location.is_dir():
        names = [f"aclImdb/{p.relative_to(location).as_posix()}" for p in location.rglob("*")]
    else:
        with tarfile.open(location) as tar:
            names = [m.name for m in itertools.islice(tar, 10)]  # the extras come first here
    assert any(imdb._OFFICIAL_EXTRAS.match(n) for n in names)
