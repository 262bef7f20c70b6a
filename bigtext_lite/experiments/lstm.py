"""The LSTM chapter's experiment: LSTM classifiers on IMDB, with the chapter's variants.

``run()`` trains the configurations the chapter compares (pooling, packing,
random vs pretrained embeddings, frozen vs fine-tuned) and, on a GPU, times one
epoch of the full training set padded, padded+bucketed, packed, packed+bucketed
and packed+bucketed+bf16. The notebook calls the same helpers with the same Settings.

Walkthrough: notebooks/08_lstm.ipynb.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from functools import partial

import torch
from torch.utils.data import DataLoader

from bigtext_lite import config
from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.data.batching import bucketed_loader, pad_collate
from bigtext_lite.data.reviews import train_valid_split
from bigtext_lite.data.text import Encoded, Vocab, numericalize
from bigtext_lite.experiments import predictions, settings
from bigtext_lite.experiments.official import train_official
from bigtext_lite.experiments.settings import profiled
from bigtext_lite.experiments.spec import LSTM_CONFIGS
from bigtext_lite.experiments.timing import time_steps
from bigtext_lite.models.lstm import LSTMClassifier
from bigtext_lite.train import evaluate, fit, resolve_amp
from bigtext_lite.vectors import build_embedding_matrix

CONFIGS = LSTM_CONFIGS  # what the chapter compares (experiments/spec.py)


@dataclass(frozen=True)
class Settings(settings.Settings):
    """The quick profile fits a few CPU minutes, the full one a GPU."""
    max_train: int | None = profiled(4_000, full=None)  # reviews, validation included; full: all
    max_test: int | None = profiled(2_000, full=None)  # test reviews; full: all 25,000
    max_len: int = profiled(200, full=800)  # tokens a review is cut to
    min_count: int = profiled(2, full=3)  # a word seen fewer times in training is <unk>
    embed_dim: int = profiled(64, full=200)  # size of each word vector
    hidden: int = profiled(64, full=256)  # LSTM state size, each direction
    layers: int = profiled(1, full=2)  # stacked bidirectional LSTM layers
    batch_size: int = profiled(32, full=64, colab=256)  # reviews per training batch
    num_epochs: int = profiled(3, full=10)  # at most this many passes over the training set
    lr: float = profiled(3e-3, full=1e-3, colab=2e-3)  # AdamW's learning rate
    patience: int | None = profiled(None, full=2)  # early stopping; None: every epoch is run
    vector_num_epochs: int = profiled(2, full=5)  # the fastText vectors' passes over their text
    vector_texts: int | None = profiled(10_000, full=None)  # their reviews; full: all 75,000
    # threads of the official fastText that trains them; None: every core. One thread
    # repeats the vectors to the digit, as more threads do not.
    thread: int | None = profiled(1, full=None)
    # the configurations trained, among CONFIGS (Colab: the best of the full run's, at the
    # batch at which a GPU epoch is shortest)
    configs: tuple = profiled(CONFIGS, full=CONFIGS, colab=("random, max pooling",))
    # trainings of the best configuration, seeds 0, 1 ..: its test accuracy's spread
    # (the same reviews, split and vocabulary; new initial weights and batch order)
    seeds: int = profiled(1, full=3, colab=1)


def prepare(s: Settings, seed: int = 0) -> dict:
    """Tokenised, numericalised train / valid / test sets (each an ``Encoded``: ids and
    labels) and the vocabulary."""
    train_all = load_imdb("train").sample(s.max_train, seed=seed)
    train, valid = train_valid_split(train_all, valid_fraction=0.1, seed=seed)
    test = load_imdb("test").sample(s.max_test, seed=seed)
    vocab = Vocab.build((basic_english(t) for t in train.texts), min_count=s.min_count)
    data = {"vocab": vocab, "pad_id": vocab["<pad>"]}
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        ids = numericalize(part.texts, vocab, max_len=s.max_len)
        data[name] = Encoded(ids, list(part.labels))
    data["test_texts"] = test.texts
    return data


def loader(data: dict, split: str, s: Settings, bucketed: bool = True, shuffle: bool = True,
           seed: int = 0) -> DataLoader:
    """Length-bucketed batches, or (``bucketed=False``) plain random ones."""
    seqs, labels = data[split]
    if bucketed:
        return bucketed_loader(seqs, labels, s.batch_size, data["pad_id"], shuffle=shuffle,
                               seed=seed)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(list(zip(seqs, labels)), batch_size=s.batch_size, shuffle=shuffle,
                      generator=generator, collate_fn=partial(pad_collate, pad_id=data["pad_id"]))


def make_model(data: dict, s: Settings, **overrides) -> LSTMClassifier:
    kwargs = dict(vocab_size=len(data["vocab"]), pad_id=data["pad_id"], embed_dim=s.embed_dim,
                  hidden=s.hidden, layers=s.layers, pooling="mean")
    return LSTMClassifier(**{**kwargs, **overrides})


def train(model, data: dict, s: Settings, bucketed: bool = True, amp: str | None = "auto",
          verbose: bool = False, seed: int = 0):
    """Train with AdamW and early stopping on validation accuracy; return the history."""
    config.seed_everything(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=s.lr, weight_decay=0.01)
    return fit(model, loader(data, "train", s, bucketed, seed=seed), num_epochs=s.num_epochs,
               optimizer=optimizer, valid_loader=loader(data, "valid", s, shuffle=False), amp=amp,
               clip_grad_norm=1.0, patience=s.patience, progress=verbose, verbose=verbose)


def tested_val_acc(history, s: Settings) -> float:
    """The validation accuracy of the weights that were tested: the best epoch's when
    early stopping restores them, else the last epoch's."""
    return history.epochs[(history.best_epoch if s.patience else 0) - 1]["val_acc"]


