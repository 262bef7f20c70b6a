"""Chapter 2's headline numbers: the bag-of-embeddings classifier trained by
``train.fit`` on IMDB (validation and test accuracy, seconds per epoch), with
bf16 autocast and ``torch.compile`` as extra rows on a GPU."""

from __future__ import annotations

import torch

from bigtext_lite import config
from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.data.batching import bucketed_loader
from bigtext_lite.data.imdb import train_valid_split
from bigtext_lite.data.text import Vocab, numericalize
from bigtext_lite.models.bow import BagOfEmbeddings
from bigtext_lite.train import evaluate, fit


def settings(profile: str | None = None) -> dict:
    quick = (profile or config.profile()) == "quick"
    return dict(max_train=4000 if quick else None, max_eval=2000 if quick else None, epochs=4 if quick else 10,
                batch_size=64, embed_dim=64, lr=5e-3, seed=0)


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    from bigtext_lite.experiments import with_overrides

    s = with_overrides(settings(), overrides)
    train, valid = train_valid_split(load_imdb("train").sample(s["max_train"], seed=s["seed"]), 0.1, seed=s["seed"])
    valid = valid.sample(s["max_eval"], seed=s["seed"])
    test = load_imdb("test").sample(s["max_eval"], seed=s["seed"])
    vocab = Vocab.build((basic_english(t) for t in train.texts), min_freq=2)
    pad = vocab["<pad>"]
    ids = {name: (numericalize(part.texts, vocab), list(part.labels))  # once, not once per variant
           for name, part in (("train", train), ("valid", valid), ("test", test))}

    def loader(split, shuffle):
        return bucketed_loader(*ids[split], s["batch_size"], pad, shuffle=shuffle, seed=s["seed"])

    device = config.device()
    variants = {"fp32": dict(amp=None, compile=False)}
    if device.type == "cuda":
        variants.update({"bf16 autocast": dict(amp="bf16", compile=False),
                         "bf16 + torch.compile": dict(amp="bf16", compile=True)})
    rows = []
    for name, v in variants.items():
        config.seed_everything(s["seed"])
        model = BagOfEmbeddings(len(vocab), s["embed_dim"], 2, pad)
        history = fit(model, loader("train", True), valid_loader=loader("valid", False), num_epochs=s["epochs"],
                      optimizer=torch.optim.Adam(model.parameters(), lr=s["lr"]), device=device, amp=v["amp"],
                      compile=v["compile"], progress=False, verbose=False)
        test_acc = evaluate(model, loader("test", False), device=device)["acc"]
        seconds = history.column("time")[1:] or history.column("time")  # the first epoch pays for compiling
        rows.append({"config": f"bag of embeddings, {name}", "val_acc": round(history.column("val_acc")[-1], 4),
                     "test_acc": round(test_acc, 4), "seconds_per_epoch": round(sum(seconds) / len(seconds), 2)})
        print(rows[-1], flush=True)
        save_partial({"settings": s, "rows": rows})
    return {"settings": s, "train_size": len(train), "test_size": len(test), "rows": rows}
