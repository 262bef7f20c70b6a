"""The official fastText ``.bin`` model format, in one place: the reader
(:class:`FastTextBin`, without the fastText package), the writer (``write_fasttext_bin``,
files the official package loads) and the word lookup that both a file read here and
our trainer's :class:`~bigtext_lite.vectors.skipgram.WordVectors` answer with
(:class:`SubwordVectors`): a word's vector is the mean of its own row and of its
character n-gram rows, so an unseen word still gets one.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from bigtext_lite.errors import VectorFileError
from bigtext_lite.fasttext import subword_rows
from bigtext_lite.io import write_atomic
from bigtext_lite.vectors.reading import check_finite, records
from bigtext_lite.vectors.vectors import Vectors

FASTTEXT_MAGIC, FASTTEXT_VERSION = 793712314, 12
# The 12 int32 arguments, in the file's order; the double t follows them.
_ARGS = ("dim", "ws", "epoch", "minCount", "neg", "wordNgrams", "loss", "model", "bucket",
         "minn", "maxn", "lrUpdateRate")


class SubwordVectors:
    """A fastText model's words and input matrix, looked up as the official package does:
    a word's rows are its own (when it is in the dictionary) and those of its character
    n-grams (``subword_ids``, as ``Dictionary::getSubwords``); its vector is their mean
    (``get_word_vector``); ``</s>`` and ``maxn == 0`` have no n-grams. The one lookup of
    both a file read (:class:`FastTextBin`, its matrix memory-mapped) and our trained
    model (:class:`~bigtext_lite.vectors.skipgram.WordVectors`, a tensor)."""

    left_out: tuple[str, ...] = ()  # words that ``vectors()`` leaves out

    def __init__(self, words: list[str], nwords: int, minn: int, maxn: int, bucket: int,
                 input, pruned: dict[int, int] | None = None):
        self.words, self.nwords, self.input = words, nwords, input  # input: (nwords + bucket, dim)
        self.minn, self.maxn, self.bucket, self.pruned = minn, maxn, bucket, pruned
        self.index = {w: i for i, w in enumerate(words)}

    @property
    def dim(self) -> int:
        return self.input.shape[1]

    def subword_ids(self, word: str) -> list[int]:
        """Rows of the input matrix that make ``word``'s vector (as ``Dictionary::getSubwords``)."""
        return subword_rows(word, self.index.get(word), self.nwords, self.minn, self.maxn,
                            self.bucket, self.pruned)

    def get_word_vector(self, word: str) -> np.ndarray:
        ids = self.subword_ids(word)
        if not ids:
            return np.zeros(self.dim, np.float32)
        return self._mean(ids)

    def _mean(self, ids: list[int]) -> np.ndarray:
        """The mean of these input rows, summed in float64: float32 (dim,)."""
        return self.input[ids].mean(axis=0, dtype=np.float64).astype(np.float32)

    def vectors(self, words=None) -> Vectors:
        """The vectors of the model's words (all, or those in ``words``), as a :class:`Vectors`."""
        keep = [w for w in self.words if w not in self.left_out and (words is None or w in words)]
        matrix = (np.stack([self.get_word_vector(w) for w in keep]) if keep
                  else np.zeros((0, self.dim), np.float32))  # matrix: (len(keep), dim)
        self._check(keep, matrix)
        return Vectors(keep, matrix)

    def _check(self, words: list[str], matrix: np.ndarray):
        """Refuse what must not reach a model: here nothing; a file's reader refuses more."""


class _Reader:
    """Reads little-endian fields from a binary file, naming the offset when it runs out."""

    def __init__(self, f, path):
        self.f, self.path = f, path

    def take(self, n: int, what: str) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise VectorFileError(f"{self.path}: file ends at byte {self.f.tell():,} while "
                                  f"reading {what} (truncated)")
        return data

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


class FastTextBin(SubwordVectors):
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
                raise VectorFileError(f"{path}: fastText format version {version}; this reader "
                                      f"knows up to {FASTTEXT_VERSION}")
            self.args = dict(zip(_ARGS, r.unpack("12i", "the arguments")))
            self.args["t"] = r.unpack("d", "the arguments")[0]
            size, self.nwords, self.nlabels = r.unpack("iii", "the dictionary header")
            self.ntokens, prune_size = r.unpack("qq", "the dictionary header")
            self.words, self.counts, self.labels = [], [], []
            after = f.tell()  # where the dictionary ends; the matrices are never read here
            # an entry: word, zero byte, count (int64), type (int8)
            entries = records(f, path, b"\0", 9, size, "dictionary entry")
            for i, (buf, pos, end, base) in enumerate(entries):
                try:
                    word = buf[pos:end].decode("utf-8")
                except UnicodeDecodeError:
                    raise VectorFileError(f"{path}, byte {base + pos:,}: dictionary entry "
                                          f"{i + 1:,} is not valid UTF-8") from None
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
                raise VectorFileError(f"{path}: the input matrix ({rows:,} x {cols} at byte "
                                      f"{matrix_at:,}) does not fit the file of {file_size:,} "
                                      f"bytes, the dimension {self.args['dim']} or "
                                      f"{self.nwords:,} words + {self.args['bucket']:,} buckets "
                                      f"(truncated or corrupt)")
            f.seek(matrix_at + 4 * rows * cols)  # the output matrix must be whole too
            r.unpack("?", "the output quantization flag")
            out_rows, out_cols = r.unpack("qq", "the output matrix shape")
            if f.tell() + 4 * out_rows * out_cols != file_size:
                raise VectorFileError(f"{path}: the output matrix ({out_rows:,} x {out_cols} at "
                                      f"byte {f.tell():,}) does not fit the file of "
                                      f"{file_size:,} bytes (truncated or corrupt)")
        a = self.args
        input = np.memmap(path, dtype="<f4", mode="r", offset=matrix_at, shape=(rows, cols))
        super().__init__(self.words, self.nwords, a["minn"], a["maxn"], a["bucket"], input,
                         self.pruned)

    def _check(self, words: list[str], matrix: np.ndarray):
        """A vector with nan or inf is refused, as by the other readers."""
        check_finite(self.path, words, matrix,
                     lambda w: f"word {self.index[w] + 1:,} of the dictionary")


def write_fasttext_bin(path: str | Path, args: Mapping[str, float], words: Sequence[str],
                       counts: Sequence[int], ntokens: int, input: np.ndarray,
                       output: np.ndarray) -> Path:
    """Write an unsupervised model in the layout :class:`FastTextBin` reads, which the
    official package loads too: ``args`` holds the 12 integer arguments (``_ARGS``) and
    ``t``; every dictionary entry is a word (no labels, nothing pruned); ``input`` is
    the word rows, then the n-gram rows: (len(words) + bucket, dim); ``output``:
    (len(words), dim)."""
    def write(f):
        f.write(struct.pack("<ii", FASTTEXT_MAGIC, FASTTEXT_VERSION))
        f.write(struct.pack("<12id", *(args[k] for k in _ARGS), args["t"]))
        f.write(struct.pack("<iiiqq", len(words), len(words), 0, ntokens, -1))
        for word, count in zip(words, counts):
            f.write(word.encode("utf-8") + b"\0" + struct.pack("<qb", count, 0))
        for matrix in (input, output):
            f.write(struct.pack("<?qq", False, *matrix.shape))
            f.write(matrix.astype("<f4").tobytes())
    return write_atomic(path, write)
