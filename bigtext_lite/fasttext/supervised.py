"""fastText's supervised classifier (Joulin et al., 2017) in PyTorch.

A text is the set of its words and of its hashed word n-grams; the model
averages their embeddings and applies one linear layer, trained by SGD with a
linearly decaying learning rate. Everything that decides *which* features a
text gets follows the official implementation exactly, so one training file
trains both and the same n-gram lands in the same bucket:

- tokens are split on fastText's whitespace (space, ``\\n \\r \\t \\v \\f \\0``, not
  Python's wider set); a token starting with ``__label__`` is a label;
  every line ends with the end-of-sentence token ``</s>``, which is a word;
- token hashes are 32-bit FNV-1a over the UTF-8 bytes, each byte sign-extended
  as C++'s ``int8_t`` does (bytes >= 0x80 differ from a naive FNV-1a);
- n-gram hashes combine the word hashes as the C++ code does with 64-bit
  arithmetic: ``h = h * 116049371 + hash(next word)``, bucket = ``h % bucket``,
  where each 32-bit hash enters as a *signed* int32 widened to 64 bits.

Losses: ``softmax``, ``hs`` (hierarchical softmax over a Huffman tree of the
label counts), ``ns`` (negative sampling of labels) and ``ova`` (one-vs-all,
for several labels per text). Training: the official per-example SGD update,
written out (:meth:`FastText.sgd_step`, checked against autograd), applied to
batches with a *summed* loss so that each example still gets its own full-size
step (a batch mean would divide every step by the batch size), by Hogwild worker
processes as fastText's threads.

Walkthrough: notebooks/04_fasttext.ipynb.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from bigtext_lite import checkpoint as ckpt
from bigtext_lite.io import save_atomic
from bigtext_lite.fasttext import hogwild
from bigtext_lite.formulas import huffman_codes
from bigtext_lite.errors import NonFiniteLossError

EOS = "</s>"
LABEL_PREFIX = "__label__"
_MASK64 = (1 << 64) - 1


# --- hashing, exactly as fastText's C++ ---------------------------------------------

def fasttext_hash(token: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes, each byte sign-extended like ``int8_t``."""
    h = 2166136261
    for byte in token.encode("utf-8"):
        h ^= (byte | 0xFFFFFF00) if byte >= 0x80 else byte  # int8_t(b) as uint32
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def fasttext_hashes(tokens: Sequence[str]) -> np.ndarray:
    """:func:`fasttext_hash` of many tokens at once (uint32): numpy steps through the
    bytes of all tokens together, position by position, the longest tokens last."""
    encoded = [t.encode("utf-8") for t in tokens]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    starts = np.cumsum(lengths) - lengths
    data = np.frombuffer(b"".join(encoded), dtype=np.int8).astype(np.uint32)  # int8_t, sign-extended
    out = np.full(len(encoded), 2166136261, dtype=np.uint32)
    long = np.flatnonzero(lengths > 256)  # rare: the Python loop, rather than one numpy step per byte
    out[long] = [fasttext_hash(tokens[i]) for i in long]
    lengths[long] = 0
    order = np.argsort(-lengths, kind="stable")  # tokens still going at byte j are a prefix of this
    still = np.searchsorted(-lengths[order], -np.arange(lengths.max(initial=0)), side="left")
    for j, n in enumerate(still):  # n: how many tokens have more than j bytes
        i = order[:n]
        out[i] = (out[i] ^ data[starts[i] + j]) * np.uint32(16777619)
    return out


def ngram_buckets(word_hashes: Sequence[int], n: int, bucket: int) -> list[int]:
    """Bucket ids of all 2..n-grams of a line, in fastText's order (reference version)."""
    signed = [h - (1 << 32) if h >= (1 << 31) else h for h in word_hashes]  # stored as int32
    out = []
    for i in range(len(signed)):
        h = signed[i] & _MASK64
        for j in range(i + 1, min(len(signed), i + n)):
            h = (h * 116049371 + (signed[j] & _MASK64)) & _MASK64
            out.append(h % bucket)
    return out


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of ``<word>`` with minn <= n <= maxn, in fastText's order
    (by start position, then length; ``<`` and ``>`` alone are never n-grams)."""
    w = "<" + word + ">"
    out = []
    for i in range(len(w)):
        for n in range(max(minn, 1), maxn + 1):
            if i + n > len(w):
                break
            if n == 1 and (i == 0 or i + n == len(w)):
                continue
            out.append(w[i:i + n])
    return out


def char_ngram_hashes(word: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """Bucket ids (0 .. bucket-1) of the character n-grams of ``word``, as fastText hashes them."""
    return [fasttext_hash(g) % bucket for g in char_ngrams(word, minn, maxn)]


def subword_rows(word: str, word_id: int | None, nwords: int, minn: int, maxn: int, bucket: int,
                 pruned: dict[int, int] | None = None) -> list[int]:
    """Rows of fastText's input matrix whose mean is ``word``'s vector, as
    ``Dictionary::getSubwords``: the word's own row (``word_id``, None when it is
    out of the vocabulary), then ``nwords + bucket`` of each character n-gram;
    ``</s>`` and ``maxn == 0`` have no n-grams. ``pruned`` (a pruned model's map
    from bucket to kept row) drops the buckets it lacks and renumbers the rest."""
    ids = [] if word_id is None else [word_id]
    if word != EOS and maxn > 0:
        for h in char_ngram_hashes(word, minn, maxn, bucket):
            if pruned:
                if h not in pruned:
                    continue
                h = pruned[h]
            ids.append(nwords + h)
    return ids


# --- reading the official training format ---------------------------------------------

# fastText's readWord splits on exactly " \n\r\t\v\f\0". Python's str.split()
# splits on those (except \0) and on a dozen more Unicode spaces (U+00A0, U+3000,
# ...), inside which fastText sees ordinary bytes of a word.
_NOT_FASTTEXT_SPACE = re.compile("[\0\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
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
                         f"not valid UTF-8 ({raw[err.start:err.start + 1]!r}); re-encode the file as UTF-8 "
                         f"or pass encoding_errors='replace'") from None


def read_file(path: str | Path, encoding_errors: str = "strict") -> list[tuple[list[str], list[str]]]:
    """Read a file in fastText's format: ``__label__pos some words ...`` per line.

    Non-UTF-8 bytes raise a ``ValueError`` naming the line and its byte, unless
    ``encoding_errors="replace"`` (then they become U+FFFD).
    """
    lines = _decode(Path(path).read_bytes(), path, encoding_errors).split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    return [parse_line(line) for line in lines]


_FIRST_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)  # k low bytes
_LONG = np.uint64(0x8000000000000001)  # zero bytes inside: no token's first 8 bytes
_KEY_MULTIPLIERS = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)  # odd: one-to-one


def _token_spans(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of bytes between fastText's whitespace in ``buf``,
    which starts and ends with whitespace. UTF-8 writes no other character with
    these bytes, so splitting the bytes splits the text exactly."""
    space = (buf == 32) | (buf - np.uint8(9) <= 4) | (buf == 0)  # " ", \t \n \v \f \r, \0
    edges = np.flatnonzero(space[1:] != space[:-1]) + 1
    return edges[0::2], edges[1::2]


