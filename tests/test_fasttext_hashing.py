"""fastText's hashing: FNV-1a as the C++ does it, the vectorised version equal to it,
and the same buckets as the official package."""

from __future__ import annotations

import random

import pytest
from fasttext_helpers import build_dictionary, features, toy_examples

from bigtext_lite import fasttext as ft
from bigtext_lite.experiments.official import sentence_vector_gap, train_official


def test_fnv1a_known_values_and_sign_extension():
    assert ft.fasttext_hash("") == 2166136261
    assert ft.fasttext_hash("a") == 0xE40C292C  # the published 32-bit FNV-1a of "a"

    def naive(token):  # FNV-1a over unsigned bytes
        h = 2166136261
        for b in token.encode():
            h = ((h ^ b) * 16777619) & 0xFFFFFFFF
        return h

    assert ft.fasttext_hash("movie") == naive("movie")  # ASCII: identical
    assert ft.fasttext_hash("café") != naive("café")  # bytes >= 0x80 are sign-extended


def test_vectorised_hashes_equal_the_reference():
    rng = random.Random(0)
    tokens = ["", "a", "café", "日本", "🎬", "x" * 300, "y" * 257, "movie"]
    tokens += ["".join(rng.choice("abzé日🎬") for _ in range(rng.randint(0, 30)))
               for _ in range(500)]
    assert ft.fasttext_hashes(tokens).tolist() == [ft.fasttext_hash(t) for t in tokens]
    assert ft.fasttext_hashes([]).shape == (0,)


def test_hash_parity_with_official_fasttext(tmp_path):
    """Same tokens, same n-grams, same buckets: our features index the official
    model's input matrix to give exactly its sentence vector."""
    pytest.importorskip("fasttext")
    examples = toy_examples(300)
    path = ft.write_file(tmp_path / "train.txt", [t for _, t in examples],
                         [labs for labs, _ in examples])
    official, _ = train_official(path, wordNgrams=3, bucket=5003, dim=8, epoch=5, verbose=0,
                                 thread=1)
    ours = build_dictionary(examples, word_ngrams=3, bucket=5003)
    assert sorted(official.words) == sorted(ours.words)
    texts = [["café", "naïve", "日本", "🎬", "unseen-wörd", "plot"], ["the", "movie"], ["x"], []]
    ids = [features(ours, [tokens])[0] for tokens in texts]
    assert sentence_vector_gap(official, ours.words, ids, texts) < 1e-6
    # the check can fail: with bucket ids one off, the first text's (its unseen word
    # and its bigrams are buckets) is no longer the official's sentence vector
    shifted = [[i + (i >= len(ours.words)) for i in text_ids] for text_ids in ids]
    assert sentence_vector_gap(official, ours.words, shifted, texts[:1]) > 1e-5
    with pytest.raises(ValueError, match="text 1 has no feature ids"):
        sentence_vector_gap(official, ours.words, [ids[0], []], texts[:2])
    with pytest.raises(ValueError, match="1 of our words are not in the official model"):
        sentence_vector_gap(official, ours.words + ["never-seen"], ids, texts)
