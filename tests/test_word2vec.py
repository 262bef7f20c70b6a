"""Unsupervised word vectors: they learn co-occurrence, CBOW and skip-gram both train,
unseen words get n-gram vectors, and our .bin is read by the official fastText."""

import numpy as np
import pytest

from bigtext_lite.data.vectors import FastTextModel
from bigtext_lite.models import word2vec as W


def topic_corpus(lines=400, seed=0):
    """Two topics that never share a line: a word's neighbours must be from its own topic."""
    rng = np.random.default_rng(seed)
    topics = [[f"red{i}" for i in range(8)], [f"blue{i}" for i in range(8)]]
    return [list(rng.choice(topics[k % 2], 10)) for k in range(lines)]


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_vectors_learn_which_words_share_lines(model):
    m = W.train_unsupervised(topic_corpus(), model=model, dim=16, epoch=5, minCount=1, maxn=0, t=1.0,
                             lr=0.05, batch_size=64, verbose=False)
    vecs = m.vectors()
    for word in ("red0", "blue3"):
        neighbours = [w for w, _ in vecs.most_similar(word, k=5)]
        assert all(w[:3] == word[:3] for w in neighbours), (word, neighbours)
    assert m.stats["epoch_loss"][-1] < m.stats["epoch_loss"][0]


def test_unseen_words_get_ngram_vectors_and_min_count_drops_rare_words():
    texts = topic_corpus(200) + [["hapax"]]
    m = W.train_unsupervised(texts, dim=8, epoch=1, minCount=2, minn=3, maxn=4, bucket=1000, verbose=False)
    assert "hapax" not in m.index and "red1" in m.index
    assert np.abs(m.get_word_vector("red99")).sum() > 0  # composed from <re, red, ed9, ...
    assert m.subword_ids("red1")[0] == m.index["red1"]


def test_our_bin_is_read_by_the_official_fasttext(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    m = W.train_unsupervised(topic_corpus(200), dim=8, epoch=1, minCount=1, minn=2, maxn=4, bucket=1000,
                             verbose=False)
    path = m.save(tmp_path / "ours.bin")
    official = fasttext.load_model(str(path))
    ours = FastTextModel(path)
    for word in ("red1", "blue7", "</s>", "unseen", "red77"):
        np.testing.assert_allclose(official.get_word_vector(word), m.get_word_vector(word), atol=1e-6)
        np.testing.assert_allclose(ours.get_word_vector(word), m.get_word_vector(word), atol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match=r"unknown arguments \['window'\]"):
        W.train_unsupervised([["a"]], window=5)
    with pytest.raises(ValueError, match="model must be 'skipgram' or 'cbow'"):
        W.train_unsupervised([["a"]], model="glove")
    with pytest.raises(ValueError, match="no word occurs 5 times"):
        W.train_unsupervised([["a", "b"]], minCount=5, verbose=False)