class _TableFull(Exception):
    """The hash table is half full: read again with a larger one."""


class _TokenTable:
    """Token bytes -> an id ("identity"), exactly, for a file read piece by piece.

    A token's first 8 bytes, zero-padded, are a number ``lo`` that tells it apart
    from every other token as short (no token holds a zero byte); with the next 8
    bytes they make a hash key. numpy places the keys of a whole piece at once in an
    open-addressing table. Tokens in one slot share their key, so one whose ``lo``
    equals that of the first token in the slot is that token (up to 16 bytes);
    longer tokens, and those unlike the first in their slot (a hash collision), get
    their identity from a dict, numbered after the slots.
    """

    def __init__(self, bits: int):
        self.keys = np.zeros(1 << bits, dtype=np.uint64)  # 0: an empty slot
        self.lo = np.zeros(1 << bits, dtype=np.uint64)  # of the slot's first token; 0: none yet
        self.long: dict[bytes, int] = {}
        self.filled = 0

    def identities(self, data: bytes, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
        """Each token's identity, and the tokens (indices) that are the first of a new one."""
        windows = np.ndarray((len(buf) - 7,), "<u8", buf, strides=(1,))  # bytes i..i+7, one number
        lengths = ends - starts
        lo = windows[starts] & _FIRST_BYTES[np.minimum(lengths, 8)]
        longer = np.flatnonzero(lengths > 8)
        hi = windows[starts[longer] + 8] & _FIRST_BYTES[np.minimum(lengths[longer] - 8, 8)]
        with np.errstate(over="ignore"):
            keys = lo * _KEY_MULTIPLIERS[0]
            keys[longer] += hi * _KEY_MULTIPLIERS[1]
        lo[longer[lengths[longer] > 16]] = _LONG  # never a slot's first token's: to the dict
        ids = self._slots(keys)
        slot_lo = self.lo[ids]
        odd = np.flatnonzero(lo != slot_lo)  # in slots not yet claimed, collisions, long tokens
        claims = odd[(slot_lo[odd] == 0) & (lo[odd] != _LONG)]
        claimed, first = np.unique(ids[claims], return_index=True)  # a slot's first claimant wins
        self.lo[claimed] = lo[claims[first]]
        odd = odd[lo[odd] != self.lo[ids[odd]]]
        known = len(self.long)
        ids[odd] = [len(self.keys) + self.long.setdefault(data[s:e], len(self.long))
                    for s, e in zip(starts[odd].tolist(), ends[odd].tolist())]
        in_dict, first_in_dict = np.unique(ids[odd], return_index=True)
        new = np.concatenate([claims[first], odd[first_in_dict[in_dict >= len(self.keys) + known]]])
        return ids, np.sort(new)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        """Each key's slot, equal keys in the same one: a key takes its home slot if
        empty (of several claimants, one wins) or if it holds the key; the others try
        the next slot, round by round."""
        size = len(self.keys)  # a power of two
        slots = (keys >> np.uint64(65 - size.bit_length())).view(np.int64)  # the best-mixed bits
        pending = np.flatnonzero(self.keys[slots] != keys)  # most keys are home already
        while len(pending):
            s, k = slots[pending], keys[pending]
            empty = self.keys[s] == 0
            self.filled += len(np.unique(s[empty]))
            if self.filled > size // 2:
                raise _TableFull
            self.keys[s[empty]] = k[empty]
            moved = self.keys[s] != k
            slots[pending[moved]] = (s[moved] + 1) & (size - 1)
            pending = pending[moved]
        return slots


@contextmanager
def _collector_paused():
    """Preparing a file makes many lists that live on (each line's labels, the
    words): the garbage collector would walk them again and again, for nothing."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def read_indexed(path: str | Path, piece_bytes: int = 1 << 20):
    """:func:`read_file`, then :func:`index_tokens` of the labelled lines: the same
    result, from numpy on the file's bytes, a piece of whole lines at a time (so
    that its arrays stay small: a fresh process pays for every page of memory it
    touches) rather than line by line in Python. Returns (lines, 1-based numbers of
    the unlabelled lines, the labels of the others, their indexed tokens)."""
    raw = Path(path).read_bytes()
    if raw and not raw.endswith(b"\n"):
        raw += b"\n"  # the last line
    bits = max(10, math.ceil(math.log2(128 * math.sqrt(len(raw) / 5) + 1)))  # IMDB: 5x its words
    with _collector_paused():
        while True:
            try:
                return _read_pieces(raw, path, _TokenTable(bits), piece_bytes)
            except _TableFull:  # four times larger
                bits += 2


def _read_pieces(raw: bytes, path, table: _TokenTable, piece_bytes: int):
    """:func:`read_indexed` with ``table``. ``code`` per identity: a word's id (they
    count first occurrences in labelled lines, as :func:`index_tokens`), -1 for a
    word without one yet, -2 - its number for a label."""
    labels, words = [], []  # by number, by id
    code = np.full(2 * len(table.keys), -1, dtype=np.int32)
    spelled = np.empty(len(code), dtype=object)  # per identity: the token
    lines, unlabelled, label_lists, rows, lengths = 0, [], [], [], []
    start = 0
    while start < len(raw):
        stop = raw.find(b"\n", start + piece_bytes) + 1 or len(raw)
        # "</s>" ends every line as a token; a space before and zeros after to read past the end
        data = b"".join([b" ", raw[start:stop].replace(b"\n", b" </s>\n"), bytes(16)])
        buf = np.frombuffer(data, dtype=np.uint8)
        starts, ends = _token_spans(buf)
        ids, new = table.identities(data, buf, starts, ends)
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
        codes = code[ids]
        ends_at = np.searchsorted(starts, np.flatnonzero(buf == 10))  # tokens up to each line's end
        label_at = np.flatnonzero(codes <= -2)
        per_line = np.bincount(np.searchsorted(ends_at, label_at, side="right"),
                               minlength=len(ends_at))
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
        start, lines = stop, lines + len(ends_at)
    return lines, unlabelled, label_lists, (words, np.concatenate(rows or [np.empty(0, np.int32)]),
                                            np.concatenate(lengths or [np.empty(0, np.int64)]))


def write_file(path: str | Path, texts: Iterable[Sequence[str]], labels: Iterable[Sequence[str] | str]) -> Path:
    """Write tokenised texts and their labels in fastText's format, one line each.
    Labels get the ``__label__`` prefix unless they have it already."""
    with open(path, "w", encoding="utf-8") as f:
        for tokens, labs in zip(texts, labels):
            labs = [labs] if isinstance(labs, str) else labs
            labs = [l if l.startswith(LABEL_PREFIX) else LABEL_PREFIX + l for l in labs]
            f.write(" ".join(labs + list(tokens)) + "\n")
    return Path(path)


# --- the dictionary: words, labels, and the features of a text --------------------------

def index_tokens(token_lists) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every token of the texts, each text followed by ``</s>``, as an index into a
    list of the distinct tokens: (distinct tokens, indices, tokens per text).

    One C-level pass over all tokens: ``index.setdefault(token, position)`` keeps
    the position where each token first occurs and returns it for every later
    occurrence; numpy then renumbers those positions 0, 1, 2, ... A Python loop
    over IMDB's 7 million tokens would take longer than training.
    """
    token_lists = token_lists if isinstance(token_lists, list) else list(token_lists)
    lengths = np.fromiter((len(t) + 1 for t in token_lists), dtype=np.int64, count=len(token_lists))
    stream = itertools.chain.from_iterable(itertools.chain(t, (EOS,)) for t in token_lists)
    index: dict[str, int] = {}
    first = np.fromiter(map(index.setdefault, stream, itertools.count()), dtype=np.int64, count=int(lengths.sum()))
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.fromiter(index.values(), dtype=np.int64, count=len(index))] = np.arange(len(index))
    return list(index), renumber[first], lengths


