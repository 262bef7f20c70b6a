"""fastText's dictionary: texts as indices into their distinct tokens, the words kept at
``minCount`` and the labels, and the features of a text (its known words and ``</s>``,
and its hashed word n-grams), vectorised over all texts at once; for training, each
text's distinct features with weights (:func:`distinct_per_text`).

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from bigtext_lite.fasttext.hashing import EOS, fasttext_hashes


@dataclass
class Indexed:
    """Texts as indices into a list of their distinct tokens; each text ends with ``</s>``."""

    distinct: list[str]  # every token once, in the order of its first occurrence
    rows: np.ndarray  # (tokens,): each token's index into distinct, text after text
    lengths: np.ndarray  # (texts,) int64: tokens per text, its </s> included


@dataclass
class LabelledTexts:
    """Lines of (labels, tokens), the unlabelled ones dropped and the rest indexed."""

    lines: int  # lines read, labelled or not
    unlabelled: list[int]  # the 1-based numbers of the lines without a label
    labels: list[list[str]]  # the labels of each labelled line
    indexed: Indexed  # the tokens of the labelled lines


def index_tokens(token_lists) -> Indexed:
    """Every token of the texts, each text followed by ``</s>``, as an index into a
    list of the distinct tokens.

    One C-level pass over all tokens: ``index.setdefault(token, position)`` keeps
    the position where each token first occurs and returns it for every later
    occurrence; numpy then renumbers those positions 0, 1, 2, ... A Python loop
    over IMDB's 7 million tokens would take longer than training.
    """
    token_lists = token_lists if isinstance(token_lists, list) else list(token_lists)
    lengths = np.fromiter((len(t) + 1 for t in token_lists), dtype=np.int64,
                          count=len(token_lists))  # (texts,)
    stream = itertools.chain.from_iterable(itertools.chain(t, (EOS,)) for t in token_lists)
    index: dict[str, int] = {}
    first = np.fromiter(map(index.setdefault, stream, itertools.count()), dtype=np.int64,
                        count=int(lengths.sum()))  # (tokens,): where each token first occurs
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.fromiter(index.values(), dtype=np.int64, count=len(index))] = np.arange(len(index))
    return Indexed(list(index), renumber[first], lengths)


def index_labelled(examples) -> LabelledTexts:
    """(labels, tokens) pairs without the unlabelled ones, which fastText skips, the
    rest indexed by :func:`index_tokens`. ``read_indexed`` gives the same from a file."""
    examples = list(examples)
    unlabelled = [n for n, (labs, _) in enumerate(examples, start=1) if not labs]
    labelled = [(labs, toks) for labs, toks in examples if labs]
    return LabelledTexts(len(examples), unlabelled, [labs for labs, _ in labelled],
                         index_tokens([toks for _, toks in labelled]))


def distinct_per_text(ids: np.ndarray, counts: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's distinct feature ids, with weights (occurrences / features of the
    text): the same mean from fewer rows (about half for IMDB's words, 0.7 with
    bigrams), so training reads and updates fewer rows. Returns (ids, distinct
    per text, weights); a text's ids come sorted.

    Each text is a row of a buffer, padded to a power of two with a value no id has,
    rows of one width together: sorting the rows of each width as a matrix is many
    short sorts in cache, several times faster than one sort of all (text, id) pairs.
    """
    pad = np.iinfo(ids.dtype).max
    width = 1 << np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)  # (texts,)
    by_width = np.argsort(width, kind="stable")  # the texts row by row
    row_at = np.cumsum(width[by_width]) - width[by_width]  # (texts,): by row
    text_at = np.empty(len(counts), dtype=np.int64)  # (texts,): where each text's row starts
    text_at[by_width] = row_at
    buf = np.full(int(width.sum()), pad, dtype=ids.dtype)  # (sum of widths,)
    buf[np.repeat(text_at - (np.cumsum(counts) - counts), counts) + np.arange(len(ids))] = ids
    for w in np.unique(width).tolist():
        rows = np.flatnonzero(width[by_width] == w)
        buf[row_at[rows[0]]:row_at[rows[-1]] + w].reshape(-1, w).sort(axis=1)  # (rows, w)
    new = np.ones(len(buf) + 1, dtype=bool)  # where a run of equal ids starts, and the end
    np.not_equal(buf[1:], buf[:-1], out=new[1:-1])
    new[row_at] = True
    at = np.flatnonzero(new)  # (runs + 1,)
    run_at = np.searchsorted(at, text_at)  # each text's first run; a padded row ends in one of pad
    per_text = np.diff(run_at[by_width], append=len(at) - 1)[np.argsort(by_width)]  # (texts,)
    per_text -= counts < width
    runs = np.repeat(run_at - (np.cumsum(per_text) - per_text), per_text)  # (distinct ids,)
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
        self.label_id = {label: i for i, label in enumerate(labels)}

    @classmethod
    def from_indexed(cls, indexed: Indexed, label_lists, min_count: int = 1,
                     word_ngrams: int = 1, bucket: int = 2_000_000):
        """From the labelled texts (:func:`index_tokens`) and their label lists."""
        labels = Counter(itertools.chain.from_iterable(label_lists))
        if not labels:
            raise ValueError("no line has a label: label lines as '__label__<name> text ...'")
        counts = np.bincount(indexed.rows, minlength=len(indexed.distinct))  # (distinct,)
        kept = np.flatnonzero(counts >= min_count)
        kept = kept[np.argsort(-counts[kept], kind="stable")]  # by count, as fastText sorts words
        labs = sorted(labels, key=lambda label: (-labels[label], label))
        return cls([indexed.distinct[i] for i in kept.tolist()], counts[kept].tolist(), labs,
                   [labels[label] for label in labs], word_ngrams, bucket)

    @property
    def num_features(self) -> int:
        return len(self.words) + self.bucket

    def encode(self, indexed: Indexed) -> tuple[np.ndarray, np.ndarray]:
        """Feature ids of texts, vectorised over all their tokens: (feature ids of all
        texts one after another, count per text). A text's features are its known
        words and ``</s>``, and its n-gram buckets (offset by the number of words).
        Unknown words add no word feature but do take part in n-grams, as in fastText."""
        return self.encode_rows(self.token_tables(indexed.distinct), indexed.rows,
                                indexed.lengths)

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
        # table: (tokens, word_ngrams), int32 for half the memory of int64
        table = np.full((len(rows), self.word_ngrams), -1, dtype=np.int32)
        table[:, 0] = word_ids[rows]
        if self.word_ngrams > 1:
            word_hash = hashes[rows]  # (tokens,)
            # An n-gram may run on past token i only if token i is not </s>: n-grams
            # never span two lines (nor a "</s>" inside one, where fastText ends the line).
            open_ = rows != eos
            h, ok = word_hash, np.ones(len(rows), dtype=bool)
            with np.errstate(over="ignore"):
                for k in range(1, self.word_ngrams):  # n-grams of k + 1 words
                    h = h[:-1] * np.uint64(116049371) + word_hash[k:]  # (tokens - k,)
                    ok = ok[:-1] & open_[k - 1:-1]
                    buckets = (h[ok] % np.uint64(self.bucket)).astype(np.int32)
                    table[:len(h), k][ok] = buckets + len(self.words)
        keep = table >= 0  # a text's entries are consecutive: sum them flat (keep.sum(1) is slow)
        per_text = np.add.reduceat(keep.ravel(), (np.cumsum(lengths) - lengths) * self.word_ngrams,
                                   dtype=np.int64)  # (texts,)
        return table[keep], per_text

    def state(self) -> dict:
        return {"words": self.words, "word_counts": self.word_counts, "labels": self.labels,
                "label_counts": self.label_counts, "word_ngrams": self.word_ngrams,
                "bucket": self.bucket}


