"""Linear baselines for IMDB: TF-IDF + logistic regression, and NB-weighted
logistic regression (Wang & Manning, 2012), on the book's tokenisation.

scikit-learn does the vectorising and the solving (a well-kept library; this is
not a from-scratch chapter). The naive-Bayes log-count ratio is ours, a few
lines of NumPy:

    p = alpha + sum of the feature rows of positive examples
    q = alpha + sum of the feature rows of negative examples
    r = log( (p / |p|_1) / (q / |q|_1) )

and each (binarised) feature column is multiplied by its r before the linear
model is fitted. The regularisation strength C is chosen on a validation split,
never on the test set.

Walkthrough: notebooks/05_baselines.ipynb.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from bigtext_lite.data.text import basic_english


def nb_log_count_ratio(X, y, alpha: float = 1.0) -> np.ndarray:
    """r_j = log((p_j / |p|_1) / (q_j / |q|_1)) for a (sparse or dense) feature matrix X
    and 0/1 labels y; alpha smooths features never seen in one class."""
    y = np.asarray(y)
    if set(np.unique(y)) != {0, 1}:
        raise ValueError(f"nb_log_count_ratio needs both labels 0 and 1, "
                         f"got {sorted(set(np.unique(y)))}")
    p = alpha + np.asarray(X[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(X[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


@dataclass
class Baseline:
    """A fitted baseline: its pipeline pieces, the chosen C and what the search saw."""

    name: str
    vectorizer: object
    model: object
    C: float
    valid_scores: dict = field(default_factory=dict)  # C -> validation accuracy
    fit_s: float = 0.0
    scale: np.ndarray | None = None  # NB-LR's r, applied to every feature column

    def features(self, texts):
        X = self.vectorizer.transform(texts)
        return X.multiply(self.scale).tocsr() if self.scale is not None else X

    def predict(self, texts) -> np.ndarray:
        return self.model.predict(self.features(texts))

    def predict_proba(self, texts) -> np.ndarray:
        return self.model.predict_proba(self.features(texts))[:, 1]

    def accuracy(self, texts, labels) -> float:
        return float(np.mean(self.predict(texts) == np.asarray(labels)))


def _vectorizer(kind: str, min_df: int):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    common = dict(tokenizer=basic_english, lowercase=False, token_pattern=None, ngram_range=(1, 2),
                  min_df=min_df, dtype=np.float32)
    if kind == "tfidf":
        return TfidfVectorizer(sublinear_tf=True, **common)
    return CountVectorizer(binary=True, **common)  # NBSVM uses binarised counts


def _fit_features(kind: str, texts, y, min_df: int):
    """Fit the vectoriser (and NB-LR's ratio r) on ``texts``; return (vectoriser, X, r)."""
    vec = _vectorizer(kind, min_df)
    X = vec.fit_transform(texts)
    scale = nb_log_count_ratio(X, y) if kind == "nb" else None
    return vec, (X.multiply(scale).tocsr() if scale is not None else X), scale


def _fit(name, kind, train_texts, train_y, valid_texts, valid_y, Cs, min_df):
    """Choose C on the validation split, then refit on train + validation with it."""
    from sklearn.linear_model import LogisticRegression

    train_y, valid_y = np.asarray(train_y), np.asarray(valid_y)
    vec, X_train, scale = _fit_features(kind, train_texts, train_y, min_df)
    X_valid = Baseline(name, vec, None, 0.0, scale=scale).features(valid_texts)
    scores = {}
    for C in Cs:
        model = LogisticRegression(C=C, max_iter=1000, solver="liblinear")
        scores[C] = float(np.mean(model.fit(X_train, train_y).predict(X_valid) == valid_y))
    best = max(Cs, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    # Refit on all labelled training reviews with the chosen C (the test set stays unseen).
    t0 = time.perf_counter()
    all_y = np.concatenate([train_y, valid_y])
    vec, X, scale = _fit_features(kind, list(train_texts) + list(valid_texts), all_y, min_df)
    model = LogisticRegression(C=best, max_iter=1000, solver="liblinear").fit(X, all_y)
    return Baseline(name, vec, model, best, scores, time.perf_counter() - t0, scale)


def tfidf_lr(train_texts, train_y, valid_texts, valid_y, Cs=(1, 4, 16, 64, 256),
             min_df: int = 2) -> Baseline:
    """TF-IDF (sublinear tf) over word 1-2-grams + logistic regression."""
    return _fit("TF-IDF 1-2-grams + LR", "tfidf", train_texts, train_y, valid_texts, valid_y, Cs,
                min_df)


def nb_lr(train_texts, train_y, valid_texts, valid_y, Cs=(0.03, 0.1, 0.3, 1),
          min_df: int = 2) -> Baseline:
    """Binarised word 1-2-grams scaled by the NB log-count ratio + logistic regression."""
    return _fit("NB-LR 1-2-grams", "nb", train_texts, train_y, valid_texts, valid_y, Cs, min_df)
