"""What the fastText tests share: a toy task, and the readable versions that the fast
code is checked against (a dictionary built from pairs, features text by text)."""

from __future__ import annotations

import random

import numpy as np

from bigtext_lite import fasttext as ft

WORDS = ["good", "great", "fun", "bad", "awful", "dull", "the", "movie", "plot", "café", "naïve",
         "日本", "🎬", "x"]


def toy_examples(n=400, seed=0):
    rng = random.Random(seed)
    pos, neg, filler = WORDS[:3], WORDS[3:6], WORDS[6:]
    out = []
    for _ in range(n):
        label = rng.choice(["__label__pos", "__label__neg"])
        words = [rng.choice(pos if label.endswith("pos") else neg)] + rng.sample(filler, 4)
        rng.shuffle(words)
        out.append(([label], words))
    return out


def build_dictionary(examples, **kwargs) -> ft.Dictionary:
    """The dictionary of (labels, tokens) pairs, as train_supervised builds it."""
    texts = ft.index_labelled(examples)
    return ft.Dictionary.from_indexed(texts.indexed, texts.labels, **kwargs)


def features(dictionary: ft.Dictionary, token_lists) -> list[np.ndarray]:
    """Each text's feature ids (its known words and </s>, then its n-gram buckets)."""
    ids, counts = dictionary.encode(ft.index_tokens(token_lists))
    return np.split(ids, np.cumsum(counts)[:-1]) if len(counts) else []


def assert_reads_as_the_reference(path, piece_bytes=1 << 20):
    """read_indexed gives what the readable way gives: read_file, then index_labelled."""
    got = ft.read_indexed(path, piece_bytes)
    expected = ft.index_labelled(ft.read_file(path))
    assert (got.lines, got.unlabelled, got.labels) == (expected.lines, expected.unlabelled,
                                                       expected.labels)
    # the same ids: first occurrences in labelled lines
    assert got.indexed.distinct == expected.indexed.distinct
    assert got.indexed.rows.tolist() == expected.indexed.rows.tolist()
    assert got.indexed.lengths.tolist() == expected.indexed.lengths.tolist()
