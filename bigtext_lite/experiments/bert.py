"""The BERT chapter's experiment: fine-tune a pretrained BERT on IMDB with our encoder.

``run()`` tokenises IMDB once with our WordPiece, fine-tunes with the BERT
recipe (AdamW without decay on biases and LayerNorm, linear warm-up then
decay, bf16 autocast on a GPU, gradient clipping) for each truncation strategy
the chapter compares (classifying the pooled [CLS] vector), then once more per
other pooling (the mean of the hidden states) with the first truncation, trains the
best configuration again with more seeds (``seeds``), and on a GPU measures training
throughput of our model against ``transformers``' ``BertForSequenceClassification``
on the same checkpoint, dtype and batch, at several lengths, in fp32, bf16 and
bf16 + ``torch.compile``. The notebook calls the same helpers with the same Settings.

Walkthrough: notebooks/09_bert.ipynb.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from bigtext_lite import config
from bigtext_lite.data import Encoded, load_imdb
from bigtext_lite.data.batching import BucketBatchSampler, pad_collate
from bigtext_lite.data.reviews import train_valid_split
from bigtext_lite.experiments import predictions, settings
from bigtext_lite.experiments.settings import profiled
from bigtext_lite.experiments.timing import time_steps
from bigtext_lite.models import bert
from bigtext_lite.train import autocast, evaluate, fit, linear_warmup_decay, resolve_amp


@dataclass(frozen=True)
class Settings(settings.Settings):
    # "minilm" (offline) or e.g. "bert-base-uncased"; BIGTEXT_BERT picks it
    checkpoint: str = field(default_factory=lambda: os.environ.get("BIGTEXT_BERT", "minilm"))
    max_train: int | None = profiled(1_000, full=None)  # reviews, validation included; full: all
    max_test: int | None = profiled(500, full=None)  # test reviews; full: all 25,000
    max_len: int = profiled(96, full=512)  # tokens a review is cut to, [CLS] and [SEP] included
    batch_size: int = profiled(16, full=32)  # reviews per training batch
    num_epochs: int = profiled(1, full=2)  # passes over the training reviews
    lr: float = profiled(1e-4, full=5e-5)  # AdamW's peak learning rate
    warmup: float = 0.1  # the fraction of the steps over which the learning rate rises
    truncations: tuple = profiled(("head+tail",), full=("head+tail", "head", "tail"),
                              colab=("head+tail",))  # compared
    # what the classifier reads (bert.POOLINGS); the first is fine-tuned with every
    # truncation, the others with the first truncation
    poolings: tuple = profiled(("cls", "mean"), full=("cls", "mean"), colab=("cls",))
    # fine-tunings of the best configuration, seeds 0, 1 ..: its test accuracy's spread
    # (the same reviews and split; a new head and batch order)
    seeds: int = profiled(1, full=3, colab=1)
    # on a GPU, training throughput at these lengths (tokens), ours and transformers' in
    # each of THROUGHPUT_MODES
    throughput_lengths: tuple = profiled((256,), full=(128, 256, 512), colab=(256,))


def collate(batch, pad_id: int):
    """(ids, label) pairs -> (input_ids, attention_mask, labels), padded to the longest."""
    input_ids, lengths, labels = pad_collate(batch, pad_id)
    mask = torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]  # (B, T): real tokens
    return input_ids, mask.long(), labels


def loader(data: dict, split: str, s: Settings, truncation: str = "head+tail",
           shuffle: bool = False, seed: int = 0) -> DataLoader:
    """Length-bucketed batches of one split (BERT's cost grows with the padded
    length), each review cut to ``s.max_len`` by ``truncation``. Evaluation
    batches are twice the training ones: no activations are kept for backward."""
    tok = data["tokenizer"]
    encoded = [tok.build(ids, max_length=s.max_len, truncation=truncation)[0]
               for ids in data[split][0]]
    batch_size = s.batch_size * (1 if split == "train" else 2)
    sampler = BucketBatchSampler([len(e) for e in encoded], batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(list(zip(encoded, data[split][1])), batch_sampler=sampler,
                      collate_fn=partial(collate, pad_id=tok.pad_id))


def prepare(s: Settings, seed: int = 0) -> dict:
    """IMDB tokenised once (no truncation yet): train / valid / test, each an ``Encoded``
    (token ids and labels)."""
    tok = bert.tokenizer_for(s.checkpoint)
    train_all = load_imdb("train").sample(s.max_train, seed=seed)
    train, valid = train_valid_split(train_all, valid_fraction=0.1, seed=seed)
    test = load_imdb("test").sample(s.max_test, seed=seed)
    start = time.perf_counter()
    data = {"tokenizer": tok, "test_texts": test.texts}
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        data[name] = Encoded(tok.tokenize_many(part.texts), list(part.labels))
    data["tokenize_seconds"] = time.perf_counter() - start
    return data


def fine_tune(data: dict, s: Settings, truncation: str = "head+tail", seed: int = 0,
              verbose: bool = False, pooling: str = "cls"):
    """Fine-tune a fresh copy of the checkpoint; return (model, history)."""
    config.seed_everything(seed)
    model = bert.from_pretrained(s.checkpoint, num_classes=2, pooling=pooling)
    train_loader = loader(data, "train", s, truncation, shuffle=True, seed=seed)
    valid_loader = loader(data, "valid", s, truncation)
    optimizer = torch.optim.AdamW(bert.param_groups(model, 0.01), lr=s.lr)
    total = s.num_epochs * len(train_loader)
    scheduler = linear_warmup_decay(optimizer, int(s.warmup * total), total)
    history = fit(model, train_loader, num_epochs=s.num_epochs, optimizer=optimizer,
                  scheduler=scheduler, valid_loader=valid_loader, amp="auto",
                  clip_grad_norm=1.0, progress=verbose, verbose=verbose)
    return model, history


def test_accuracy(model, data: dict, s: Settings, truncation: str = "head+tail") -> float:
    test_loader = loader(data, "test", s, truncation)
    device = next(model.parameters()).device
    return evaluate(model, test_loader, device=device, amp=resolve_amp("auto", device))["acc"]


# (name, autocast, torch.compile) of each throughput measure, for both implementations
THROUGHPUT_MODES = (("fp32", None, False), ("bf16", "bf16", False),
                    ("bf16 + torch.compile", "bf16", True))


def throughput(checkpoint: str, batch_size: int = 32, seq_len: int = 256, steps: int = 20,
               amp: str | None = None, compile: bool = False) -> dict:
    """Training sequences per second (forward, backward, AdamW step) of ours and of
    ``transformers``' BertForSequenceClassification: same weights, batch, length and
    autocast (``amp``), each compiled alike when ``compile`` (one fixed shape, so one
    graph, compiled during the 5 warm-up steps), measured one after the other here."""
    from transformers import BertForSequenceClassification

    device = config.device()
    folder = bert.resolve_checkpoint(checkpoint)
    ids = torch.randint(1000, 20000, (batch_size, seq_len), device=device)  # (B, T)
    mask = torch.ones_like(ids)  # (B, T): no padding
    labels = torch.randint(0, 2, (batch_size,), device=device)  # (B,)
    models = {"ours": lambda: bert.from_pretrained(folder, 2),
              "transformers": lambda: BertForSequenceClassification.from_pretrained(
                  str(folder), num_labels=2, attn_implementation="sdpa").float()}
    out = {}
    for name, build in models.items():
        model = build().to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        forward = torch.compile(model) if compile else model

        def step(_):
            with autocast(device, amp):
                logits = forward(input_ids=ids, attention_mask=mask)
                logits = logits.logits if hasattr(logits, "logits") else logits
                loss = F.cross_entropy(logits.float(), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        # 5 warm-up steps (and compilation), then the timed ones
        _, seconds = time_steps(step, range(5 + steps), warmup=5, device=device)
        out[name] = round(steps * batch_size / seconds, 1)
    return {"batch_size": batch_size, "seq_len": seq_len, "dtype": amp or "fp32",
            "compile": compile, "sequences_per_second": out}


def throughput_table(checkpoint: str, lengths, modes=THROUGHPUT_MODES, **kwargs) -> list:
    """:func:`throughput` at each of ``lengths`` (tokens) in each of ``modes``, each
    measure named by its mode ("mode")."""
    rows = []
    for seq_len in lengths:
        for mode, amp, compile in modes:
            rows.append({"mode": mode, **throughput(checkpoint, seq_len=seq_len, amp=amp,
                                                    compile=compile, **kwargs)})
            print(rows[-1], flush=True)
    return rows


def run(s: Settings, save_partial=lambda result: None) -> dict:
    data = prepare(s)
    out = {"train_size": len(data["train"].ids), "test_size": len(data["test"].ids),
           "tokenize_seconds": round(data["tokenize_seconds"], 1)}
    rows, probs = [], {}
    # every truncation with the first pooling, then the other poolings with the first truncation
    runs = [(t, s.poolings[0]) for t in s.truncations] + [(s.truncations[0], p)
                                                          for p in s.poolings[1:]]
    for truncation, pooling in runs:
        start = time.perf_counter()
        model, history = fine_tune(data, s, truncation, pooling=pooling)
        name = f"{s.checkpoint}, {truncation}, {s.max_len} tokens, {pooling}"
        probs[name] = predictions.positive_probabilities(model, loader(data, "test", s,
                                                                       truncation))
        rows.append({"config": name, "truncation": truncation, "pooling": pooling,
                     "test_acc": round(predictions.accuracy(probs[name], data["test"].labels), 4),
                     "val_acc": round(history.epochs[-1]["val_acc"], 4),
                     "epochs": len(history.epochs),
                     "train_seconds": round(sum(history.column("time")), 1),
                     "total_seconds": round(time.perf_counter() - start, 1)})
        print(rows[-1], flush=True)
        save_partial({**out, "rows": rows})
        del model
    best = max(rows, key=lambda r: r["val_acc"])
    out.update({"rows": rows, "best_config": best["config"], "test_acc": best["test_acc"],
                "predictions": predictions.pack(data["test_texts"], data["test"].labels,
                                                {best["config"]: probs[best["config"]]})})
    accs = [best["test_acc"]]
    for seed in range(1, s.seeds):
        model, _ = fine_tune(data, s, best["truncation"], seed=seed, pooling=best["pooling"])
        test_loader = loader(data, "test", s, best["truncation"])
        accs.append(predictions.accuracy(predictions.positive_probabilities(model, test_loader),
                                         data["test"].labels))
        print(f"{best['config']}, seed {seed}: test accuracy {accs[-1]:.4f}", flush=True)
        del model
    out["seeds"] = predictions.over_seeds(best["config"], accs)
    if config.device().type == "cuda" and s.throughput_lengths:  # last: compiling is slow
        save_partial(out)
        out["throughput"] = throughput_table(s.checkpoint, s.throughput_lengths)
    return out
