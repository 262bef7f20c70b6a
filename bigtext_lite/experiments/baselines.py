"""The linear baselines' experiment: TF-IDF + LR and NB-LR on word 1-2-grams,
C chosen on a validation split, refitted on all training reviews, tested once."""

from __future__ import annotations

from bigtext_lite import baselines, config
from bigtext_lite.data import load_imdb, train_valid_split


def settings(profile: str | None = None) -> dict:
    quick = (profile or config.profile()) == "quick"
    return dict(max_train=5000 if quick else None, max_test=5000 if quick else None, valid_fraction=0.1)


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    from bigtext_lite.experiments import with_overrides

    s = with_overrides(settings(), overrides)
    train, valid = train_valid_split(load_imdb("train").sample(s["max_train"], seed=0), s["valid_fraction"], seed=0)
    test = load_imdb("test").sample(s["max_test"], seed=0)
    rows = []
    for fit in (baselines.tfidf_lr, baselines.nb_lr):
        model = fit(train.texts, train.labels, valid.texts, valid.labels)
        rows.append({"config": f"{model.name}, C={model.C:g}", "val_acc": round(model.valid_scores[model.C], 4),
                     "test_acc": round(model.accuracy(test.texts, test.labels), 4), "refit_seconds": round(model.fit_s, 1)})
        print(rows[-1], flush=True)
        save_partial({"settings": s, "rows": rows})
    best = max(rows, key=lambda r: r["val_acc"])
    return {"settings": s, "train_size": len(train), "test_size": len(test), "rows": rows,
            "best_config": best["config"], "test_acc": best["test_acc"]}
