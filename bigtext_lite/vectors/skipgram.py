"""Word vectors from raw text: skip-gram and CBOW with negative sampling and
character n-grams (Mikolov et al., 2013; Bojanowski et al., 2017), in PyTorch.

What decides the vectors follows the official fastText ``train_unsupervised``,
so the two can be compared on the same corpus with the same settings, and a
model trained here is saved as a fastText ``.bin`` that the official package
loads:

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
  vector, not 1/len of it (``_mean_with_sum_grad`` says it to autograd);
- ``thread`` processes update the shared matrices without locks (Hogwild), as the
  C++ threads do, sharing one count of the work done.

Where we differ: the C++ code updates after every (centre, context) pair; we write
the same update out (:func:`sgd_step`) for a batch of about ``batch_size`` pairs
that all read the same parameters, so that a few sparse-matrix products replace a
loop over pairs, and a word read many times in a batch has its rows read and
updated once. Walkthrough: notebooks/05_word_vectors.ipynb.
"""

from __future__ import annotations

import os
import struct
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from bigtext_lite.fasttext import hogwild
from bigtext_lite.io import write_atomic
from bigtext_lite.fasttext import (EOS, char_ngrams, fasttext_hashes, index_tokens,
                                          subword_rows)

MAX_LINE = 1025  # the C++ getLine stops after MAX_LINE_SIZE + 1 tokens
CHUNK_TOKENS = 65_536  # a worker's unit of work: examples are built for this many tokens at once
LOSS_EVERY = 16  # the loss is computed on every 16th batch: a sample, nearly free
warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")  # we use what works


@dataclass
class Args:
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


class Subwords:
    """Each word's input rows (its own id, then ``nwords + hash`` of its n-grams, as
    ``subword_rows``), as one flat array, so a batch's bags are gathered without loops."""

    def __init__(self, words: Sequence[str], args: Args):
        grams = [[] if w == EOS or args.maxn <= 0 else char_ngrams(w, args.minn, args.maxn)
                 for w in words]
        self.lengths = np.array([1 + len(g) for g in grams], dtype=np.int64)
        self.starts = np.cumsum(self.lengths) - self.lengths
        own = np.zeros(self.lengths.sum(), dtype=bool)
        own[self.starts] = True
        self.flat = np.empty(len(own), dtype=np.int64)
        self.flat[own] = np.arange(len(words))
        hashes = fasttext_hashes([g for word_grams in grams for g in word_grams])  # all at once
        self.flat[~own] = len(words) + hashes.astype(np.int64) % args.bucket

    def bags(self, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flat row ids, bag sizes) for a sequence of words."""
        lengths = self.lengths[word_ids]
        ends = np.cumsum(lengths)
        within = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)
        return self.flat[np.repeat(self.starts[word_ids], lengths) + within], lengths


def _mean_with_sum_grad(table: torch.Tensor, rows: torch.Tensor, lengths: torch.Tensor):
    """Bag means in the forward pass whose gradient reaches each row undivided, as
    fastText's C++ does for unsupervised models (``Model::update`` divides by the bag
    size only in supervised mode): the gradient that :func:`sgd_step` writes out."""
    offsets = torch.cumsum(lengths, 0) - lengths
    summed = F.embedding_bag(rows, table, offsets, mode="sum", sparse=True)
    mean = (summed / lengths.unsqueeze(1)).detach()
    return mean + (summed - summed.detach())


class WordVectors:
    """A trained model: ``get_word_vector`` (any word, through its n-grams),
    ``vectors()`` (a :class:`~bigtext_lite.vectors.Vectors` of its words),
    ``save`` (a fastText ``.bin`` the official package loads)."""

    def __init__(self, words: list[str], counts: list[int], ntokens: int, args: Args,
                 input: torch.Tensor, output: torch.Tensor):
        self.words, self.counts, self.ntokens, self.args = words, counts, ntokens, args
        self.input, self.output = input.detach().cpu(), output.detach().cpu()
        self.index = {w: i for i, w in enumerate(words)}
        self.stats: dict = {}

    @property
    def dim(self) -> int:
        return self.args.dim

    def subword_ids(self, word: str) -> list[int]:
        a = self.args
        return subword_rows(word, self.index.get(word), len(self.words), a.minn, a.maxn, a.bucket)

    def get_word_vector(self, word: str) -> np.ndarray:
        ids = self.subword_ids(word)
        if not ids:
            return np.zeros(self.dim, np.float32)
        return self.input[ids].mean(0).numpy()

    def vectors(self, words=None):
        """The vectors of the model's words (all, or those in ``words``), ``</s>`` left out."""
        from bigtext_lite.vectors.formats import Vectors
        keep = [w for w in self.words if w != EOS and (words is None or w in words)]
        return Vectors(keep, np.stack([self.get_word_vector(w) for w in keep]))

    def save(self, path: str | Path) -> Path:
        """Write the official fastText ``.bin`` layout (see ``data.vectors.FastTextModel``)."""
        from bigtext_lite.vectors.formats import FASTTEXT_MAGIC, FASTTEXT_VERSION
        a = self.args
        model_id = {"cbow": 1, "skipgram": 2}[a.model]

        def write(f):
            f.write(struct.pack("<ii", FASTTEXT_MAGIC, FASTTEXT_VERSION))
            # wordNgrams 1, loss ns (2), lrUpdateRate 100
            f.write(struct.pack("<12id", a.dim, a.ws, a.epoch, a.minCount, a.neg, 1, 2, model_id,
                                a.bucket, a.minn, a.maxn, 100, a.t))
            f.write(struct.pack("<iiiqq", len(self.words), len(self.words), 0, self.ntokens, -1))
            for word, count in zip(self.words, self.counts):
                f.write(word.encode("utf-8") + b"\0" + struct.pack("<qb", count, 0))
            for matrix in (self.input, self.output):
                f.write(struct.pack("<?qq", False, *matrix.shape))
                f.write(matrix.numpy().astype("<f4").tobytes())
        return write_atomic(path, write)


