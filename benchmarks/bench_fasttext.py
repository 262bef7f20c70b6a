"""Our fastText against the official one: same files, same hyperparameters, same
thread count, one process. Prints accuracy, time and words/sec side by side.

    python benchmarks/bench_fasttext.py                # IMDB polarity, the table of the chapter
    python benchmarks/bench_fasttext.py --max-train 5000 --max-test 5000   # a quicker look
    python benchmarks/bench_fasttext.py --gpu      # ours on a GPU: seconds per full IMDB epoch
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


GPU_SETTINGS = [  # (name, hyperparameters, batch size): a summed loss over a large batch needs a smaller lr
    ("unigrams", dict(wordNgrams=1, lr=0.1, dim=10, epoch=5), 256),
    ("unigrams", dict(wordNgrams=1, lr=0.1, dim=10, epoch=5), 1024),
    ("bigrams", dict(wordNgrams=2, lr=0.5, dim=10, epoch=5), 256),
    ("bigrams", dict(wordNgrams=2, lr=0.1, dim=10, epoch=5), 256),
    ("bigrams", dict(wordNgrams=2, lr=0.1, dim=10, epoch=5), 1024),
]


def gpu_epochs(train_path, test_path):
    """Ours on CUDA at large batch sizes: seconds per full IMDB epoch (training alone,
    after a warm-up run) and test accuracy; a setting whose loss diverges says so."""
    import torch

    from bigtext_lite.train import NonFiniteLossError

    train, test = ft.read_file(train_path), ft.read_file(test_path)
    ft.train_supervised(train[:2000], epoch=1, device="cuda", verbose=False)  # CUDA start-up, not timed
    print(f"{torch.cuda.get_device_name()}: ours on the GPU, {len(train):,} training reviews")
    print(f"{'setting':10} {'lr':>5} {'batch':>6} {'s/epoch':>8} {'accuracy':>9}")
    for name, hp, b in GPU_SETTINGS:
        try:
            model = ft.train_supervised(train, device="cuda", batch_size=b, verbose=False, **hp)
        except NonFiniteLossError as err:
            print(f"{name:10} {hp['lr']:5} {b:6}  diverged ({err})", flush=True)
            continue
        print(f"{name:10} {hp['lr']:5} {b:6} {model.stats['train_s'] / hp['epoch']:8.3f} "
              f"{model.test(test)[1]:9.4f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--max-test", type=int, default=None)
    parser.add_argument("--thread", type=int, default=2)
    parser.add_argument("--gpu", action="store_true", help="time ours on CUDA instead (no official run)")
    args = parser.parse_args()
    print(config.describe(), f"| thread={args.thread} for both")
    with tempfile.TemporaryDirectory() as tmp:
        if args.gpu:
            return gpu_epochs(*ft.write_imdb(tmp, "polarity", args.max_train, args.max_test))
        train_path, test_path = ft.write_imdb(tmp, "polarity", args.max_train, args.max_test)
        print_rows(ft.compare_with_official(train_path, test_path, SETTINGS, args.thread))
        train_path, test_path = ft.write_imdb(tmp, "rating", args.max_train, args.max_test)
        print("\nstar rating (8 classes):")
        print_rows(ft.compare_with_official(train_path, test_path, RATING_SETTINGS, args.thread))


if __name__ == "__main__":
    main()
