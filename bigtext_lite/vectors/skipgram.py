"""Word vectors from raw text: skip-gram and CBOW with negative sampling and
character n-grams (Mikolov et al., 2013; Bojanowski et al., 2017), in PyTorch.

This is the official fastText ``train_unsupervised``, rewritten so that the two can be
compared on the same corpus with the same settings; its arguments keep fastText's own
names (``minCount``, ``epoch``, ``ws``, ``neg``, ``minn``, ``maxn``, ``bucket``, ``t``)
rather than this library's (``num_epochs``, ``min_count``) for that reason, and a model
trained here is saved as a fastText ``.bin`` that the official package loads. What
decides the vectors follows fastText:

- every line ends with the word ``</s>`` and is cut after 1,025 words, as the C++
  ``getLine`` reads it; words seen fewer than ``minCount`` times are dropped;
- subsampling keeps a token of a word of frequency f with probability
  ``sqrt(t / f) + t / f``, drawn again every epoch;
- each kept token gets a context window of random size b in 1..ws;
- a word's input vector is the mean of its own row and of the rows of its
  character n-grams (``<word>``, minn..maxn characters, FNV-1a hashed into
  ``bucket`` rows); an unseen word gets the mean of its n-gram rows;
- skip-gram predicts each context word from the centre word's input vector,
  CBOW predicts the centre word from the mean over its context words' rows;
  both score the true word against ``neg`` negatives from fastText's table
  (count ** 0.5; word2vec uses 0.75), drawing again a negative equal to it;
- SGD with a learning rate decaying linearly to 0 with the tokens read. As in the
  C++ code, every input row of a bag receives the *full* gradient of the bag's
  vector, not 1/len of it (``negative_sampling.mean_with_sum_grad`` says it to autograd);
- ``thread`` processes update the shared matrices without locks (Hogwild), as the
  C++ threads do, sharing one count of the work done.

Where we differ: the C++ code updates after every (centre, context) pair; we write
the same update out (:func:`~bigtext_lite.vectors.negative_sampling.sgd_step`) for a
batch of about ``batch_size`` pairs that all read the same parameters, so that a few
sparse-matrix products replace a loop over pairs, and a word read many times in a batch
has its rows read and updated once.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from bigtext_lite.errors import NonFiniteLossError
from bigtext_lite.fasttext import EOS, hogwild, index_tokens
from bigtext_lite.vectors.fasttext_bin import SubwordVectors, write_fasttext_bin
from bigtext_lite.vectors.negative_sampling import (
    Subwords,
    batches,
    examples,
    negative_table,
    sgd_step,
)

MAX_LINE = 1025  # the C++ getLine stops after MAX_LINE_SIZE + 1 tokens
CHUNK_TOKENS = 65_536  # a worker's unit of work: examples are built for this many tokens at once
LOSS_EVERY = 16  # the loss is computed on every 16th batch: a sample, nearly free


@dataclass
class SkipgramArgs:
    """fastText's names and defaults for ``train_unsupervised`` (but ``thread``: all cores)."""

    model: str = "skipgram"  # or "cbow"
    dim: int = 100
    ws: int = 5
    epoch: int = 5
    minCount: int = 5
    neg: int = 5
    minn: int = 3
    maxn: int = 6
    bucket: int = 2_000_000
    t: float = 1e-4
    lr: float = 0.05
    thread: int = os.cpu_count() or 1
    batch_size: int = 1024  # ours: pairs (skip-gram) or windows (CBOW) per step
    seed: int = 0


class WordVectors(SubwordVectors):
    """A trained model: ``get_word_vector`` (any word, through its n-grams),
    ``vectors()`` (a :class:`~bigtext_lite.vectors.Vectors` of its words, ``</s>`` left
    out), ``save`` (a fastText ``.bin`` the official package loads)."""

    left_out = (EOS,)

    def __init__(self, words: list[str], counts: list[int], ntokens: int, args: SkipgramArgs,
                 input: torch.Tensor, output: torch.Tensor):
        super().__init__(words, len(words), args.minn, args.maxn, args.bucket,
                         input.detach().cpu())  # input: (V + bucket, dim)
        self.counts, self.ntokens, self.args = counts, ntokens, args
        self.output = output.detach().cpu()  # output: (V, dim)
        self.stats: dict = {}

    def _mean(self, ids: list[int]) -> np.ndarray:
        # torch's float32 mean of the trained tensor, not the .bin reader's float64 one:
        # the two differ in the last bit, and the chapter's results were made with this one.
        return self.input[ids].mean(0).numpy()

    def save(self, path: str | Path) -> Path:
        """Write the official fastText ``.bin`` layout (see ``fasttext_bin.FastTextBin``)."""
        a = self.args
        # fastText's ids: model cbow 1, skipgram 2; loss 2 is ns. wordNgrams 1 and
        # lrUpdateRate 100 are fastText's defaults: our trainer has neither setting.
        header = dict(dim=a.dim, ws=a.ws, epoch=a.epoch, minCount=a.minCount, neg=a.neg,
                      wordNgrams=1, loss=2, model={"cbow": 1, "skipgram": 2}[a.model],
                      bucket=a.bucket, minn=a.minn, maxn=a.maxn, lrUpdateRate=100, t=a.t)
        return write_fasttext_bin(path, header, self.words, self.counts, self.ntokens,
                                  self.input.numpy(), self.output.numpy())


