"""Word vectors from raw text: skip-gram and CBOW with negative sampling and
character n-grams (Mikolov et al., 2013; Bojanowski et al., 2017), in PyTorch.

What decides the vectors follows the official fastText ``train_unsupervised``,
so the two can be compared on the same corpus with the same settings, and a
model trained here is saved as a fastText ``.bin`` that the official package
loads:

- every line ends with the word ``</s>``; words seen fewer than ``minCount``
  times are dropped;
- subsampling keeps a token of a word of frequency f with probability
  ``sqrt(t / f) + t / f``, drawn again every epoch;
- each kept token gets a context window of random size b in 1..ws;
- a word's input vector is the mean of its own row and of the rows of its
  character n-grams (``<word>``, minn..maxn characters, FNV-1a hashed into
  ``bucket`` rows); an unseen word gets the mean of its n-gram rows;
- skip-gram predicts each context word from the centre word's input vector,
  CBOW predicts the centre word from the mean over its context words' rows;
  both score the true word against ``neg`` negatives drawn in proportion to
  count ** 0.5 (fastText's choice; word2vec uses 0.75) with a logistic loss;
- SGD with a learning rate decaying linearly to 0 over all epochs. As in the
  C++ code, every input row of a bag receives the *full* gradient of the bag's
  vector, not 1/len of it (``_mean_with_sum_grad``).

Where we differ: the official code updates after every (centre, context)
pair, on several threads that overwrite each other (Hogwild); we update after
a batch of pairs, summing their losses so that each pair still takes a full
step. Walkthrough: notebooks/05_word_vectors.ipynb.
"""

from __future__ import annotations

import math
import struct
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from bigtext_lite.checkpoint import write_atomic
from bigtext_lite.models.fasttext import EOS, subword_rows


class SparseSGD(torch.optim.Optimizer):
    """Plain SGD that applies a sparse gradient in place, touching only its rows.

    ``torch.optim.SGD`` adds a sparse gradient to a dense table out of place,
    copying all 2 million x dim rows every step; ``index_put_`` writes only the
    rows the batch used (``index_put_`` with ``accumulate=True`` sums repeated
    rows, and is the fastest of PyTorch's scatter-adds on a CPU), so a step costs
    what the batch costs.
    """

    def __init__(self, params, lr: float):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    rows, values = p.grad._indices()[0], p.grad._values()
                    p.index_put_((rows,), values * -group["lr"], accumulate=True)
                else:
                    p.add_(p.grad, alpha=-group["lr"])


@dataclass
class Args:
    """fastText's names and defaults for ``train_unsupervised``."""

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
    batch_size: int = 1024  # ours: pairs (skip-gram) or windows (CBOW) per step
    seed: int = 0


