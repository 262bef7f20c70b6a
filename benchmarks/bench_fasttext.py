"""Our fastText against the official one: same files, same hyperparameters, same
thread count, each trained from the file in a fresh process. Prints accuracy, time
and words/sec side by side.

    python benchmarks/bench_fasttext.py                # IMDB polarity and star rating, the chapter's table
    python benchmarks/bench_fasttext.py --max-train 5000 --max-test 5000   # a quicker look
    python benchmarks/bench_fasttext.py --repeats 3    # means over seeds 0, 1, 2
    python benchmarks/bench_fasttext.py --gpu          # ours on a GPU: seconds per full IMDB epoch
"""

from __future__ import annotations

import argparse
import tempfile

from bigtext_lite import config
from bigtext_lite.models import fasttext as ft
from bigtext_lite.runs.fasttext import POLARITY, RATING


GPU_SETTINGS = [  # (name, hyperparameters, batch size): a summed loss over a large batch needs a smaller lr
    ("unigrams", dict(wordNgrams=1, lr=0.1, dim=10, epoch=5), 8),
    ("bigrams", dict(wordNgrams=2, lr=0.5, dim=10, epoch=5), 8),
    ("unigrams", dict(wordNgrams=1, lr=0.1, dim=10, epoch=5), 256),
    ("bigrams", dict(wordNgrams=2, lr=0.1, dim=10, epoch=5), 256),
    ("bigrams", dict(wordNgrams=2, lr=0.1, dim=10, epoch=5), 1024),
]


def gpu_epochs(train_path, test_path):
    """Ours on CUDA: seconds per full IMDB epoch (training alone, after a warm-up
    run) and test accuracy; a setting whose loss diverges says so."""
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
    parser.add_argument("--repeats", type=int, default=1, help="train each this many times (seeds 0, 1, ...)")
    parser.add_argument("--gpu", action="store_true", help="time ours on CUDA instead (no official run)")
    args = parser.parse_args()
    print(config.describe(), f"| thread={args.thread} for both")
    with tempfile.TemporaryDirectory() as tmp:
        if args.gpu:
            return gpu_epochs(*ft.write_imdb(tmp, "polarity", args.max_train, args.max_test))
        for target, settings in (("polarity", POLARITY), ("rating", RATING)):
            print(f"\nIMDB {target}:")
            train_path, test_path = ft.write_imdb(tmp, target, args.max_train, args.max_test)
            print(ft.format_comparison(ft.compare_with_official(train_path, test_path, settings, args.thread,
                                                                args.repeats)))


if __name__ == "__main__":
    main()
