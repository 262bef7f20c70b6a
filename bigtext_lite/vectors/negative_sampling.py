"""Skip-gram and CBOW with negative sampling and character n-grams, the part that decides
the vectors: each word's bag of input rows (:class:`Subwords`), the examples of a chunk of
text (subsampled tokens, a random window per token, negatives from fastText's table),
their batches, and the SGD step that fastText's per-pair update becomes when a batch of
pairs reads the same parameters (:func:`sgd_step`). The trainer is
:mod:`bigtext_lite.vectors.skipgram`.

Shapes: T tokens of a chunk; E examples, reading M input words in all and having N target
rows of K = 1 + neg words; a batch reads W distinct words, R input rows in all; V words in
the vocabulary; ``dim`` the vectors' size.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from bigtext_lite.fasttext import EOS, char_ngrams, fasttext_hashes

warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")  # we use what works


class Subwords:
    """Each word's input rows (its own id, then ``nwords + hash`` of its n-grams, as
    ``subword_rows``), as one flat array, so a batch's bags are gathered without loops."""

    def __init__(self, words: Sequence[str], minn: int, maxn: int, bucket: int):
        grams = [[] if w == EOS or maxn <= 0 else char_ngrams(w, minn, maxn) for w in words]
        self.lengths = np.array([1 + len(g) for g in grams], dtype=np.int64)  # (V,): bag sizes
        self.starts = np.cumsum(self.lengths) - self.lengths  # (V,): where each bag starts
        own = np.zeros(self.lengths.sum(), dtype=bool)  # (all rows,): a word's own row, first
        own[self.starts] = True
        self.flat = np.empty(len(own), dtype=np.int64)  # (all rows,): the bags, one after another
        self.flat[own] = np.arange(len(words))
        hashes = fasttext_hashes([g for word_grams in grams for g in word_grams])  # all at once
        self.flat[~own] = len(words) + hashes.astype(np.int64) % bucket

    def bags(self, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flat row ids, bag sizes) for a sequence of words."""
        lengths = self.lengths[word_ids]  # (W,)
        ends = np.cumsum(lengths)  # (W,)
        # within: (R,), each row's place in its bag
        within = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)
        return self.flat[np.repeat(self.starts[word_ids], lengths) + within], lengths


def mean_with_sum_grad(table: torch.Tensor, rows: torch.Tensor, lengths: torch.Tensor):
    """Bag means in the forward pass whose gradient reaches each row undivided, as
    fastText's C++ does for unsupervised models (``Model::update`` divides by the bag
    size only in supervised mode): the gradient that :func:`sgd_step` writes out."""
    offsets = torch.cumsum(lengths, 0) - lengths  # (bags,): where each bag starts in rows
    summed = F.embedding_bag(rows, table, offsets, mode="sum", sparse=True)  # (bags, dim)
    mean = (summed / lengths.unsqueeze(1)).detach()  # (bags, dim)
    return mean + (summed - summed.detach())


def negative_table(counts: np.ndarray, size: int = 10_000_000) -> np.ndarray:
    """fastText's table: word ids repeated in proportion to count ** 0.5."""
    weights = np.sqrt(counts.astype(np.float64))  # (V,)
    reps = np.ceil(weights / weights.sum() * size).astype(np.int64)  # (V,)
    return np.repeat(np.arange(len(counts), dtype=np.int32), reps)  # (about size,)


def _contexts(rng, lines: np.ndarray, ws: int) -> tuple[np.ndarray, np.ndarray]:
    """Each position i draws a window b in 1..ws; its contexts are i-b..i-1, i+1..i+b
    inside its own line. Returns (context positions, grouped by i; contexts per i)."""
    n = len(lines)
    b = rng.integers(1, ws + 1, n)  # (n,)
    offsets = np.concatenate([np.arange(-ws, 0), np.arange(1, ws + 1)])  # (2 ws,)
    j = np.arange(n)[:, None] + offsets  # (n, 2 ws)
    inside = np.clip(j, 0, n - 1)  # (n, 2 ws)
    ok = (np.abs(offsets) <= b[:, None]) & (inside == j) & (lines[inside] == lines[:, None])
    return j[ok], ok.sum(1)


def _draw_negatives(rng, table: np.ndarray, positives: np.ndarray, neg: int) -> np.ndarray:
    """(len(positives), neg) draws from the table, one equal to its positive drawn again
    as the C++ ``getNegative`` does (we give up after 100 tries: one-word vocabularies)."""
    negs = table[rng.integers(0, len(table), (len(positives), neg))]  # (N, neg)
    for _ in range(100):
        clash = np.flatnonzero(negs == positives[:, None])  # flat places in negs
        if not len(clash):
            break
        negs.flat[clash] = table[rng.integers(0, len(table), len(clash))]
    return negs


def examples(rng, ids: np.ndarray, lines: np.ndarray, keep_p: np.ndarray, table: np.ndarray, *,
             model: str, ws: int, neg: int) -> dict | None:
    """The examples of one chunk of lines (word ids ``ids``, line numbers ``lines``),
    subsampled (a token of word w kept with probability ``keep_p[w]``). Each reads input
    ``words`` (``per_example[e]`` of them, one example after another) and has ``pairs[e]``
    rows of targets (a true word, then ``neg`` negatives): skip-gram, one per centre word,
    reading it, with a target row per context word; CBOW, one per centre word, reading
    its context words. None if empty."""
    kept = np.flatnonzero(rng.random(len(ids)) < keep_p[ids])  # (T,): the positions kept
    ids, lines = ids[kept], lines[kept]  # (T,)
    contexts, per_centre = _contexts(rng, lines, ws)  # (contexts,), (T,)
    if not len(contexts):
        return None
    has = per_centre > 0  # (T,): the centre words with a context
    ones = np.ones(int(has.sum()), dtype=np.int64)  # (E,)
    if model == "skipgram":
        words, per_example, positives, pairs = ids[has], ones, ids[contexts], per_centre[has]
    else:
        words, per_example, positives, pairs = ids[contexts], per_centre[has], ids[has], ones
    targets = np.empty((len(positives), 1 + neg), dtype=np.int64)  # (N, K)
    targets[:, 0] = positives
    targets[:, 1:] = _draw_negatives(rng, table, positives, neg)
    return {"position": kept[has], "words": words, "per_example": per_example, "pairs": pairs,
            "targets": targets}


