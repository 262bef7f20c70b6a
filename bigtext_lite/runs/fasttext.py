"""Chapter 4's experiment: our fastText against the official one, same files,
hyperparameters and thread count, on IMDB polarity and on the 8-class star rating."""

from __future__ import annotations

import tempfile

from bigtext_lite import config
from bigtext_lite.models import fasttext as ft

POLARITY = [("unigrams", dict(wordNgrams=1, lr=0.1, dim=10, epoch=5)),
            ("bigrams", dict(wordNgrams=2, lr=0.5, dim=10, epoch=5)),
            ("bigrams, 20 epochs", dict(wordNgrams=2, lr=0.5, dim=10, epoch=20))]
RATING = [("rating, softmax", dict(wordNgrams=2, lr=0.25, dim=20, epoch=5)),
          ("rating, hs", dict(wordNgrams=2, lr=0.25, dim=20, epoch=5, loss="hs"))]


def settings(profile: str | None = None) -> dict:
    quick = (profile or config.profile()) == "quick"
    return dict(max_train=5000 if quick else None, max_test=5000 if quick else None, thread=2,
                polarity=POLARITY[1:2] if quick else POLARITY, rating=RATING[:1] if quick else RATING)


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    """Rows "<setting>, <implementation>" with test accuracy, seconds and words/s.
    fastText's recipe has no validation split, so no row is marked best."""
    from bigtext_lite.runs import with_overrides

    s = with_overrides(settings(), overrides)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for target, chosen in (("polarity", s["polarity"]), ("rating", s["rating"])):
            train_path, test_path = ft.write_imdb(tmp, target, s["max_train"], s["max_test"])
            for name, impl, acc, secs, wps, *_ in ft.compare_with_official(train_path, test_path, chosen, s["thread"]):
                rows.append({"config": f"{name}, {impl}", "test_acc": round(acc, 4),
                             "seconds": round(secs, 1), "words_per_second": round(wps)})
                print(rows[-1], flush=True)
            save_partial({"settings": s, "rows": rows})
    return {"settings": s, "rows": rows}
