"""The official fastText (package ``fasttext-numpy2``) as the yardstick: trained in a
fresh process, timed there, and compared with ours on the same files.

Walkthrough: notebooks/06_fasttext.ipynb and notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.experiments.official_worker import OURS
from bigtext_lite.fasttext import FastTextClassifier, read_file, read_indexed, write_file

# The official fastText allocates its input matrix without zeroing it
# (intgemm::AlignedVector, since its "Predict 1.9-4.2x faster" change) and its
# uniform() fills only the first thread/10 of the rows: with thread=1 nine rows in
# ten keep whatever the allocator hands back. A large matrix comes from fresh,
# zeroed pages; a small one reuses freed heap memory, and a NaN there stops
# training with "Encountered NaN." (the flaky test on a busy machine). glibc's
# MALLOC_PERTURB_=255 fills every allocation with zero bytes, so those rows start
# at 0, as they do for any large file; but a chunk glibc hands out through its
# per-thread cache (tcache) skips that fill and keeps what free() wrote into it,
# 0xff bytes, a NaN in every float (how a CI run still met "Encountered NaN.").
# So the cache is turned off too. Both are ignored off glibc.
_OFFICIAL_ENV = {"MALLOC_PERTURB_": "255", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}


def official_env() -> dict:
    """This process's environment with ``_OFFICIAL_ENV`` added (tunables the caller has
    set are kept, ours appended)."""
    env = {**os.environ, **_OFFICIAL_ENV}
    if os.environ.get("GLIBC_TUNABLES"):
        env["GLIBC_TUNABLES"] = os.environ["GLIBC_TUNABLES"] + ":" + _OFFICIAL_ENV["GLIBC_TUNABLES"]
    return env

# settings of ours that the official lacks (it steps after every example): a setting
# with them trains the official at its own
OURS_ONLY = ("batch_size", "row_steps")


def train_in_fresh_process(how: str, path, kwargs: dict, out: Path) -> dict:
    """Run :mod:`.official_worker` (``how``: one of its OURS, or the official function's
    name); returns what it printed, plus the official's own "words/sec/thread" while
    training when it was run with ``verbose=2``."""
    env = None if how in OURS else official_env()
    done = subprocess.run([sys.executable, "-m", "bigtext_lite.experiments.official_worker", how,
                           str(path), json.dumps(kwargs), str(out)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{how} in a fresh process failed: {done.stderr.strip()[-1500:]}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    speeds = re.findall(r"words/sec/thread:\s*(\d+)", done.stderr)
    if speeds:
        stats["train_words_per_s_per_thread"] = float(speeds[-1])
    return stats


def train_official(data, function: str = "train_supervised", **kwargs):
    """Train with the official fastText (package ``fasttext-numpy2``) in a fresh Python
    process; return (model, seconds). ``function="train_unsupervised"`` trains word
    vectors instead; ``kwargs`` are that function's own (``minCount``, ``epoch`` ...).

    data: a training file's path, or token lists, written to a temporary file one
        line each (the official package trains only from a file).

    Why a fresh process: each side is timed without paying for what the caller
    has in memory, and the official's uninitialised rows (see ``_OFFICIAL_ENV``)
    start at zero there. ``seconds`` is the official training call alone, timed
    inside that process.
    """
    import fasttext

    with tempfile.TemporaryDirectory() as tmp:
        path = data
        if not isinstance(data, (str, os.PathLike)):
            path = Path(tmp) / "train.txt"
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(" ".join(tokens) + "\n" for tokens in data)
        stats = train_in_fresh_process(function, path, kwargs, Path(tmp) / "model.bin")
        return fasttext.load_model(str(Path(tmp) / "model.bin")), stats["seconds"]


def sentence_vector_gap(model, words: list[str], feature_ids, token_lists) -> float:
    """Largest difference, over the texts, between the mean of the official ``model``'s
    input rows at our feature ids and its own sentence vector (0 up to rounding when
    our words, n-grams and buckets are the official's). ``words`` are our dictionary's
    words, ``feature_ids`` each text's ids from it, ``token_lists`` the texts.

    Buckets are rows past the words in both models; words are looked up by name, as
    fastText sorts words of equal count in another order, so its word ids differ."""
    matrix = model.get_input_matrix()  # (words + buckets, dim)
    nwords = len(model.words)
    word_rows = [model.get_word_id(w) for w in words]
    missing = [w for w, row in zip(words, word_rows) if row < 0]
    if missing:  # get_word_id's -1 would silently read the last bucket's row
        raise ValueError(f"{len(missing)} of our words are not in the official model, "
                         f"e.g. {missing[:3]}: not the same training file?")
    to_official = np.concatenate([word_rows, np.arange(nwords, len(matrix))])  # our id -> row
    gaps = []
    for i, (ids, tokens) in enumerate(zip(feature_ids, token_lists)):
        if len(ids) == 0:  # a mean of no rows is NaN, which max() would pass over
            raise ValueError(f"text {i} has no feature ids (fastText adds </s> to every line)")
        ours = matrix[to_official[np.asarray(ids)]].mean(0)  # (dim,)
        gaps.append(float(np.abs(ours - model.get_sentence_vector(" ".join(tokens))).max()))
    return max(gaps)


def write_imdb(folder: str | Path, target: str = "polarity", max_train: int | None = None,
               max_test: int | None = None, seed: int = 0) -> tuple[Path, Path]:
    """Write IMDB train and test files in fastText's format, tokenised with
    ``basic_english``, the training lines shuffled (fastText reads a file in order,
    and IMDB's is sorted by label). ``target``: ``"polarity"`` (pos / neg) or
    ``"rating"`` (the 8 star ratings 1-4 and 7-10)."""
    if target not in ("polarity", "rating"):
        raise ValueError(f"target must be 'polarity' or 'rating', got {target!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, limit in (("train", max_train), ("test", max_test)):
        reviews = load_imdb(split).sample(limit, seed=seed)
        order = np.random.default_rng(seed).permutation(len(reviews))
        labels = [("pos" if reviews.labels[i] == 1 else "neg") if target == "polarity"
                  else str(reviews.ratings[i]) for i in order]
        paths.append(write_file(folder / f"imdb_{target}_{split}.txt",
                                (basic_english(reviews.texts[i]) for i in order), labels))
    return paths[0], paths[1]


def compare_with_official(train_path, test_path, settings, thread: int,
                          repeats: int = 1) -> list[dict]:
    """Both implementations on the same files, hyperparameters and thread count,
    each trained from the file in a fresh process and timed there (so neither
    pays for what the other, or the caller, has in memory), ``repeats`` times
    with seeds 0, 1, ...: the official first for even seeds, ours first for odd
    ones, so that a change in the machine's load falls on both; ``settings``:
    (name, kwargs), the official given all but ``OURS_ONLY``.

    One dict per setting and implementation: test accuracy and seconds (means
    over the repeats, and each repeat's), words/s from the file to a trained
    model, and words/s per thread while training (the official's own
    "words/sec/thread"), and the last repeat's model.
    """
    import fasttext

    test = read_file(test_path)
    words = int(read_indexed(train_path).indexed.lengths.sum())  # per epoch, </s> too, as fastText
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, hp in settings:
            runs, models = {"official fastText": [], "bigtext_lite": []}, {}
            for seed in range(repeats):
                for how in list(runs)[::1 if seed % 2 == 0 else -1]:
                    kwargs = {**hp, "thread": thread, "seed": seed}
                    if how == "bigtext_lite":
                        out = Path(tmp) / "ours.pt"
                        stats = train_in_fresh_process(how, train_path, kwargs, out)
                        models[how] = FastTextClassifier.load(out)
                        stats["acc"] = models[how].test(test)[1]
                    else:  # verbose=2 prints its words/sec/thread
                        out = Path(tmp) / "official.bin"
                        theirs = {k: v for k, v in kwargs.items() if k not in OURS_ONLY}
                        stats = train_in_fresh_process("train_supervised", train_path,
                                                        {**theirs, "verbose": 2}, out)
                        models[how] = fasttext.load_model(str(out))
                        stats["acc"] = models[how].test(str(test_path))[1]
                    runs[how].append(stats)
            for how, each in runs.items():
                seconds = [r["seconds"] for r in each]
                accs = [r["acc"] for r in each]
                rows.append({"setting": name, "implementation": how,
                             "test_acc": float(np.mean(accs)), "test_accs": accs,
                             "seconds": float(np.mean(seconds)), "seconds_each": seconds,
                             "cpu_seconds_each": [r["cpu_seconds"] for r in each],
                             "words_per_s": words * hp["epoch"] / np.mean(seconds),
                             "model": models[how],
                             "train_words_per_s_per_thread":
                                 float(np.mean([r["train_words_per_s_per_thread"] for r in each]))})
    return rows


def ours_vs_official(rows: list[dict]) -> list[dict]:
    """Per setting of :func:`compare_with_official`'s rows: ours minus the official in
    accuracy points, and ours / the official in words/s, from file to model and while training."""
    return [{"setting": ours["setting"],
             "accuracy_points": 100 * (ours["test_acc"] - official["test_acc"]),
             "words_per_second": ours["words_per_s"] / official["words_per_s"],
             "training_words_per_second": ours["train_words_per_s_per_thread"]
             / official["train_words_per_s_per_thread"]}
            for official, ours in zip(rows[::2], rows[1::2])]


def format_comparison(rows: list[dict]) -> str:
    """:func:`compare_with_official`'s rows as a table, then ours against the official
    per setting."""
    lines = [f"{'setting':20} {'implementation':18} {'accuracy':>9} {'seconds':>8} {'words/s':>9} "
             f"{'words/s/thread, training':>25}"]
    for row in rows:
        lines.append(f"{row['setting']:20} {row['implementation']:18} {row['test_acc']:9.2%} "
                     f"{row['seconds']:8.1f} {row['words_per_s'] / 1e6:8.2f}M "
                     f"{row['train_words_per_s_per_thread'] / 1e6:24.2f}M")
    for x in ours_vs_official(rows):
        lines.append(f"{x['setting']}: ours - official = {x['accuracy_points']:+.2f} points; speed "
                     f"{x['words_per_second']:.2f}x from file to model, "
                     f"{x['training_words_per_second']:.2f}x "
                     f"while training")
    return "\n".join(lines)
