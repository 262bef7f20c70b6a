"""The linear baselines' experiment: the ladder of the chapter (naive Bayes on word counts
and on binary indicators, logistic regression on binary unigrams, then on 1-2-grams,
TF-IDF 1-2-grams, NB-LR 1-2-grams), each hyperparameter chosen on a validation split,
refitted on all training reviews, tested once. The notebook fits the same models on the
reviews :func:`prepare` gives it and reports them with :func:`row`.

Walkthrough: notebooks/05_baselines.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

from bigtext_lite import baselines
from bigtext_lite.data import Reviews, load_imdb, train_valid_split
from bigtext_lite.experiments import predictions, settings
from bigtext_lite.experiments.settings import profiled


@dataclass(frozen=True)
class Settings(settings.Settings):
    max_train: int | None = profiled(5_000, full=None)  # reviews, validation included; full: 25,000
    max_test: int | None = profiled(5_000, full=None)  # test reviews; full: all 25,000
    valid_fraction: float = 0.1  # share of the training reviews used to choose C and alpha
    nb_alphas: tuple = (0.1, 0.3, 1.0)  # smoothings tried for naive Bayes
    bow_cs: tuple = profiled((0.1, 1), full=(0.03, 0.1, 0.3, 1))  # C tried, LR on bags of words
    tfidf_cs: tuple = (1, 4, 16, 64, 256)  # C values tried for TF-IDF + LR
    nb_cs: tuple = (0.03, 0.1, 0.3, 1)  # C values tried for NB-LR
    seed: int = 0  # the subsets and the validation split


def prepare(s: Settings) -> tuple[Reviews, Reviews, Reviews]:
    """(train, valid, test): a subset of the training reviews, then the validation split."""
    train, valid = train_valid_split(load_imdb("train").sample(s.max_train, seed=s.seed),
                                     s.valid_fraction, seed=s.seed)
    return train, valid, load_imdb("test").sample(s.max_test, seed=s.seed)


def ladder(s: Settings) -> list:
    """(fit, keyword arguments) for each step, in the order the chapter adds ingredients."""
    return [(baselines.naive_bayes, dict(alphas=s.nb_alphas)),
            (baselines.naive_bayes, dict(alphas=s.nb_alphas, binary=True)),
            (baselines.bow_lr, dict(Cs=s.bow_cs)),
            (baselines.bow_lr, dict(Cs=s.bow_cs, ngrams=(1, 2))),
            (baselines.tfidf_lr, dict(Cs=s.tfidf_cs)),
            (baselines.nb_lr, dict(Cs=s.nb_cs))]


def row(model: baselines.Baseline, test: Reviews) -> dict:
    """One fitted baseline's line of the result file: validation and test scores."""
    scores = model.evaluate(test.texts, test.labels)
    return {"config": model.config,
            "val_acc": round(model.valid_scores[model.C], 4),
            "test_acc": round(scores["acc"], 4),
            "test_f1": round(scores["f1"], 4),
            "test_auc": round(scores["auc"], 4),
            "features": len(model.vectorizer.vocabulary_),
            "refit_seconds": round(model.fit_s, 1)}


# The two models whose test predictions the chapter's error analysis reads.
SAVED = ("TF-IDF 1-2-grams + LR", "NB-LR 1-2-grams")


def run(s: Settings, save_partial=lambda result: None) -> dict:
    train, valid, test = prepare(s)
    rows, kept = [], {}
    for fit, kwargs in ladder(s):
        model = fit(train.texts, train.labels, valid.texts, valid.labels, **kwargs)
        rows.append(row(model, test))
        if model.name in SAVED:
            kept[model.name] = model.predict_proba(test.texts)
        print(rows[-1], flush=True)
        save_partial({"rows": rows})
    best = max(rows, key=lambda r: r["val_acc"])
    return {"train_size": len(train), "test_size": len(test), "rows": rows,
            "best_config": best["config"], "test_acc": best["test_acc"],
            "predictions": predictions.pack(test.texts, test.labels, kept)}
