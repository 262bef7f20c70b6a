"""fastText's training-file format: one text per line, ``__label__pos some words ...``.

Tokens are split on fastText's whitespace (space, ``\\n \\r \\t \\v \\f \\0``, not
Python's wider set); a token starting with ``__label__`` is a label, wherever it
stands; every line ends with the end-of-sentence token ``</s>``, which is a word.
:func:`read_file` reads a file the readable way; :func:`read_indexed` gives
:func:`index_labelled` of it straight from the file's bytes, several times faster.

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

import gc
import math
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from bigtext_lite.fasttext.dictionary import Indexed, LabelledTexts
from bigtext_lite.fasttext.token_table import TableFull, TokenTable, token_keys, token_spans

LABEL_PREFIX = "__label__"

# fastText's readWord splits on exactly " \n\r\t\v\f\0". Python's str.split()
# splits on those (except \0) and on a dozen more Unicode spaces (U+00A0, U+3000,
# ...), inside which fastText sees ordinary bytes of a word.
_NOT_FASTTEXT_SPACE = re.compile(
    "[\0\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_FASTTEXT_SPACE = re.compile("[ \n\r\t\v\f\0]+")


def split_tokens(line: str) -> list[str]:
    """The tokens of a line as fastText reads them: split on its six whitespace
    characters and NUL, and on nothing else."""
    if _NOT_FASTTEXT_SPACE.search(line) is None:
        return line.split()  # the same tokens, several times faster than the regex
    return [t for t in _FASTTEXT_SPACE.split(line) if t]


def parse_line(line: str, label_prefix: str = LABEL_PREFIX) -> tuple[list[str], list[str]]:
    """(labels, words) of one line; labels may stand anywhere, as in fastText."""
    tokens = split_tokens(line)
    n = line.count(label_prefix)
    if all(t.startswith(label_prefix) for t in tokens[:n]):
        # The usual layout, labels first: the n tokens that start with the prefix
        # hold all n occurrences of it, so no later token is a label.
        labels = tokens[:n]
        del tokens[:n]
        return labels, tokens
    labels, words = [], []
    for token in tokens:
        (labels if token.startswith(label_prefix) else words).append(token)
    return labels, words


def _decode(raw: bytes, path, encoding_errors: str = "strict") -> str:
    """``raw`` (the bytes of the file ``path``) as text; a byte that is not UTF-8
    raises a ``ValueError`` naming its line and byte."""
    try:
        return raw.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as err:
        before = raw[:err.start]
        line, line_start = before.count(b"\n") + 1, before.rfind(b"\n") + 1
        raise ValueError(f"{path}, line {line}, byte {len(before) - line_start + 1}: "
                         f"not valid UTF-8 ({raw[err.start:err.start + 1]!r}); re-encode the "
                         f"file as UTF-8 or pass encoding_errors='replace'") from None


def read_file(path: str | Path, encoding_errors: str = "strict"
              ) -> list[tuple[list[str], list[str]]]:
    """Read a file in fastText's format: ``__label__pos some words ...`` per line.

    Non-UTF-8 bytes raise a ``ValueError`` naming the line and its byte, unless
    ``encoding_errors="replace"`` (then they become U+FFFD).
    """
    lines = _decode(Path(path).read_bytes(), path, encoding_errors).split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    return [parse_line(line) for line in lines]


def write_file(path: str | Path, texts: Iterable[Sequence[str]],
               labels: Iterable[Sequence[str] | str]) -> Path:
    """Write tokenised texts and their labels in fastText's format, one line each.
    Labels get the ``__label__`` prefix unless they have it already."""
    with open(path, "w", encoding="utf-8") as f:
        for tokens, labs in zip(texts, labels):
            labs = [labs] if isinstance(labs, str) else labs
            labs = [lab if lab.startswith(LABEL_PREFIX) else LABEL_PREFIX + lab for lab in labs]
            f.write(" ".join(labs + list(tokens)) + "\n")
    return Path(path)


@contextmanager
def collector_paused():
    """Preparing a file makes many lists that live on (each line's labels, the
    words): the garbage collector would walk them again and again, for nothing."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def read_indexed(path: str | Path, piece_bytes: int = 1 << 20) -> LabelledTexts:
    """``index_labelled(read_file(path))``: the same result, from numpy on the file's
    bytes, a piece of whole lines at a time (so that its arrays stay small: a fresh
    process pays for every page of memory it touches) rather than line by line in
    Python."""
    raw = Path(path).read_bytes()
    if raw and not raw.endswith(b"\n"):
        raw += b"\n"  # the last line
    bits = max(10, math.ceil(math.log2(128 * math.sqrt(len(raw) / 5) + 1)))  # IMDB: 5x its words
    with collector_paused():
        while True:
            try:
                return _read_pieces(raw, path, TokenTable(bits), piece_bytes)
            except TableFull:  # four times larger
                bits += 2


