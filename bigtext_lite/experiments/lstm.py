"""Chapter 6's experiment: LSTM classifiers on IMDB, with the chapter's variants.

``run()`` trains the configurations the chapter compares (pooling, packing,
random vs pretrained embeddings, frozen vs fine-tuned) and, on a GPU, times one
epoch of the full training set padded, packed, packed+bucketed and
packed+bucketed+bf16. The notebook calls the same helpers on its own subset.
"""

from __future__ import annotations

import time
from functools import partial

import torch
from torch.utils.data import DataLoader

from bigtext_lite import config
from bigtext_lite.experiments.timing import sync
from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.data.batching import bucketed_loader, pad_collate
from bigtext_lite.data.imdb import train_valid_split
from bigtext_lite.data.text import Vocab, numericalize
from bigtext_lite.models.lstm import LSTMClassifier
from bigtext_lite.train import evaluate, fit, resolve_amp


def settings(profile: str | None = None) -> dict:
    """Sizes for the profile: the quick one fits a few CPU minutes, the full one a GPU."""
    quick = (profile or config.profile()) == "quick"
    if quick:
        return dict(n_train=4000, n_test=2000, max_len=200, min_freq=2, embed_dim=64, hidden=64, layers=1,
                    batch_size=32, epochs=3, lr=3e-3, patience=None, vector_epochs=2, vector_texts=10_000,
                    timings=True)
    return dict(n_train=None, n_test=None, max_len=800, min_freq=3, embed_dim=200, hidden=256, layers=2,
                batch_size=64, epochs=10, lr=1e-3, patience=2, vector_epochs=5, vector_texts=None,
                timings=True)


def prepare(s: dict, seed: int = 0) -> dict:
    """Tokenised, numericalised train / valid / test sets and the vocabulary."""
    train_all = load_imdb("train").sample(s["n_train"], seed=seed)
    train, valid = train_valid_split(train_all, valid_fraction=0.1, seed=seed)
    test = load_imdb("test").sample(s["n_test"], seed=seed)
    vocab = Vocab.build((basic_english(t) for t in train.texts), min_freq=s["min_freq"])
    data = {"vocab": vocab, "pad_id": vocab["<pad>"]}
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        data[name] = (numericalize(part.texts, vocab, max_len=s["max_len"]), list(part.labels))
    data["test_texts"] = test.texts
    return data