def build_vocabulary(texts: Iterable[Sequence[str]], min_count: int):
    """Words (by falling count, ties by spelling), their counts, the number of tokens,
    and the corpus as the kept words' ids with a line number per token. Every line
    ends with ``</s>`` and is cut after ``MAX_LINE`` kept tokens, as fastText reads it."""
    distinct, rows, lengths = index_tokens(list(texts))
    counts = np.bincount(rows, minlength=len(distinct))
    kept, count = np.flatnonzero(counts >= min_count).tolist(), counts.tolist()
    if not kept:
        raise ValueError(f"no word occurs {min_count} times or more; lower min_count")
    kept.sort(key=lambda i: (-count[i], distinct[i]))
    word_id = np.full(len(distinct), -1, dtype=np.int64)
    word_id[kept] = np.arange(len(kept))
    ids = word_id[rows]
    known = ids >= 0
    ids, line = ids[known], np.repeat(np.arange(len(lengths)), lengths)[known]
    first = np.flatnonzero(np.diff(line, prepend=-1))  # each line's first kept token
    position = np.arange(len(ids)) - np.repeat(first, np.diff(np.append(first, len(ids))))
    new_line = np.zeros(len(ids), dtype=bool)
    new_line[first] = True
    new_line |= position % MAX_LINE == 0
    words = [distinct[i] for i in kept]
    return words, counts[kept].tolist(), len(rows), ids, np.cumsum(new_line) - 1


def _negatives(counts: np.ndarray, size: int = 10_000_000) -> np.ndarray:
    """fastText's table: word ids repeated in proportion to count ** 0.5."""
    weights = np.sqrt(counts.astype(np.float64))
    reps = np.ceil(weights / weights.sum() * size).astype(np.int64)
    return np.repeat(np.arange(len(counts), dtype=np.int32), reps)


