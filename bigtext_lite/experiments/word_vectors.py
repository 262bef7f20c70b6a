"""The word-vectors chapter's experiments: vectors trained four ways, and what they are worth.

1. :func:`compare`: skip-gram with character n-grams trained on the same IMDB text
   with the same settings by ours, the official fastText, gensim's ``FastText``
   and gensim's ``Word2Vec`` (no n-grams): seconds, words per second, and two
   measures of the neighbours (:mod:`.vector_probes`). Yardsticks that are not
   installed are skipped.
2. the learning curve (:mod:`.transfer_curve`): a bag-of-embeddings classifier trained
   on 250 .. 25,000 labelled reviews, its embedding matrix random or transferred (our
   vectors, all-MiniLM-L6-v2's input embeddings), frozen or fine-tuned with the same
   Adam recipe; test accuracy at each size, mean and spread over ``repeats`` seeds.

IMDB's unlabelled reviews and the training reviews (never their labels, never
the test set) are the corpus the vectors learn from. The notebook calls the same
functions with the same Settings.
Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from bigtext_lite import config
from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.experiments import settings
from bigtext_lite.experiments.official import train_official
from bigtext_lite.experiments.settings import profiled
from bigtext_lite.experiments.transfer_curve import curve_data, learning_curve, transfer_matrices
from bigtext_lite.experiments.vector_probes import (
    analogy_accuracy,
    neighbour_rating_agreement,
    word_ratings,
)
from bigtext_lite.vectors import Vectors, skipgram


@dataclass(frozen=True)
class Settings(settings.Settings):
    corpus_texts: int | None = profiled(2_000, full=None)  # reviews to learn from; full: 75,000
    # The skip-gram's knobs keep fastText's names (dim, epoch, minCount, bucket, ws, neg):
    # every trainer is given them, the official package under these very names.
    dim: int = profiled(50, full=100)  # size of a word vector
    epoch: int = profiled(2, full=5)  # passes over the corpus
    minCount: int = 5  # a word seen fewer times gets no vector of its own
    bucket: int = profiled(200_000, full=2_000_000)  # rows the character n-grams hash into
    ws: int = 5  # the largest context window, in words either side
    neg: int = 5  # negatives per true context word
    # threads (ours: Hogwild processes) of every trainer; None: every core. The quick
    # profile's one thread repeats its numbers to the digit, as more threads do not.
    thread: int | None = profiled(1, full=None)
    # also train with the official fastText and gensim, if installed (not on Colab: the
    # yardsticks take as long as ours)
    compare: bool = profiled(True, full=True, colab=False)
    # trainings per implementation in the comparison, seeds 0, 1, ..: the probes of one
    # training move by a few points from seed to seed (threads, sampling)
    compare_seeds: int = profiled(1, full=3)
    curve: bool = True  # draw the learning curve
    sizes: list = profiled([250, 2_000],  # the curve's labelled reviews
                           full=[250, 500, 1_000, 2_500, 5_000, 10_000, 25_000],
                           colab=[250, 1_000, 5_000, 25_000])
    max_test: int | None = profiled(2_000, full=None)  # the curve's test reviews; full: all
    max_len: int = profiled(400, full=800)  # tokens a review is cut to
    vocab_size: int = profiled(20_000, full=50_000)  # the classifier's vocabulary
    repeats: int = profiled(3, full=3, colab=1)  # trainings per point of the curve, seeds 0, ..
    # reviews one training of the curve goes through (epochs: this / size, 3 to 40), the
    # same for every arm; the quick profile's half keeps its three seeds affordable
    examples: int = profiled(5_000, full=10_000)
    bert: str | None = "minilm"  # whose input embeddings the curve adds; None: none
    batch_size: int = profiled(1_024, full=4_096)  # (centre, context) pairs per step of ours


def corpus(n: int | None = None) -> list[list[str]]:
    """Tokenised unlabelled + training reviews (the first ``n``, unlabelled first)."""
    texts = list(load_imdb("unsup").texts) + list(load_imdb("train").texts)
    return [basic_english(t) for t in texts[:n]]


def train_ours(texts, s: Settings, device=None, seed: int = 0):
    model = skipgram.train_unsupervised(texts, device=device or config.device(), verbose=False,
                                        model="skipgram", dim=s.dim, epoch=s.epoch,
                                        minCount=s.minCount, bucket=s.bucket, ws=s.ws, neg=s.neg,
                                        thread=s.thread or os.cpu_count() or 1,
                                        batch_size=s.batch_size, seed=seed)
    return model, model.stats["train_s"]


def train_gensim(texts, s: Settings, thread: int, subwords: bool, seed: int = 0):
    from gensim.models import FastText, Word2Vec

    common = dict(vector_size=s.dim, window=s.ws, min_count=s.minCount, negative=s.neg, sg=1,
                  sample=1e-4, alpha=0.05, epochs=s.epoch, workers=thread, seed=seed)
    start = time.perf_counter()
    if subwords:
        model = FastText(texts, min_n=3, max_n=6, bucket=s.bucket, **common)
    else:
        model = Word2Vec(texts, **common)
    seconds = time.perf_counter() - start
    kv = model.wv
    return Vectors(list(kv.index_to_key), kv.vectors), seconds


def mean_of_seeds(runs: list[dict]) -> dict:
    """One implementation's measures over its seeds: the mean of each number, and with
    several seeds their standard deviation ("sd") and every run ("runs")."""
    def mean(values, digits):
        return round(float(np.mean(values)), digits)

    def sd(values):
        return round(float(np.std(values, ddof=1)), 3)

    r = [run["neighbour_rating_r"] for run in runs]
    row = dict(runs[0])
    row["seconds"] = mean([run["seconds"] for run in runs], 1)
    row["words_per_s"] = round(float(np.mean([run["words_per_s"] for run in runs])))
    row["neighbour_rating_r"] = mean(r, 3)
    row["analogies"] = {k: mean([run["analogies"][k] for run in runs], 3)
                        for k in runs[0]["analogies"]}
    if len(runs) > 1:
        row["sd"] = {"neighbour_rating_r": sd(r),
                     "analogies": sd([run["analogies"]["all"] for run in runs])}
        row["runs"] = runs
    return row


def compare(texts, s: Settings, ours=None, thread: int | None = None,
            verbose: bool = False) -> dict:
    """Train with every available implementation on ``texts``, ``s.compare_seeds`` times
    each (seeds 0, 1, ..), and probe each training (:func:`mean_of_seeds`).

    ours: our already trained model of seed 0 (its time is reported), else one is trained.
    verbose: print each implementation's measures as it finishes.
    Returns {"rows": {name: measures}, "vectors": {name: seed 0's Vectors}, "ours": our
    model, ...}; the neighbours are seed 0's.
    """
    thread = thread or s.thread or os.cpu_count() or 1
    tokens = sum(len(t) + 1 for t in texts) * s.epoch
    ratings = word_ratings()
    probe = [w for w, _ in Counter(w for t in texts for w in t).most_common(3000) if w in ratings]
    rows, found = {}, {}
    if ours is None:
        ours, _ = train_ours(texts, s)

    def official_fasttext(seed):  # its Python API takes no seed: its threads vary its runs
        model, seconds = train_official(texts, function="train_unsupervised", model="skipgram",
                                        dim=s.dim, epoch=s.epoch, minCount=s.minCount,
                                        bucket=s.bucket, ws=s.ws, neg=s.neg, thread=thread,
                                        verbose=0)
        words = [w for w in model.get_words() if w != "</s>"]
        return Vectors(words, np.stack([model.get_word_vector(w) for w in words])), seconds

    def our_skipgram(seed):
        model = ours if seed == 0 else train_ours(texts, s, seed=seed)[0]
        return model.vectors(), model.stats["train_s"]

    trainers = {"ours": our_skipgram,
                "official fastText": official_fasttext,
                "gensim FastText": lambda seed: train_gensim(texts, s, thread, True, seed),
                "gensim Word2Vec (no n-grams)": lambda seed: train_gensim(texts, s, thread,
                                                                          False, seed)}
    for name, train in trainers.items():
        runs = []
        for seed in range(s.compare_seeds):
            try:
                vecs, seconds = train(seed)
            except ImportError as err:
                rows[name] = {"skipped": f"not installed ({err.name})"}
                break
            found.setdefault(name, vecs)
            device = ours.stats["device"] if name == "ours" else f"cpu, {thread} thread(s)"
            runs.append({"seconds": round(seconds, 1), "words_per_s": round(tokens / seconds),
                         "device": device, "words": len(vecs),
                         "neighbour_rating_r": round(neighbour_rating_agreement(vecs, ratings,
                                                                                probe), 3),
                         "analogies": {k: round(v, 3)
                                       for k, v in analogy_accuracy(vecs).items()}})
            if verbose:
                print(name, f"seed {seed}", runs[-1], flush=True)
        if runs:
            rows[name] = mean_of_seeds(runs)
    examples = {name: {w: [x for x, _ in v.most_similar(w, 6)]
                       for w in ("great", "awful", "boring", "hitchcock") if w in v}
                for name, v in found.items()}
    return {"tokens_per_epoch": tokens // s.epoch, "texts": len(texts), "rows": rows,
            "neighbours": examples, "probe_words": len(probe), "vectors": found, "ours": ours}


# the words the chapter's map shows, by group
MAP_GROUPS = {
    "praise": ["great", "excellent", "wonderful", "superb", "brilliant", "masterpiece"],
    "scorn": ["awful", "terrible", "horrible", "worst", "boring", "waste"],
    "genres": ["horror", "comedy", "western", "documentary", "thriller", "musical"],
    "people": ["actor", "actress", "director", "writer", "producer", "cast"],
}


def pca_map(vecs: Vectors, groups: dict[str, list[str]] = MAP_GROUPS) -> dict:
    """The map of the groups' words: their unit vectors, centred, projected onto their
    first two principal components (the top two right singular vectors). Returns
    {"groups": {group: words found}, "xy": {word: [x, y]}}, what a run saves."""
    found = {name: [w for w in ws if w in vecs] for name, ws in groups.items()}
    words = [w for ws in found.values() for w in ws]
    points = vecs.subset(words).unit()  # (words, dim)
    centred = points - points.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)  # vt: rows by variance
    xy = centred @ vt[:2].T  # (words, 2)
    coordinates = {w: [round(float(a), 4) for a in p] for w, p in zip(words, xy)}
    return {"groups": found, "xy": coordinates}


def run(s: Settings, save_partial=lambda result: None) -> dict:
    result: dict = {}
    texts = corpus(s.corpus_texts)
    ours, _ = train_ours(texts, s)
    result["ours"] = dict(ours.stats)
    words = {w for ws in MAP_GROUPS.values() for w in ws}
    result["map"] = pca_map(ours.vectors(words))
    save_partial(result)
    if s.compare:
        result["compare"] = {k: v for k, v in compare(texts, s, ours, verbose=True).items()
                             if k not in ("vectors", "ours")}
        save_partial(result)
    if s.curve:
        data = curve_data(s, texts)
        arms, result["coverage"] = transfer_matrices(ours, data, s)
        result["curve"] = {}
        learning_curve(arms, data, s, result["curve"], lambda: save_partial(result), verbose=True)
    return result