def training_features(dictionary: Dictionary, indexed: Indexed, order: np.ndarray, threads: int,
                      piece_tokens: int = 1 << 18):
    """:func:`distinct_per_text` of ``dictionary.encode(indexed)`` with the texts in
    the given order, a piece of texts at a time (``piece_tokens`` tokens or so: small
    arrays, as a fresh process pays for every page of memory it touches) in
    ``threads`` threads (numpy lets go of the GIL in its loops). Returns (ids,
    distinct per text, weights)."""
    lengths = indexed.lengths
    tables, starts = dictionary.token_tables(indexed.distinct), np.cumsum(lengths) - lengths
    ends = np.cumsum(lengths[order])  # (texts,)
    cuts = np.unique(np.searchsorted(ends, np.arange(0, ends[-1:].sum(), piece_tokens)))

    def piece(a: int, b: int):
        texts = order[a:b]
        n = lengths[texts]
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)  # each token's place in its text
        tokens = indexed.rows[np.repeat(starts[texts], n) + k]
        return distinct_per_text(*dictionary.encode_rows(tables, tokens, n))

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(piece, cuts.tolist(), cuts[1:].tolist() + [len(order)]))
    empty = (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float32))  # no texts
    return tuple(np.concatenate(column) for column in zip(empty, *results))