def _pieces(raw: bytes, piece_bytes: int):
    """The file's bytes ``raw`` a piece of whole lines at a time: (bytes, the same as an
    array, token starts, token ends, and the tokens' :func:`token_keys`)."""
    start = 0
    while start < len(raw):
        stop = raw.find(b"\n", start + piece_bytes) + 1 or len(raw)
        # "</s>" ends every line as a token; a space before and zeros after to read past the end
        data = b"".join([b" ", raw[start:stop].replace(b"\n", b" </s>\n"), bytes(16)])
        buf = np.frombuffer(data, dtype=np.uint8)  # (bytes,)
        starts, ends = token_spans(buf)  # (tokens,) each
        yield data, buf, starts, ends, *token_keys(buf, starts, ends)
        start = stop


def _made_ahead(items):
    """The items of the iterator ``items``, each made in a second thread while the
    caller works on the one before: numpy lets go of the GIL in its loops, so two
    cores share the work (the next piece's tokens need no table)."""
    with ThreadPoolExecutor(1) as pool:
        coming = pool.submit(next, items, None)
        while (item := coming.result()) is not None:
            coming = pool.submit(next, items, None)
            yield item


def _read_pieces(raw: bytes, path, table: TokenTable, piece_bytes: int) -> LabelledTexts:
    """:func:`read_indexed` with ``table``. ``code`` per identity: a word's id (they
    count first occurrences in labelled lines, as :func:`index_tokens`), -1 for a
    word without one yet, -2 - its number for a label."""
    labels, words = [], []  # by number, by id
    code = np.full(2 * len(table.keys), -1, dtype=np.int32)  # (identities,)
    spelled = np.empty(len(code), dtype=object)  # (identities,): the token
    lines, unlabelled, label_lists = 0, [], []
    rows, lengths = [], []  # per piece
    for data, buf, starts, ends, lo, keys in _made_ahead(_pieces(raw, piece_bytes)):
        ids, new = table.identities(data, starts, ends, lo, keys)
        if len(code) < len(table.keys) + len(table.long):
            code = np.concatenate([code, np.full(len(code), -1, dtype=np.int32)])
            spelled = np.concatenate([spelled, np.empty(len(spelled), dtype=object)])
        try:  # all bytes but ASCII whitespace are in tokens: the file is UTF-8 if they are
            joined = b"\n".join([data[s:e] for s, e in zip(starts[new].tolist(),
                                                             ends[new].tolist())]).decode()
        except UnicodeDecodeError:
            _decode(raw, path)  # raises, naming the line and byte
        names = joined.split("\n") if len(new) else []
        spelled[ids[new]] = names
        for identity, name in zip(ids[new].tolist(), names) if LABEL_PREFIX in joined else ():
            if name.startswith(LABEL_PREFIX):
                code[identity] = -2 - len(labels)
                labels.append(name)
        codes = code[ids]  # (tokens,)
        ends_at = np.searchsorted(starts, np.flatnonzero(buf == 10))  # (lines,): tokens to its end
        label_at = np.flatnonzero(codes <= -2)
        per_line = np.bincount(np.searchsorted(ends_at, label_at, side="right"),
                               minlength=len(ends_at))  # (lines,): labels
        labelled, kept = per_line > 0, codes > -2
        if not labelled.all():
            kept &= np.repeat(labelled, np.diff(ends_at, prepend=0))
            unlabelled += (lines + 1 + np.flatnonzero(~labelled)).tolist()
        here = [labels[-2 - c] for c in codes[label_at].tolist()]
        cuts = np.cumsum(per_line[labelled]).tolist()
        label_lists += [here[a:b] for a, b in zip([0] + cuts, cuts)]
        fresh, first = np.unique(ids[kept & (codes == -1)], return_index=True)
        fresh = fresh[np.argsort(first)]  # by first occurrence
        code[fresh] = len(words) + np.arange(len(fresh))
        words += spelled[fresh].tolist()
        rows.append(code[ids[kept]])
        lengths.append((np.diff(ends_at, prepend=0) - per_line)[labelled])  # words and </s>
        lines += len(ends_at)
    indexed = Indexed(words, np.concatenate(rows or [np.empty(0, np.int32)]),
                      np.concatenate(lengths or [np.empty(0, np.int64)]))
    return LabelledTexts(lines, unlabelled, label_lists, indexed)
