"""Linear baselines for IMDB, in the order the chapter adds their ingredients: multinomial
naive Bayes on word counts, logistic regression on binary bags of words, word bigrams,
TF-IDF weighting, and NB-weighted logistic regression (Wang & Manning, 2012), all on the
book's tokenisation.

scikit-learn does the vectorising and the solving (a well-kept library; the chapter writes
naive Bayes itself and checks it against this). The naive-Bayes log-count ratio is ours, a
few lines of NumPy:

    p = alpha + sum of the feature rows of positive examples
    q = alpha + sum of the feature rows of negative examples
    r = log( (p / |p|_1) / (q / |q|_1) )

On word counts, r is multinomial naive Bayes' weight vector. NB-LR multiplies each
binarised feature column by its r before the linear model is fitted. Every
hyperparameter (C, or naive Bayes' alpha) is chosen on a validation split, never on the
test set.

Walkthrough: notebooks/05_baselines.ipynb.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from bigtext_lite import metrics
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
    """A fitted baseline: its pipeline pieces, the chosen hyperparameter and what the
    search saw."""

    name: str
    vectorizer: object
    model: object
    C: float  # the chosen value of ``hyper``: C for logistic regression, alpha for NB
    valid_scores: dict = field(default_factory=dict)  # value tried -> validation accuracy
    fit_s: float = 0.0
    scale: np.ndarray | None = None  # NB-LR's r, applied to every feature column
    hyper: str = "C"

    @property
    def config(self) -> str:
        """The name and the chosen hyperparameter, as the result files spell it."""
        return f"{self.name}, {self.hyper}={self.C:g}"

    def features(self, texts):
        X = self.vectorizer.transform(texts)
        return X.multiply(self.scale).tocsr() if self.scale is not None else X

    def predict(self, texts) -> np.ndarray:
        return self.model.predict(self.features(texts))

    def predict_proba(self, texts) -> np.ndarray:
        return self.model.predict_proba(self.features(texts))[:, 1]

    def log_odds(self, texts=None, X=None) -> np.ndarray:
        """log P(pos | x) - log P(neg | x) of ``texts`` (or of their ``features``, X): unlike
        the probability, it does not round to exactly 0 or 1 for a long review, so it ranks
        every review, which is what ROC AUC needs."""
        X = self.features(texts) if X is None else X
        if hasattr(self.model, "decision_function"):
            return self.model.decision_function(X)
        joint = self.model.predict_joint_log_proba(X)  # naive Bayes: (n, 2) log P(x, class)
        return joint[:, 1] - joint[:, 0]

    def accuracy(self, texts, labels) -> float:
        return float(np.mean(self.predict(texts) == np.asarray(labels)))

    def evaluate(self, texts, labels) -> dict:
        """Accuracy, F1 of the positive class and ROC AUC on ``texts``."""
        labels = np.asarray(labels)
        scores = self.log_odds(X=self.features(texts))  # (n,) one pass over the texts
        predicted = (scores > 0).astype(labels.dtype)  # what predict() would say
        return {"acc": metrics.accuracy(labels, predicted),
                "f1": metrics.precision_recall_f1(labels, predicted)[2],
                "auc": metrics.roc_auc(labels, scores)}


def ngram_name(ngrams: tuple) -> str:
    return "unigrams" if tuple(ngrams) == (1, 1) else f"{ngrams[0]}-{ngrams[1]}-grams"


def vectorizer(kind: str, ngrams: tuple = (1, 2), min_df: int = 2):
    """The n-gram features: "counts" (naive Bayes), "binary" (bag-of-words LR and NB-LR,
    as NBSVM binarises) or "tfidf" (sublinear tf), over the book's tokeniser."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    common = dict(tokenizer=basic_english, lowercase=False, token_pattern=None,
                  ngram_range=tuple(ngrams), min_df=min_df, dtype=np.float32)
    if kind == "tfidf":
        return TfidfVectorizer(sublinear_tf=True, **common)
    if kind not in ("counts", "binary"):
        raise ValueError(f"kind must be 'counts', 'binary' or 'tfidf', got {kind!r}")
    return CountVectorizer(binary=kind == "binary", **common)