def distinct_per_text(ids: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's distinct feature ids, with weights (occurrences / features of the
    text): the same mean from fewer rows (about half for IMDB's words, 0.7 with
    bigrams), so training reads and updates fewer rows. Returns (ids, distinct
    per text, weights); a text's ids come sorted.

    Each text is a row of a buffer, padded to a power of two with a value no id has,
    rows of one width together: sorting the rows of each width as a matrix is many
    short sorts in cache, several times faster than one sort of all (text, id) pairs.
    """
    pad = np.iinfo(ids.dtype).max
    width = 1 << np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    by_width = np.argsort(width, kind="stable")  # the texts row by row
    row_at = np.cumsum(width[by_width]) - width[by_width]
    text_at = np.empty(len(counts), dtype=np.int64)
    text_at[by_width] = row_at
    buf = np.full(int(width.sum()), pad, dtype=ids.dtype)
    buf[np.repeat(text_at - (np.cumsum(counts) - counts), counts) + np.arange(len(ids))] = ids
    for w in np.unique(width).tolist():
        rows = np.flatnonzero(width[by_width] == w)
        buf[row_at[rows[0]]:row_at[rows[-1]] + w].reshape(-1, w).sort(axis=1)
    new = np.ones(len(buf) + 1, dtype=bool)  # where a run of equal ids starts, and the end
    np.not_equal(buf[1:], buf[:-1], out=new[1:-1])
    new[row_at] = True
    at = np.flatnonzero(new)
    run_at = np.searchsorted(at, text_at)  # each text's first run; a padded row ends in one of pad
    per_text = np.diff(run_at[by_width], append=len(at) - 1)[np.argsort(by_width)]
    per_text -= counts < width
    runs = np.repeat(run_at - (np.cumsum(per_text) - per_text), per_text)
    runs += np.arange(len(runs))
    starts = at[runs]
    # float32 division of counts below 2**24 rounds as float64 division then float32 does
    occurrences = (at[runs + 1] - starts).astype(np.float32)
    return buf[starts], per_text, occurrences / np.repeat(counts.astype(np.float32), per_text)


class Dictionary:
    """Words (with ``</s>``) kept at ``min_count``, labels, and hashed n-gram buckets."""

    def __init__(self, words: list[str], word_counts: list[int], labels: list[str],
                 label_counts: list[int], word_ngrams: int = 1, bucket: int = 2_000_000):
        self.words, self.word_counts = words, word_counts
        self.labels, self.label_counts = labels, label_counts
        self.word_ngrams, self.bucket = word_ngrams, bucket if word_ngrams > 1 else 0
        self.word_id = {w: i for i, w in enumerate(words)}
        self.label_id = {l: i for i, l in enumerate(labels)}

    @classmethod
    def build(cls, examples, min_count: int = 1, word_ngrams: int = 1, bucket: int = 2_000_000):
        """From (labels, tokens) pairs; lines without a label do not count."""
        labelled = [(labs, toks) for labs, toks in examples if labs]
        return cls.from_indexed(index_tokens([toks for _, toks in labelled]), [labs for labs, _ in labelled],
                                min_count, word_ngrams, bucket)

    @classmethod
    def from_indexed(cls, indexed, label_lists, min_count: int = 1, word_ngrams: int = 1,
                     bucket: int = 2_000_000):
        """From :func:`index_tokens` of the labelled texts and their label lists."""
        distinct, rows, _ = indexed
        labels = Counter(itertools.chain.from_iterable(label_lists))
        if not labels:
            raise ValueError("no line has a label: label lines as '__label__<name> text ...'")
        counts = np.bincount(rows, minlength=len(distinct))
        kept = np.flatnonzero(counts >= min_count)
        kept = kept[np.argsort(-counts[kept], kind="stable")]  # by count, as fastText sorts its words
        labs = sorted(labels, key=lambda l: (-labels[l], l))
        return cls([distinct[i] for i in kept.tolist()], counts[kept].tolist(), labs, [labels[l] for l in labs],
                   word_ngrams, bucket)

    @property
    def num_features(self) -> int:
        return len(self.words) + self.bucket

    def features(self, tokens: Sequence[str]) -> np.ndarray:
        """Feature ids of one text: its known words and ``</s>``, and its n-gram
        buckets (offset by the number of words). Unknown words add no word feature
        but do take part in n-grams, as in fastText."""
        return self.features_many([tokens])[0]

    def features_many(self, token_lists) -> list[np.ndarray]:
        """:meth:`features` of many texts."""
        ids, counts = self.encode(index_tokens(token_lists))
        return np.split(ids, np.cumsum(counts)[:-1]) if len(counts) else []

    def encode(self, indexed) -> tuple[np.ndarray, np.ndarray]:
        """Features of texts given by :func:`index_tokens`, vectorised over all
        their tokens: (feature ids of all texts one after another, count per text)."""
        return self.encode_rows(self.token_tables(indexed[0]), *indexed[1:])

    def token_tables(self, distinct: list[str]):
        """What :meth:`encode_rows` looks up per distinct token: its word id (-1 for
        none), its hash as the C++ widens it (each 32-bit hash enters as a signed int32
        widened to 64 bits) and which token is ``</s>``, both only for n-grams."""
        if self.num_features >= 2**31:
            raise ValueError(f"{self.num_features:,} features do not fit int32 ids; "
                             f"use a smaller bucket")
        word_ids = np.array([self.word_id.get(t, -1) for t in distinct], dtype=np.int32)
        if self.word_ngrams == 1:
            return word_ids, None, -1
        hashes = fasttext_hashes(distinct).view(np.int32).astype(np.int64).view(np.uint64)
        return word_ids, hashes, distinct.index(EOS) if EOS in distinct else -1

    def encode_rows(self, tables, rows: np.ndarray, lengths: np.ndarray):
        """:meth:`encode` of the texts whose tokens are ``rows`` (indices into the
        distinct tokens that ``tables`` describes), ``lengths`` tokens each.

        Row i of a (tokens, n) table holds token i's word id and the ids of the
        2..n-grams that start at it (-1 where there is none), so reading the table
        row by row lists each text's features together. The n-gram hash follows
        the C++ code's 64-bit arithmetic, which unsigned numpy integers wrap exactly.
        """
        if len(lengths) == 0:
            return np.empty(0, dtype=np.int32), lengths
        word_ids, hashes, eos = tables
        table = np.full((len(rows), self.word_ngrams), -1, dtype=np.int32)  # half the memory of int64
        table[:, 0] = word_ids[rows]
        if self.word_ngrams > 1:
            word_hash = hashes[rows]
            # An n-gram may run on past token i only if token i is not </s>: n-grams
            # never span two lines (nor a "</s>" inside one, where fastText ends the line).
            open_ = rows != eos
            h, ok = word_hash, np.ones(len(rows), dtype=bool)
            with np.errstate(over="ignore"):
                for k in range(1, self.word_ngrams):  # n-grams of k + 1 words
                    h = h[:-1] * np.uint64(116049371) + word_hash[k:]
                    ok = ok[:-1] & open_[k - 1:-1]
                    table[:len(h), k][ok] = (h[ok] % np.uint64(self.bucket)).astype(np.int32) + len(self.words)
        keep = table >= 0  # a text's entries are consecutive: sum them flat (keep.sum(1) is slow)
        per_text = np.add.reduceat(keep.ravel(), (np.cumsum(lengths) - lengths) * self.word_ngrams,
                                   dtype=np.int64)
        return table[keep], per_text

    def state(self) -> dict:
        return {"words": self.words, "word_counts": self.word_counts, "labels": self.labels,
                "label_counts": self.label_counts, "word_ngrams": self.word_ngrams, "bucket": self.bucket}


# --- the model ---------------------------------------------------------------------

class FastText(nn.Module):
    """hidden = mean of the feature embeddings; scores from one output matrix.

    :meth:`loss` defines each loss for autograd; :meth:`sgd_step` trains with the
    same gradients written out (what fastText's C++ does), which is several
    times faster than autograd and a sparse optimiser here, and is checked
    against :meth:`loss` by the tests.
    """

    def __init__(self, num_features: int, num_labels: int, dim: int, loss: str = "softmax",
                 label_counts: Sequence[int] | None = None, neg: int = 5, shared: bool = False):
        super().__init__()
        if loss not in ("softmax", "hs", "ns", "ova"):
            raise ValueError(f"loss must be 'softmax', 'hs', 'ns' or 'ova', got {loss!r}")
        if loss in ("hs", "ns") and label_counts is None:
            raise ValueError(f"loss={loss!r} needs label_counts")
        self.loss_name, self.num_labels, self.neg = loss, num_labels, neg
        weight = torch.empty(num_features, dim)
        if shared:  # for Hogwild workers: filled in shared memory, not filled, then copied there
            weight.share_memory_()
        weight.uniform_(-1.0 / dim, 1.0 / dim)  # fastText's initialisation
        self.input = nn.EmbeddingBag(num_features, dim, mode="mean", _weight=weight)
        rows = num_labels - 1 if loss == "hs" else num_labels  # hs: one row per inner tree node
        self.output = nn.Parameter(torch.zeros(rows, dim))  # zero, as in fastText
        if loss == "hs":
            codes = huffman_codes(list(label_counts))
            depth = max(len(nodes) for nodes, _ in codes)
            nodes = torch.zeros(num_labels, depth, dtype=torch.long)
            signs = torch.zeros(num_labels, depth)  # 0 marks padding beyond a path's end
            for label, (path, bits) in enumerate(codes):
                nodes[label, :len(path)] = torch.tensor(path)
                signs[label, :len(path)] = 1 - 2 * torch.tensor(bits, dtype=torch.float)
            self.register_buffer("paths", nodes, persistent=False)
            self.register_buffer("signs", signs, persistent=False)
        if loss == "ns":  # negatives drawn in proportion to sqrt(label count), as fastText
            probs = torch.tensor(label_counts, dtype=torch.float).sqrt()
            self.register_buffer("neg_probs", probs / probs.sum(), persistent=False)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.input(ids, offsets)  # hidden: (B, dim)

    def _path_scores(self, hidden, labels):  # (B, depth) logits along each label's path
        return (self.output[self.paths[labels]] * hidden[:, None, :]).sum(-1)

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor | None = None):
        """Summed over the batch (one full SGD step per example). ``targets``: (B,)
        label ids, or (B, K) 0/1 for ``ova``; ``ns`` draws its ``negatives`` (B, neg)
        unless given."""
        if self.loss_name == "softmax":
            return F.cross_entropy(hidden @ self.output.T, targets, reduction="sum")
        if self.loss_name == "ova":
            return F.binary_cross_entropy_with_logits(hidden @ self.output.T, targets, reduction="sum")
        if self.loss_name == "hs":
            signs = self.signs[targets]
            return -(F.logsigmoid(signs * self._path_scores(hidden, targets)) * signs.abs()).sum()
        negatives = self._sample_negatives(targets) if negatives is None else negatives  # ns
        pos = (self.output[targets] * hidden).sum(-1)
        neg = (self.output[negatives] * hidden[:, None, :]).sum(-1)
        return -(F.logsigmoid(pos).sum() + F.logsigmoid(-neg).sum())

    def score_gradient(self, hidden, targets, negatives=None, with_loss: bool = True):
        """:meth:`loss` and its gradient with respect to the scores it reads:
        (rows, dloss/dscore, loss), where score[b, j] = output[rows[b, j]] . hidden[b];
        ``rows`` is None when every example reads every row (softmax, ova), and
        ``loss`` is None unless ``with_loss`` (computing it costs as much as a
        tenth of a training step).

        softmax: d/ds of -log softmax(s)[y] is softmax(s) - onehot(y). The others
        are sums of binary logistic losses -log sigmoid(sign * s) over chosen rows
        (hs: the label's path, sign from its code bit, 0 past its end; ns: the label
        with sign +1 and the negatives with -1; ova: every label, +1 if it applies),
        whose derivative is -sign * sigmoid(-sign * s).
        """
        loss = None
        if self.loss_name == "softmax":
            scores = hidden @ self.output.T
            if with_loss:
                log_p = F.log_softmax(scores, dim=-1)
                loss, p = -log_p.gather(1, targets[:, None]).sum(), log_p.exp()
            else:
                p = torch.softmax(scores, dim=-1)
            return None, p.scatter_add_(1, targets[:, None], torch.full_like(p[:, :1], -1.0)), loss  # p - onehot(y)
        rows = None
        if self.loss_name == "hs":
            rows, signs = self.paths[targets], self.signs[targets]
        elif self.loss_name == "ns":
            negatives = self._sample_negatives(targets) if negatives is None else negatives
            rows = torch.cat([targets[:, None], negatives], dim=1)
            signs = torch.ones(rows.shape, device=hidden.device)
            signs[:, 1:] = -1
        else:  # ova
            signs = 2 * targets - 1
        scores = hidden @ self.output.T if rows is None else (self.output[rows] @ hidden[:, :, None])[..., 0]
        if with_loss:
            loss = -(F.logsigmoid(signs * scores) * signs.abs()).sum()
        return rows, -signs * torch.sigmoid(-signs * scores), loss

    @torch.no_grad()
    def sgd_step(self, ids, offsets, weights, lengths, targets, lr: float, with_loss: bool = True):
        """One SGD step on a batch, each example's gradient taken at the same
        parameters and applied in full (fastText's ``Model::update``, written out).
        An example's rows are ids[offsets[b]:][:lengths[b]], each with its weight
        (1 / the example's feature count, times how often the row occurs).
        Returns the summed loss, or None unless ``with_loss``.

        hidden = the weighted sum of the rows (their mean); with g = dloss/dhidden
        (from the output rows before their update), output row r moves by
        -lr * dscore * hidden, and every input row by -lr * weight * g.
        """
        hidden = F.embedding_bag(ids, self.input.weight, offsets, mode="sum", per_sample_weights=weights)
        rows, dscore, loss = self.score_gradient(hidden, targets, with_loss=with_loss)
        dscore.mul_(-lr)  # the output update's factor; dscore @ output is then -lr * g
        if rows is None:  # every row: two small matrix products
            step_hidden = dscore @ self.output
            self.output.addmm_(dscore.T, hidden)
        else:
            step_hidden = (dscore[:, None, :] @ self.output[rows])[:, 0]
            self.output.index_put_((rows.reshape(-1),), (dscore[..., None] * hidden[:, None, :]).flatten(0, 1),
                                   accumulate=True)
        per_row = step_hidden.repeat_interleave(lengths, dim=0, output_size=len(ids)) * weights[:, None]
        self.input.weight.index_put_((ids,), per_row, accumulate=True)
        return loss

    def _sample_negatives(self, targets):
        draw = torch.multinomial(self.neg_probs, targets.numel() * self.neg, replacement=True)
        draw = draw.view(-1, self.neg)
        for _ in range(10):  # redraw negatives that hit the true label (fastText does too)
            clash = draw == targets[:, None]
            if not clash.any():
                break
            draw[clash] = torch.multinomial(self.neg_probs, int(clash.sum()), replacement=True)
        return draw

    @torch.no_grad()
    def log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, K) log-probabilities (for ns / ova: independent per-label sigmoids)."""
        if self.loss_name == "softmax":
            return F.log_softmax(hidden @ self.output.T, dim=-1)
        if self.loss_name == "hs":
            labels = torch.arange(self.num_labels, device=hidden.device)
            scores = torch.einsum("kdh,bh->bkd", self.output[self.paths[labels]], hidden)
            return (F.logsigmoid(self.signs * scores) * self.signs.abs()).sum(-1)
        return F.logsigmoid(hidden @ self.output.T)


# --- training, prediction, evaluation, save / load ----------------------------------------

@dataclass
class Args:
    """The official hyperparameter names and defaults (supervised mode)."""

    lr: float = 0.1
    dim: int = 100
    epoch: int = 5
    minCount: int = 1
    wordNgrams: int = 1
    bucket: int = 2_000_000
    loss: str = "softmax"
    neg: int = 5
    batch_size: int = 8  # ours: examples per step (summed loss); fastText steps per example
    seed: int = 0


class FastTextClassifier:
    """A trained model with its dictionary: ``predict``, ``test``, ``save``, ``load``."""

    def __init__(self, dictionary: Dictionary, model: FastText, args: Args):
        self.dictionary, self.model, self.args = dictionary, model, args
        self.stats: dict = {}

    @property
    def labels(self) -> list[str]:
        return self.dictionary.labels

    def _batch(self, token_lists, device):
        """EmbeddingBag's input: all feature ids in one tensor, and where each text starts."""
        ids, counts = self.dictionary.encode(index_tokens(token_lists))
        offsets = (np.cumsum(counts) - counts).astype(ids.dtype)
        return torch.from_numpy(ids).to(device), torch.from_numpy(offsets).to(device)

    @torch.no_grad()
    def predict(self, text: str | Sequence[str], k: int = 1, threshold: float = 0.0):
        """(labels, probabilities) of the top ``k`` labels above ``threshold``.

        ``text`` is split on whitespace (fastText's rule) unless already a token
        list. A text with no known word is classified from ``</s>`` alone: the
        model's prior, as in fastText.
        """
        return self.predict_many([text], k, threshold)[0]

    @torch.no_grad()
    def predict_many(self, texts, k: int = 1, threshold: float = 0.0, batch_size: int = 1024):
        device = self.model.output.device
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = [t.split() if isinstance(t, str) else t for t in texts[start:start + batch_size]]
            probs = self.model.log_probs(self.model(*self._batch(chunk, device))).exp()
            top = probs.topk(min(k, probs.shape[1]), dim=-1)
            for p, i in zip(top.values.tolist(), top.indices.tolist()):
                keep = [(self.labels[j], q) for j, q in zip(i, p) if q >= threshold]
                out.append(([label for label, _ in keep], [q for _, q in keep]))
        return out

    def test(self, data, k: int = 1) -> tuple[int, float, float]:
        """(examples, precision@k, recall@k) as fastText's ``test``. ``data``: a file
        path or (labels, tokens) pairs. Gold labels never seen in training cannot
        be predicted; like fastText we drop them (with a warning) and skip lines
        left with no label."""
        examples = read_file(data) if isinstance(data, (str, Path)) else data
        unseen = Counter(l for labs, _ in examples for l in labs if l not in self.dictionary.label_id)
        if unseen:
            warnings.warn(f"{sum(unseen.values())} gold labels never seen in training were dropped: "
                          f"{sorted(unseen)[:5]}")
        kept = [(labs, toks) for labs, toks in examples if any(l in self.dictionary.label_id for l in labs)]
        preds = self.predict_many([toks for _, toks in kept], k)
        hits = sum(len(set(p) & set(labs)) for (labs, _), (p, _) in zip(kept, preds))
        n_pred = sum(len(p) for p, _ in preds)
        n_gold = sum(sum(l in self.dictionary.label_id for l in labs) for labs, _ in kept)
        return len(kept), hits / max(n_pred, 1), hits / max(n_gold, 1)

    def save(self, path: str | Path) -> Path:
        return save_atomic({"args": asdict(self.args), "dictionary": self.dictionary.state(),
                                 "model": self.model.state_dict()}, path)

    @classmethod
    def load(cls, path: str | Path, device="cpu") -> "FastTextClassifier":
        state = ckpt.load(path, map_location=device)
        args, dictionary = Args(**state["args"]), Dictionary(**state["dictionary"])
        model = FastText(dictionary.num_features, len(dictionary.labels), args.dim, args.loss,
                         dictionary.label_counts, args.neg)
        ckpt.load_model_state(model, state["model"], str(path))
        return cls(dictionary, model.to(device), args)


class _Examples:
    """Training examples as one flat tensor of feature ids, cut into fixed batches:
    batch k is examples k*B .. k*B+B-1, views made once, so a step copies nothing."""

    def __init__(self, ids: np.ndarray, counts: np.ndarray, weights: np.ndarray, labels: list[list[int]],
                 num_labels: int, multi: bool, batch_size: int, device):
        starts = np.concatenate([[0], np.cumsum(counts)])
        first = np.arange(len(counts)) // batch_size * batch_size  # each example's batch starts here
        offsets = torch.from_numpy((starts[:-1] - starts[first]).astype(ids.dtype)).to(device)  # within its batch
        ids, lengths, starts = torch.from_numpy(ids).to(device), torch.from_numpy(counts).to(device), starts.tolist()
        weights = torch.from_numpy(weights).to(device)
        choices = None
        if multi:  # ova: every label of a line is a target
            targets = torch.zeros(len(labels), num_labels, device=device)
            for row, labs in enumerate(labels):
                targets[row, labs] = 1.0
        elif all(len(labs) == 1 for labs in labels):
            targets = torch.tensor([labs[0] for labs in labels], device=device)
        else:  # one label per step, drawn at random from the line's labels, as in fastText
            width = max(len(labs) for labs in labels)
            targets = torch.tensor([labs + labs[:1] * (width - len(labs)) for labs in labels], device=device)
            choices = torch.tensor([len(labs) for labs in labels], device=device)
        self.batches = []
        for a in range(0, len(labels), batch_size):
            b = min(a + batch_size, len(labels))
            self.batches.append((ids[starts[a]:starts[b]], offsets[a:b], weights[starts[a]:starts[b]], lengths[a:b],
                                 targets[a:b], None if choices is None else choices[a:b]))
        self.batch_size, self.device = batch_size, ids.device

    def __len__(self):
        return len(self.batches)

    def batch(self, k: int):
        """(ids, offsets, weights, lengths, targets) of batch k: :meth:`FastText.sgd_step`'s input."""
        *inputs, targets, choices = self.batches[k]
        if choices is not None:
            pick = (torch.rand(len(choices), device=self.device) * choices).long()
            targets = targets.gather(1, pick[:, None])[:, 0]
        return *inputs, targets


LOSS_EVERY = 16  # the training loss is computed on every 16th batch: a sample, nearly free


def _train_shard(model: FastText, data: _Examples, batches: list[int], args: Args, seed: int,
                 num_threads: int, progress: bool) -> None:
    """SGD over ``batches`` (batch numbers of ``data``) for ``args.epoch`` epochs, the
    learning rate decaying linearly to 0; the batches' order is reshuffled every
    epoch. One Hogwild worker when there are several."""
    torch.set_num_threads(num_threads)
    torch.manual_seed(seed)
    total, step = args.epoch * len(batches), 0
    bar = tqdm(total=total, desc="training", unit="batch", disable=not progress, mininterval=0.5)
    for epoch in range(args.epoch):
        loss, sampled = torch.zeros((), device=data.device), 0
        for k in torch.randperm(len(batches)).tolist():
            batch_loss = model.sgd_step(*data.batch(batches[k]), lr=args.lr * (1 - step / total),
                                        with_loss=step % LOSS_EVERY == 0)
            if batch_loss is not None:
                loss += batch_loss
                sampled += 1
            step += 1
            bar.update()
        loss = loss.item() / max(1, sampled * data.batch_size)
        if not math.isfinite(loss):
            raise NonFiniteLossError(f"loss is {loss} in epoch {epoch + 1} of {args.epoch}: "
                                     f"lr={args.lr} is too high for batch_size={args.batch_size}")
        bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}")
    bar.close()


def _training_features(dictionary: Dictionary, indexed, order: np.ndarray, threads: int,
                       piece_tokens: int = 1 << 18):
    """:func:`distinct_per_text` of ``dictionary.encode(indexed)`` with the texts in
    the given order, a piece of texts at a time (``piece_tokens`` tokens or so: small
    arrays, as a fresh process pays for every page of memory it touches) in
    ``threads`` threads (numpy lets go of the GIL in its loops). Returns (ids,
    distinct per text, weights)."""
    distinct, rows, lengths = indexed
    tables, starts = dictionary.token_tables(distinct), np.cumsum(lengths) - lengths
    ends = np.cumsum(lengths[order])
    cuts = np.unique(np.searchsorted(ends, np.arange(0, ends[-1:].sum(), piece_tokens)))

    def piece(a: int, b: int):
        texts = order[a:b]
        n = lengths[texts]
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)  # each token's place in its text
        tokens = rows[np.repeat(starts[texts], n) + k]
        return distinct_per_text(*dictionary.encode_rows(tables, tokens, n))

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(piece, cuts.tolist(), cuts[1:].tolist() + [len(order)]))
    empty = (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float32))  # no texts
    return tuple(np.concatenate(column) for column in zip(empty, *results))