def batches(ex: dict, batch_size: int, model: str, sub: Subwords, device):
    """The examples cut into batches of about ``batch_size`` pairs (skip-gram) or windows
    (CBOW), each batch's input words merged into distinct ones, whose bags of rows are
    then read and updated once however often the batch reads them (a context word is
    in up to 2 ws windows). Yields (the first example's position, :func:`sgd_step`'s batch)."""
    nwords = len(sub.lengths)
    weight = ex["pairs"] if model == "skipgram" else np.ones_like(ex["pairs"])  # (E,)
    before = _starts(weight)[:-1]  # (E,): the pairs (windows) before each example
    cuts = np.searchsorted(before, np.arange(0, before[-1] + 1, batch_size))
    cuts = np.unique(np.append(cuts, len(weight)))  # batch b: examples cuts[b] .. cuts[b + 1] - 1
    # batch: (M,), the batch of each word read
    batch = np.repeat(np.repeat(np.arange(len(cuts) - 1), np.diff(cuts)), ex["per_example"])
    # distinct: (W of all batches,), sorted by batch; member: (M,), each read word's place in it
    distinct, member = np.unique(batch * nwords + ex["words"], return_inverse=True)
    first = np.searchsorted(distinct, np.arange(len(cuts)) * nwords)  # batch b's first word
    rows, sizes = sub.bags(distinct % nwords)  # (R of all batches,), (W of all batches,)
    parts = [(rows, _starts(sizes)[first]), (sizes, first),  # (array, where batch b's part starts)
             (member - first[batch], _starts(ex["per_example"])[cuts]), (ex["per_example"], cuts),
             (ex["pairs"], cuts), (ex["targets"], _starts(ex["pairs"])[cuts])]
    parts = [(torch.from_numpy(x).to(device), at) for x, at in parts]
    for b in range(len(cuts) - 1):
        # rows (R,), sizes (W,), members (M,), per_example (E,), pairs (E,), targets (N, K)
        yield ex["position"][cuts[b]], [x[at[b]:at[b + 1]] for x, at in parts]


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive runs of these lengths starts, and where the last ends."""
    return np.concatenate([[0], np.cumsum(lengths)])  # (len(lengths) + 1,)


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
    # input: (V + bucket, dim), output: (V, dim), rows: (R,), sizes: (W,), members: (M,),
    # per_example: (E,), pairs: (E,), targets: (N, K)
    E, K, V = len(per_example), targets.shape[1], len(output)
    sums = F.embedding_bag(rows, input, torch.cumsum(sizes, 0) - sizes, mode="sum")  # (W, dim)
    starts = torch.cumsum(per_example, 0) - per_example  # (E,): where e's words are in members
    example = torch.repeat_interleave(torch.arange(E, device=rows.device), per_example)  # (M,)
    bag = torch.zeros(E, dtype=sums.dtype, device=rows.device)  # (E,): how many rows e reads
    bag.index_add_(0, example, sizes[members].to(sums.dtype))
    hidden = F.embedding_bag(members, sums, starts, mode="sum",
                             per_sample_weights=1 / bag[example])  # (E, dim): the mean u
    crow = F.pad(torch.cumsum(pairs * K, 0), (1, 0))  # (E + 1,): example e's targets, a CSR row
    cols = targets.reshape(-1)  # (N K,)
    if len(cols) <= E * V:
        zeros = torch.zeros(len(cols), dtype=hidden.dtype, device=cols.device)  # (N K,)
        pattern = torch.sparse_csr_tensor(crow, cols, zeros, (E, V), check_invariants=False)
        scores = torch.sparse.sampled_addmm(pattern, hidden, output.t()).values()  # (N K,): u . v
    else:  # sampled_addmm refuses more entries than E x V: a vocabulary of a handful of words
        u = hidden.repeat_interleave(pairs, dim=0)[:, :, None]  # (N, dim, 1)
        scores = (output[targets] @ u).reshape(-1)  # (N, K, dim) @ (N, dim, 1) -> (N K,)
    g = torch.sigmoid(scores).mul_(-lr)  # (N K,): lr * (label - sigmoid), the label 0 ...
    g.view(-1, K)[:, 0] += lr  # ... but 1 for the true word, first in each target row
    grad = F.embedding_bag(cols, output, crow[:-1], mode="sum", per_sample_weights=g)  # (E, dim)
    of_target = torch.repeat_interleave(torch.arange(E, device=cols.device), pairs * K)  # (N K,)
    step = torch.sparse_coo_tensor(torch.stack([cols, of_target]), g, (V, E),
                                   check_invariants=False)  # (V, E), sparse: g at (v, e)
    output.addmm_(step, hidden)  # v += g u, summed over a word's places among the targets
    word_grad = torch.zeros_like(sums).index_add_(0, members, grad[example])  # (W, dim)
    per_row = word_grad.repeat_interleave(sizes, dim=0, output_size=len(rows))  # (R, dim)
    input.index_add_(0, rows, per_row)
    if with_loss:
        scores = scores.view(-1, K)  # (N, K)
        return -(F.logsigmoid(scores[:, 0]).sum() + F.logsigmoid(-scores[:, 1:]).sum())
    return None
