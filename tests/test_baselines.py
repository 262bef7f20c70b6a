"""The NB log-count ratio by hand, and the baselines on a toy task."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from bigtext_lite import baselines


def test_nb_log_count_ratio_by_hand():
    # features: "good", "bad", "film"; two positive rows, one negative row
    X = np.array([[1, 0, 1],
                  [1, 0, 0],
                  [0, 1, 1]])
    y = np.array([1, 1, 0])
    # alpha = 1: p = 1 + [2, 0, 1] = [3, 1, 2] (sum 6); q = 1 + [0, 1, 1] = [1, 2, 2] (sum 5)
    expected = np.log([(3 / 6) / (1 / 5), (1 / 6) / (2 / 5), (2 / 6) / (2 / 5)])
    np.testing.assert_allclose(baselines.nb_log_count_ratio(X, y), expected)
    np.testing.assert_allclose(baselines.nb_log_count_ratio(sp.csr_matrix(X), y), expected)
    assert baselines.nb_log_count_ratio(X, y)[0] > 0 > baselines.nb_log_count_ratio(X, y)[1]
    with pytest.raises(ValueError, match="needs both labels"):
        baselines.nb_log_count_ratio(X, np.array([1, 1, 1]))


def toy(n, seed):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        y = int(rng.integers(0, 2))
        words = list(rng.choice(["the", "film", "plot", "actor", "scene"], 6))
        words.insert(int(rng.integers(0, 6)), "not bad" if y else "not good")
        words.append(rng.choice(["great", "fine"]) if y else rng.choice(["awful", "dull"]))
        texts.append(" ".join(words))
        labels.append(y)
    return texts, labels


@pytest.mark.parametrize("fit", [baselines.tfidf_lr, baselines.nb_lr])
def test_baselines_choose_C_on_validation_and_learn(fit):
    (tr, ytr), (va, yva), (te, yte) = toy(300, 0), toy(100, 1), toy(200, 2)
    model = fit(tr, ytr, va, yva)
    assert (model.C in model.valid_scores
            and model.valid_scores[model.C] == max(model.valid_scores.values()))
    assert model.accuracy(te, yte) > 0.95
    assert (model.fit_s > 0
            and 0 <= model.predict_proba(te[:3]).min() <= model.predict_proba(te[:3]).max() <= 1)
