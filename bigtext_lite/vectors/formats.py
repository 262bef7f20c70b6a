"""Word-vector files: GloVe text (``word v1 ... vd`` per line), word2vec text and fastText
``.vec`` (the same, after a ``count dim`` header line), read by ``read_text`` and written by
``write_text``; the C word2vec binary format, by ``read_word2vec_bin`` /
``write_word2vec_bin``. Each is read plain or ``.gz`` / ``.bz2`` / ``.xz``, streamed (see
``reading``). ``load`` picks the reader by the file's content, the fastText ``.bin``
(``fasttext_bin``) included.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import codecs
import itertools
from pathlib import Path

import numpy as np

from bigtext_lite.errors import VectorFileError
from bigtext_lite.io import write_atomic
from bigtext_lite.vectors.fasttext_bin import FASTTEXT_MAGIC, FastTextBin
from bigtext_lite.vectors.reading import OPENERS, Kept, lines, open_binary, readable, records
from bigtext_lite.vectors.vectors import Vectors

# --- text: GloVe, word2vec text, fastText .vec ------------------------------------------

def _header(first: bytes) -> tuple[int, int] | None:
    """``(count, dim)`` when ``first`` is a word2vec / .vec header line, else None (GloVe)."""
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


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
    with open_binary(path) as f:
        numbered = lines(f, path)
        n, first = next(numbered, (1, b""))
        first = first.removeprefix(codecs.BOM_UTF8)  # Windows editors write one
        header = _header(first)
        kept = Kept(path, words, header[0] if header else None, "line")
        if header:
            dim = _check_dim(dim, header[1], path, "the header")
        else:
            numbered = itertools.chain([(n, first)], numbered)
        count = 0
        for n, line in numbered:
            body = line.rstrip()  # the newline, a CR, the space fastText writes at the end
            if not body:
                continue  # a blank line, often the last: nothing to read
            count += 1
            if header and count > header[0]:
                raise VectorFileError(f"{path}, line {n}: more vectors than the {header[0]:,} "
                                      f"the header promises")
            if dim is None:
                dim = _first_dim(body, path, n)
            raw, _, rest = body.partition(b" ")
            if not rest or rest.count(b" ") + 1 != dim:  # rare: spaces in the word, tabs, bad lines
                raw, rest = _split_right(body, dim, path, n)
            try:
                word = kept.word(raw, n)
            except UnicodeDecodeError as err:  # only when every word is wanted
                raise VectorFileError(f"{path}, line {n}: the word is not valid UTF-8 "
                                      f"({err.reason} at byte {err.start})") from None
            if word is None:
                continue
            try:
                row = np.array(rest.split(), dtype=np.float32)  # row: (dim,)
            except ValueError as err:
                raise VectorFileError(f"{path}, line {n}: {err}") from None
            if len(row) != dim:  # whitespace other than single spaces between the values
                raise VectorFileError(f"{path}, line {n}: {len(row)} values, expected {dim}")
            kept.add(word, row, n)
    if header and count != header[0]:
        raise VectorFileError(f"{path}: the header promises {header[0]:,} vectors but the file "
                              f"has {count:,} (truncated?)")
    if not header and count == 0:
        raise VectorFileError(f"{path}: neither a header nor a vector (an empty file?)")
    return kept.vectors(dim)


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
            f.write(word.encode("utf-8") + b" " + " ".join(f"{x:.9g}" for x in row).encode()
                    + b"\n")
    return write_atomic(path, write)


def _check_word(word: str):
    if not word or any(c.isspace() for c in word):
        raise ValueError(f"cannot write the word {word!r}: vector files separate fields by "
                         f"whitespace")


# --- word2vec binary --------------------------------------------------------------------

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
    with open_binary(path) as f, readable(path, lambda: f", byte {f.tell():,}"):
        first = f.readline()
        header = _header(first)
        if header is None:
            raise VectorFileError(f"{path}: the first line should be 'count dim', got "
                                  f"{first[:60]!r}")
        count, dim = header
        kept = Kept(path, words, count, "byte")

        vectors = records(f, path, b" ", 4 * dim, count, "vector")  # word, space, dim float32
        for i, (buf, pos, end, base) in enumerate(vectors):
            raw = buf[pos:end].lstrip(b"\n")  # the C tool writes a newline after each vector
            offset = base + end - len(raw)  # where the word starts in the file
            try:
                word = kept.word(raw, offset)
            except UnicodeDecodeError as err:  # only when every word is wanted
                raise VectorFileError(f"{path}, byte {offset + err.start:,}: the word of "
                                      f"vector {i + 1:,} is not valid UTF-8") from None
            if word is not None:
                row = np.frombuffer(buf, dtype="<f4", count=dim, offset=end + 1)  # row: (dim,)
                kept.add(word, row, offset)
        # After the last vector only its newline may follow: more is a header that promises
        # too few vectors, or a dimension that does not match the data.
        extra = (buf[end + 1 + 4 * dim:] if count else b"") + f.read(64)
        if data := extra.lstrip(b"\n"):
            at = (base + end + 1 + 4 * dim if count else len(first)) + len(extra) - len(data)
            raise VectorFileError(f"{path}, byte {at:,}: data after the {count:,} vectors the "
                                  f"header promises ({data[:16]!r}...): a wrong count or "
                                  f"dimension")
    return kept.vectors(dim)


def load(path: str | Path, words=None) -> Vectors:
    """Read any supported vector file, by its content: a fastText ``.bin`` (by its magic
    number), word2vec binary (``.bin`` otherwise, also ``.bin.gz``), or text (GloVe /
    word2vec / ``.vec``)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) == 4 and int.from_bytes(head, "little") == FASTTEXT_MAGIC:
        return FastTextBin(path).vectors(words)
    if (path.with_suffix("") if path.suffix in OPENERS else path).suffix == ".bin":
        return read_word2vec_bin(path, words)
    return read_text(path, words)
