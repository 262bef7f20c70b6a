"""Our fastText against the official one: same files, same hyperparameters, same
thread count, each trained from the file in a fresh process. Prints accuracy, time
and words/sec side by side.

    python benchmarks/bench_fasttext.py                # polarity and rating: the chapter's table
    python benchmarks/bench_fasttext.py --max-train 5000 --max-test 5000   # a quicker look
    python benchmarks/bench_fasttext.py --repeats 3    # means over seeds 0, 1, 2
    python benchmarks/bench_fasttext.py --gpu          # ours on a GPU: seconds per full IMDB epoch
    python benchmarks/bench_fasttext.py --targets polarity --settings unigrams,bigrams --repeats 4
    python benchmarks/bench_fasttext.py --targets polarity --repeats 4 \
        --settings "unigrams at 32 (row means),bigrams at 32 (row means)"  # batches of 32
    python benchmarks/bench_fasttext.py --json out.json   # also the rows run_all.py collects

Repeats alternate which implementation trains first (the official for even seeds,
ours for odd ones); each pair's speed ratio is printed with its min and median,
and the load average before and after, as the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from common import add_json_option, load_average, row, write_rows

from bigtext_lite import config
from bigtext_lite.experiments import official
from bigtext_lite.experiments.fasttext import (
    LARGE_BATCHES,
    POLARITY,
    RATING,
    ROW_MEANS,
    large_batches,
)


def gpu_epochs(train_path, test_path, repeats: int):
    """Ours on CUDA at the chapter's large-batch settings: seconds per full IMDB epoch
    (training alone) and test accuracy, or where the loss diverged."""
    import torch

    print(f"{torch.cuda.get_device_name()}: ours on the GPU")
    large_batches(train_path, test_path, LARGE_BATCHES, repeats, "cuda", verbose=True)


def pair_measures(theirs: dict, ours: dict) -> dict:
    """One setting's alternated pairs of runs: ours / the official in words/s, the same in
    CPU seconds (what a loaded machine changes least), and ours - the official in accuracy."""
    return {"speed": [o / s for o, s in zip(theirs["seconds_each"], ours["seconds_each"])],
            "cpu": [o / s for o, s in zip(theirs["cpu_seconds_each"], ours["cpu_seconds_each"])],
            "points": [100 * (a - b) for a, b in zip(ours["test_accs"], theirs["test_accs"])]}


def pair_ratios(rows) -> str:
    """Per setting: each pair's speed ratio with their min and median, CPU ratios, points."""
    lines = []
    for theirs, ours in zip(rows[::2], rows[1::2]):
        m = pair_measures(theirs, ours)
        ratios, cpu, points = m["speed"], m["cpu"], m["points"]
        lines.append(f"{ours['setting']}: pairs {' '.join(f'{r:.2f}' for r in ratios)}x, "
                     f"min {min(ratios):.2f} / median {statistics.median(ratios):.2f}; "
                     f"CPU {' '.join(f'{r:.2f}' for r in cpu)}x; "
                     f"points {' '.join(f'{p:+.2f}' for p in points)}")
    return "\n".join(lines)


def json_rows(rows, target: str, train_path, thread: int, load_before) -> list[dict]:
    """One row per setting; words/s per run is the file's words over that run's seconds."""
    reviews = sum(1 for _ in open(train_path, encoding="utf-8"))
    out = []
    for theirs, ours in zip(rows[::2], rows[1::2]):
        m = pair_measures(theirs, ours)
        words = [r["words_per_s"] * r["seconds"] for r in (ours, theirs)]  # words * epochs
        rates = [statistics.median(w / s for s in r["seconds_each"])
                 for w, r in zip(words, (ours, theirs))]
        setting = ours["setting"]
        out.append(row(f"fasttext-{target}-{setting}",
                       f"supervised fastText, IMDB {target} ({reviews:,} training reviews), "
                       f"{setting}, {thread} threads, file to model",
                       (f"fastText ({setting})", rates[0], "words/s"),
                       ("the official fastText", rates[1], "words/s"), m["speed"], load_before,
                       note=f"accuracy ours - official {statistics.mean(m['points']):+.2f} points",
                       accuracy_points=m["points"], cpu_seconds_ratios=m["cpu"],
                       test_acc={"ours": ours["test_accs"], "official": theirs["test_accs"]}))
    return out


SETTINGS = {"polarity": POLARITY + ROW_MEANS, "rating": RATING}
NAMES = [name for settings in SETTINGS.values() for name, _ in settings]


def unknown_settings(names) -> list[str]:
    """The names among ``names`` that no target has (``--settings`` would skip them)."""
    return [name for name in names if name not in NAMES]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--max-test", type=int, default=None)
    parser.add_argument("--thread", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1,
                        help="train each this many times (seeds 0, 1, ...)")
    parser.add_argument("--targets", default="polarity,rating", help="comma-separated targets")
    parser.add_argument("--settings", default=None, help="comma-separated setting names (all)")
    parser.add_argument("--gpu", action="store_true",
                        help="time ours on CUDA instead (no official run)")
    add_json_option(parser)
    args = parser.parse_args()
    chosen = None if args.settings is None else args.settings.split(",")
    unknown = unknown_settings(chosen or [])
    if unknown:
        parser.error(f"unknown setting(s) {unknown}: choose from {NAMES}")
    print(config.describe(), f"| thread={args.thread} for both")
    measured = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.gpu:
            return gpu_epochs(*official.write_imdb(tmp, "polarity", args.max_train, args.max_test),
                              args.repeats)
        for target, settings in SETTINGS.items():
            settings = [s for s in settings if chosen is None or s[0] in chosen]
            if target not in args.targets.split(",") or not settings:
                continue
            print(f"\nIMDB {target}:")
            train_path, test_path = official.write_imdb(tmp, target, args.max_train, args.max_test)
            print(load(), flush=True)
            load_before = load_average()
            rows = official.compare_with_official(train_path, test_path, settings, args.thread,
                                                  args.repeats)
            print(official.format_comparison(rows))
            print(pair_ratios(rows))
            print(load(), flush=True)
            measured += json_rows(rows, target, train_path, args.thread, load_before)
    write_rows(args.json, measured)


if __name__ == "__main__":
    main()
