"""Download a file with a progress bar, verify its checksum, extract it safely.

Shared by every dataset and vector file the book fetches. Nothing half-done is
ever left where a later run would mistake it for good data: downloads go to a
``.part`` file renamed only after the checksum matches, and archives are
extracted into a temporary folder renamed only after every member was checked.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import lzma
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tqdm.auto import tqdm

from bigtext_lite.errors import DataError

try:
    import fcntl
except ImportError:  # Windows: no flock; stale extraction folders are judged by age
    fcntl = None

# What a damaged archive raises: tarfile's own errors and the decompressors'.
CORRUPT_ARCHIVE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)
# A folder a killed extraction left: older than this and unlocked (see _is_stale).
STALE_AFTER_S = 60.0



@dataclass(frozen=True)
class Source:
    """A file on the internet: mirrors tried in order, and its sha256.

    ``sha256=None`` is for publishers that give no checksum (GloVe, fastText's
    vectors): the first download is checked to open as an archive, its sha256 is
    recorded beside it (``<file>.sha256``) and every later use is verified against
    that. An archive that then fails to extract is removed with its pin.
    """

    filename: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None  # bytes, for the progress bar when the server omits it


def sha256sum(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, dest: Path, expected_size: int | None, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or expected_size or 0)
        got = 0
        with open(dest, "wb") as f, tqdm(
            total=total or None, unit="B", unit_scale=True, desc=dest.name[:-5]
        ) as bar:
            while block := response.read(1 << 20):
                f.write(block)
                got += len(block)
                bar.update(len(block))
    if total and got != total:
        raise DataError(f"incomplete download from {url}: got {got} of {total} bytes")


def download(source: Source, folder: Path, timeout: float = 60.0) -> Path:
    """Download ``source`` into ``folder`` (unless a verified copy is there).

    Tries each mirror in turn; raises :class:`DataError` naming every URL and
    why it failed. The file appears under its final name only once its sha256
    matches, so an interrupted or corrupt download never looks finished.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / source.filename
    pin = dest.with_name(dest.name + ".sha256")
    expected = source.sha256 or _read_pin(pin)
    if dest.exists() and expected and sha256sum(dest) == expected:
        return dest
    part = dest.with_name(dest.name + ".part")
    failures = []
    for url in source.urls:
        try:
            _fetch(url, part, source.size, timeout)
            actual = sha256sum(part)
            if expected and actual != expected:
                raise DataError(
                    f"checksum mismatch for {url}: expected sha256 {expected}, "
                    f"got {actual} (corrupt or truncated download, or a changed file)"
                )
            if not expected:  # nothing vouches for it: it must at least open
                check_opens(part, source.filename)
            os.replace(part, dest)
            if not expected:
                _pin(pin, actual, url)
            return dest
        except (OSError, http.client.HTTPException, DataError) as err:  # URLError is an OSError
            failures.append(f"  {url}: {err}")
        finally:
            part.unlink(missing_ok=True)
    raise DataError(f"could not download {source.filename}:\n" + "\n".join(failures))


def _read_pin(pin: Path) -> str | None:
    """The sha256 recorded by :func:`_pin`, or None if nothing was pinned yet."""
    if not pin.exists():
        return None
    digest = (pin.read_bytes().split() or [b""])[0].decode("ascii", "replace")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise DataError(f"the checksum pin {pin} is damaged: it should start with a sha256 (64 hex "
                        f"digits), not {digest[:70]!r}. Delete it (and {pin.name[:-7]} beside it, "
                        f"unless you trust that file) to download and pin it again.")
    return digest


def _pin(pin: Path, digest: str, url: str) -> None:
    """Record the sha256 of a file whose publisher gives none (trust on first use)."""
    tmp = pin.with_name(pin.name + ".part")
    tmp.write_text(f"{digest}  {pin.name[:-7]}  (from {url})\n")
    os.replace(tmp, pin)
    warnings.warn(f"{pin.name[:-7]}: the publisher gives no checksum; recorded sha256 {digest} "
                  f"in {pin}. Later runs verify the file against it.", stacklevel=3)


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


def discard_pinned(archive: Path) -> str:
    """Remove an archive pinned on first use, and its pin, when it turned out unusable;
    returns a sentence for the error message. Anything else is not ours to delete:
    a file the user put there, or one a published checksum vouches for."""
    archive = Path(archive)
    pin = archive.with_name(archive.name + ".sha256")
    if not (archive.exists() and pin.exists()):
        return ""
    try:
        if sha256sum(archive) != _read_pin(pin):
            return ""
    except DataError:
        return ""  # a damaged pin: _read_pin's own message says what to do on the next call
    archive.unlink()
    pin.unlink()
    return (f" It was pinned on first download, so it was not the real file: removed {archive}"
            f" and its pin {pin.name}; the next call downloads it again.")


def extract_member(archive: Path, member: str | None, folder: Path,
                   sha256: str | None = None) -> Path:
    """Extract one named file from a zip archive into ``folder``, atomically;
    ``member=None`` decompresses a single-file ``.gz`` archive instead.

    zipfile checks each member's CRC-32 while reading, gzip its trailer's CRC;
    ``sha256``, when known, is checked too. Only the member's base name is used,
    so no path inside the archive can point outside ``folder``. If it fails and
    the archive was pinned on first use, the archive and its pin are removed.
    """
    archive = Path(archive)
    name = Path(member).name if member is not None else archive.name.removesuffix(".gz")
    dest = Path(folder) / name
    if dest.exists() and (sha256 is None or sha256sum(dest) == sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    what = f"cannot extract {member} from {archive}" if member else f"cannot decompress {archive}"
    # Errors that mean the archive is bad; not OSError: a full disk is no reason to delete it.
    bad = (zipfile.BadZipFile, KeyError, EOFError, zlib.error, gzip.BadGzipFile, DataError)
    try:
        with contextlib.ExitStack() as stack:
            if member is None:
                src = stack.enter_context(gzip.open(archive, "rb"))
            else:
                src = stack.enter_context(zipfile.ZipFile(archive)).open(member)
                stack.enter_context(src)
            with open(part, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        if sha256 is not None and (actual := sha256sum(part)) != sha256:
            raise DataError(f"{name} in {archive}: expected sha256 {sha256}, got {actual}")
        os.replace(part, dest)
        return dest
    except bad as err:
        raise DataError(f"{what}: {err}.{discard_pinned(archive)}") from err
    finally:
        part.unlink(missing_ok=True)


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
