"""Chapter 3's headline numbers: what the pipeline costs and saves on IMDB.

Loading (a cold parse of the archive and a warm load from the cache), the
vocabulary, review lengths, and how much of a batch is padding with random
batches against length-bucketed ones.
"""

from __future__ import annotations

import os
import tempfile
import time
from unittest import mock

import numpy as np

from bigtext_lite import config
from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.data.batching import BucketBatchSampler, padding_fraction
from bigtext_lite.data.text import Vocab


def settings(profile: str | None = None) -> dict:
    quick = (profile or config.profile()) == "quick"
    return dict(n_train=5000 if quick else None, min_freq=2, batch_size=32, seed=0)


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    from bigtext_lite.experiments import with_overrides

    s = with_overrides(settings(), overrides)
    facts = {}
    # a cold parse into an empty cache, whatever the user's cache holds (patch.dict restores the variable)
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, {"BIGTEXT_CACHE": cache}):
        start = time.perf_counter()
        load_imdb("train")
        facts["parse the archive, train split (s)"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        load_imdb("train")
        facts["load the train split from the cache (s)"] = round(time.perf_counter() - start, 3)
    train = load_imdb("train").sample(s["n_train"], seed=s["seed"])
    start = time.perf_counter()
    tokens = [basic_english(t) for t in train.texts]
    facts["tokenise (reviews / s)"] = round(len(tokens) / (time.perf_counter() - start))
    vocab = Vocab.build(tokens, min_freq=s["min_freq"])
    lengths = np.array([len(t) for t in tokens])
    facts.update({"reviews": len(tokens), f"vocabulary (min_freq={s['min_freq']})": len(vocab),
                  "tokens per review, median": int(np.median(lengths)),
                  "tokens per review, 90th percentile": int(np.percentile(lengths, 90)),
                  "tokens per review, max": int(lengths.max())})
    rng = np.random.default_rng(s["seed"])
    order = rng.permutation(len(lengths))
    random_batches = [order[i:i + s["batch_size"]].tolist() for i in range(0, len(order), s["batch_size"])]
    bucketed = list(BucketBatchSampler(lengths.tolist(), s["batch_size"], shuffle=True, seed=s["seed"]))
    facts[f"padding, random batches of {s['batch_size']} (%)"] = round(100 * padding_fraction(random_batches, lengths), 1)
    facts[f"padding, length-bucketed batches of {s['batch_size']} (%)"] = round(100 * padding_fraction(bucketed, lengths), 1)
    return {"settings": s, "facts": facts}
