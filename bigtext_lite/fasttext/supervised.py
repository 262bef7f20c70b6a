"""Training fastText's supervised classifier, and the trained classifier: the examples
cut into batches, SGD with a linearly decaying learning rate by Hogwild worker
processes (as fastText's threads), and ``predict``, ``test``, ``save``, ``load``.

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from bigtext_lite import checkpoint as ckpt
from bigtext_lite.errors import NonFiniteLossError
from bigtext_lite.fasttext import hogwild
from bigtext_lite.fasttext.batches import ROW_STEPS, Batches
from bigtext_lite.fasttext.dictionary import (
    Dictionary,
    index_labelled,
    index_tokens,
    training_features,
)
from bigtext_lite.fasttext.model import FastText
from bigtext_lite.fasttext.textfile import collector_paused, read_file, read_indexed
from bigtext_lite.io import save_atomic


@dataclass
class SupervisedArgs:
    """The official hyperparameter names and defaults (supervised mode)."""

    lr: float = 0.1
    dim: int = 100
    epoch: int = 5
    minCount: int = 1
    wordNgrams: int = 1
    bucket: int = 2_000_000
    loss: str = "softmax"
    neg: int = 5
    batch_size: int = 8  # ours: examples per step (summed loss); fastText steps per example
    seed: int = 0
    # ours: a row read by several examples of a batch takes the "sum" of their steps
    # or their "mean" (for large batches: batches.py)
    row_steps: str = "sum"


_SAVED = ("args", "dictionary", "model")  # what FastTextClassifier.save writes


class FastTextClassifier:
    """A trained model with its dictionary: ``predict``, ``test``, ``save``, ``load``."""

    def __init__(self, dictionary: Dictionary, model: FastText, args: SupervisedArgs):
        self.dictionary, self.model, self.args = dictionary, model, args
        self.stats: dict = {}

    @property
    def labels(self) -> list[str]:
        return self.dictionary.labels

    def _batch(self, token_lists, device):
        """EmbeddingBag's input: all feature ids in one tensor, and where each text starts."""
        ids, counts = self.dictionary.encode(index_tokens(token_lists))  # (N,), (B,)
        offsets = (np.cumsum(counts) - counts).astype(ids.dtype)  # (B,)
        return torch.from_numpy(ids).to(device), torch.from_numpy(offsets).to(device)

    @torch.no_grad()
    def predict(self, text: str | Sequence[str], k: int = 1, threshold: float = 0.0):
        """(labels, probabilities) of the top ``k`` labels above ``threshold``.

        ``text`` is split on whitespace (fastText's rule) unless already a token
        list. A text with no known word is classified from ``</s>`` alone: the
        model's prior, as in fastText.
        """
        return self.predict_many([text], k, threshold)[0]

    @torch.no_grad()
    def predict_many(self, texts, k: int = 1, threshold: float = 0.0, batch_size: int = 1024):
        device = self.model.output.device
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = [t.split() if isinstance(t, str) else t
                     for t in texts[start:start + batch_size]]
            probs = self.model.log_probs(self.model(*self._batch(chunk, device))).exp()  # (B, K)
            top = probs.topk(min(k, probs.shape[1]), dim=-1)
            for p, i in zip(top.values.tolist(), top.indices.tolist()):
                keep = [(self.labels[j], q) for j, q in zip(i, p) if q >= threshold]
                out.append(([label for label, _ in keep], [q for _, q in keep]))
        return out

    def test(self, data, k: int = 1) -> tuple[int, float, float]:
        """(examples, precision@k, recall@k) as fastText's ``test``. ``data``: a file
        path or (labels, tokens) pairs. Gold labels never seen in training cannot
        be predicted; like fastText we drop them (with a warning) and skip lines
        left with no label."""
        examples = read_file(data) if isinstance(data, (str, Path)) else data
        known = self.dictionary.label_id
        unseen = Counter(label for labs, _ in examples for label in labs if label not in known)
        if unseen:
            warnings.warn(f"{sum(unseen.values())} gold labels never seen in training were "
                          f"dropped: {sorted(unseen)[:5]}")
        kept = [(labs, toks) for labs, toks in examples if any(label in known for label in labs)]
        preds = self.predict_many([toks for _, toks in kept], k)
        hits = sum(len(set(p) & set(labs)) for (labs, _), (p, _) in zip(kept, preds))
        n_pred = sum(len(p) for p, _ in preds)
        n_gold = sum(sum(label in known for label in labs) for labs, _ in kept)
        return len(kept), hits / max(n_pred, 1), hits / max(n_gold, 1)

    def save(self, path: str | Path) -> Path:
        return save_atomic({"args": asdict(self.args), "dictionary": self.dictionary.state(),
                            "model": self.model.state_dict()}, path)

    @classmethod
    def load(cls, path: str | Path, device="cpu") -> "FastTextClassifier":
        state = ckpt.load(path, map_location=device)
        missing = [key for key in _SAVED if not isinstance(state, dict) or key not in state]
        if missing:
            held = (f"a dict with keys {list(state)[:6]}" if isinstance(state, dict)
                    else f"a {type(state).__name__}")
            raise ckpt.CheckpointError(
                f"{path} is not a saved fastText classifier: it holds {held}, which lacks "
                f"{', '.join(map(repr, missing))} (FastTextClassifier.save writes "
                f"{', '.join(map(repr, _SAVED))})")
        args, dictionary = SupervisedArgs(**state["args"]), Dictionary(**state["dictionary"])
        model = FastText(dictionary.num_features, len(dictionary.labels), args.dim, args.loss,
                         dictionary.label_counts, args.neg)
        ckpt.load_model_state(model, state["model"], str(path))
        return cls(dictionary, model.to(device), args)


