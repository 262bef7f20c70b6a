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


def test_naive_bayes_is_the_linear_model_of_its_log_count_ratio():
    # log P(pos|x) - log P(neg|x) = b + x . r on word counts, r = the NB log-count ratio
    (tr, ytr), (va, yva), (te, _) = toy(300, 0), toy(100, 1), toy(50, 2)
    model = baselines.naive_bayes(tr, ytr, va, yva, alphas=(0.5, 1.0))
    assert model.config == f"NB unigrams, counts, alpha={model.C:g}" and model.hyper == "alpha"
    y = np.array(ytr + yva)
    X = model.vectorizer.transform(tr + va).astype(np.float64)
    r = baselines.nb_log_count_ratio(X, y, model.C)
    b = np.log(y.mean()) - np.log(1 - y.mean())
    X_test = model.features(te)
    np.testing.assert_allclose(model.log_odds(te), X_test @ r + b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.log_odds(X=X_test), model.log_odds(te))


@pytest.mark.parametrize("fit, name", [(baselines.naive_bayes, "NB unigrams, counts"),
                                       (baselines.bow_lr, "LR binary unigrams"),
                                       (baselines.tfidf_lr, "TF-IDF 1-2-grams + LR"),
                                       (baselines.nb_lr, "NB-LR 1-2-grams")])
def test_evaluate_agrees_with_predict_and_sklearn(fit, name):
    from sklearn.metrics import f1_score, roc_auc_score

    (tr, ytr), (va, yva), (te, yte) = toy(300, 0), toy(100, 1), toy(200, 3)
    model = fit(tr, ytr, va, yva)
    assert model.name == name  # the result files and the Results page key rows by it
    scores = model.evaluate(te, yte)
    assert scores["acc"] == model.accuracy(te, yte)
    assert scores["f1"] == pytest.approx(f1_score(yte, model.predict(te)))
    assert scores["auc"] == pytest.approx(roc_auc_score(yte, model.log_odds(te)))


def test_bigrams_and_the_vectorizer_kinds():
    docs = ["not good at all", "good film", "not bad"]
    assert baselines.ngram_name((1, 3)) == "1-3-grams"
    counts = baselines.vectorizer("counts", ngrams=(1, 1), min_df=1).fit(docs + ["good good"])
    assert counts.transform(["good good"]).toarray().max() == 2
    binary = baselines.vectorizer("binary", ngrams=(1, 2), min_df=1).fit(docs)
    assert "not good" in binary.vocabulary_ and binary.transform(["good good"]).toarray().max() == 1
    with pytest.raises(ValueError, match="kind must be"):
        baselines.vectorizer("words")
    (tr, ytr), (va, yva) = toy(300, 0), toy(100, 1)
    bi = baselines.bow_lr(tr, ytr, va, yva, ngrams=(1, 2))
    assert bi.name == "LR binary 1-2-grams" and "not bad" in bi.vectorizer.vocabulary_


def test_naive_bayes_on_binary_indicators():
    (tr, ytr), (va, yva), (te, yte) = toy(300, 0), toy(100, 1), toy(200, 2)
    model = baselines.naive_bayes(tr, ytr, va, yva, binary=True)
    assert model.name == "NB unigrams, binary" and model.accuracy(te, yte) > 0.95
    assert model.features(["film film film"]).toarray().max() == 1


@pytest.mark.parametrize("text, negated", [
    ("i don't like it", True), ("it isn't good", True), ("i can’t", True),
    ("not good", True), ("no plot", True), ("never again", True),
    ("nothing works", True), ("nothings", False), ("knot", False), ("a nice film", False),
    ("note the ending", False), ("the ant's nest", False)])
def test_negation_matches_words_and_contractions(text, negated):
    assert bool(baselines.NEGATION.search(text)) is negated