def _fit_features(kind, nb_scale, texts, y, ngrams, min_df):
    """Fit the vectoriser (and NB-LR's ratio r) on ``texts``; return (vectoriser, X, r)."""
    vec = vectorizer(kind, ngrams, min_df)
    X = vec.fit_transform(texts)
    scale = nb_log_count_ratio(X, y) if nb_scale else None
    return vec, (X.multiply(scale).tocsr() if scale is not None else X), scale


def _logistic(C):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=1000, solver="liblinear")


def _naive_bayes(alpha):
    from sklearn.naive_bayes import MultinomialNB

    return MultinomialNB(alpha=alpha)


def _fit(name, kind, train_texts, train_y, valid_texts, valid_y, values, min_df, ngrams,
         make_model=_logistic, hyper="C", nb_scale=False):
    """Choose the hyperparameter on the validation split, then refit on train + validation."""
    train_y, valid_y = np.asarray(train_y), np.asarray(valid_y)
    vec, X_train, scale = _fit_features(kind, nb_scale, train_texts, train_y, ngrams, min_df)
    X_valid = Baseline(name, vec, None, 0.0, scale=scale).features(valid_texts)
    scores = {}
    for value in values:
        model = make_model(value).fit(X_train, train_y)
        scores[value] = float(np.mean(model.predict(X_valid) == valid_y))
    # ties: the stronger regularisation (smaller C) or smoothing (larger alpha)
    best = max(values, key=lambda v: (scores[v], -v if hyper == "C" else v))
    # Refit on all labelled training reviews with the chosen value (the test set stays unseen).
    t0 = time.perf_counter()
    all_y = np.concatenate([train_y, valid_y])
    vec, X, scale = _fit_features(kind, nb_scale, list(train_texts) + list(valid_texts), all_y,
                                  ngrams, min_df)
    model = make_model(best).fit(X, all_y)
    return Baseline(name, vec, model, best, scores, time.perf_counter() - t0, scale, hyper)


def naive_bayes(train_texts, train_y, valid_texts, valid_y, alphas=(1.0,),
                ngrams=(1, 1), min_df: int = 2, binary: bool = False) -> Baseline:
    """Multinomial naive Bayes on word n-gram counts, or on their 0/1 indicators with
    ``binary`` (as Wang & Manning's MNB); alpha: add-alpha smoothing."""
    kind = "binary" if binary else "counts"
    return _fit(f"NB {ngram_name(ngrams)}, {kind}", kind, train_texts, train_y, valid_texts,
                valid_y, alphas, min_df, ngrams, _naive_bayes, "alpha")


def bow_lr(train_texts, train_y, valid_texts, valid_y, Cs=(0.03, 0.1, 0.3, 1),
           ngrams=(1, 1), min_df: int = 2) -> Baseline:
    """Binary bag of word n-grams + logistic regression."""
    return _fit(f"LR binary {ngram_name(ngrams)}", "binary", train_texts, train_y, valid_texts,
                valid_y, Cs, min_df, ngrams)


def tfidf_lr(train_texts, train_y, valid_texts, valid_y, Cs=(1, 4, 16, 64, 256),
             min_df: int = 2, ngrams=(1, 2)) -> Baseline:
    """TF-IDF (sublinear tf) over word n-grams (1-2 by default) + logistic regression."""
    return _fit(f"TF-IDF {ngram_name(ngrams)} + LR", "tfidf", train_texts, train_y, valid_texts,
                valid_y, Cs, min_df, ngrams)


def nb_lr(train_texts, train_y, valid_texts, valid_y, Cs=(0.03, 0.1, 0.3, 1),
          min_df: int = 2, ngrams=(1, 2)) -> Baseline:
    """Binarised word n-grams (1-2 by default) scaled by the NB log-count ratio + logistic
    regression."""
    return _fit(f"NB-LR {ngram_name(ngrams)}", "binary", train_texts, train_y, valid_texts,
                valid_y, Cs, min_df, ngrams, nb_scale=True)


# For reading the errors by slice: a negation word, or a contraction in n't ("don't",
# "isn't", "can't"). There is no word boundary inside "don't", so n't takes a boundary
# on its right only; \b(...|n't)\b would never match a contraction. Search lower case.
NEGATION = re.compile(r"\b(?:not|no|never|nothing)\b|n['’]t\b")
