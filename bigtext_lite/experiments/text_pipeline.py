"""The text-pipeline chapter's numbers: what the pipeline costs and saves on IMDB.

Loading (a cold parse of the archive and a warm load from the cache), the vocabulary
and how much of held-out text it covers, review lengths, and how much of a batch is
padding with random batches against length-bucketed ones. The notebook computes its
figures with the functions below, on the same reviews.

Walkthrough: notebooks/03_text_pipeline.ipynb.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from unittest import mock

import numpy as np

from bigtext_lite.data import Reviews, basic_english, load_imdb, train_valid_split
from bigtext_lite.data.batching import BucketBatchSampler, padding_fraction
from bigtext_lite.data.text import Vocab
from bigtext_lite.experiments import settings
from bigtext_lite.experiments.settings import profiled


@dataclass(frozen=True)
class Settings(settings.Settings):
    max_train: int | None = profiled(5_000, full=None)  # training reviews; full: all 22,500
    max_valid: int | None = profiled(1_000, full=None)  # held-out reviews; full: all 2,500
    min_count: int = 3  # a word seen fewer times in training is <unk>
    batch_size: int = 32  # reviews per batch
    seed: int = 0  # one seed for every random choice


def prepare(s: Settings) -> tuple[Reviews, Reviews]:
    """(train, valid): the validation split first, then a subset of each."""
    train, valid = train_valid_split(load_imdb("train"), valid_fraction=0.1, seed=s.seed)
    return train.sample(s.max_train, seed=s.seed), valid.sample(s.max_valid, seed=s.seed)


def coverage(vocab: Vocab, counts: Counter) -> float:
    """The share of the token occurrences ``counts`` holds that ``vocab`` knows."""
    return sum(c for token, c in counts.items() if token in vocab) / sum(counts.values())


def length_summary(lengths: np.ndarray) -> dict:
    """Tokens per review: median, mean, 95th percentile and max (the tail decides padding)."""
    return {"median": int(np.median(lengths)), "mean": int(round(lengths.mean())),
            "95th percentile": int(round(np.percentile(lengths, 95))), "max": int(lengths.max())}


def batches(lengths: np.ndarray, s: Settings) -> tuple[list, list]:
    """(random batches, length-bucketed batches) of review indices, an epoch's worth
    each."""
    order = np.random.default_rng(s.seed).permutation(len(lengths))
    random_batches = [order[i:i + s.batch_size]
                      for i in range(0, len(order), s.batch_size)]
    bucketed = list(BucketBatchSampler(lengths, s.batch_size, shuffle=True,
                                       seed=s.seed))
    return random_batches, bucketed


def run(s: Settings, save_partial=lambda result: None) -> dict:
    facts = {}
    # a cold parse into an empty cache, whatever the user's cache holds (patch.dict
    # restores the variable)
    with (tempfile.TemporaryDirectory() as cache,
          mock.patch.dict(os.environ, {"BIGTEXT_CACHE": cache})):
        start = time.perf_counter()
        load_imdb("train")
        facts["parse the archive, train split (s)"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        load_imdb("train")
        facts["load the train split from the cache (s)"] = round(time.perf_counter() - start, 3)
    train, valid = prepare(s)
    start = time.perf_counter()
    tokens = [basic_english(t) for t in train.texts]
    facts["tokenise (reviews / s)"] = round(len(tokens) / (time.perf_counter() - start))
    vocab = Vocab.build(tokens, min_count=s.min_count)
    valid_counts = Counter(token for text in valid.texts for token in basic_english(text))
    lengths = np.array([len(t) for t in tokens])
    random_batches, bucketed = batches(lengths, s)
    facts.update({
        "reviews": len(tokens), f"vocabulary (min_count={s.min_count})": len(vocab),
        "validation tokens covered (%)": round(100 * coverage(vocab, valid_counts), 2),
        **{f"tokens per review, {name}": n for name, n in length_summary(lengths).items()},
        f"padding, random batches of {s.batch_size} (%)":
            round(100 * padding_fraction(random_batches, lengths), 1),
        f"padding, length-bucketed batches of {s.batch_size} (%)":
            round(100 * padding_fraction(bucketed, lengths), 1)})
    return {"facts": facts}
