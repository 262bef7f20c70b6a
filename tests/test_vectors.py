"""build_embedding_matrix: rows in vocabulary order, case fallback, OOV strategies, coverage."""

import numpy as np
import pytest
import torch

from bigtext_lite.data.text import Vocab
from bigtext_lite.data.vectors import build_embedding_matrix


@pytest.fixture
def vocab():
    return Vocab.build([["good", "good", "good", "Film", "film", "zzq"]])  # specials, good, Film, film, zzq


VECTORS = {"good": np.array([1.0, 2.0]), "film": np.array([3.0, 4.0])}


def test_rows_follow_the_vocabulary_and_specials_stay_zero(vocab):
    matrix, cov = build_embedding_matrix(vocab, VECTORS, 2, oov="zeros")
    assert torch.equal(matrix[vocab["good"]], torch.tensor([1.0, 2.0]))
    assert torch.equal(matrix[vocab["Film"]], torch.tensor([3.0, 4.0]))  # through the lower-cased form
    assert not matrix[vocab["<pad>"]].any() and not matrix[vocab["zzq"]].any()
    assert (cov.types_found, cov.types_total, cov.lowercased) == (3, 4, 1)
    assert (cov.tokens_found, cov.tokens_total) == (5, 6)
    assert cov.top_misses == [("zzq", 1)]


def test_oov_strategies_and_fallback(vocab):
    mean, _ = build_embedding_matrix(vocab, VECTORS, 2, oov="mean")
    assert torch.allclose(mean[vocab["zzq"]], torch.tensor([7 / 3, 10 / 3]))  # mean of the 3 found rows
    rand, _ = build_embedding_matrix(vocab, VECTORS, 2, oov="random", seed=1)
    assert rand[vocab["zzq"]].abs().sum() > 0 and not rand[vocab["<pad>"]].any()
    composed, cov = build_embedding_matrix(vocab, VECTORS.get, 2, fallback=lambda w: np.array([9.0, 9.0]))
    assert torch.equal(composed[vocab["zzq"]], torch.tensor([9.0, 9.0])) and cov.composed == 1
    assert cov.types_found == 3  # composed words do not count as covered


def test_bad_vectors_and_options_are_named(vocab):
    with pytest.raises(ValueError, match=r"vector of 'good' has shape \(3,\)"):
        build_embedding_matrix(vocab, {"good": np.zeros(3)}, 2)
    with pytest.raises(ValueError, match="oov must be one of"):
        build_embedding_matrix(vocab, VECTORS, 2, oov="ignore")
