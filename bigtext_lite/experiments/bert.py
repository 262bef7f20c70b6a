"""Chapter 7's experiment: fine-tune a pretrained BERT on IMDB with our encoder.

``run()`` tokenises IMDB once with our WordPiece, fine-tunes with the BERT
recipe (AdamW without decay on biases and LayerNorm, linear warm-up then
decay, bf16 autocast on a GPU, gradient clipping) for each truncation strategy
the chapter compares, and on a GPU measures training throughput of our model
against ``transformers``' ``BertForSequenceClassification`` on the same
checkpoint, dtype and batch.
"""

from __future__ import annotations

import os
import time
from functools import partial

import torch
from torch.utils.data import DataLoader

from bigtext_lite import config
from bigtext_lite.experiments.timing import sync
from bigtext_lite.data import load_imdb
from bigtext_lite.data.batching import BucketBatchSampler, pad_collate
from bigtext_lite.data.imdb import train_valid_split
from bigtext_lite.models import bert as B
from bigtext_lite.train import autocast, evaluate, fit, linear_warmup_decay, resolve_amp


def settings(profile: str | None = None) -> dict:
    quick = (profile or config.profile()) == "quick"
    # BIGTEXT_BERT picks the checkpoint: "minilm" (offline) or e.g. "bert-base-uncased".
    checkpoint = os.environ.get("BIGTEXT_BERT", "minilm")
    if quick:
        return dict(checkpoint=checkpoint, n_train=1000, n_test=500, max_len=128, batch_size=16, epochs=1,
                    lr=1e-4, warmup=0.1, truncations=("head+tail",))
    return dict(checkpoint=checkpoint, n_train=None, n_test=None, max_len=512, batch_size=32, epochs=2,
                lr=5e-5, warmup=0.1, truncations=("head+tail", "head", "tail"))


def collate(batch, pad_id: int):
    """(ids, label) pairs -> (input_ids, attention_mask, labels), padded to the longest."""
    input_ids, lengths, labels = pad_collate(batch, pad_id)
    mask = torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]
    return input_ids, mask.long(), labels


def loader(data: dict, split: str, s: dict, truncation: str = "head+tail", shuffle: bool = False,
           seed: int = 0) -> DataLoader:
    """Length-bucketed batches of one split (BERT's cost grows with the padded
    length), each review cut to ``s["max_len"]`` by ``truncation``. Evaluation
    batches are twice the training ones: no activations are kept for backward."""
    tok = data["tokenizer"]
    encoded = [tok.build(ids, max_length=s["max_len"], truncation=truncation)[0] for ids in data[split][0]]
    batch_size = s["batch_size"] * (1 if split == "train" else 2)
    sampler = BucketBatchSampler([len(e) for e in encoded], batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(list(zip(encoded, data[split][1])), batch_sampler=sampler,
                      collate_fn=partial(collate, pad_id=tok.pad_id))


def prepare(s: dict, seed: int = 0) -> dict:
    """IMDB tokenised once (no truncation yet): train / valid / test token ids and labels."""
    tok = B.tokenizer_for(s["checkpoint"])
    train_all = load_imdb("train").sample(s["n_train"], seed=seed)
    train, valid = train_valid_split(train_all, valid_fraction=0.1, seed=seed)
    test = load_imdb("test").sample(s["n_test"], seed=seed)
    start = time.perf_counter()
    data = {"tokenizer": tok, "test_texts": test.texts}
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        data[name] = (tok.tokenize_many(part.texts), list(part.labels))
    data["tokenize_seconds"] = time.perf_counter() - start
    return data


def fine_tune(data: dict, s: dict, truncation: str = "head+tail", seed: int = 0, verbose: bool = False):
    """Fine-tune a fresh copy of the checkpoint; return (model, history)."""
    config.seed_everything(seed)
    model = B.from_pretrained(s["checkpoint"], num_classes=2)
    train_loader = loader(data, "train", s, truncation, shuffle=True, seed=seed)
    valid_loader = loader(data, "valid", s, truncation)
    optimizer = torch.optim.AdamW(B.param_groups(model, 0.01), lr=s["lr"])
    total = s["epochs"] * len(train_loader)
    scheduler = linear_warmup_decay(optimizer, int(s["warmup"] * total), total)
    history = fit(model, train_loader, num_epochs=s["epochs"], optimizer=optimizer, scheduler=scheduler,
                  valid_loader=valid_loader, amp="auto", clip_grad_norm=1.0, progress=verbose, verbose=verbose)
    return model, history


def test_accuracy(model, data: dict, s: dict, truncation: str = "head+tail") -> float:
    test_loader = loader(data, "test", s, truncation)
    device = next(model.parameters()).device
    return evaluate(model, test_loader, device=device, amp=resolve_amp("auto", device))["acc"]


def throughput(checkpoint: str, batch_size: int = 32, seq_len: int = 256, steps: int = 30,
               compile: bool = False) -> dict:
    """Training sequences per second (forward, backward, AdamW step) of ours and of
    ``transformers``' BertForSequenceClassification: same weights, batch and dtype
    (bf16 autocast on a GPU), measured one after the other in this process."""
    from transformers import BertForSequenceClassification

    device = config.device()
    amp = resolve_amp("auto", device)
    folder = B.resolve_checkpoint(checkpoint)
    ids = torch.randint(1000, 20000, (batch_size, seq_len), device=device)
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 2, (batch_size,), device=device)
    models = {"ours": lambda: B.from_pretrained(folder, 2),
              "transformers": lambda: BertForSequenceClassification.from_pretrained(str(folder), num_labels=2,
                                                                                    attn_implementation="sdpa").float()}
    if compile:
        models["ours + torch.compile"] = lambda: torch.compile(B.from_pretrained(folder, 2))
    out = {}
    for name, build in models.items():
        model = build().to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step():
            with autocast(device, amp):
                logits = model(input_ids=ids, attention_mask=mask)
                logits = logits.logits if hasattr(logits, "logits") else logits
                loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        for _ in range(5):  # warm-up (and compilation)
            step()
        sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        out[name] = round(steps * batch_size / (time.perf_counter() - start), 1)
    return {"batch_size": batch_size, "seq_len": seq_len, "dtype": amp or "fp32", "sequences_per_second": out}


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    from bigtext_lite.experiments import with_overrides

    s = with_overrides(settings(), overrides)
    data = prepare(s)
    out = {"settings": s, "train_size": len(data["train"][0]), "test_size": len(data["test"][0]),
           "tokenize_seconds": round(data["tokenize_seconds"], 1)}
    if config.device().type == "cuda":  # first: it is short, and a cut-off run keeps it
        out["throughput"] = throughput(s["checkpoint"], compile=True)
        print(out["throughput"], flush=True)
        save_partial(out)
    rows = []
    for truncation in s["truncations"]:
        start = time.perf_counter()
        model, history = fine_tune(data, s, truncation)
        rows.append({"config": f"{s['checkpoint']}, {truncation}, {s['max_len']} tokens",
                     "test_acc": round(test_accuracy(model, data, s, truncation), 4),
                     "val_acc": round(history.epochs[-1]["val_acc"], 4), "epochs": len(history.epochs),
                     "train_seconds": round(sum(history.column("time")), 1),
                     "total_seconds": round(time.perf_counter() - start, 1)})
        print(rows[-1], flush=True)
        save_partial({**out, "rows": rows})
        del model
    best = max(rows, key=lambda r: r["val_acc"])
    out.update({"rows": rows, "best_config": best["config"], "test_acc": best["test_acc"]})
    return out
