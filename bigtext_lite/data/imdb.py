"""The IMDB Large Movie Review Dataset (Maas et al., 2011): find, download, load.

Where the data comes from, in order:

1. an extracted ``aclImdb/`` folder under the data root;
2. an archive ``aclImdb*.tar*`` (any compression) under the data root, read in
   place without extracting (the root may be a read-only shared folder);
3. the official tarball, downloaded into the data root with a progress bar,
   checked against its sha256 and extracted safely.

A folder or archive is refused, with the file named, when it holds what a
hostile or damaged copy holds: links out of the folder, devices, fifos, an
archive cut short, or (for the official release) fewer reviews than it has.

The data root is ``BIGTEXT_DATA`` or ``~/.cache/bigtext_lite/data``
(:func:`bigtext_lite.config.data_root`). Parsing 100,000 small files takes
seconds, so the parsed splits are cached as JSON under
:func:`bigtext_lite.config.cache_dir` ``/imdb``; the second load reads one file.

Walkthrough: notebooks/03_text_pipeline.ipynb, "Loading IMDB".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import warnings
from collections import Counter
from pathlib import Path
from typing import Iterator

from bigtext_lite import config
from bigtext_lite.data.archives import (
    CORRUPT_ARCHIVE,
    checked_members,
    corrupt_archive,
    open_tar,
    remove_stale_extractions,
    safe_extract,
)
from bigtext_lite.data.fetch import Source, download
from bigtext_lite.data.reviews import Reviews
from bigtext_lite.errors import DataError
from bigtext_lite.io import write_json_atomic

IMDB_SOURCE = Source(
    filename="aclImdb_v1.tar.gz",
    urls=("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
    sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    size=84_125_825,
)
SPLITS = ("train", "test", "unsup")
LABELS = {"neg": 0, "pos": 1, "unsup": -1}
# Bump when parsing changes, so old caches are not reused. 2: version 1 cached partial
# archives and files that links outside aclImdb/ pointed at.
PARSE_VERSION = 2
# The official release, per folder. Only it is held to them (see parse_imdb): a
# copy that has the official extras below but other counts is incomplete.
OFFICIAL_SIZES = {"train/pos": 12_500, "train/neg": 12_500, "test/pos": 12_500,
                  "test/neg": 12_500, "train/unsup": 50_000}
_OFFICIAL_EXTRAS = re.compile(
    r"^aclImdb/(imdb\.vocab|imdbEr\.txt|(train|test)/(urls_\w+\.txt|\w+Bow\.feat))$")

# aclImdb/train/pos/1234_9.txt -> split folder, label folder, review id, stars
_REVIEW_PATH = re.compile(r"^aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)




def clean(text: str) -> str:
    """IMDB reviews keep the site's HTML line breaks; make them spaces."""
    return _BR.sub(" ", text).strip()


def find_imdb(root: Path) -> Path | None:
    """An extracted ``aclImdb/`` folder, else the first ``aclImdb*.tar*`` archive."""
    folder = root / "aclImdb"
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return folder
    archives = sorted(p for p in root.glob("aclImdb*.tar*") if not p.name.endswith(".part"))
    return archives[0] if archives else None


def _missing_message(root: Path, reason: str) -> str:
    return (
        f"IMDB was not found under {root} and {reason}.\n"
        f"Either put the archive there (the official {IMDB_SOURCE.filename}, or any "
        f"aclImdb*.tar* file, or an extracted aclImdb/ folder), or set BIGTEXT_DATA "
        f"to the folder that holds it, e.g.  export BIGTEXT_DATA=/path/to/data\n"
        f"Official download: {IMDB_SOURCE.urls[0]}"
    )


def locate_imdb(root: Path | None = None, download_ok: bool = True,
                source: Source = IMDB_SOURCE) -> Path:
    """Find IMDB under ``root`` (default: the data root), downloading it if allowed."""
    root = Path(root) if root is not None else config.data_root()
    if root.is_dir():  # a killed extraction's folder, else never removed (~0.5 GB each)
        remove_stale_extractions(root)
    found = find_imdb(root)
    if found is not None:
        return found
    if not download_ok:
        raise DataError(_missing_message(root, "downloading is switched off"))
    try:
        archive = download(source, root)
    except (DataError, OSError) as err:
        raise DataError(_missing_message(root, f"the download failed:\n{err}")) from err
    # A refusal here is not wrapped: the next call finds the archive and reads it in
    # place, and refuses it with this same message.
    safe_extract(archive, root)
    folder = root / "aclImdb"
    if not ((folder / "train").is_dir() and (folder / "test").is_dir()):
        raise DataError(f"{archive} did not contain aclImdb/train and aclImdb/test")
    return folder


def _folder_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(path as inside the archive, path) of every file under ``folder``, refusing what a
    plain ``tar -x`` of a hostile archive can plant there: links that leave the folder
    (to /etc/passwd, say), links to folders, fifos (reading one blocks) and devices."""
    base = folder.resolve()
    for top, dirs, files in os.walk(base):  # does not follow links to folders
        dirs.sort()
        for name in dirs + sorted(files):
            path = Path(top, name)
            if path.is_symlink():
                target = Path(os.path.realpath(path))
                where = (f"outside {base}" if not target.is_relative_to(base)
                         else "a folder" if path.is_dir() else None)
                if where:
                    raise DataError(f"{path} is a symbolic link to {target}, {where}: refusing "
                                    f"to follow it. If you made it, put a copy of what it "
                                    f"points to in its place.")
            if name in files:
                try:
                    mode = path.stat().st_mode
                except OSError as err:
                    raise DataError(f"cannot read {path}: {err}") from err
                if not stat.S_ISREG(mode):
                    raise DataError(f"{path} is a fifo, device or socket, not a file: refusing "
                                    f"to read it. Remove it, or extract a clean copy.")
                yield f"aclImdb/{path.relative_to(base).as_posix()}", path


def _iter_files(location: Path) -> Iterator[tuple[str, bytes | None]]:
    """(path inside the archive, bytes if it is a review) of every file, from an
    extracted folder or from an archive read in place under safe_extract's rules."""
    if location.is_dir():
        for name, path in _folder_files(location):
            yield name, path.read_bytes() if _REVIEW_PATH.match(name) else None
        return
    try:
        with open_tar(location) as tar:
            for member in checked_members(tar, location):
                if member.isfile():
                    review = _REVIEW_PATH.match(member.name)
                    yield member.name, tar.extractfile(member).read() if review else None
    except CORRUPT_ARCHIVE as err:
        raise corrupt_archive(location, err) from err