LOSS_EVERY = 16  # the training loss is computed on every 16th batch: a sample, nearly free


def _train_shard(model: FastText, data: Batches, batches: list[int], args: SupervisedArgs,
                 seed: int, num_threads: int, progress: bool) -> None:
    """SGD over ``batches`` (batch numbers of ``data``) for ``args.epoch`` epochs, the
    learning rate decaying linearly to 0; the batches' order is reshuffled every
    epoch. One Hogwild worker when there are several."""
    torch.set_num_threads(num_threads)
    torch.manual_seed(seed)
    total, step = args.epoch * len(batches), 0
    bar = tqdm(total=total, desc="training", unit="batch", disable=not progress, mininterval=0.5)
    for epoch in range(args.epoch):
        loss, sampled = torch.zeros((), device=data.device), 0
        for k in torch.randperm(len(batches)).tolist():
            b = batches[k]
            batch_loss = model.sgd_step(*data.batch(b), lr=args.lr * (1 - step / total),
                                        with_loss=step % LOSS_EVERY == 0,
                                        step_weights=data.step_weights[b])
            if batch_loss is not None:
                loss += batch_loss
                sampled += 1
            step += 1
            bar.update()
        loss = loss.item() / max(1, sampled * data.batch_size)
        if not math.isfinite(loss):
            raise NonFiniteLossError(f"loss is {loss} in epoch {epoch + 1} of {args.epoch}: "
                                     f"lr={args.lr} is too high for batch_size={args.batch_size}")
        bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}")
    bar.close()