def _contexts(rng, lines: np.ndarray, ws: int) -> tuple[np.ndarray, np.ndarray]:
    """Each position i draws a window b in 1..ws; its contexts are i-b..i-1, i+1..i+b
    inside its own line. Returns (context positions, grouped by i; contexts per i)."""
    n = len(lines)
    b = rng.integers(1, ws + 1, n)
    offsets = np.concatenate([np.arange(-ws, 0), np.arange(1, ws + 1)])  # (2 ws,)
    j = np.arange(n)[:, None] + offsets  # (n, 2 ws)
    inside = np.clip(j, 0, n - 1)
    ok = (np.abs(offsets) <= b[:, None]) & (inside == j) & (lines[inside] == lines[:, None])
    return j[ok], ok.sum(1)


def _draw_negatives(rng, table: np.ndarray, positives: np.ndarray, neg: int) -> np.ndarray:
    """(len(positives), neg) draws from the table, one equal to its positive drawn again
    as the C++ ``getNegative`` does (we give up after 100 tries: one-word vocabularies)."""
    negs = table[rng.integers(0, len(table), (len(positives), neg))]
    for _ in range(100):
        clash = np.flatnonzero(negs == positives[:, None])
        if not len(clash):
            break
        negs.flat[clash] = table[rng.integers(0, len(table), len(clash))]
    return negs


def _examples(rng, ids, lines, args: Args, keep_p, table) -> dict | None:
    """The examples of one chunk of lines (word ids ``ids``, line numbers ``lines``),
    subsampled. Each reads input ``words`` (``per_example[e]`` of them, one example
    after another) and has ``pairs[e]`` rows of targets (a true word, then ``neg``
    negatives): skip-gram, one per centre word, reading it, with a target row per
    context word; CBOW, one per centre word, reading its context words. None if empty."""
    kept = np.flatnonzero(rng.random(len(ids)) < keep_p[ids])
    ids, lines = ids[kept], lines[kept]
    contexts, per_centre = _contexts(rng, lines, args.ws)
    if not len(contexts):
        return None
    has = per_centre > 0
    ones = np.ones(int(has.sum()), dtype=np.int64)
    if args.model == "skipgram":
        words, per_example, positives, pairs = ids[has], ones, ids[contexts], per_centre[has]
    else:
        words, per_example, positives, pairs = ids[contexts], per_centre[has], ids[has], ones
    targets = np.empty((len(positives), 1 + args.neg), dtype=np.int64)  # (N, K)
    targets[:, 0] = positives
    targets[:, 1:] = _draw_negatives(rng, table, positives, args.neg)
    return {"position": kept[has], "words": words, "per_example": per_example, "pairs": pairs,
            "targets": targets}