def loader(data: dict, split: str, s: dict, bucketed: bool = True, shuffle: bool = True,
           seed: int = 0) -> DataLoader:
    """Length-bucketed batches, or (``bucketed=False``) plain random ones."""
    seqs, labels = data[split]
    if bucketed:
        return bucketed_loader(seqs, labels, s["batch_size"], data["pad_id"], shuffle=shuffle, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(list(zip(seqs, labels)), batch_size=s["batch_size"], shuffle=shuffle,
                      generator=generator, collate_fn=partial(pad_collate, pad_id=data["pad_id"]))


def make_model(data: dict, s: dict, **overrides) -> LSTMClassifier:
    kwargs = dict(vocab_size=len(data["vocab"]), pad_id=data["pad_id"], embed_dim=s["embed_dim"],
                  hidden=s["hidden"], layers=s["layers"], pooling="mean")
    return LSTMClassifier(**{**kwargs, **overrides})


def train(model, data: dict, s: dict, bucketed: bool = True, amp: str | None = "auto",
          epochs: int | None = None, verbose: bool = False, seed: int = 0):
    """Train with AdamW and early stopping on validation accuracy; return the history."""
    config.seed_everything(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=s["lr"], weight_decay=0.01)
    return fit(model, loader(data, "train", s, bucketed, seed=seed), num_epochs=epochs or s["epochs"],
               optimizer=optimizer, valid_loader=loader(data, "valid", s, shuffle=False), amp=amp,
               clip_grad_norm=1.0, patience=s["patience"], progress=verbose, verbose=verbose)


def test_accuracy(model, data: dict, s: dict, amp: str | None = "auto") -> float:
    device = next(model.parameters()).device
    return evaluate(model, loader(data, "test", s, shuffle=False), device=device,
                    amp=resolve_amp(amp, device))["acc"]


def epoch_seconds(data: dict, s: dict) -> dict:
    """Seconds for one training epoch of each variant, measured one after another
    in this process, each after a warm-up pass over the validation set (so cuDNN
    set-up and autotuning are not counted)."""
    variants = {"padded": dict(packed=False, bucketed=False, amp=None),
                "packed": dict(packed=True, bucketed=False, amp=None),
                "packed+bucketed": dict(packed=True, bucketed=True, amp=None),
                "packed+bucketed+bf16": dict(packed=True, bucketed=True, amp="auto"),
                "packed+bucketed+bf16, batch 256": dict(packed=True, bucketed=True, amp="auto", batch_size=256)}
    seconds = {}
    for name, v in variants.items():
        sv = {**s, "batch_size": v.get("batch_size", s["batch_size"])}
        model = make_model(data, sv, packed=v["packed"])
        optimizer = torch.optim.AdamW(model.parameters(), lr=s["lr"])
        run = partial(fit, model, optimizer=optimizer, num_epochs=1, amp=v["amp"], progress=False, verbose=False)
        run(loader(data, "valid", sv, v["bucketed"]))  # warm-up
        sync(config.device())
        start = time.perf_counter()
        run(loader(data, "train", sv, v["bucketed"]))
        sync(config.device())
        seconds[name] = round(time.perf_counter() - start, 2)
        print(name, seconds[name], flush=True)
    return seconds


def timings() -> dict:
    """Only the per-epoch timings (what ``bigtext run lstm`` adds on a GPU)."""
    s = settings()
    return {"settings": s, "epoch_seconds": epoch_seconds(prepare(s), s)}


def pretrained_matrix(data: dict, s: dict, seed: int = 0):
    """fastText skip-gram vectors trained on IMDB's train + unlabelled reviews
    (never the test set), laid out for this vocabulary."""
    from bigtext_lite.experiments.official import train_official_fasttext
    from bigtext_lite.vectors import build_embedding_matrix

    texts = list(load_imdb("train").texts) + list(load_imdb("unsup").texts)
    if s["vector_texts"]:
        texts = texts[:: max(1, len(texts) // s["vector_texts"])][: s["vector_texts"]]
    start = time.perf_counter()
    ft = train_official_fasttext(texts, dim=s["embed_dim"], epoch=s["vector_epochs"])
    seconds = time.perf_counter() - start
    def known(word):  # words fastText kept (seen min_count times); the rest come from subwords
        return ft.get_word_vector(word) if ft.get_word_id(word) >= 0 else None

    matrix, coverage = build_embedding_matrix(data["vocab"], known, s["embed_dim"], seed=seed,
                                              fallback=ft.get_word_vector)
    return matrix, coverage, seconds


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    """Train and test every configuration; see the module docstring."""
    from bigtext_lite.experiments import with_overrides

    s = with_overrides(settings(), overrides)
    config.seed_everything(0)
    data = prepare(s)
    out = {"settings": s, "train_size": len(data["train"][0]), "test_size": len(data["test"][0]),
           "vocab_size": len(data["vocab"])}
    configs = {"random, mean pooling": dict(pooling="mean"), "random, max pooling": dict(pooling="max")}
    try:
        matrix, coverage, vec_seconds = pretrained_matrix(data, s)
        out["vectors"] = {"coverage": str(coverage), "train_seconds": round(vec_seconds, 1)}
        configs["fastText vectors, frozen, mean"] = dict(pooling="mean", embeddings=matrix, freeze=True)
        configs["fastText vectors, fine-tuned, mean"] = dict(pooling="mean", embeddings=matrix)
    except ImportError:
        out["vectors"] = "skipped: the official fasttext package is not installed"
    # Last: the naive variants, slow on long random batches.
    configs["random, last state"] = dict(pooling="last")
    configs["random, last state, not packed"] = dict(pooling="last", packed=False)
    rows = []
    for name, overrides in configs.items():
        model = make_model(data, s, **overrides)
        history = train(model, data, s, bucketed=overrides.get("packed", True))
        rows.append({"config": name, "test_acc": round(test_accuracy(model, data, s), 4),
                     "best_epoch": history.best_epoch, "epochs_run": len(history.epochs),
                     # the validation accuracy of the weights that were tested: the best
                     # epoch's when early stopping restores them, else the last epoch's
                     "val_acc": round(history.epochs[(history.best_epoch if s["patience"] else 0) - 1]["val_acc"], 4),
                     "seconds_per_epoch": round(sum(history.column("time")) / len(history.epochs), 2)})
        print(rows[-1], flush=True)
        save_partial({**out, "rows": rows})
    best = max(rows, key=lambda r: r["val_acc"])  # chosen on validation, reported on test
    out.update({"rows": rows, "best_config": best["config"], "test_acc": best["test_acc"]})
    if config.device().type == "cuda" and s["timings"]:
        out["epoch_seconds"] = epoch_seconds(data, s)
        print(out["epoch_seconds"], flush=True)
    return out
