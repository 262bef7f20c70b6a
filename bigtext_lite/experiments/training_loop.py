"""The training-loop chapter's experiment: the bag-of-embeddings classifier trained by
``train.fit`` on IMDB (validation and test accuracy, seconds per epoch), with bf16
autocast and ``torch.compile`` as extra rows on a GPU. The notebook builds its data,
loaders and model with the functions below.

Walkthrough: notebooks/04_training_loop.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from bigtext_lite import config
from bigtext_lite.data import Reviews, basic_english, load_imdb
from bigtext_lite.data.batching import bucketed_loader
from bigtext_lite.data.reviews import train_valid_split
from bigtext_lite.data.text import Vocab, numericalize
from bigtext_lite.experiments import settings
from bigtext_lite.experiments.settings import profiled
from bigtext_lite.models.bow import BagOfEmbeddings
from bigtext_lite.train import evaluate, fit

EVAL_BATCH_SIZE = 256  # evaluation keeps no activations for backward: larger batches are free


@dataclass(frozen=True)
class Settings(settings.Settings):
    max_train: int | None = profiled(4_000, full=None)  # training reviews; full: all 22,500
    max_eval: int | None = profiled(2_000, full=None)  # validation and test reviews; full: all
    num_epochs: int = profiled(4, full=10)  # passes over the training reviews
    min_count: int = 3  # a word seen fewer times in training is <unk>
    batch_size: int = 64  # reviews per training batch
    embed_dim: int = 64  # size of each word vector
    lr: float = 5e-3  # Adam's learning rate
    seed: int = 0  # one seed for every random choice


@dataclass(frozen=True)
class Data:
    """The chapter's reviews, their vocabulary, and every review as token ids."""
    train: Reviews
    valid: Reviews
    test: Reviews
    vocab: Vocab
    ids: dict  # split name -> one LongTensor of token ids per review, numericalised once

    @property
    def pad_id(self) -> int:
        return self.vocab["<pad>"]


def prepare(s: Settings) -> Data:
    """Validation split first (the same 2,500 reviews whatever the sizes), then the
    subsets, and the vocabulary from the training reviews alone."""
    train_all, valid_all = train_valid_split(load_imdb("train"), valid_fraction=0.1,
                                             seed=s.seed)
    train = train_all.sample(s.max_train, seed=s.seed)
    valid = valid_all.sample(s.max_eval, seed=s.seed)
    test = load_imdb("test").sample(s.max_eval, seed=s.seed)
    vocab = Vocab.build((basic_english(t) for t in train.texts), min_count=s.min_count)
    ids = {name: numericalize(part.texts, vocab)
           for name, part in (("train", train), ("valid", valid), ("test", test))}
    return Data(train, valid, test, vocab, ids)


def loader(data: Data, split: str, s: Settings, seed: int | None = None) -> DataLoader:
    """Length-bucketed batches of one split: shuffled (by ``seed``) for training."""
    if split == "train":
        return bucketed_loader(data.ids["train"], data.train.labels, s.batch_size, data.pad_id,
                               shuffle=True, seed=s.seed if seed is None else seed)
    return bucketed_loader(data.ids[split], getattr(data, split).labels, EVAL_BATCH_SIZE,
                           data.pad_id, shuffle=False)


def make_model(data: Data, s: Settings) -> BagOfEmbeddings:
    return BagOfEmbeddings(len(data.vocab), s.embed_dim, 2, data.pad_id)


def run(s: Settings, save_partial=lambda result: None) -> dict:
    data = prepare(s)
    device = config.device()
    variants = {"fp32": dict(amp=None, compile=False)}
    if device.type == "cuda":
        variants.update({"bf16 autocast": dict(amp="bf16", compile=False),
                         "bf16 + torch.compile": dict(amp="bf16", compile=True)})
    rows = []
    for name, v in variants.items():
        config.seed_everything(s.seed)
        model = make_model(data, s)
        history = fit(model, loader(data, "train", s), valid_loader=loader(data, "valid", s),
                      num_epochs=s.num_epochs, device=device, amp=v["amp"], compile=v["compile"],
                      optimizer=torch.optim.Adam(model.parameters(), lr=s.lr), progress=False,
                      verbose=False)
        test_acc = evaluate(model, loader(data, "test", s), device=device)["acc"]
        seconds = history.column("time")[1:] or history.column("time")  # epoch 1 pays for compiling
        rows.append({"config": f"bag of embeddings, {name}",
                     "val_acc": round(history.column("val_acc")[-1], 4),
                     "test_acc": round(test_acc, 4),
                     "seconds_per_epoch": round(sum(seconds) / len(seconds), 2)})
        print(rows[-1], flush=True)
        save_partial({"rows": rows})
    return {"train_size": len(data.train), "test_size": len(data.test), "rows": rows}