def test_accuracy(model, data: dict, s: Settings, amp: str | None = "auto") -> float:
    device = next(model.parameters()).device
    return evaluate(model, loader(data, "test", s, shuffle=False), device=device,
                    amp=resolve_amp(amp, device))["acc"]


def epoch_seconds(data: dict, s: Settings) -> dict:
    """Seconds for one training epoch of each variant, measured one after another
    in this process, each after a warm-up pass over the validation set (so cuDNN
    set-up and autotuning are not counted)."""
    variants = {"padded": dict(packed=False, bucketed=False, amp=None),
                # the control that separates bucketing's gain from packing's cost
                "padded+bucketed": dict(packed=False, bucketed=True, amp=None),
                "packed": dict(packed=True, bucketed=False, amp=None),
                "packed+bucketed": dict(packed=True, bucketed=True, amp=None),
                "packed+bucketed+bf16": dict(packed=True, bucketed=True, amp="auto"),
                "packed+bucketed+bf16, batch 256": dict(packed=True, bucketed=True, amp="auto",
                                                        batch_size=256)}
    seconds = {}
    for name, v in variants.items():
        sv = dataclasses.replace(s, batch_size=v.get("batch_size", s.batch_size))
        model = make_model(data, sv, packed=v["packed"])
        optimizer = torch.optim.AdamW(model.parameters(), lr=s.lr)

        def epoch(split):  # the loader is made inside the clock, as a training run makes it
            fit(model, loader(data, split, sv, v["bucketed"]), optimizer=optimizer, num_epochs=1,
                amp=v["amp"], progress=False, verbose=False)

        _, train_seconds = time_steps(epoch, ["valid", "train"], warmup=1, device=config.device())
        seconds[name] = round(train_seconds, 2)
        print(name, seconds[name], flush=True)
    return seconds


