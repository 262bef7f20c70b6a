"""The fastText chapter's experiment: our fastText against the official one, same files,
hyperparameters and thread count, on IMDB polarity and on the 8-class star rating.
Each implementation trains from the file in a fresh process, ``repeats`` times; the
notebook compares the same settings on the same files.

The hyperparameters keep fastText's own names (``wordNgrams``, ``epoch`` ...): they
are passed as they are to ``train_supervised`` and to the official package.
Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from bigtext_lite.experiments import official, settings
from bigtext_lite.experiments.settings import profiled

UNIGRAMS = dict(wordNgrams=1, lr=0.1, dim=10, epoch=5)
BIGRAMS = dict(wordNgrams=2, lr=0.5, dim=10, epoch=5)
STARS = dict(wordNgrams=2, lr=0.25, dim=20, epoch=5)
POLARITY = [("unigrams", UNIGRAMS), ("bigrams", BIGRAMS),
            ("bigrams, 20 epochs", {**BIGRAMS, "epoch": 20})]
RATING = [("rating, softmax", STARS), ("rating, hs", {**STARS, "loss": "hs"})]
# 5,000 reviews need more passes than 25,000 (the learning rate decays to zero over all
# of them): the quick profile trains 10 epochs, and unigrams with a larger step.
QUICK_POLARITY = [("unigrams", {**UNIGRAMS, "lr": 0.25, "epoch": 10}),
                  ("bigrams", {**BIGRAMS, "epoch": 10})]
QUICK_RATING = [(name, {**hp, "epoch": 10}) for name, hp in RATING]


@dataclass(frozen=True)
class Settings(settings.Settings):
    max_train: int | None = profiled(5_000, full=None)  # training reviews; full: all 25,000
    max_test: int | None = profiled(5_000, full=None)  # test reviews; full: all 25,000
    # threads, the same for both implementations; the quick profile's one thread repeats
    # its numbers to the digit (Hogwild threads vary them by a few tenths of a point)
    thread: int = profiled(1, full=2)
    # trainings per setting and implementation, seeds 0, 1 ..
    repeats: int = profiled(1, full=3, colab=1)
    # [(name, hyperparameters)] on pos / neg, and on the star rating; full: POLARITY, RATING
    polarity: list = profiled(QUICK_POLARITY, full=POLARITY)
    rating: list = profiled(QUICK_RATING, full=RATING)

    def hyperparameters(self, name: str) -> dict:
        """The hyperparameters of the setting called ``name`` (e.g. "bigrams")."""
        return dict(dict(self.polarity + self.rating)[name])


def run(s: Settings, save_partial=lambda result: None) -> dict:
    """Rows "<setting>, <implementation>" with test accuracy (the mean of the
    repeats, and each), seconds from the file to a trained model, words/s over
    those seconds and words/s per thread while training; and, per setting, ours
    against the official. fastText's recipe has no validation split, so no row is
    marked best."""
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for target, chosen in (("polarity", s.polarity), ("rating", s.rating)):
            train_path, test_path = official.write_imdb(tmp, target, s.max_train, s.max_test)
            compared = official.compare_with_official(train_path, test_path, chosen, s.thread,
                                                      s.repeats)
            for row in compared:
                rows.append({"config": f"{row['setting']}, {row['implementation']}",
                             "test_acc": round(row["test_acc"], 4),
                             "test_accs": [round(a, 4) for a in row["test_accs"]],
                             "seconds": round(row["seconds"], 1),
                             "words_per_second": round(row["words_per_s"]),
                             "train_words_per_second_per_thread":
                                 round(row["train_words_per_s_per_thread"])})
                print(rows[-1], flush=True)
            ratios += [{k: round(v, 2) if isinstance(v, float) else v for k, v in x.items()}
                       for x in official.ours_vs_official(compared)]
            save_partial({"rows": rows, "ours_vs_official": ratios})
    return {"rows": rows, "ours_vs_official": ratios}
