"""Word vectors: the file formats, and an embedding matrix for a :class:`~bigtext_lite.data.text.Vocab`.

Formats (each read and written here, streamed so that reading a big file for a
small vocabulary costs memory for the vocabulary only):

- GloVe text (``word v1 ... vd`` per line), word2vec text and fastText ``.vec``
  (the same, after a ``count dim`` header line), plain or ``.gz`` / ``.bz2`` / ``.xz``:
  ``read_text`` / ``write_text``;
- word2vec binary, plain or compressed: ``read_word2vec_bin`` / ``write_word2vec_bin``;
- the official fastText ``.bin`` model, parsed without the fastText package, with
  character n-gram vectors for unseen words: ``FastTextModel``.

``load`` picks the reader by the file's content. ``fetch_vectors`` downloads the
published GloVe and fastText files.

``build_embedding_matrix`` looks every vocabulary word up in a set of
pretrained vectors (a dict, or a function such as fastText's
``get_word_vector`` that also answers for unseen words), tries the lower-cased
form when the exact one is missing, fills the rest by an OOV strategy and
reports the coverage.

Walkthrough: notebooks/05_word_vectors.ipynb.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import itertools
import lzma
import os
import struct
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch

from bigtext_lite.errors import VectorFileError
from bigtext_lite.io import write_atomic
from bigtext_lite.data.fetch import Source
from bigtext_lite.data.text import Vocab
from bigtext_lite.fasttext import subword_rows

OOV_STRATEGIES = ("zeros", "random", "mean")


@dataclass
class Coverage:
    """How much of a vocabulary (types) and of a corpus (tokens) the vectors cover."""

    types_found: int
    types_total: int
    tokens_found: int
    tokens_total: int
    lowercased: int  # found only through the lower-cased form
    composed: int = 0  # missing, but given a vector by the fallback (e.g. fastText subwords)
    top_misses: list[tuple[str, int]] = field(default_factory=list)

    @property
    def type_rate(self) -> float:
        return self.types_found / max(self.types_total, 1)

    @property
    def token_rate(self) -> float:
        return self.tokens_found / max(self.tokens_total, 1)

    def __str__(self) -> str:
        misses = ", ".join(f"{w} ({c})" for w, c in self.top_misses[:8])
        return (f"types {self.types_found:,}/{self.types_total:,} ({self.type_rate:.1%}), "
                f"tokens {self.token_rate:.1%} (lower-case fallback {self.lowercased:,}, "
                f"composed from subwords {self.composed:,}); "
                f"most frequent misses: {misses or 'none'}")


def build_embedding_matrix(vocab: Vocab, vectors: Mapping[str, np.ndarray] | Callable[[str], np.ndarray | None],
                           dim: int, oov: str = "random", specials: tuple[str, ...] = ("<unk>", "<pad>"),
                           seed: int = 0, fallback: Callable[[str], np.ndarray] | None = None,
                           ) -> tuple[torch.Tensor, Coverage]:
    """A ``(len(vocab), dim)`` float tensor with row i = the vector of ``vocab.itos[i]``.

    vectors: a mapping word -> vector, or a function returning a vector or None.
    oov: what missing words get: "zeros", "random" (normal with the found
        vectors' standard deviation) or "mean" (the mean found vector).
    fallback: tried before ``oov`` for missing words, e.g. fastText's
        ``get_word_vector``, which composes a vector from character n-grams.
        Coverage counts such words as missing (and reports them as composed).
    Special tokens (``specials``) get zeros: ``<pad>`` must stay zero.
    """
    if oov not in OOV_STRATEGIES:
        raise ValueError(f"oov must be one of {OOV_STRATEGIES}, got {oov!r}")
    get = vectors if callable(vectors) else vectors.get
    matrix = np.zeros((len(vocab), dim), dtype=np.float32)
    found = np.zeros(len(vocab), dtype=bool)
    lowercased = 0
    for i, word in enumerate(vocab.itos):
        if word in specials:
            continue
        vec = get(word)
        if vec is None and word.lower() != word:
            vec = get(word.lower())
            lowercased += vec is not None
        if vec is None:
            continue
        vec = np.asarray(vec, dtype=np.float32)
        if vec.shape != (dim,):
            raise ValueError(f"the vector of {word!r} has shape {vec.shape}, expected ({dim},)")
        matrix[i], found[i] = vec, True
    real = np.array([w not in specials for w in vocab.itos])
    missing = real & ~found
    composed = 0
    if fallback is not None:
        for i in np.flatnonzero(missing):
            matrix[i] = fallback(vocab.itos[i])
            composed += 1
        missing_after = np.zeros_like(missing)
    else:
        missing_after = missing
    if missing_after.any() and found.any() and oov != "zeros":
        if oov == "mean":
            matrix[missing_after] = matrix[found].mean(axis=0)
        else:
            std = matrix[found].std()
            matrix[missing_after] = np.random.default_rng(seed).normal(0, std, (int(missing_after.sum()), dim))
    counts: Counter = vocab.counts
    misses = sorted(((vocab.itos[i], counts.get(vocab.itos[i], 0)) for i in np.flatnonzero(missing)),
                    key=lambda wc: -wc[1])
    tokens_total = sum(counts.get(w, 0) for w, r in zip(vocab.itos, real) if r)
    tokens_found = sum(counts.get(w, 0) for w, f in zip(vocab.itos, found) if f)
    report = Coverage(int(found.sum()), int(real.sum()), tokens_found, tokens_total, lowercased, composed,
                      misses[:20])
    return torch.from_numpy(matrix), report


# --- a set of word vectors --------------------------------------------------------------


class Vectors:
    """Words and their vectors: ``vectors[word]``, ``word in vectors``, ``get``,
    nearest neighbours and analogies by cosine similarity."""

    def __init__(self, words: list[str], matrix: np.ndarray):
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words, self.matrix = list(words), matrix
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            dup = next(w for w, c in Counter(self.words).items() if c > 1)
            raise ValueError(f"the word {dup!r} appears more than once")
        self._unit = None

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.matrix[self.index[word]]

    def get(self, word: str, default=None):
        i = self.index.get(word)
        return default if i is None else self.matrix[i]

    def unit(self) -> np.ndarray:
        """The rows scaled to length 1 (computed once): cosine similarity is a dot product."""
        if self._unit is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            self._unit = self.matrix / np.maximum(norms, 1e-8)
        return self._unit

    def most_similar(self, query: str | np.ndarray, k: int = 10, exclude=()) -> list[tuple[str, float]]:
        """The ``k`` words closest to ``query`` (a word or a vector) by cosine similarity."""
        if isinstance(query, str):
            exclude = set(exclude) | {query}
            query = self[query]
        else:
            exclude = set(exclude)
        q = np.asarray(query, dtype=np.float32)
        sims = self.unit() @ (q / max(np.linalg.norm(q), 1e-8))
        order = np.argsort(-sims)[:k + len(exclude)]
        return [(self.words[i], float(sims[i])) for i in order if self.words[i] not in exclude][:k]

    def analogy(self, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
        """``a`` is to ``b`` as ``c`` is to ...? (3CosAdd: nearest to b - a + c, inputs excluded)."""
        u = self.unit()
        query = u[self.index[b]] - u[self.index[a]] + u[self.index[c]]
        return self.most_similar(query, k, exclude=(a, b, c))

    def subset(self, words) -> "Vectors":
        keep = [w for w in words if w in self.index]
        return Vectors(keep, self.matrix[[self.index[w] for w in keep]])


# --- text formats: GloVe, word2vec text, fastText .vec ---------------------------------

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# What a cut or corrupt compressed stream raises while it is read (BadGzipFile is an OSError).
_DAMAGED = (EOFError, OSError, zlib.error, lzma.LZMAError)


def _open_binary(path: Path):
    """Plain or compressed (``.gz``, ``.bz2``, ``.xz``), read as bytes."""
    return _OPENERS.get(path.suffix, open)(path, "rb")


def _lines(f, path: Path):
    """``(line number, line)`` of ``f``; a file that cannot be read on (a truncated
    ``.gz``) is a VectorFileError naming the line, not a bare EOFError."""
    n = 0
    with _readable(path, lambda: f", line {n + 1:,}"):
        for n, line in enumerate(f, 1):
            yield n, line


@contextlib.contextmanager
def _readable(path: Path, where: Callable[[], str] = lambda: ""):
    """Name the file, and ``where()`` in it, when it cannot be read on (a cut ``.gz``)."""
    try:
        yield
    except _DAMAGED as err:
        raise VectorFileError(f"{path}{where()}: cannot read on ({type(err).__name__}: {err}); "
                              f"the file is truncated or corrupt") from None


def _header(first: bytes) -> tuple[int, int] | None:
    """``(count, dim)`` when ``first`` is a word2vec / .vec header line, else None (GloVe)."""
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


class _Rows:
    """Collects the vectors a reader keeps. With a known bound on their number (the
    wanted words, or the file's header) it fills one preallocated array, so the peak
    memory is the result itself; otherwise it stacks a list at the end."""

    def __init__(self, capacity: int | None):
        self.capacity, self.n, self.array, self.list = capacity, 0, None, []

    def append(self, row: np.ndarray):
        if self.capacity is None:
            self.list.append(row)
        else:
            if self.array is None:
                self.array = np.empty((self.capacity, len(row)), np.float32)
            self.array[self.n] = row
        self.n += 1

    def matrix(self, dim: int) -> np.ndarray:
        if self.n == 0:
            return np.zeros((0, dim), np.float32)
        if self.array is not None:
            return self.array[:self.n] if self.n < self.capacity else self.array
        return np.stack(self.list)


def _wanted(words):
    """None (keep every word) or something ``in`` works on (a set, a Vocab, ...)."""
    return None if words is None else (words if hasattr(words, "__contains__") else set(words))


def _capacity(wanted, header_count: int | None) -> int | None:
    bounds = [b for b in (header_count, len(wanted) if hasattr(wanted, "__len__") else None) if b is not None]
    return min(bounds) if bounds else None


def read_text(path: str | Path, words=None, dim: int | None = None) -> Vectors:
    """Read a text vector file: GloVe (no header), word2vec text or fastText ``.vec``
    (a ``count dim`` header line). Plain, ``.gz``, ``.bz2`` or ``.xz``.

    words: keep only these words (a set, a :class:`Vocab`, any container). The file is
        streamed: a line whose word is not wanted is only counted, never parsed, so
        memory is bounded by the result, not by the file.
    dim: the expected dimension; without it (and a header), the number of values that
        end the first line.
    A word is everything before the last ``dim`` fields: glove.840B's ``". . ."`` is read,
    unless its second part is a number (``"b 0.5"`` + dim values is a line too long). A
    byte-order mark, CRLF, tabs and blank lines are accepted. Every line is checked for its
    number of fields (a short or long line names its line number); a wanted word that
    appears twice and a value that is not a number are errors naming the line. A kept
    vector with nan or inf is refused, not warned about: one such row makes every loss
    nan. A word that is not UTF-8 is an error, unless ``words`` is given: it cannot be
    wanted, so it is skipped, with one warning. A header whose count disagrees with the
    lines is an error too (a truncated file).
    """
    path = Path(path)
    wanted = _wanted(words)
    found: dict[str, int] = {}
    bad_utf8: list[int] = []  # lines of words that are not UTF-8, skipped
    with _open_binary(path) as f:
        lines = _lines(f, path)
        n, first = next(lines, (1, b""))
        first = first.removeprefix(codecs.BOM_UTF8)  # Windows editors write one
        header = _header(first)
        rows = _Rows(_capacity(wanted, header[0] if header else None))
        if header:
            dim = _check_dim(dim, header[1], path, "the header")
        else:
            lines = itertools.chain([(n, first)], lines)
        count = 0
        for n, line in lines:
            body = line.rstrip()  # the newline, a CR, the space fastText writes at the end
            if not body:
                continue  # a blank line, often the last: nothing to read
            count += 1
            if header and count > header[0]:
                raise VectorFileError(f"{path}, line {n}: more vectors than the {header[0]:,} the "
                                      f"header promises")
            if dim is None:
                dim = _first_dim(body, path, n)
            word, _, rest = body.partition(b" ")
            if not rest or rest.count(b" ") + 1 != dim:  # rare: spaces in the word, tabs, bad lines
                word, rest = _split_right(body, dim, path, n)
            try:
                word = word.decode("utf-8")
            except UnicodeDecodeError as err:
                if wanted is None:
                    raise VectorFileError(f"{path}, line {n}: the word is not valid UTF-8 "
                                          f"({err.reason} at byte {err.start})") from None
                bad_utf8.append(n)
                continue
            if wanted is not None and word not in wanted:
                continue
            if word in found:
                raise VectorFileError(f"{path}, line {n}: the word {word!r} appears again "
                                      f"(first on line {found[word]})")
            try:
                row = np.array(rest.split(), dtype=np.float32)
            except ValueError as err:
                raise VectorFileError(f"{path}, line {n}: {err}") from None
            if len(row) != dim:  # whitespace other than single spaces between the values
                raise VectorFileError(f"{path}, line {n}: {len(row)} values, expected {dim}")
            rows.append(row)
            found[word] = n
    if header and count != header[0]:
        raise VectorFileError(f"{path}: the header promises {header[0]:,} vectors but the file has "
                              f"{count:,} (truncated?)")
    if not header and count == 0:
        raise VectorFileError(f"{path}: neither a header nor a vector (an empty file?)")
    _warn_skipped(path, bad_utf8, "line")
    matrix = rows.matrix(dim)
    _check_finite(path, list(found), matrix, lambda w: f"line {found[w]}")
    return Vectors(list(found), matrix)


def _is_number(field: bytes) -> bool:
    try:
        float(field)
        return True
    except ValueError:
        return False


def _first_dim(body: bytes, path: Path, n: int) -> int:
    """The dimension of a file without a header: the number of fields at the end of
    its first line that are numbers (the word before them may contain spaces)."""
    fields = body.split()
    from_end = enumerate(reversed(fields[1:]))
    dim = next((i for i, x in from_end if not _is_number(x)), len(fields) - 1)
    if dim == 0:
        last = fields[-1][:40].decode(errors="replace")
        raise VectorFileError(f"{path}, line {n}: no vector: the line does not end in numbers "
                              f"(its last field is {last!r})")
    return dim


def _split_right(body: bytes, dim: int, path: Path, n: int) -> tuple[bytes, bytes]:
    """``(word, values)`` of a line whose fields are not ``word`` and ``dim`` values
    apart by single spaces: the word is everything before the last ``dim`` fields."""
    parts = body.rsplit(None, dim)
    if len(parts) == dim + 1:
        word = parts[0]
        second = word.split(None, 2)[1:2]
        if not second or not _is_number(second[0]):  # "at name@domain.com"; not "b 0.1 ..."
            return word, body[len(word):]
    values = len(body.split()) - 1
    why = "a short line" if values < dim else "a long line, or two lines run together"
    raise VectorFileError(f"{path}, line {n}: {values} values, expected {dim} "
                          f"({why}, or vectors of mixed dimensions)")


def _warn_skipped(path: Path, places: list[int], unit: str):
    """One warning for the words skipped as not UTF-8 (word2vec.c cuts long words inside a
    character), naming the first."""
    if places:
        warnings.warn(f"{path}: skipped {len(places):,} words that are not valid UTF-8 (first at "
                      f"{unit} {places[0]:,}); none of them can be a wanted word", stacklevel=3)


def _check_finite(path: Path, words: list[str], matrix: np.ndarray, where: Callable[[str], str]):
    """Refuse nan and inf (or a value past float32's range): one such row turns every
    loss that touches it into nan, far from its cause."""
    # A row's float64 sum is finite iff its values are, and costs no matrix-sized mask.
    bad = np.flatnonzero(~np.isfinite(matrix.sum(axis=1, dtype=np.float64)))
    if len(bad):
        word = words[bad[0]]
        raise VectorFileError(f"{path}, {where(word)}: the vector of {word!r} has nan or inf "
                              f"values ({len(bad):,} such vectors among those read)")


def _check_dim(dim, file_dim, path, where):
    if dim is not None and dim != file_dim:
        raise VectorFileError(f"{path}: {where} says dimension {file_dim}, expected {dim}")
    return file_dim


def write_text(path: str | Path, vectors: Vectors, header: bool = True) -> Path:
    """Write ``.vec`` / word2vec text (``header=True``) or GloVe (``header=False``).

    Values are written with 9 significant digits, enough to read back the same float32.
    """
    def write(f):
        if header:
            f.write(f"{len(vectors)} {vectors.dim}\n".encode())
        for word, row in zip(vectors.words, vectors.matrix):
            _check_word(word)
            f.write(word.encode("utf-8") + b" " + " ".join(f"{x:.9g}" for x in row).encode() + b"\n")
    return write_atomic(path, write)


def _check_word(word: str):
    if not word or any(c.isspace() for c in word):
        raise ValueError(f"cannot write the word {word!r}: vector files separate fields by whitespace")


def _records(f, path: Path, delimiter: bytes, tail: int, count: int, what: str):
    """Read ``count`` records "bytes up to ``delimiter``, the delimiter, ``tail`` more
    bytes" from ``f``'s position, in 1 MB chunks. Yields ``(buf, start, end, base)``:
    the record is ``buf[start:end]`` + delimiter + tail, ``base`` is the file offset of
    ``buf[0]`` (for error messages). A file that ends early, or a compressed one that
    cannot be read on, names the record."""
    buf, pos, base = b"", 0, f.tell()
    for i in range(count):
        while (end := buf.find(delimiter, pos)) < 0 or end + 1 + tail > len(buf):
            with _readable(path, lambda: f", byte {base + len(buf):,} ({what} {i + 1:,} of "
                                         f"{count:,})"):
                more = f.read(1 << 20)
            if not more:
                raise VectorFileError(f"{path}: file ends at byte {base + len(buf):,} inside {what} "
                                      f"{i + 1:,} of {count:,} (truncated)")
            buf, base, pos = buf[pos:] + more, base + pos, 0
        yield buf, pos, end, base
        pos = end + 1 + tail


# --- word2vec binary ------------------------------------------------------------------

def write_word2vec_bin(path: str | Path, vectors: Vectors) -> Path:
    """The C word2vec binary format: a ``count dim`` line, then per word its UTF-8
    bytes, a space, ``dim`` little-endian float32 and a newline."""
    def write(f):
        f.write(f"{len(vectors)} {vectors.dim}\n".encode())
        for word, row in zip(vectors.words, vectors.matrix):
            _check_word(word)
            f.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
    return write_atomic(path, write)


def read_word2vec_bin(path: str | Path, words=None) -> Vectors:
    """Read the word2vec binary format, plain or compressed (GoogleNews' ``.bin.gz``),
    keeping only ``words`` when given (streamed: unwanted vectors are skipped, never
    converted). A truncated file, data after the promised vectors and a kept vector with
    nan or inf (refused, as by ``read_text``) name the byte offset (of the decompressed
    data), a repeated wanted word both offsets. A word that is not UTF-8 (word2vec.c cuts
    long words inside a character) is an error, or skipped with one warning when ``words``
    is given.
    """
    path = Path(path)
    wanted = _wanted(words)
    found: dict[str, int] = {}
    bad_utf8: list[int] = []  # offsets of words that are not UTF-8, skipped
    with _open_binary(path) as f, _readable(path, lambda: f", byte {f.tell():,}"):
        first = f.readline()
        header = _header(first)
        if header is None:
            raise VectorFileError(f"{path}: the first line should be 'count dim', got {first[:60]!r}")
        count, dim = header
        rows = _Rows(_capacity(wanted, count))
        records = _records(f, path, b" ", 4 * dim, count, "vector")  # word, space, dim float32
        for i, (buf, pos, end, base) in enumerate(records):
            raw = buf[pos:end].lstrip(b"\n")  # the C tool writes a newline after each vector
            offset = base + end - len(raw)  # where the word starts in the file
            try:
                word = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                if wanted is None:
                    raise VectorFileError(f"{path}, byte {offset + err.start:,}: the word of "
                                          f"vector {i + 1:,} is not valid UTF-8") from None
                bad_utf8.append(offset)
                continue
            if wanted is not None and word not in wanted:
                continue
            if word in found:
                raise VectorFileError(f"{path}, byte {offset:,}: the word {word!r} appears again "
                                      f"(first at byte {found[word]:,})")
            rows.append(np.frombuffer(buf, dtype="<f4", count=dim, offset=end + 1))
            found[word] = offset
        # After the last vector only its newline may follow: more is a header that promises
        # too few vectors, or a dimension that does not match the data.
        extra = (buf[end + 1 + 4 * dim:] if count else b"") + f.read(64)
        if data := extra.lstrip(b"\n"):
            at = (base + end + 1 + 4 * dim if count else len(first)) + len(extra) - len(data)
            raise VectorFileError(f"{path}, byte {at:,}: data after the {count:,} vectors the "
                                  f"header promises ({data[:16]!r}...): a wrong count or dimension")
    _warn_skipped(path, bad_utf8, "byte")
    matrix = rows.matrix(dim)
    _check_finite(path, list(found), matrix, lambda w: f"byte {found[w]:,}")
    return Vectors(list(found), matrix)


# --- the official fastText .bin model ---------------------------------------------------

FASTTEXT_MAGIC, FASTTEXT_VERSION = 793712314, 12
_ARGS = ("dim", "ws", "epoch", "minCount", "neg", "wordNgrams", "loss", "model", "bucket", "minn", "maxn",
         "lrUpdateRate")


class _Reader:
    """Reads little-endian fields from a binary file, naming the offset when it runs out."""

    def __init__(self, f, path):
        self.f, self.path = f, path

    def take(self, n: int, what: str) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise VectorFileError(f"{self.path}: file ends at byte {self.f.tell():,} while reading {what} "
                                  f"(truncated)")
        return data

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


class FastTextModel:
    """An official fastText ``.bin`` model, read without the fastText package.

    Layout (fastText 0.9, ``FastText::saveModel``): magic and version (int32); the
    arguments (12 int32 and the double ``t``); the dictionary (size, nwords, nlabels
    as int32, ntokens and pruneidx_size as int64, then per entry the word's bytes, a
    zero byte, its count as int64 and its type as int8; then the pruned-bucket pairs);
    a bool ``quant``; the input matrix (rows, cols as int64, then float32 values); and
    the output matrix. The input matrix holds ``nwords`` word rows followed by
    ``bucket`` character n-gram rows; it is memory-mapped, so a 7 GB model costs only
    the rows you ask for.

    A word's vector is the mean of its own row and of its n-gram rows; an unseen word
    gets the mean of its n-gram rows (``get_word_vector`` in the official package).
    """

    def __init__(self, path: str | Path):
        self.path = path = Path(path)
        with open(path, "rb") as f:
            r = _Reader(f, path)
            magic, version = r.unpack("ii", "the magic number")
            if magic != FASTTEXT_MAGIC:
                raise VectorFileError(f"{path}: not a fastText .bin model (magic number {magic}, "
                                      f"expected {FASTTEXT_MAGIC})")
            if version > FASTTEXT_VERSION:
                raise VectorFileError(f"{path}: fastText format version {version}; this reader knows "
                                      f"up to {FASTTEXT_VERSION}")
            self.args = dict(zip(_ARGS, r.unpack("12i", "the arguments")))
            self.args["t"] = r.unpack("d", "the arguments")[0]
            size, self.nwords, self.nlabels = r.unpack("iii", "the dictionary header")
            self.ntokens, prune_size = r.unpack("qq", "the dictionary header")
            self.words, self.counts, self.labels = [], [], []
            after = f.tell()  # where the dictionary ends; the matrices are never read here
            entries = _records(f, path, b"\0", 9, size, "dictionary entry")  # word, zero, int64, int8
            for i, (buf, pos, end, base) in enumerate(entries):
                try:
                    word = buf[pos:end].decode("utf-8")
                except UnicodeDecodeError:
                    raise VectorFileError(f"{path}, byte {base + pos:,}: dictionary entry {i + 1:,} "
                                          f"is not valid UTF-8") from None
                if buf[end + 9] == 0:
                    self.words.append(word)
                    self.counts.append(int.from_bytes(buf[end + 1:end + 9], "little", signed=True))
                else:
                    self.labels.append(word)
                after = base + end + 10
            f.seek(after)
            self.pruned = {}
            if prune_size > 0:
                pairs = np.frombuffer(r.take(8 * prune_size, "the pruned n-gram index"), "<i4")
                self.pruned = dict(zip(pairs[0::2].tolist(), pairs[1::2].tolist()))
            if r.unpack("?", "the quantization flag")[0]:
                raise VectorFileError(f"{path}: a quantized model (.ftz); only full .bin models "
                                      f"can be read")
            rows, cols = r.unpack("qq", "the input matrix shape")
            matrix_at = f.tell()
            file_size = os.fstat(f.fileno()).st_size
            # nwords word rows, then bucket n-gram rows: with fewer, n-grams index past the end
            if (rows != self.nwords + self.args["bucket"] or cols != self.args["dim"]
                    or matrix_at + 4 * rows * cols > file_size):
                raise VectorFileError(f"{path}: the input matrix ({rows:,} x {cols} at byte {matrix_at:,}) "
                                      f"does not fit the file of {file_size:,} bytes, the "
                                      f"dimension {self.args['dim']} or {self.nwords:,} words + "
                                      f"{self.args['bucket']:,} buckets (truncated or corrupt)")
            f.seek(matrix_at + 4 * rows * cols)  # the output matrix must be whole too
            r.unpack("?", "the output quantization flag")
            out_rows, out_cols = r.unpack("qq", "the output matrix shape")
            if f.tell() + 4 * out_rows * out_cols != file_size:
                raise VectorFileError(f"{path}: the output matrix ({out_rows:,} x {out_cols} at byte "
                                      f"{f.tell():,}) does not fit the file of {file_size:,} bytes "
                                      f"(truncated or corrupt)")
        self.input = np.memmap(path, dtype="<f4", mode="r", offset=matrix_at, shape=(rows, cols))
        self.index = {w: i for i, w in enumerate(self.words)}

    @property
    def dim(self) -> int:
        return self.args["dim"]

    def subword_ids(self, word: str) -> list[int]:
        """Rows of the input matrix that make ``word``'s vector (as ``Dictionary::getSubwords``)."""
        a = self.args
        return subword_rows(word, self.index.get(word), self.nwords, a["minn"], a["maxn"], a["bucket"],
                            self.pruned)

    def get_word_vector(self, word: str) -> np.ndarray:
        ids = self.subword_ids(word)
        if not ids:
            return np.zeros(self.dim, np.float32)
        return self.input[ids].mean(axis=0, dtype=np.float64).astype(np.float32)

    def vectors(self, words=None) -> Vectors:
        """The vectors of the model's words (all, or those in ``words``), as a :class:`Vectors`.
        A vector with nan or inf is refused, as by the other readers."""
        keep = self.words if words is None else [w for w in self.words if w in words]
        matrix = (np.stack([self.get_word_vector(w) for w in keep]) if keep
                  else np.zeros((0, self.dim), np.float32))
        _check_finite(self.path, keep, matrix,
                      lambda w: f"word {self.index[w] + 1:,} of the dictionary")
        return Vectors(keep, matrix)


def load(path: str | Path, words=None) -> Vectors:
    """Read any supported vector file, by its content: a fastText ``.bin`` (by its magic
    number), word2vec binary (``.bin`` otherwise, also ``.bin.gz``), or text (GloVe /
    word2vec / ``.vec``)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) == 4 and int.from_bytes(head, "little") == FASTTEXT_MAGIC:
        return FastTextModel(path).vectors(words)
    if (path.with_suffix("") if path.suffix in _OPENERS else path).suffix == ".bin":
        return read_word2vec_bin(path, words)
    return read_text(path, words)


# --- the published vectors, for users with internet -----------------------------------

@dataclass(frozen=True)
class Pretrained:
    """A published vector file: the archive to download and the file inside it."""

    archive: Source
    member: str | None  # the file inside a .zip; None: the archive is one gzip-compressed file
    sha256: str | None = None  # of the extracted file, where one is published


_GLOVE_6B = Source("glove.6B.zip", ("https://nlp.stanford.edu/data/glove.6B.zip",
                                    "https://downloads.cs.stanford.edu/nlp/data/glove.6B.zip",
                                    "https://huggingface.co/stanfordnlp/glove/resolve/main/glove.6B.zip"),
                   sha256=None, size=862_182_613)
_FASTTEXT = "https://dl.fbaipublicfiles.com/fasttext"

# Neither Stanford nor fastText publishes checksums: the archives are pinned on
# first download (see fetch.Source). glove.6B.50d.txt's sha256 is the one
# independent projects record for it.
PRETRAINED = {
    "glove.6B.50d": Pretrained(_GLOVE_6B, "glove.6B.50d.txt",
                               "d8f717f8dd4b545cb7f418ef9f3d0c3e6e68a6f48b97d32f8b7aae40cb31f96f"),
    "glove.6B.100d": Pretrained(_GLOVE_6B, "glove.6B.100d.txt"),
    "glove.6B.200d": Pretrained(_GLOVE_6B, "glove.6B.200d.txt"),
    "glove.6B.300d": Pretrained(_GLOVE_6B, "glove.6B.300d.txt"),
    "wiki-news-300d-1M": Pretrained(Source("wiki-news-300d-1M.vec.zip", (
        f"{_FASTTEXT}/vectors-english/wiki-news-300d-1M.vec.zip",), None), "wiki-news-300d-1M.vec"),
    "wiki-news-300d-1M-subword": Pretrained(Source("wiki-news-300d-1M-subword.vec.zip", (
        f"{_FASTTEXT}/vectors-english/wiki-news-300d-1M-subword.vec.zip",), None), "wiki-news-300d-1M-subword.vec"),
    "crawl-300d-2M": Pretrained(Source("crawl-300d-2M.vec.zip", (
        f"{_FASTTEXT}/vectors-english/crawl-300d-2M.vec.zip",), None), "crawl-300d-2M.vec"),
    "cc.en.300.bin": Pretrained(Source("cc.en.300.bin.gz", (
        f"{_FASTTEXT}/vectors-crawl/cc.en.300.bin.gz",), None), None),  # 4.5 GB: the .bin model
}


def fetch_vectors(name: str | Pretrained, folder: str | Path | None = None) -> Path:
    """Download (once) and unpack a published vector file; returns its path.

    name: a key of ``PRETRAINED`` (e.g. ``"glove.6B.100d"``, ``"wiki-news-300d-1M"``)
        or a :class:`Pretrained`. folder: default ``<data root>/vectors``.
    Every step is verified and atomic (see ``fetch.download``): nothing half
    downloaded or half extracted is ever left under a final name.
    """
    from bigtext_lite import config
    from bigtext_lite.data.fetch import download, extract_member

    if isinstance(name, str):
        if name not in PRETRAINED:
            raise KeyError(f"unknown vectors {name!r}; known: {', '.join(PRETRAINED)}")
        name = PRETRAINED[name]
    folder = Path(folder) if folder is not None else config.data_root() / "vectors"
    return extract_member(download(name.archive, folder), name.member, folder, name.sha256)
