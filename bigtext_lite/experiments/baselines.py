"""The linear baselines' experiment: TF-IDF + LR and NB-LR on word 1-2-grams, C chosen on
a validation split, refitted on all training reviews, tested once. The notebook fits the
same two on the reviews :func:`prepare` gives it.

Walkthrough: notebooks/05_baselines.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

from bigtext_lite import baselines
from bigtext_lite.data import Reviews, load_imdb, train_valid_split
from bigtext_lite.experiments import settings
from bigtext_lite.experiments.settings import profiled


@dataclass(frozen=True)
class Settings(settings.Settings):
    max_train: int | None = profiled(5_000, full=None)  # reviews, validation included; full: 25,000
    max_test: int | None = profiled(5_000, full=None)  # test reviews; full: all 25,000
    valid_fraction: float = 0.1  # share of the training reviews used to choose C
    tfidf_cs: tuple = (1, 4, 16, 64, 256)  # C values tried for TF-IDF + LR
    nb_cs: tuple = (0.03, 0.1, 0.3, 1)  # C values tried for NB-LR
    seed: int = 0  # the subsets and the validation split


def prepare(s: Settings) -> tuple[Reviews, Reviews, Reviews]:
    """(train, valid, test): a subset of the training reviews, then the validation split."""
    train, valid = train_valid_split(load_imdb("train").sample(s.max_train, seed=s.seed),
                                     s.valid_fraction, seed=s.seed)
    return train, valid, load_imdb("test").sample(s.max_test, seed=s.seed)


def run(s: Settings, save_partial=lambda result: None) -> dict:
    train, valid, test = prepare(s)
    rows = []
    for fit, Cs in ((baselines.tfidf_lr, s.tfidf_cs), (baselines.nb_lr, s.nb_cs)):
        model = fit(train.texts, train.labels, valid.texts, valid.labels, Cs=Cs)
        rows.append({"config": f"{model.name}, C={model.C:g}",
                     "val_acc": round(model.valid_scores[model.C], 4),
                     "test_acc": round(model.accuracy(test.texts, test.labels), 4),
                     "refit_seconds": round(model.fit_s, 1)})
        print(rows[-1], flush=True)
        save_partial({"rows": rows})
    best = max(rows, key=lambda r: r["val_acc"])
    return {"train_size": len(train), "test_size": len(test), "rows": rows,
            "best_config": best["config"], "test_acc": best["test_acc"]}
