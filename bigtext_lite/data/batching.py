"""Padding and length-bucketed batching: what torchtext's ``BucketIterator`` did.

Reviews range from 10 to 2,500 tokens. A batch padded to its longest member
wastes most of its compute when lengths are mixed at random; grouping reviews
of similar length keeps padding small while the batch order stays random.
Walkthrough: notebooks/03_text_pipeline.ipynb, "Batching".
"""

from __future__ import annotations

from functools import partial
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler


def pad_collate(batch: Sequence[tuple[torch.Tensor, int]], pad_id: int):
    """Stack (ids, label) pairs into a padded batch.

    Returns ``ids`` (B, T) padded with ``pad_id`` to the longest sequence,
    ``lengths`` (B,) the true lengths (what ``pack_padded_sequence`` needs),
    and ``labels`` (B,).
    """
    if not batch:
        raise ValueError("pad_collate got an empty batch")
    seqs = [torch.as_tensor(ids, dtype=torch.long) for ids, _ in batch]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)  # (B,)
    if (lengths == 0).any():
        bad = torch.nonzero(lengths == 0).flatten().tolist()
        raise ValueError(
            f"empty sequences at batch positions {bad}: tokenise to at least one token")
    ids = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=pad_id)  # (B, T)
    labels = torch.tensor([label for _, label in batch], dtype=torch.long)  # (B,)
    return ids, lengths, labels


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices whose lengths are similar, in a random order.

    Each epoch: shuffle all indices, cut them into pools of
    ``batch_size * pool_batches``, sort each pool by length, cut pools into
    batches, then shuffle the batches. Every index appears exactly once per
    epoch. Call :meth:`set_epoch` (as with ``DistributedSampler``) to get a new,
    reproducible order each epoch.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, pool_batches: int = 50,
                 shuffle: bool = True, drop_last: bool = False, seed: int = 0):
        if batch_size < 1 or pool_batches < 1:
            raise ValueError(f"batch_size and pool_batches must be >= 1, "
                             f"got {batch_size}, {pool_batches}")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.pool_batches = batch_size, pool_batches
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng((self.seed, self.epoch))
        n = len(self.lengths)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        pool = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, n, pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return iter([b.tolist() for b in batches])

    def __len__(self) -> int:
        n, pool, bs = len(self.lengths), self.batch_size * self.pool_batches, self.batch_size
        pool_sizes = [min(pool, n - start) for start in range(0, n, pool)]
        if self.drop_last:
            return sum(k // bs for k in pool_sizes)
        return sum(-(-k // bs) for k in pool_sizes)  # ceiling division


def padding_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Share of the padded (B, T) grid that is padding, over all ``batches``."""
    lengths = np.asarray(lengths)
    real = padded = 0
    for batch in batches:
        lens = lengths[list(batch)]
        real += int(lens.sum())
        padded += int(lens.max()) * len(lens)
    return 1 - real / padded if padded else 0.0


def bucketed_loader(seqs: Sequence[torch.Tensor], labels: Sequence[int], batch_size: int,
                    pad_id: int, shuffle: bool = True, seed: int = 0, **kwargs) -> DataLoader:
    """A DataLoader of (ids, lengths, labels) batches from length-bucketed samples.

    With ``shuffle=False`` the batches are still length-sorted within each pool,
    which is what evaluation wants (less padding, same results).
    """
    pairs = list(zip(seqs, labels))
    sampler = BucketBatchSampler([len(s) for s in seqs], batch_size, shuffle=shuffle, seed=seed)
    collate = partial(pad_collate, pad_id=pad_id)
    return DataLoader(pairs, batch_sampler=sampler, collate_fn=collate, **kwargs)