def train_supervised(data, lr: float = 0.1, dim: int = 100, epoch: int = 5, minCount: int = 1,
                     wordNgrams: int = 1, bucket: int = 2_000_000, loss: str = "softmax",
                     neg: int = 5, batch_size: int = 8, thread: int = 1, seed: int = 0,
                     verbose: bool = True, device: str | torch.device = "cpu",
                     row_steps: str = "sum"
                     ) -> FastTextClassifier:
    """Train like ``fasttext.train_supervised``, with its argument names and defaults
    (``minCount``, ``wordNgrams``, ``epoch``, ...) rather than the house's
    (``min_count``, ``num_epochs``): this mirrors the official function, so that one
    settings dict trains both.

    ``data``: a path to a file in fastText's format, or (labels, tokens) pairs.
    Lines without a label are skipped with a warning naming the first few; so
    are lines with no feature at all, as fastText skips them. The examples are
    shuffled once (``seed``) and cut into batches of ``batch_size``; each epoch
    visits the batches in a new order, with the learning rate decaying linearly
    from ``lr`` to 0 over all steps.

    ``thread=N`` does what fastText's threads do: the model goes to shared memory
    and N worker processes each train on 1/N of the batches, updating the shared
    weights without locks (Hogwild; sparse updates rarely collide).
    ``device="cuda"`` trains on a GPU (one process), where large batches pay:
    with ``row_steps="mean"`` a row read by several examples of a batch moves by
    the mean of their steps rather than their sum, which keeps fastText's learning
    rates stable at hundreds of examples a batch (:mod:`.batches`).
    """
    if torch.device(device).type != "cpu" and thread > 1:
        raise ValueError("thread > 1 is CPU Hogwild; on a GPU use thread=1")
    if row_steps not in ROW_STEPS:
        raise ValueError(f"row_steps must be one of {ROW_STEPS}, got {row_steps!r}")
    args = SupervisedArgs(lr, dim, epoch, minCount, wordNgrams, bucket, loss, neg, batch_size,
                          seed, row_steps)
    t0 = time.perf_counter()  # preparation counts from the file, as the official's time does
    with collector_paused():
        texts = read_indexed(data) if isinstance(data, (str, Path)) else index_labelled(data)
        if texts.unlabelled:
            shown = f"{texts.unlabelled[:5]}{' ...' if len(texts.unlabelled) > 5 else ''}"
            warnings.warn(f"{len(texts.unlabelled)} of {texts.lines} lines have no label and "
                          f"were skipped (lines {shown})")
        # a file sorted by label must not give sorted batches
        order = np.random.default_rng(seed).permutation(len(texts.labels))
        label_lists = [texts.labels[i] for i in order]
        dictionary = Dictionary.from_indexed(texts.indexed, label_lists, minCount, wordNgrams,
                                             bucket)
        ids, counts, weights = training_features(dictionary, texts.indexed, order, thread)
        labels = [[dictionary.label_id[label] for label in labs] for labs in label_lists]
        if len(counts) and not counts.any():
            raise ValueError(f"no line has a feature left at minCount={minCount}: lower minCount")
        if (counts == 0).any():  # only possible when minCount drops </s>
            warnings.warn(f"{int((counts == 0).sum())} lines have no feature left at "
                          f"minCount={minCount} and were skipped")
            labels = [labs for labs, c in zip(labels, counts) if c]
            counts = counts[counts > 0]
        torch.manual_seed(seed)
        model = FastText(dictionary.num_features, len(dictionary.labels), dim, loss,
                         dictionary.label_counts, neg, shared=thread > 1)
        model.to(device)
        examples = Batches(ids, counts, weights, labels, len(dictionary.labels), loss == "ova",
                           batch_size, device, row_steps)
    prep_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    if thread <= 1:  # one thread, as the official's thread=1: a fair and steady comparison
        threads = torch.get_num_threads()
        try:
            _train_shard(model, examples, list(range(len(examples))), args, seed, 1, verbose)
        finally:
            torch.set_num_threads(threads)  # the caller's setting, for what it runs next
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
    else:
        model.share_memory()
        jobs = [(model, examples, list(range(r, len(examples), thread)), args, seed + r, 1,
                 verbose and r == 0) for r in range(thread)]
        hogwild.run(hogwild.context(), _train_shard, jobs)
    train_s = time.perf_counter() - t1
    tokens = int(texts.indexed.lengths.sum())  # words and one </s> per line, as fastText counts
    classifier = FastTextClassifier(dictionary, model, args)
    classifier.stats = {"prep_s": prep_s, "train_s": train_s, "tokens_per_epoch": tokens,
                        "words_per_s": tokens * epoch / (prep_s + train_s),
                        "train_words_per_s": tokens * epoch / train_s, "thread": thread}
    if verbose:
        print(f"{len(labels):,} examples, {len(dictionary.words):,} words, "
              f"{len(dictionary.labels)} labels; reading and features {prep_s:.1f} s, "
              f"training {train_s:.1f} s ({classifier.stats['train_words_per_s'] / 1e6:.2f}M "
              f"words/s while training, {thread} thread(s))")
    return classifier
