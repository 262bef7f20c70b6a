"""fastText's dictionary and features: the vectorised n-gram features equal the
reference code, each text's distinct rows with weights give the same mean, and the
fast preparation equals the readable code on the real IMDB."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from fasttext_helpers import assert_reads_as_the_reference, build_dictionary, features, toy_examples

from bigtext_lite import fasttext as ft
from bigtext_lite.experiments.official import write_imdb
from bigtext_lite.fasttext import dictionary


def test_vectorised_features_equal_the_reference_ngram_code():
    examples = toy_examples(50)
    d = build_dictionary(examples, word_ngrams=3, bucket=997)
    many = features(d, [toks for _, toks in examples])
    for (_, toks), got in zip(examples, many):
        tokens = toks + [ft.EOS]
        words = [d.word_id[t] for t in tokens if t in d.word_id]
        grams = [len(d.words) + b
                 for b in ft.ngram_buckets([ft.fasttext_hash(t) for t in tokens], 3, 997)]
        assert sorted(got.tolist()) == sorted(words + grams)
        assert sorted(features(d, [toks])[0].tolist()) == sorted(words + grams)  # alone


def test_no_labels_at_all_is_refused():
    with pytest.raises(ValueError, match="no line has a label"):
        build_dictionary([([], ["a", "b"])])


def test_distinct_rows_with_weights_give_the_same_mean():
    rng = np.random.default_rng(0)
    counts = np.array([5, 1, 12, 3])
    ids = rng.integers(0, 6, counts.sum()).astype(np.int32)  # many repeats within a text
    table = rng.normal(size=(6, 3))
    distinct, per_text, weights = ft.distinct_per_text(ids, counts)
    assert per_text.sum() == len(distinct) < len(ids)
    at, dt = np.cumsum(counts) - counts, np.cumsum(per_text) - per_text
    for t in range(len(counts)):
        raw = ids[at[t]:at[t] + counts[t]]
        rows, w = distinct[dt[t]:dt[t] + per_text[t]], weights[dt[t]:dt[t] + per_text[t]]
        assert len(set(rows.tolist())) == len(rows) and set(rows.tolist()) == set(raw.tolist())
        np.testing.assert_allclose(w @ table[rows], table[raw].mean(0), rtol=1e-6)


def distinct_per_text_reference(ids, counts):
    out_ids, per_text, weights = [], [], []
    for text in np.split(ids, np.cumsum(counts)[:-1]):
        seen = Counter(text.tolist())
        out_ids += sorted(seen)
        per_text.append(len(seen))
        weights += [np.float32(seen[i] / len(text)) for i in sorted(seen)]
    return out_ids, per_text, weights


def test_distinct_per_text_equals_counting_each_text():
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 700, 60)  # lengths across many powers of two, and empty texts
    counts[:3] = [0, 1, 2]
    ids = rng.integers(0, 50, counts.sum()).astype(np.int32)
    ids[:400] = rng.integers(0, 2 ** 31 - 2, 400)  # large ids, below the padding value
    got = ft.distinct_per_text(ids, counts)
    expected = distinct_per_text_reference(ids, counts)
    assert [g.tolist() for g in got] == [list(e) for e in expected]
    assert got[0].dtype == np.int32 and got[2].dtype == np.float32


@pytest.mark.slow
def test_fast_preparation_equals_the_reference_on_real_imdb(real_root, tmp_path):
    """Reading, then features and their weights, equal the readable code on the
    real IMDB training file (features: 1,500 reviews, in training order)."""
    train_path, _ = write_imdb(tmp_path, "polarity", max_test=10)
    assert_reads_as_the_reference(train_path)
    texts = ft.read_indexed(train_path)
    d = ft.Dictionary.from_indexed(texts.indexed, texts.labels, word_ngrams=2, bucket=2_000_000)
    order = np.random.default_rng(0).permutation(len(texts.labels))[:1500]
    ids, per_text, weights = dictionary.training_features(d, texts.indexed, order, 2,
                                                          piece_tokens=50_000)
    distinct, rows, lengths = texts.indexed.distinct, texts.indexed.rows, texts.indexed.lengths
    starts, hashes = np.cumsum(lengths) - lengths, {}
    expected_features = []
    for t in order.tolist():
        tokens = [distinct[i] for i in rows[starts[t]:starts[t] + lengths[t]].tolist()]
        token_hashes = [hashes.setdefault(w, ft.fasttext_hash(w)) for w in tokens]
        expected_features.append([d.word_id[w] for w in tokens]
                                 + [len(d.words) + b
                                    for b in ft.ngram_buckets(token_hashes, 2, d.bucket)])
    expected = distinct_per_text_reference(np.concatenate(expected_features).astype(np.int32),
                                           np.array([len(f) for f in expected_features]))
    assert ids.tolist() == expected[0] and per_text.tolist() == expected[1]
    assert weights.tolist() == expected[2]