def build_vocabulary(texts: Iterable[Sequence[str]], min_count: int):
    """Words (by falling count, ties by spelling), their counts, the number of tokens,
    and the corpus as the kept words' ids with a line number per token. Every line
    ends with ``</s>`` and is cut after ``MAX_LINE`` kept tokens, as fastText reads it."""
    indexed = index_tokens(list(texts))
    distinct, rows, lengths = indexed.distinct, indexed.rows, indexed.lengths
    counts = np.bincount(rows, minlength=len(distinct))  # (distinct,)
    kept, count = np.flatnonzero(counts >= min_count).tolist(), counts.tolist()
    if not kept:
        raise ValueError(f"no word occurs {min_count} times or more; lower min_count")
    kept.sort(key=lambda i: (-count[i], distinct[i]))
    word_id = np.full(len(distinct), -1, dtype=np.int64)  # (distinct,): -1 for a dropped word
    word_id[kept] = np.arange(len(kept))
    ids = word_id[rows]  # (tokens,)
    known = ids >= 0
    ids, line = ids[known], np.repeat(np.arange(len(lengths)), lengths)[known]  # (kept tokens,)
    first = np.flatnonzero(np.diff(line, prepend=-1))  # each line's first kept token
    position = np.arange(len(ids)) - np.repeat(first, np.diff(np.append(first, len(ids))))
    new_line = np.zeros(len(ids), dtype=bool)  # (kept tokens,): starts a line as fastText cuts
    new_line[first] = True
    new_line |= position % MAX_LINE == 0
    words = [distinct[i] for i in kept]
    return words, counts[kept].tolist(), len(rows), ids, np.cumsum(new_line) - 1


def _train_worker(input, output, corpus, lines, cuts, args: SkipgramArgs, sub, keep_p, table,
                  seed: int, taken, losses: torch.Tensor, progress: bool) -> None:
    """SGD on chunks of lines (starting at ``cuts``) until ``args.epoch`` passes over the
    corpus are done, each next chunk taken from the counter ``taken`` that all workers
    share, as the C++ threads share their token count: the learning rate decays with
    the tokens read by all, and no worker idles while another has work left.
    ``losses[epoch]`` gets (sampled loss, its true words). One Hogwild worker of several."""
    torch.set_num_threads(1)  # one core per worker, as one C++ thread
    rng, device = np.random.default_rng(seed), input.device
    n, total = len(cuts) - 1, args.epoch * cuts[-1]
    bar = tqdm(total=args.epoch * n, desc="training", unit="chunk", disable=not progress)
    while True:
        with taken.get_lock():
            k, taken.value = taken.value, taken.value + 1
        if k >= args.epoch * n:
            break
        epoch, (c0, c1) = k // n, cuts[k % n:k % n + 2]
        ex = examples(rng, corpus[c0:c1], lines[c0:c1], keep_p, table, model=args.model,
                      ws=args.ws, neg=args.neg)
        bar.update(k + 1 - bar.n)
        if ex is None:
            continue
        batched = batches(ex, args.batch_size, args.model, sub, device)
        for step, (position, batch) in enumerate(batched):
            done = epoch * cuts[-1] + c0 + position
            loss = sgd_step(input, output, *batch, lr=args.lr * (1 - done / total),
                            with_loss=step % LOSS_EVERY == 0)
            if loss is not None:
                losses[epoch] += torch.stack([loss.cpu(), torch.tensor(float(len(batch[-1])))])
    bar.close()