class Subwords:
    """Each word's input rows (its own id, then ``nwords + hash`` of its n-grams), as
    one flat array with offsets, so a batch's bags are gathered without Python loops."""

    def __init__(self, words: Sequence[str], args: Args):
        lists = [subword_rows(w, i, len(words), args.minn, args.maxn, args.bucket) for i, w in enumerate(words)]
        self.lengths = np.array([len(x) for x in lists], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.flat = np.concatenate([np.array(x, dtype=np.int64) for x in lists])

    def bags(self, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flat row ids, bag sizes) for a sequence of words."""
        lengths = self.lengths[word_ids]
        return self.flat[_ranges(self.starts[word_ids], lengths)], lengths


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """start_0 .. start_0+len_0-1, start_1 .. start_1+len_1-1, ... concatenated, without a loop."""
    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if len(ends) else 0) + np.repeat(starts - (ends - lengths), lengths)


def _mean_with_sum_grad(table: torch.Tensor, rows: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Bag means in the forward pass whose gradient reaches each row undivided, as
    fastText's C++ does for unsupervised models (``Model::update`` divides by the bag
    size only in supervised mode)."""
    offsets = torch.cumsum(lengths, 0) - lengths
    summed = F.embedding_bag(rows, table, offsets, mode="sum", sparse=True)
    mean = (summed / lengths.unsqueeze(1)).detach()
    return mean + (summed - summed.detach())


class WordVectors:
    """A trained model: ``get_word_vector`` (any word, through its n-grams),
    ``vectors()`` (a :class:`~bigtext_lite.data.vectors.Vectors` of its words),
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
        from bigtext_lite.data.vectors import Vectors
        keep = [w for w in self.words if w != EOS and (words is None or w in words)]
        return Vectors(keep, np.stack([self.get_word_vector(w) for w in keep]))

    def save(self, path: str | Path) -> Path:
        """Write the official fastText ``.bin`` layout (see ``data.vectors.FastTextModel``)."""
        from bigtext_lite.data.vectors import FASTTEXT_MAGIC, FASTTEXT_VERSION
        a = self.args
        model_id = {"cbow": 1, "skipgram": 2}[a.model]

        def write(f):
            f.write(struct.pack("<ii", FASTTEXT_MAGIC, FASTTEXT_VERSION))
            f.write(struct.pack("<12id", a.dim, a.ws, a.epoch, a.minCount, a.neg, 1, 2, model_id, a.bucket,
                                a.minn, a.maxn, 100, a.t))  # wordNgrams 1, loss ns (2), lrUpdateRate 100
            f.write(struct.pack("<iiiqq", len(self.words), len(self.words), 0, self.ntokens, -1))
            for word, count in zip(self.words, self.counts):
                f.write(word.encode("utf-8") + b"\0" + struct.pack("<qb", count, 0))
            for matrix in (self.input, self.output):
                f.write(struct.pack("<?qq", False, *matrix.shape))
                f.write(matrix.numpy().astype("<f4").tobytes())
        return write_atomic(path, write)


def _windows(rng: np.random.Generator, ids: np.ndarray, lines: np.ndarray, ws: int):
    """All (centre position, context position) pairs of one epoch: each position i
    gets a window b in 1..ws and pairs with i +- 1..b inside its own line."""
    b = rng.integers(1, ws + 1, len(ids))
    centres, contexts = [], []
    for d in range(1, ws + 1):
        for sign in (-1, 1):
            i = np.arange(max(0, -sign * d), len(ids) - max(0, sign * d))
            j = i + sign * d
            ok = (b[i] >= d) & (lines[i] == lines[j])
            centres.append(i[ok])
            contexts.append(j[ok])
    return np.concatenate(centres), np.concatenate(contexts)


def _negatives(counts: np.ndarray, size: int = 10_000_000) -> np.ndarray:
    """fastText's table: word ids repeated in proportion to count ** 0.5."""
    weights = np.sqrt(counts.astype(np.float64))
    reps = np.ceil(weights / weights.sum() * size).astype(np.int64)
    return np.repeat(np.arange(len(counts)), reps)


def build_vocabulary(texts: Iterable[Sequence[str]], min_count: int):
    """Word list (by falling count), counts, and every line as word ids (``</s>`` appended)."""
    lines = [list(t) + [EOS] for t in texts]
    counts = Counter(w for line in lines for w in line)
    ntokens = sum(counts.values())
    words = [w for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0])) if c >= min_count]
    if not words:
        raise ValueError(f"no word occurs {min_count} times or more; lower min_count")
    index = {w: i for i, w in enumerate(words)}
    ids = [np.array([index[w] for w in line if w in index], dtype=np.int64) for line in lines]
    return words, [counts[w] for w in words], ntokens, ids