def train_supervised(data, lr: float = 0.1, dim: int = 100, epoch: int = 5, minCount: int = 1,
                     wordNgrams: int = 1, bucket: int = 2_000_000, loss: str = "softmax", neg: int = 5,
                     batch_size: int = 8, thread: int = 1, seed: int = 0, verbose: bool = True,
                     device: str | torch.device = "cpu") -> FastTextClassifier:
    """Train like ``fasttext.train_supervised`` (same argument names and defaults).

    ``data``: a path to a file in fastText's format, or (labels, tokens) pairs.
    Lines without a label are skipped with a warning naming the first few; so
    are lines with no feature at all, as fastText skips them. The examples are
    shuffled once (``seed``) and cut into batches of ``batch_size``; each epoch
    visits the batches in a new order, with the learning rate decaying linearly
    from ``lr`` to 0 over all steps.

    ``thread=N`` does what fastText's threads do: the model goes to shared memory
    and N worker processes each train on 1/N of the batches, updating the shared
    weights without locks (Hogwild; sparse updates rarely collide).
    ``device="cuda"`` trains on a GPU (one process).
    """
    if torch.device(device).type != "cpu" and thread > 1:
        raise ValueError("thread > 1 is CPU Hogwild; on a GPU use thread=1")
    args = Args(lr, dim, epoch, minCount, wordNgrams, bucket, loss, neg, batch_size, seed)
    t0 = time.perf_counter()  # preparation counts from the file, as the official's time does
    with _collector_paused():
        if isinstance(data, (str, Path)):
            lines, unlabelled, label_lists, indexed = read_indexed(data)
        else:
            examples = list(data)
            lines = len(examples)
            unlabelled = [n for n, (labs, _) in enumerate(examples, start=1) if not labs]
            examples = [e for e in examples if e[0]]
            label_lists = [labs for labs, _ in examples]
            indexed = index_tokens([toks for _, toks in examples])
        if unlabelled:
            warnings.warn(f"{len(unlabelled)} of {lines} lines have no label and were skipped "
                          f"(lines {unlabelled[:5]}{' ...' if len(unlabelled) > 5 else ''})")
        # a file sorted by label must not give sorted batches
        order = np.random.default_rng(seed).permutation(len(label_lists))
        label_lists = [label_lists[i] for i in order]
        dictionary = Dictionary.from_indexed(indexed, label_lists, minCount, wordNgrams, bucket)
        ids, counts, weights = _training_features(dictionary, indexed, order, thread)
        labels = [[dictionary.label_id[l] for l in labs] for labs in label_lists]
        if len(counts) and not counts.any():
            raise ValueError(f"no line has a feature left at minCount={minCount}: lower minCount")
        if (counts == 0).any():  # only possible when minCount drops </s>
            warnings.warn(f"{int((counts == 0).sum())} lines have no feature left at "
                          f"minCount={minCount} and were skipped")
            labels = [labs for labs, c in zip(labels, counts) if c]
            counts = counts[counts > 0]
        multi = loss == "ova"
        torch.manual_seed(seed)
        model = FastText(dictionary.num_features, len(dictionary.labels), dim, loss,
                         dictionary.label_counts, neg, shared=thread > 1)
        model.to(device)
        data = _Examples(ids, counts, weights, labels, len(dictionary.labels), multi, batch_size,
                         device)
    prep_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    if thread <= 1:
        _train_shard(model, data, list(range(len(data))), args, seed, torch.get_num_threads(), verbose)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
    else:
        model.share_memory()
        jobs = [(model, data, list(range(r, len(data), thread)), args, seed + r, 1, verbose and r == 0)
                for r in range(thread)]
        hogwild.run(hogwild.context(), _train_shard, jobs)
    train_s = time.perf_counter() - t1
    tokens = int(indexed[2].sum())  # words and one </s> per line, as fastText counts them
    classifier = FastTextClassifier(dictionary, model, args)
    classifier.stats = {"prep_s": prep_s, "train_s": train_s, "tokens_per_epoch": tokens,
                        "words_per_s": tokens * epoch / (prep_s + train_s),
                        "train_words_per_s": tokens * epoch / train_s, "thread": thread}
    if verbose:
        print(f"{len(labels):,} examples, {len(dictionary.words):,} words, {len(dictionary.labels)} labels; "
              f"reading and features {prep_s:.1f} s, training {train_s:.1f} s "
              f"({classifier.stats['train_words_per_s'] / 1e6:.2f}M words/s while training, {thread} thread(s))")
    return classifier
