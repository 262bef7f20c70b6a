"""Chapter 4's experiment: our fastText against the official one, same files,
hyperparameters and thread count, on IMDB polarity and on the 8-class star rating.
Each implementation trains from the file in a fresh process, ``repeats`` times."""

from __future__ import annotations

import tempfile

from bigtext_lite import config
from bigtext_lite import fasttext as ft
from bigtext_lite.experiments import official

POLARITY = [("unigrams", dict(wordNgrams=1, lr=0.1, dim=10, epoch=5)),
            ("bigrams", dict(wordNgrams=2, lr=0.5, dim=10, epoch=5)),
            ("bigrams, 20 epochs", dict(wordNgrams=2, lr=0.5, dim=10, epoch=20))]
RATING = [("rating, softmax", dict(wordNgrams=2, lr=0.25, dim=20, epoch=5)),
          ("rating, hs", dict(wordNgrams=2, lr=0.25, dim=20, epoch=5, loss="hs"))]


def settings(profile: str | None = None) -> dict:
    quick = (profile or config.profile()) == "quick"
    return dict(max_train=5000 if quick else None, max_test=5000 if quick else None, thread=2,
                repeats=1 if quick else 3, polarity=POLARITY[1:2] if quick else POLARITY,
                rating=RATING[:1] if quick else RATING)


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    """Rows "<setting>, <implementation>" with test accuracy (the mean of the
    repeats, and each), seconds from the file to a trained model, words/s over
    those seconds and words/s per thread while training; and, per setting, ours
    against the official. fastText's recipe has no validation split, so no row is
    marked best."""
    from bigtext_lite.experiments import with_overrides

    s = with_overrides(settings(), overrides)
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for target, chosen in (("polarity", s["polarity"]), ("rating", s["rating"])):
            train_path, test_path = official.write_imdb(tmp, target, s["max_train"], s["max_test"])
            compared = official.compare_with_official(train_path, test_path, chosen, s["thread"], s["repeats"])
            for row in compared:
                rows.append({"config": f"{row['setting']}, {row['implementation']}",
                             "test_acc": round(row["test_acc"], 4), "test_accs": [round(a, 4) for a in row["test_accs"]],
                             "seconds": round(row["seconds"], 1), "words_per_second": round(row["words_per_s"]),
                             "train_words_per_second_per_thread": round(row["train_words_per_s_per_thread"])})
                print(rows[-1], flush=True)
            ratios += [{k: round(v, 2) if isinstance(v, float) else v for k, v in x.items()}
                       for x in official.ours_vs_official(compared)]
            save_partial({"settings": s, "rows": rows, "ours_vs_official": ratios})
    return {"settings": s, "rows": rows, "ours_vs_official": ratios}
