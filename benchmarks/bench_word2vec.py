"""Our skip-gram with subwords against the official fastText's ``train_unsupervised``:
the same corpus file, the same settings and thread count, each trained in a fresh
process, the order alternated between repeats. Prints words/s from the file to a
trained model, CPU seconds, the machine's load, and the chapter's two probes of the
vectors (neighbour-rating r and the analogy set, ``experiments/word_vectors.py``) for both.

    python benchmarks/bench_word2vec.py             # 5,000 unlabelled reviews, 2 epochs, 2 repeats
    python benchmarks/bench_word2vec.py --repeats 4
    python benchmarks/bench_word2vec.py --model cbow --thread 1
    python benchmarks/bench_word2vec.py --json out.json   # also the rows run_all.py collects
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from common import add_json_option, load_average, row, spread, write_rows


def train(how: str, path: Path, settings: dict, out: Path) -> dict:
    """Train in a fresh process (experiments/official.py's, which also zeroes the official's
    uninitialised rows); what it printed, plus the load average before it."""
    from bigtext_lite.experiments.official import train_in_fresh_process

    load = os.getloadavg()[0]
    if how == "ours":
        stats = train_in_fresh_process("skipgram", path, settings, out)
    else:
        stats = train_in_fresh_process("train_unsupervised", path, {**settings, "verbose": 0}, out)
    return {**stats, "load": load}


def probes(path: Path, ratings: dict, probe_words: list[str]) -> dict:
    """The chapter's measures of a .bin, ours or the official's, both read by the official."""
    import fasttext

    from bigtext_lite.experiments.word_vectors import analogy_accuracy, neighbour_rating_agreement
    from bigtext_lite.vectors import Vectors

    model = fasttext.load_model(str(path))
    words = [w for w in model.get_words() if w != "</s>"]
    vecs = Vectors(words, np.stack([model.get_word_vector(w) for w in words]))
    return {"r": neighbour_rating_agreement(vecs, ratings, probe_words), **analogy_accuracy(vecs)}


def by_trainer(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    ours, official = ([r for r in rows if r["how"] == how] for how in ("ours", "official"))
    return ours, official


def summary(rows: list[dict], tokens: int, epoch: int) -> list[str]:
    """Ours against the official, repeat by repeat: words/s and CPU seconds, then the probes."""
    ours, official = by_trainer(rows)
    speed = spread(o["words_per_s"] / f["words_per_s"] for o, f in zip(ours, official))
    cpu = [f["cpu_seconds"] / o["cpu_seconds"] for o, f in zip(ours, official)]
    lines = [f"ours / official words/s per repeat: {', '.join(f'{x:.2f}' for x in speed['ratios'])}"
             f"; min {speed['min']:.2f}, median {speed['median']:.2f}",
             f"official CPU s / ours: {', '.join(f'{x:.2f}' for x in cpu)}; "
             f"median {statistics.median(cpu):.2f}",
             "ours while training (no reading, vocabulary or n-grams): "
             + ", ".join(f"{tokens * epoch / o['train_s']:,.0f}" for o in ours) + " words/s"]
    for key, (a, b) in probe_means(rows).items():
        lines.append(f"{key:>3}: ours {a:.3f}, official {b:.3f}, ours - official "
                     f"{100 * (a - b):+.1f} points")
    return lines


def probe_means(rows: list[dict]) -> dict:
    """Neighbour-rating r and all analogies: (ours, official), each a mean over the repeats."""
    ours, official = by_trainer(rows)
    return {key: (statistics.mean(r[key] for r in ours), statistics.mean(r[key] for r in official))
            for key in ("r", "all")}


def json_row(rows: list[dict], args, texts: list, load_before: list[float]) -> dict:
    ours, official = by_trainer(rows)
    name = "skip-gram with subwords" if args.model == "skipgram" else "CBOW with subwords"
    (r_ours, r_official), (a_ours, a_official) = probe_means(rows).values()
    return row("word2vec", f"{name}, {len(texts):,} reviews, {args.thread} threads, "
               f"{args.epoch} epochs, file to model",
               (name, statistics.median(o["words_per_s"] for o in ours), "words/s"),
               ("the official fastText", statistics.median(f["words_per_s"] for f in official),
                "words/s"),
               [o["words_per_s"] / f["words_per_s"] for o, f in zip(ours, official)], load_before,
               note=f"ours - official: neighbour r {100 * (r_ours - r_official):+.1f}, "
                    f"analogies {100 * (a_ours - a_official):+.1f} points",
               cpu_seconds_ratios=[f["cpu_seconds"] / o["cpu_seconds"]
                                   for o, f in zip(ours, official)],
               probes={"r": [r_ours, r_official], "analogies": [a_ours, a_official]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000, help="the first N unlabelled reviews")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--thread", type=int, default=2)
    parser.add_argument("--epoch", type=int, default=2)
    parser.add_argument("--model", default="skipgram", choices=["skipgram", "cbow"])
    add_json_option(parser)
    args = parser.parse_args()

    from bigtext_lite.experiments.word_vectors import corpus, word_ratings

    settings = dict(model=args.model, dim=100, epoch=args.epoch, minCount=5, ws=5, neg=5,
                    bucket=200_000, minn=3, maxn=6, t=1e-4, lr=0.05, thread=args.thread)
    texts = corpus(args.texts)
    tokens = sum(len(t) + 1 for t in texts)  # per epoch, with one </s> per line, as fastText counts
    ratings = word_ratings()
    common = Counter(w for t in texts for w in t).most_common(3000)
    probe_words = [w for w, _ in common if w in ratings]
    print(f"{len(texts):,} reviews, {tokens:,} tokens per epoch; {settings}; {os.cpu_count()} CPUs")
    print(f"{'run':>3} {'trainer':9} {'load':>5} {'seconds':>8} {'words/s':>9} {'CPU s':>6} "
          f"{'r':>6} {'analogies (gender / plural / comparative)':>42}")
    rows, load_before = [], load_average()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.txt"
        path.write_text("".join(" ".join(t) + "\n" for t in texts), encoding="utf-8")
        for repeat in range(args.repeats):
            for how in ("ours", "official") if repeat % 2 == 0 else ("official", "ours"):
                out = Path(tmp) / f"{how}.bin"
                run = train(how, path, settings, out)
                run.update(probes(out, ratings, probe_words), how=how, repeat=repeat,
                           words_per_s=tokens * args.epoch / run["seconds"])
                rows.append(run)
                print(f"{repeat + 1:3} {how:9} {run['load']:5.2f} {run['seconds']:8.1f} "
                      f"{run['words_per_s']:9,.0f} {run['cpu_seconds']:6.1f} {run['r']:6.3f} "
                      f"{run['all']:8.3f} ({run['gender']:.3f} / {run['plural']:.3f} / "
                      f"{run['comparative']:.3f})", flush=True)
    print("\n" + "\n".join(summary(rows, tokens, args.epoch)))
    write_rows(args.json, [json_row(rows, args, texts, load_before)])


if __name__ == "__main__":
    main()
