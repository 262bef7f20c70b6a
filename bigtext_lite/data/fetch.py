"""Download a file with a progress bar and verify its checksum; take one file out.

Shared by every dataset and vector file the book fetches. Nothing half-done is
ever left where a later run would mistake it for good data: downloads go to a
``.part`` file renamed only after the checksum matches. Publishers that give no
checksum are trusted on first use: the file must open as the archive its name
says (:func:`~bigtext_lite.data.archives.check_opens`), and its sha256 is pinned.
Archives are opened and extracted by :mod:`bigtext_lite.data.archives`.

Walkthrough: notebooks/03_text_pipeline.ipynb, "Loading IMDB".
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import re
import shutil
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from bigtext_lite.data.archives import check_opens
from bigtext_lite.errors import DataError


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