def _review(location: Path, name: str, raw: bytes) -> tuple[str, tuple]:
    """One review file: its split and (label, id, text, rating, "train/pos/id_rating")."""
    split, polarity, review_id, stars = _REVIEW_PATH.match(name).groups()
    label, rating = LABELS[polarity], int(stars)
    ok = {1: 7 <= rating <= 10, 0: 1 <= rating <= 4, -1: rating == 0}[label]
    if not ok:
        raise DataError(f"{location}: {name}: rating {rating} does not fit label {polarity!r}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{location}: {name} is not UTF-8 ({err}). IMDB's reviews all are: "
                        f"this copy is damaged; get a fresh one.") from err
    split = "unsup" if polarity == "unsup" else split
    return split, (label, int(review_id), clean(text), rating, name[8:-4])


def _check_sizes(location: Path, rows: dict[str, list], official: str | None) -> None:
    """Every split must have reviews; the official release (``official`` names the file
    that shows it is) must have all of them."""
    for split, items in rows.items():
        if not items:
            raise DataError(f"{location}: no reviews found for the {split!r} split")
    found = Counter(r[4].rsplit("/", 1)[0] for items in rows.values() for r in items)
    wrong = [f"{folder} {found[folder]:,} of {n:,}" for folder, n in OFFICIAL_SIZES.items()
             if found[folder] != n]
    if official and wrong:
        raise DataError(
            f"{location} is the official IMDB (it has {official}) but not all of it: "
            f"{'; '.join(wrong)} reviews. An interrupted extraction, copy or download leaves "
            f"this; extract a fresh copy of {IMDB_SOURCE.filename} ({IMDB_SOURCE.urls[0]}).")


def parse_imdb(location: Path) -> dict[str, Reviews]:
    """Read every review under ``location`` (folder or archive) into the three splits.

    A data set that has the official release's extra files (``imdb.vocab``,
    ``urls_*.txt``, ``*.feat``) is the official one and must hold its 25,000 /
    25,000 / 50,000 reviews; any other (a test fixture, a hand-made subset) is
    taken at its own size. Archives must end with tar's end-of-archive marker.
    """
    rows: dict[str, list] = {s: [] for s in SPLITS}
    official = None
    for name, raw in _iter_files(location):
        official = official or (name if _OFFICIAL_EXTRAS.match(name) else None)
        if raw is not None:  # a review; not README, imdb.vocab, urls_*.txt, *.feat
            split, row = _review(location, name, raw)
            rows[split].append(row)
    _check_sizes(location, rows, official)
    for items in rows.values():
        items.sort(key=lambda r: (r[0], r[1]))  # archive order differs from folder order
    return {
        split: Reviews([r[2] for r in items], [r[0] for r in items],
                       [r[3] for r in items], [r[4] for r in items])
        for split, items in rows.items()
    }


def _cache_paths(location: Path) -> dict[str, Path]:
    info = location.stat()
    key = f"{location.resolve()}|{info.st_size}|{info.st_mtime_ns}|{PARSE_VERSION}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    folder = config.cache_dir() / "imdb"
    return {split: folder / f"{split}-{digest}.json" for split in SPLITS}


def _read_cache(path: Path) -> Reviews | None:
    """A cached split, or None (with a warning) if the file is damaged or not ours."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
        columns = [obj[k] for k in ("texts", "labels", "ratings", "ids")]
        if set(obj) != {"texts", "labels", "ratings", "ids"} or \
                any(not isinstance(c, list) or len(c) != len(columns[0]) for c in columns):
            raise ValueError("not four columns of equal length")
        return Reviews(*columns)
    except (OSError, ValueError, KeyError, TypeError) as err:  # JSONDecodeError is a ValueError
        warnings.warn(f"the IMDB cache {path} is damaged ({err}); parsing the data again",
                      stacklevel=3)
        return None


def load_imdb(split: str = "train", root: Path | None = None, download: bool = True,
              source: Source = IMDB_SOURCE) -> Reviews:
    """Load one official split: ``"train"`` / ``"test"`` (25,000 each, balanced) or
    ``"unsup"`` (50,000 unlabelled). Use :func:`train_valid_split` for validation.

    >>> train = load_imdb("train")          # doctest: +SKIP
    >>> train[0].text[:40], train[0].label  # doctest: +SKIP
    """
    if split not in SPLITS:
        raise ValueError(f"unknown IMDB split {split!r}; choose one of {SPLITS}")
    location = locate_imdb(root, download, source)
    paths = _cache_paths(location)
    if paths[split].exists() and (cached := _read_cache(paths[split])) is not None:
        return cached
    parsed = parse_imdb(location)
    for name, reviews in parsed.items():
        write_json_atomic(paths[name], vars(reviews))
    return parsed[split]