def train_unsupervised(texts: Iterable[Sequence[str]], device: str | torch.device = "cpu",
                       verbose: bool = True, **kwargs) -> WordVectors:
    """Train word vectors on tokenised ``texts`` (lists of tokens).

    Keyword arguments are fastText's (see :class:`SkipgramArgs`): ``model`` ("skipgram"
    or "cbow"), ``dim``, ``ws``, ``epoch``, ``minCount``, ``neg``, ``minn``, ``maxn``,
    ``bucket``, ``t``, ``lr``, ``thread``, plus ``batch_size`` and ``seed``.
    ``thread=N`` trains in N processes that share the matrices (Hogwild), as
    fastText's threads do; on a GPU, in one.
    """
    unknown = set(kwargs) - set(SkipgramArgs.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown arguments {sorted(unknown)}; "
                        f"known: {list(SkipgramArgs.__dataclass_fields__)}")
    args = SkipgramArgs(**kwargs)
    if args.model not in ("skipgram", "cbow"):
        raise ValueError(f"model must be 'skipgram' or 'cbow', got {args.model!r}")
    device = torch.device(device)
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    words, counts, ntokens, corpus, lines = build_vocabulary(texts, args.minCount)
    sub = Subwords(words, args.minn, args.maxn, args.bucket)
    freq = np.array(counts, dtype=np.float64) / ntokens  # (V,)
    keep_p = np.sqrt(args.t / freq) + args.t / freq  # (V,)
    table = negative_table(np.array(counts))
    rows = len(words) + (args.bucket if args.maxn > 0 else 0)
    # input: (V + bucket, dim), the word rows, then the n-gram rows (none when maxn is 0)
    input = torch.empty(rows, args.dim, device=device).uniform_(-1 / args.dim, 1 / args.dim)
    output = torch.zeros(len(words), args.dim, device=device)  # (V, dim)
    starts = np.flatnonzero(np.diff(lines, prepend=-1))  # chunks of whole lines
    cuts = starts[np.searchsorted(starts, np.arange(0, len(lines), CHUNK_TOKENS))]
    cuts = np.unique(np.append(cuts, len(lines)))  # (chunks + 1,)
    workers = 1 if device.type != "cpu" else max(1, min(args.thread, args.epoch * (len(cuts) - 1)))
    losses = torch.zeros(workers, args.epoch, 2)  # per worker and epoch: (sampled loss, true words)
    ctx = hogwild.context()
    taken = ctx.Value("q", 0)  # chunks taken so far, by all workers
    prep_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    jobs = [(input, output, corpus, lines, cuts, args, sub, keep_p, table, args.seed + r, taken,
             losses[r], verbose and r == 0) for r in range(workers)]
    if workers == 1:
        threads = torch.get_num_threads()
        try:
            _train_worker(*jobs[0])
        finally:
            torch.set_num_threads(threads)
        if device.type == "cuda":
            torch.cuda.synchronize()
    else:
        _hogwild(ctx, jobs, input, output, losses)
    train_s = time.perf_counter() - t1
    summed = losses.sum(0)  # (epoch, 2)
    _check_finite(summed[:, 0], input, output, args)
    model = WordVectors(words, counts, ntokens, args, input, output)
    model.stats = {"prep_s": prep_s, "train_s": train_s,
                   "words_per_s": ntokens * args.epoch / train_s,
                   "epoch_loss": (summed[:, 0] / summed[:, 1].clamp(min=1)).tolist(),
                   "threads": workers, "device": str(device)}
    if verbose:
        print(f"{len(words):,} words, {ntokens:,} tokens; vocabulary and n-grams {prep_s:.1f} s, "
              f"training {train_s:.1f} s ({model.stats['words_per_s'] / 1e3:.0f}k words/s, "
              f"{device}, {workers} process(es))")
    return model


def _check_finite(epoch_losses: torch.Tensor, input, output, args: SkipgramArgs) -> None:
    """Refuse a training that diverged (its vectors would be NaN), naming the epoch and
    the step size: a batch's summed steps grow with the batch, as in supervised mode."""
    bad = [e + 1 for e, x in enumerate(epoch_losses.tolist()) if not math.isfinite(x)]
    if bad or not (torch.isfinite(input).all() and torch.isfinite(output).all()):
        where = f"in epoch {bad[0]} of {args.epoch}" if bad else "in the trained weights"
        raise NonFiniteLossError(f"skip-gram training diverged: not finite {where}; "
                                 f"lr={args.lr} is too high for batch_size={args.batch_size}")


def _hogwild(ctx, jobs, *shared: torch.Tensor) -> None:
    """Each job's ``_train_worker`` in its own process, the ``shared`` tensors moved to
    shared memory so that every process updates the same matrices, without locks."""
    for tensor in shared:
        tensor.share_memory_()
    hogwild.run(ctx, _train_worker, jobs)