def _batches(ex: dict, batch_size: int, model: str, sub: Subwords, device):
    """The examples cut into batches of about ``batch_size`` pairs (skip-gram) or windows
    (CBOW), each batch's input words merged into distinct ones, whose bags of rows are
    then read and updated once however often the batch reads them (a context word is
    in up to 2 ws windows). Yields (the first example's position, :func:`sgd_step`'s batch)."""
    nwords = len(sub.lengths)
    weight = ex["pairs"] if model == "skipgram" else np.ones_like(ex["pairs"])
    before = _starts(weight)[:-1]
    cuts = np.searchsorted(before, np.arange(0, before[-1] + 1, batch_size))
    cuts = np.unique(np.append(cuts, len(weight)))  # batch b: examples cuts[b] .. cuts[b + 1] - 1
    batch = np.repeat(np.repeat(np.arange(len(cuts) - 1), np.diff(cuts)), ex["per_example"])
    distinct, member = np.unique(batch * nwords + ex["words"], return_inverse=True)  # by batch
    first = np.searchsorted(distinct, np.arange(len(cuts)) * nwords)  # batch b's first word
    rows, sizes = sub.bags(distinct % nwords)
    parts = [(rows, _starts(sizes)[first]), (sizes, first),  # (array, where batch b's part starts)
             (member - first[batch], _starts(ex["per_example"])[cuts]), (ex["per_example"], cuts),
             (ex["pairs"], cuts), (ex["targets"], _starts(ex["pairs"])[cuts])]
    parts = [(torch.from_numpy(x).to(device), at) for x, at in parts]
    for b in range(len(cuts) - 1):
        yield ex["position"][cuts[b]], [x[at[b]:at[b + 1]] for x, at in parts]


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive runs of these lengths starts, and where the last ends."""
    return np.concatenate([[0], np.cumsum(lengths)])


@torch.no_grad()
def sgd_step(input: torch.Tensor, output: torch.Tensor, rows, sizes, members, per_example, pairs,
             targets, lr: float, with_loss: bool = False):
    """One SGD step on a batch of examples that all read the same parameters: fastText's
    per-pair update (``Model::update`` with negative sampling), written out.

    The batch reads distinct words, word w a bag of ``sizes[w]`` input rows (``rows``
    holds the bags one after another). Example e reads ``per_example[e]`` of them
    (``members``, one example after another) and has ``pairs[e]`` rows of ``targets``
    (N, K): a true word, then negatives. With u the mean of all rows the example reads
    and v a target's output row, g = lr * (label - sigmoid(u . v)); v moves by g u, and
    every row the example reads by the sum of g v over its targets, v read before its
    update. The scores, sums and updates are sparse-dense products and weighted bags,
    so no (N, K, dim) tensor is ever built. Returns the summed loss, or None.
    """
    E, K, V = len(per_example), targets.shape[1], len(output)
    sums = F.embedding_bag(rows, input, torch.cumsum(sizes, 0) - sizes, mode="sum")  # (W, dim)
    starts = torch.cumsum(per_example, 0) - per_example  # (E,): where e's words are in members
    example = torch.repeat_interleave(torch.arange(E, device=rows.device), per_example)  # (M,)
    bag = torch.zeros(E, dtype=sums.dtype, device=rows.device)  # (E,): how many rows e reads
    bag.index_add_(0, example, sizes[members].to(sums.dtype))
    hidden = F.embedding_bag(members, sums, starts, mode="sum",
                             per_sample_weights=1 / bag[example])  # (E, dim): the mean
    crow = F.pad(torch.cumsum(pairs * K, 0), (1, 0))  # (E + 1,): example e's targets, one CSR row
    cols = targets.reshape(-1)  # (N K,)
    if len(cols) <= E * V:
        zeros = torch.zeros(len(cols), dtype=hidden.dtype, device=cols.device)
        pattern = torch.sparse_csr_tensor(crow, cols, zeros, (E, V), check_invariants=False)
        scores = torch.sparse.sampled_addmm(pattern, hidden, output.t()).values()  # (N K,): u . v
    else:  # sampled_addmm refuses more entries than E x V: a vocabulary of a handful of words
        scores = (output[targets] @ hidden.repeat_interleave(pairs, dim=0)[:, :, None]).reshape(-1)
    g = torch.sigmoid(scores).mul_(-lr)  # (N K,): lr * (label - sigmoid), the label 0 ...
    g.view(-1, K)[:, 0] += lr  # ... but 1 for the true word, first in each target row
    grad = F.embedding_bag(cols, output, crow[:-1], mode="sum", per_sample_weights=g)  # (E, dim)
    of_target = torch.repeat_interleave(torch.arange(E, device=cols.device), pairs * K)  # (N K,)
    step = torch.sparse_coo_tensor(torch.stack([cols, of_target]), g, (V, E),
                                   check_invariants=False)
    output.addmm_(step, hidden)  # v += g u, summed over a word's places among the targets
    word_grad = torch.zeros_like(sums).index_add_(0, members, grad[example])  # (W, dim)
    input.index_add_(0, rows, word_grad.repeat_interleave(sizes, dim=0, output_size=len(rows)))
    if with_loss:
        scores = scores.view(-1, K)
        return -(F.logsigmoid(scores[:, 0]).sum() + F.logsigmoid(-scores[:, 1:]).sum())
    return None


def _train_worker(input, output, corpus, lines, cuts, args: Args, sub, keep_p, table, seed: int,
                  taken, losses: torch.Tensor, progress: bool) -> None:
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
        ex = _examples(rng, corpus[c0:c1], lines[c0:c1], args, keep_p, table)
        bar.update(k + 1 - bar.n)
        if ex is None:
            continue
        batches = _batches(ex, args.batch_size, args.model, sub, device)
        for step, (position, batch) in enumerate(batches):
            done = epoch * cuts[-1] + c0 + position
            loss = sgd_step(input, output, *batch, lr=args.lr * (1 - done / total),
                            with_loss=step % LOSS_EVERY == 0)
            if loss is not None:
                losses[epoch] += torch.stack([loss.cpu(), torch.tensor(float(len(batch[-1])))])
    bar.close()


def train_unsupervised(texts: Iterable[Sequence[str]], device: str | torch.device = "cpu",
                       verbose: bool = True, **kwargs) -> WordVectors:
    """Train word vectors on tokenised ``texts`` (lists of tokens).

    Keyword arguments are fastText's (see :class:`Args`): ``model`` ("skipgram" or
    "cbow"), ``dim``, ``ws``, ``epoch``, ``minCount``, ``neg``, ``minn``, ``maxn``,
    ``bucket``, ``t``, ``lr``, ``thread``, plus ``batch_size`` and ``seed``.
    ``thread=N`` trains in N processes that share the matrices (Hogwild), as
    fastText's threads do; on a GPU, in one.
    """
    unknown = set(kwargs) - set(Args.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown arguments {sorted(unknown)}; "
                        f"known: {list(Args.__dataclass_fields__)}")
    args = Args(**kwargs)
    if args.model not in ("skipgram", "cbow"):
        raise ValueError(f"model must be 'skipgram' or 'cbow', got {args.model!r}")
    device = torch.device(device)
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    words, counts, ntokens, corpus, lines = build_vocabulary(texts, args.minCount)
    sub = Subwords(words, args)
    freq = np.array(counts, dtype=np.float64) / ntokens
    keep_p = np.sqrt(args.t / freq) + args.t / freq
    table = _negatives(np.array(counts))
    rows = len(words) + (args.bucket if args.maxn > 0 else 0)
    input = torch.empty(rows, args.dim, device=device).uniform_(-1 / args.dim, 1 / args.dim)
    output = torch.zeros(len(words), args.dim, device=device)
    starts = np.flatnonzero(np.diff(lines, prepend=-1))  # chunks of whole lines
    cuts = starts[np.searchsorted(starts, np.arange(0, len(lines), CHUNK_TOKENS))]
    cuts = np.unique(np.append(cuts, len(lines)))
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
    model = WordVectors(words, counts, ntokens, args, input, output)
    summed = losses.sum(0)
    model.stats = {"prep_s": prep_s, "train_s": train_s,
                   "words_per_s": ntokens * args.epoch / train_s,
                   "epoch_loss": (summed[:, 0] / summed[:, 1].clamp(min=1)).tolist(),
                   "threads": workers, "device": str(device)}
    if verbose:
        print(f"{len(words):,} words, {ntokens:,} tokens; vocabulary and n-grams {prep_s:.1f} s, "
              f"training {train_s:.1f} s ({model.stats['words_per_s'] / 1e3:.0f}k words/s, "
              f"{device}, {workers} process(es))")
    return model


def _hogwild(ctx, jobs, *shared: torch.Tensor) -> None:
    """Each job's ``_train_worker`` in its own process, the ``shared`` tensors moved to
    shared memory so that every process updates the same matrices, without locks."""
    for tensor in shared:
        tensor.share_memory_()
    hogwild.run(ctx, _train_worker, jobs)
