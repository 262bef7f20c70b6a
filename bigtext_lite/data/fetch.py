"""Download a file with a progress bar, verify its checksum, extract it safely.

Shared by every dataset and vector file the book fetches. Nothing half-done is
ever left where a later run would mistake it for good data: downloads go to a
``.part`` file renamed only after the checksum matches, and archives are
extracted into a temporary folder renamed only after every member was checked.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import lzma
import os
import shutil
import tarfile
import tempfile
import urllib.request
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm


# What a damaged archive raises: tarfile's own errors and the decompressors'.
CORRUPT_ARCHIVE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


class DataError(RuntimeError):
    """Data is missing, corrupt or unsafe. The message says what and where."""


@dataclass(frozen=True)
class Source:
    """A file on the internet: mirrors tried in order, and its sha256.

    ``sha256=None`` is for publishers that give no checksum (GloVe, fastText's
    vectors): the first download records the file's sha256 beside it
    (``<file>.sha256``) and says so; every later use is verified against that.
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
    expected = source.sha256 or (pin.read_text().split()[0] if pin.exists() else None)
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
            os.replace(part, dest)
            if not expected:
                _pin(pin, actual, url)
            return dest
        except (OSError, http.client.HTTPException, DataError) as err:  # URLError is an OSError
            failures.append(f"  {url}: {err}")
        finally:
            part.unlink(missing_ok=True)
    raise DataError(f"could not download {source.filename}:\n" + "\n".join(failures))


def _pin(pin: Path, digest: str, url: str) -> None:
    """Record the sha256 of a file whose publisher gives none (trust on first use)."""
    tmp = pin.with_name(pin.name + ".part")
    tmp.write_text(f"{digest}  {pin.name[:-7]}  (from {url})\n")
    os.replace(tmp, pin)
    warnings.warn(f"{pin.name[:-7]}: the publisher gives no checksum; recorded sha256 {digest} in {pin}. "
                  f"Later runs verify the file against it.", stacklevel=3)


def extract_member(archive: Path, member: str | None, folder: Path, sha256: str | None = None) -> Path:
    """Extract one named file from a zip archive into ``folder``, atomically;
    ``member=None`` decompresses a single-file ``.gz`` archive instead.

    zipfile checks each member's CRC-32 while reading, gzip its trailer's CRC;
    ``sha256``, when known, is checked too. Only the member's base name is used,
    so no path inside the archive can point outside ``folder``.
    """
    import contextlib
    import zipfile

    archive = Path(archive)
    name = Path(member).name if member is not None else archive.name.removesuffix(".gz")
    dest = Path(folder) / name
    if dest.exists() and (sha256 is None or sha256sum(dest) == sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    if member is None:
        errors, what = (OSError, EOFError, zlib.error), f"cannot decompress {archive}"
    else:
        errors, what = (zipfile.BadZipFile, KeyError, EOFError, zlib.error), f"cannot extract {member} from {archive}"
    try:
        with contextlib.ExitStack() as stack:
            if member is None:
                src = stack.enter_context(gzip.open(archive, "rb"))
            else:
                src = stack.enter_context(stack.enter_context(zipfile.ZipFile(archive)).open(member))
            with open(part, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        if sha256 is not None and (actual := sha256sum(part)) != sha256:
            raise DataError(f"{member or name} in {archive}: expected sha256 {sha256}, got {actual}")
        os.replace(part, dest)
        return dest
    except errors as err:
        raise DataError(f"{what}: {err}") from err
    finally:
        part.unlink(missing_ok=True)


def check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse anything but plain files and folders with relative, inward paths."""
    name = member.name
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
        raise DataError(f"unsafe path {name!r} in archive {archive}: refusing to extract")
    if not (member.isfile() or member.isdir()):
        kind = "link" if (member.issym() or member.islnk()) else "device or special file"
        raise DataError(f"{kind} {name!r} in archive {archive}: refusing to extract")


def safe_extract(archive: Path, folder: Path) -> list[Path]:
    """Extract a tar archive (any compression) into ``folder``, all or nothing.

    Every member is checked first (no absolute paths, no ``..``, no links, no
    devices), then extraction runs with tarfile's ``data`` filter as a second
    guard, into a temporary folder inside ``folder``; only when everything is
    out are the archive's top-level entries renamed into place. On any error
    the temporary folder is removed and ``folder`` holds nothing new.
    Returns the paths of the top-level entries.
    """
    archive, folder = Path(archive), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()  # reads the whole index: finds truncation early
            for member in members:
                check_member(member, archive)
            # The data filter (Python 3.10.12+/3.11.4+) is a second guard.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **extra)
        tops = sorted(tmp.iterdir())
        clashes = [str(folder / t.name) for t in tops if (folder / t.name).exists()]
        if clashes:
            raise DataError(f"extracting {archive} would overwrite {clashes}; not touching them")
        for top in tops:
            os.replace(top, folder / top.name)
        return [folder / t.name for t in tops]
    except CORRUPT_ARCHIVE as err:
        raise DataError(f"archive {archive} is truncated or corrupt: {err}") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
