"""Our fastText against the official one: same files, same hyperparameters, same
thread count, one process. Prints accuracy, time and words/sec side by side.

    python benchmarks/bench_fasttext.py                # IMDB polarity, the table of the chapter
    python benchmarks/bench_fasttext.py --max-train 5000 --max-test 5000   # a quicker look
"""

from __future__ import annotations

import argparse
import tempfile

from bigtext_lite import config
from bigtext_lite.models import fasttext as ft

SETTINGS = [  # (name, hyperparameters shared by both implementations)
    ("unigrams", dict(wordNgrams=1, lr=0.1, dim=10, epoch=5)),
    ("bigrams", dict(wordNgrams=2, lr=0.5, dim=10, epoch=5)),
    ("bigrams, 20 epochs", dict(wordNgrams=2, lr=0.5, dim=10, epoch=20)),
]
RATING_SETTINGS = [("softmax", dict(wordNgrams=2, lr=0.25, dim=20, epoch=5)),
                   ("hs", dict(wordNgrams=2, lr=0.25, dim=20, epoch=5, loss="hs"))]


def print_rows(rows):
    print(f"{'setting':20} {'implementation':18} {'accuracy':>9} {'seconds':>8} {'words/s':>10}  note")
    for row in rows:
        name, impl, acc, secs, wps = row[:5]
        note = (f"features {row[6]:.1f} s + training {row[5]:.1f} s "
                f"({1e-6 * wps * secs / row[5]:.2f}M words/s while training)") if len(row) > 5 else ""
        print(f"{name:20} {impl:18} {acc:9.4f} {secs:8.1f} {wps / 1e6:9.2f}M  {note}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--max-test", type=int, default=None)
    parser.add_argument("--thread", type=int, default=2)
    args = parser.parse_args()
    print(config.describe(), f"| thread={args.thread} for both")
    with tempfile.TemporaryDirectory() as tmp:
        train_path, test_path = ft.write_imdb(tmp, "polarity", args.max_train, args.max_test)
        print_rows(ft.compare_with_official(train_path, test_path, SETTINGS, args.thread))
        train_path, test_path = ft.write_imdb(tmp, "rating", args.max_train, args.max_test)
        print("\nstar rating (8 classes):")
        print_rows(ft.compare_with_official(train_path, test_path, RATING_SETTINGS, args.thread))


if __name__ == "__main__":
    main()
