"""The IMDB loader: finding, parsing, caching, downloading and refusing bad archives."""

from __future__ import annotations

import os
import socket
import tarfile
from pathlib import Path

import pytest

from bigtext_lite import config
from bigtext_lite.data import imdb
from bigtext_lite.data.fetch import DataError, Source
from bigtext_lite.data.imdb import load_imdb, train_valid_split

from conftest import TINY_REVIEWS, make_tar, sha256_of, source_for, tiny_files


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


def test_non_utf8_review_names_the_file(tmp_path):
    files = tiny_files()
    files["aclImdb/test/neg/7_2.txt"] = b"caf\xe9 latin-1"
    archive = make_tar(tmp_path / "aclImdb_latin1.tar.gz", files)
    with pytest.raises(DataError, match=r"test/neg/7_2\.txt is not UTF-8"):
        imdb.parse_imdb(archive)


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
    reviews = imdb.Reviews([f"r{i}" for i in range(n)], [i % 2 for i in range(n)],
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
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_imdb("train", root=root, source=source)
    assert leftovers(root) == ["aclImdb_v1.tar.gz"]  # the verified download, nothing extracted


@pytest.mark.parametrize("name,kind", [
    ("aclImdb/../../evil.txt", "path"),
    ("/etc/evil.txt", "path"),
    ("aclImdb/link", "symlink"),
    ("aclImdb/dev", "device"),
])
def test_unsafe_member_fails_and_leaves_nothing(http_server, tmp_path, name, kind):
    base, folder = http_server
    extra = tarfile.TarInfo(name)
    if kind == "symlink":
        extra.type, extra.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "device":
        extra.type = tarfile.CHRTYPE
    evil = make_tar(folder / "evil.tar.gz", tiny_files(), extra=[extra] if kind != "path" else None)
    if kind == "path":  # a regular file with a hostile name, after the good ones
        make_tar(evil, {**tiny_files(), name: b"gotcha"})
    root = tmp_path / "fresh"
    with pytest.raises(DataError, match="refusing to extract") as err:
        load_imdb("train", root=root, source=Source("aclImdb_v1.tar.gz", (f"{base}/evil.tar.gz",), sha256_of(evil)))
    assert name in str(err.value)
    assert leftovers(root) == ["aclImdb_v1.tar.gz"]
    assert not (tmp_path / "evil.txt").exists()


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
    assert {s: len(r) for s, r in splits.items()} == {"train": 25_000, "test": 25_000, "unsup": 50_000}
    for s in ("train", "test"):
        assert sum(splits[s].labels) == 12_500
        assert set(splits[s].ratings) == {1, 2, 3, 4, 7, 8, 9, 10}
        assert not any("<br" in t for t in splits[s].texts)
    assert set(splits["unsup"].labels) == {-1}
