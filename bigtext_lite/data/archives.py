"""Archives opened safely: every member checked before anything is read or extracted.

A data archive holds plain files and folders with relative, inward paths, and ends
with tar's end-of-archive marker; anything else (absolute paths, ``..``, links,
devices, an archive cut short) is refused with the member named. Extraction is all
or nothing: into a locked temporary folder, renamed into place only once every
member is out; a folder a killed extraction left is removed the next time.

Walkthrough: notebooks/03_text_pipeline.ipynb, "Loading IMDB".
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import os
import shutil
import tarfile
import tempfile
import time
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

from bigtext_lite.errors import DataError

try:
    import fcntl
except ImportError:  # Windows: no flock; stale extraction folders are judged by age
    fcntl = None

# What a damaged archive raises: tarfile's own errors and the decompressors'.
CORRUPT_ARCHIVE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)
# A folder a killed extraction left: older than this and unlocked (see _is_stale).
STALE_AFTER_S = 60.0


def check_opens(path: Path, name: str) -> None:
    """Raise :class:`DataError` unless ``path`` opens as the archive ``name`` says it is
    (``.zip``, ``.tar*``, ``.gz``). Run before trusting a file on first use: a
    captive portal or login page saved under the archive's name must not be pinned."""
    kind = ("zip" if name.endswith(".zip") else "tar" if ".tar" in name or name.endswith(".tgz")
            else "gzip" if name.endswith(".gz") else None)
    try:
        if kind == "zip":
            zipfile.ZipFile(path).close()  # reads the central directory at the very end
        elif kind == "tar":
            tarfile.open(path, "r:*").close()
        elif kind == "gzip":
            with gzip.open(path) as f:
                f.read(1)
    except (zipfile.BadZipFile, *CORRUPT_ARCHIVE) as err:
        with open(path, "rb") as f:
            page = f.read(200).lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml"))
        why = ("it is a web page (a captive portal, a login or an error page?): check the "
               "network connection, then try again" if page else f"{err}")
        raise DataError(f"the download is not a {kind} archive as {name} should be: {why}. "
                        f"Nothing was kept or pinned.") from err


def check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse anything but plain files and folders with relative, inward paths."""
    name = member.name
    parts = Path(name).parts
    outward = name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts
    what = ("unsafe path" if outward else None if member.isfile() or member.isdir()
            else "link" if member.issym() or member.islnk() else "device or special file")
    if what:
        raise DataError(f"{what} {name!r} in archive {archive}: refusing to extract or read it. "
                        f"A data archive holds only plain files and folders; get a clean copy.")


class _EndMarked(tarfile.TarInfo):
    """Notes on its TarFile when the header read was the zero block that ends a tar.
    tarfile also stops silently at the end of the file or at a garbled header, so
    an archive cut exactly between two members would otherwise look complete."""

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except tarfile.EOFHeaderError:
            tar.saw_end_marker = True
            raise


def open_tar(archive: Path) -> tarfile.TarFile:
    """Open a tar archive (any compression) for :func:`checked_members`."""
    return tarfile.open(archive, "r:*", tarinfo=_EndMarked)


def checked_members(tar: tarfile.TarFile, archive: Path) -> Iterator[tarfile.TarInfo]:
    """Every member of ``tar`` (from :func:`open_tar`), each checked by :func:`check_member`;
    then the end-of-archive marker must follow the last one."""
    last = None
    for last in tar:
        check_member(last, archive)
        yield last
    if not getattr(tar, "saw_end_marker", False):
        where = f"after member {last.name!r}" if last else "before any member"
        raise DataError(f"archive {archive} stops {where} without tar's end-of-archive marker: "
                        f"it was cut short (an interrupted download or copy). Get a fresh copy.")


def corrupt_archive(archive: Path, err: Exception) -> DataError:
    return DataError(f"archive {archive} is truncated or corrupt: {err}. Get a fresh copy.")


def _is_stale(tmp: Path) -> bool:
    """Whether an extraction folder was left by a process that died: more than a
    minute old (the moment between creating it and locking it) and its lock is free
    (the system frees a dead process's locks)."""
    try:
        age = time.time() - tmp.stat().st_mtime
        if fcntl is None:
            return age > 3600  # far longer than any extraction takes
        if age < STALE_AFTER_S:
            return False
        with open(tmp / ".lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:  # BlockingIOError: a live extraction holds it; else gone or not ours
        return False


def remove_stale_extractions(folder: Path) -> list[Path]:
    """Delete the temporary ``.extract-*`` folders that killed extractions left in ``folder``."""
    removed = [t for t in sorted(Path(folder).glob(".extract-*")) if t.is_dir() and _is_stale(t)]
    for tmp in removed:
        shutil.rmtree(tmp, ignore_errors=True)
        warnings.warn(f"removed {tmp}, a temporary folder left by an interrupted extraction",
                      stacklevel=2)
    return removed


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "w") as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def safe_extract(archive: Path, folder: Path) -> list[Path]:
    """Extract a tar archive (any compression) into ``folder``, all or nothing.

    Every member is checked first (no absolute paths, no ``..``, no links, no
    devices, an end-of-archive marker), then extraction runs with tarfile's
    ``data`` filter as a second guard, into a locked temporary folder inside
    ``folder``; only when everything is out are the archive's top-level entries
    renamed into place. On any error the temporary folder is removed and
    ``folder`` holds nothing new; one a killed run left is removed next time.
    Returns the paths of the top-level entries.
    """
    archive, folder = Path(archive), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_extractions(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
    content = tmp / "content"  # beside the lock, so no member can clash with it
    try:
        with _locked(tmp / ".lock"):  # held until the renames are done: see _is_stale
            with open_tar(archive) as tar:
                members = list(checked_members(tar, archive))  # reads the whole index first
                # The data filter (Python 3.10.12+/3.11.4+) is a second guard.
                extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                content.mkdir()
                tar.extractall(content, members=members, **extra)
            tops = sorted(content.iterdir())
            clashes = [str(folder / t.name) for t in tops if (folder / t.name).exists()]
            if clashes:
                raise DataError(f"extracting {archive} would overwrite {clashes}; not touching "
                                f"them. Move them away (or delete an old copy) and run again.")
            for top in tops:
                os.replace(top, folder / top.name)
        return [folder / t.name for t in tops]
    except CORRUPT_ARCHIVE as err:
        raise corrupt_archive(archive, err) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