def pretrained_matrix(data: dict, s: Settings, seed: int = 0):
    """fastText skip-gram vectors trained on IMDB's train + unlabelled reviews
    (never the test set), laid out for this vocabulary; (matrix, coverage, seconds)."""
    texts = list(load_imdb("train").texts) + list(load_imdb("unsup").texts)
    if s.vector_texts:
        texts = texts[:: max(1, len(texts) // s.vector_texts)][: s.vector_texts]
    start = time.perf_counter()
    vectors, _ = train_official((basic_english(t) for t in texts), function="train_unsupervised",
                                model="skipgram", dim=s.embed_dim, epoch=s.vector_num_epochs,
                                minCount=3, minn=3, maxn=6, thread=s.thread or os.cpu_count() or 1,
                                verbose=0)
    seconds = time.perf_counter() - start

    def known(word):  # words fastText kept (seen minCount times); the rest come from subwords
        return vectors.get_word_vector(word) if vectors.get_word_id(word) >= 0 else None

    matrix, coverage = build_embedding_matrix(data["vocab"], known, s.embed_dim, seed=seed,
                                              fallback=vectors.get_word_vector)
    return matrix, coverage, seconds


def run(s: Settings, save_partial=lambda result: None) -> dict:
    """Train and test every configuration; see the module docstring."""
    config.seed_everything(0)
    data = prepare(s)
    out = {"train_size": len(data["train"].ids), "test_size": len(data["test"].ids),
           "vocab_size": len(data["vocab"])}
    configs = {"random, mean pooling": dict(pooling="mean"),
               "random, max pooling": dict(pooling="max")}
    try:  # the vectors only when a configuration asks for them
        if any(name.startswith("fastText") for name in s.configs):
            matrix, coverage, vec_seconds = pretrained_matrix(data, s)
            out["vectors"] = {"coverage": str(coverage), "train_seconds": round(vec_seconds, 1)}
            configs["fastText vectors, frozen, mean"] = dict(pooling="mean", embeddings=matrix,
                                                             freeze=True)
            configs["fastText vectors, fine-tuned, mean"] = dict(pooling="mean",
                                                                 embeddings=matrix)
    except ImportError:
        out["vectors"] = "skipped: the official fasttext package is not installed"
    # Last: the naive variants, slow on long random batches.
    configs["random, last state"] = dict(pooling="last")
    configs["random, last state, not packed"] = dict(pooling="last", packed=False)
    rows, probs = [], {}
    for name, overrides in ((k, v) for k, v in configs.items() if k in s.configs):
        config.seed_everything(0)  # every configuration starts from the same draws
        model = make_model(data, s, **overrides)
        history = train(model, data, s, bucketed=overrides.get("packed", True))
        probs[name] = predictions.positive_probabilities(model, loader(data, "test", s,
                                                                       shuffle=False))
        rows.append({"config": name,
                     "test_acc": round(predictions.accuracy(probs[name], data["test"].labels), 4),
                     "best_epoch": history.best_epoch, "epochs_run": len(history.epochs),
                     "val_acc": round(tested_val_acc(history, s), 4),
                     "seconds_per_epoch": round(sum(history.column("time")) / len(history.epochs),
                                                2)})
        print(rows[-1], flush=True)
        save_partial({**out, "rows": rows})
    best = max(rows, key=lambda r: r["val_acc"])  # chosen on validation, reported on test
    out.update({"rows": rows, "best_config": best["config"], "test_acc": best["test_acc"],
                "predictions": predictions.pack(data["test_texts"], data["test"].labels,
                                                {best["config"]: probs[best["config"]]})})
    accs, chosen = [best["test_acc"]], configs[best["config"]]
    for seed in range(1, s.seeds):
        config.seed_everything(seed)
        model = make_model(data, s, **chosen)
        train(model, data, s, bucketed=chosen.get("packed", True), seed=seed)
        test_loader = loader(data, "test", s, shuffle=False)
        accs.append(predictions.accuracy(predictions.positive_probabilities(model, test_loader),
                                         data["test"].labels))
        print(f"{best['config']}, seed {seed}: test accuracy {accs[-1]:.4f}", flush=True)
    out["seeds"] = predictions.over_seeds(best["config"], accs)
    if config.device().type == "cuda":
        out["epoch_seconds"] = epoch_seconds(data, s)
        print(out["epoch_seconds"], flush=True)
    return out
