"""What every reader of vector files here shares: files plain or compressed, read as a
stream of lines or of binary records, so that a big file read for a small vocabulary
costs memory for the vocabulary only; the wanted words kept, each once; and damage (a cut
``.gz``, a short record, a repeated word, nan or inf) refused naming the file and the
line or byte.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import warnings
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from bigtext_lite.errors import VectorFileError
from bigtext_lite.vectors.vectors import Vectors

OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# What a cut or corrupt compressed stream raises while it is read (BadGzipFile is an OSError).
_DAMAGED = (EOFError, OSError, zlib.error, lzma.LZMAError)


def open_binary(path: Path):
    """Plain or compressed (``.gz``, ``.bz2``, ``.xz``), read as bytes."""
    return OPENERS.get(path.suffix, open)(path, "rb")


@contextlib.contextmanager
def readable(path: Path, where: Callable[[], str] = lambda: ""):
    """Name the file, and ``where()`` in it, when it cannot be read on (a cut ``.gz``)."""
    try:
        yield
    except _DAMAGED as err:
        raise VectorFileError(f"{path}{where()}: cannot read on ({type(err).__name__}: {err}); "
                              f"the file is truncated or corrupt") from None


def lines(f, path: Path):
    """``(line number, line)`` of ``f``; a file that cannot be read on (a truncated
    ``.gz``) is a VectorFileError naming the line, not a bare EOFError."""
    n = 0
    with readable(path, lambda: f", line {n + 1:,}"):
        for n, line in enumerate(f, 1):
            yield n, line


def records(f, path: Path, delimiter: bytes, tail: int, count: int, what: str):
    """Read ``count`` records "bytes up to ``delimiter``, the delimiter, ``tail`` more
    bytes" from ``f``'s position, in 1 MB chunks. Yields ``(buf, start, end, base)``:
    the record is ``buf[start:end]`` + delimiter + tail, ``base`` is the file offset of
    ``buf[0]`` (for error messages). A file that ends early, or a compressed one that
    cannot be read on, names the record."""
    buf, pos, base = b"", 0, f.tell()
    for i in range(count):
        while (end := buf.find(delimiter, pos)) < 0 or end + 1 + tail > len(buf):
            with readable(path, lambda: f", byte {base + len(buf):,} ({what} {i + 1:,} of "
                                        f"{count:,})"):
                more = f.read(1 << 20)
            if not more:
                raise VectorFileError(f"{path}: file ends at byte {base + len(buf):,} inside "
                                      f"{what} {i + 1:,} of {count:,} (truncated)")
            buf, base, pos = buf[pos:] + more, base + pos, 0
        yield buf, pos, end, base
        pos = end + 1 + tail


class Kept:
    """The vectors a reader keeps: only the wanted words (every word when ``words`` is
    None), each once, with where it was in the file for the messages: a line number
    (``unit="line"``) or a byte offset (``unit="byte"``). ``count``: the file's promised
    number of vectors, if it has a header. With a known bound on their number (the wanted
    words, or the header) the rows fill one preallocated array, so the peak memory is the
    result itself; otherwise a list is stacked at the end."""

    def __init__(self, path: Path, words, count: int | None, unit: str):
        self.path, self.unit = path, unit
        # None (keep every word) or something ``in`` works on (a set, a Vocab, ...)
        self.wanted = (None if words is None
                       else words if hasattr(words, "__contains__") else set(words))
        self.found: dict[str, int] = {}  # word -> its line or byte
        self.bad_utf8: list[int] = []  # the lines or bytes of words that are not UTF-8, skipped
        size = len(self.wanted) if hasattr(self.wanted, "__len__") else None
        bounds = [b for b in (count, size) if b is not None]
        self.capacity = min(bounds) if bounds else None
        self.array, self.list = None, []  # the rows: preallocated with a capacity, else listed

    def place(self, at: int) -> str:
        return f"line {at}" if self.unit == "line" else f"byte {at:,}"

    def word(self, raw: bytes, at: int) -> str | None:
        """``raw`` decoded, when it is a word to keep; else None, and its vector need not be
        parsed. A word that is not UTF-8 raises UnicodeDecodeError (for the reader to say
        where) when every word is wanted; otherwise it cannot be a wanted one and is
        skipped, with one warning at the end. A wanted word seen before is an error naming
        both places."""
        wanted = self.wanted
        try:
            word = raw.decode("utf-8")
        except UnicodeDecodeError:
            if wanted is None:
                raise
            self.bad_utf8.append(at)
            return None
        if wanted is not None and word not in wanted:
            return None
        if word in self.found:
            first = f"{'on' if self.unit == 'line' else 'at'} {self.place(self.found[word])}"
            raise VectorFileError(f"{self.path}, {self.place(at)}: the word {word!r} appears "
                                  f"again (first {first})")
        return word

    def add(self, word: str, row: np.ndarray, at: int):
        if self.capacity is None:
            self.list.append(row)
        else:
            if self.array is None:
                self.array = np.empty((self.capacity, len(row)), np.float32)  # (capacity, dim)
            self.array[len(self.found)] = row
        self.found[word] = at

    def vectors(self, dim: int) -> Vectors:
        """What was kept; one warning for the words skipped as not UTF-8 (word2vec.c cuts
        long words inside a character), naming the first."""
        if self.bad_utf8:
            warnings.warn(f"{self.path}: skipped {len(self.bad_utf8):,} words that are not valid "
                          f"UTF-8 (first at {self.unit} {self.bad_utf8[0]:,}); none of them can "
                          f"be a wanted word", stacklevel=3)
        n = len(self.found)
        if n == 0:
            matrix = np.zeros((0, dim), np.float32)
        elif self.array is not None:
            matrix = self.array[:n] if n < self.capacity else self.array  # (n, dim)
        else:
            matrix = np.stack(self.list)  # (n, dim)
        check_finite(self.path, list(self.found), matrix, lambda w: self.place(self.found[w]))
        return Vectors(list(self.found), matrix)


def check_finite(path: Path, words: list[str], matrix: np.ndarray, where: Callable[[str], str]):
    """Refuse nan and inf (or a value past float32's range): one such row turns every
    loss that touches it into nan, far from its cause."""
    # A row's float64 sum is finite iff its values are, and costs no matrix-sized mask.
    bad = np.flatnonzero(~np.isfinite(matrix.sum(axis=1, dtype=np.float64)))
    if len(bad):
        word = words[bad[0]]
        raise VectorFileError(f"{path}, {where(word)}: the vector of {word!r} has nan or inf "
                              f"values ({len(bad):,} such vectors among those read)")