def train_unsupervised(texts: Iterable[Sequence[str]], device: str | torch.device = "cpu",
                       verbose: bool = True, **kwargs) -> WordVectors:
    """Train word vectors on tokenised ``texts`` (lists of tokens).

    Keyword arguments are fastText's (see :class:`Args`): ``model`` ("skipgram" or
    "cbow"), ``dim``, ``ws``, ``epoch``, ``minCount``, ``neg``, ``minn``, ``maxn``,
    ``bucket``, ``t``, ``lr``, plus ``batch_size`` and ``seed``.
    """
    unknown = set(kwargs) - set(Args.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown arguments {sorted(unknown)}; known: {list(Args.__dataclass_fields__)}")
    args = Args(**kwargs)
    if args.model not in ("skipgram", "cbow"):
        raise ValueError(f"model must be 'skipgram' or 'cbow', got {args.model!r}")
    device = torch.device(device)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    words, counts, ntokens, line_ids = build_vocabulary(texts, args.minCount)
    sub = Subwords(words, args)
    corpus = np.concatenate(line_ids)
    line_of = np.repeat(np.arange(len(line_ids)), [len(x) for x in line_ids])
    freq = np.array(counts, dtype=np.float64) / ntokens
    keep_p = np.sqrt(args.t / freq) + args.t / freq
    table = torch.from_numpy(_negatives(np.array(counts))).to(device)
    rows = len(words) + (args.bucket if args.maxn > 0 else 0)
    input = torch.empty(rows, args.dim, device=device).uniform_(-1 / args.dim, 1 / args.dim).requires_grad_()
    output = torch.zeros(len(words), args.dim, device=device, requires_grad=True)
    opt = SparseSGD([input, output], lr=args.lr)
    prep_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    losses, steps_total = [], None
    for epoch in range(args.epoch):
        kept = rng.random(len(corpus)) < keep_p[corpus]
        ids, lines = corpus[kept], line_of[kept]
        centres, contexts = _windows(rng, ids, lines, args.ws)
        if args.model == "skipgram":
            order = rng.permutation(len(centres))
            inputs, targets = ids[centres[order]], ids[contexts[order]]
            examples = len(inputs)
        else:  # one example per centre: its context words, in centre order
            by_centre = np.argsort(centres, kind="stable")
            centres, contexts = centres[by_centre], contexts[by_centre]
            starts = np.searchsorted(centres, np.arange(len(ids)))
            sizes = np.diff(np.append(starts, len(centres)))
            has = np.flatnonzero(sizes)
            order = rng.permutation(has)
            examples = len(order)
        steps = math.ceil(examples / args.batch_size)
        steps_total = steps_total or steps * args.epoch
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{args.epoch}", disable=not verbose, leave=False)
        epoch_loss = 0.0
        for step in bar:
            batch = slice(step * args.batch_size, (step + 1) * args.batch_size)
            if args.model == "skipgram":
                flat, lengths = sub.bags(inputs[batch])
                target = targets[batch]
            else:
                c = order[batch]
                ctx = contexts[_ranges(starts[c], sizes[c])]
                flat, word_lengths = sub.bags(ids[ctx])
                # a centre's bag is all rows of all its context words
                per_word = np.add.reduceat(word_lengths, np.concatenate([[0], np.cumsum(sizes[c])[:-1]]))
                lengths, target = per_word, ids[c]
            progress = (epoch * steps + step) / steps_total
            for group in opt.param_groups:
                group["lr"] = args.lr * (1 - progress)
            flat_t = torch.from_numpy(flat).to(device, non_blocking=True)
            len_t = torch.from_numpy(np.asarray(lengths)).to(device, non_blocking=True)
            tgt = torch.from_numpy(np.asarray(target)).to(device, non_blocking=True)
            hidden = _mean_with_sum_grad(input, flat_t, len_t)
            negs = table[torch.randint(len(table), (len(tgt), args.neg), device=device)]
            cand = torch.cat([tgt.unsqueeze(1), negs], 1)
            scores = (F.embedding(cand, output, sparse=True) @ hidden.unsqueeze(2)).squeeze(2)
            labels = torch.zeros_like(scores)
            labels[:, 0] = 1
            weight = torch.ones_like(scores)
            weight[:, 1:] = (negs != tgt.unsqueeze(1)).float()  # a negative equal to the target is skipped
            loss = F.binary_cross_entropy_with_logits(scores, labels, weight, reduction="sum")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % 50 == 0:
                epoch_loss = loss.item() / len(tgt)
                bar.set_postfix(loss=f"{epoch_loss:.3f}")
        losses.append(epoch_loss)
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_s = time.perf_counter() - t1
    model = WordVectors(words, counts, ntokens, args, input, output)
    model.stats = {"prep_s": prep_s, "train_s": train_s, "words_per_s": ntokens * args.epoch / train_s,
                   "epoch_loss": losses, "threads": torch.get_num_threads(), "device": str(device)}
    if verbose:
        print(f"{len(words):,} words, {ntokens:,} tokens; vocabulary and n-grams {prep_s:.1f} s, "
              f"training {train_s:.1f} s ({model.stats['words_per_s'] / 1e3:.0f}k words/s, {device})")
    return model
