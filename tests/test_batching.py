"""Padding collate and the length-bucketed batch sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bigtext_lite.data.batching import BucketBatchSampler, pad_collate, padding_fraction


def test_pad_collate_shapes_lengths_and_padding():
    ids, lengths, labels = pad_collate([([5, 6, 7], 1), ([8], 0)], pad_id=1)
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1]]
    assert lengths.tolist() == [3, 1] and labels.tolist() == [1, 0]
    assert ids.dtype == lengths.dtype == torch.long


def test_pad_collate_names_empty_sequences():
    with pytest.raises(ValueError, match=r"empty sequences at batch positions \[1\]"):
        pad_collate([([5], 1), ([], 0)], pad_id=1)


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 500), min_size=1, max_size=400),
       batch_size=st.integers(1, 64), pool_batches=st.integers(1, 8),
       drop_last=st.booleans(), epoch=st.integers(0, 3))
def test_every_index_exactly_once_per_epoch(lengths, batch_size, pool_batches, drop_last, epoch):
    sampler = BucketBatchSampler(lengths, batch_size, pool_batches, drop_last=drop_last, seed=7)
    sampler.set_epoch(epoch)
    batches = list(sampler)
    flat = [i for b in batches for i in b]
    assert len(batches) == len(sampler)
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert len(flat) == len(set(flat))
    assert set(flat) <= set(range(len(lengths)))
    if drop_last:  # each pool drops at most one short batch
        num_pools = -(-len(lengths) // (batch_size * pool_batches))
        assert all(len(b) == batch_size for b in batches)
        assert len(flat) >= len(lengths) - (batch_size - 1) * num_pools
    else:
        assert sorted(flat) == list(range(len(lengths)))


def test_order_is_reproducible_and_changes_with_epoch():
    lengths = np.random.default_rng(0).integers(1, 300, 1000)
    a, b = BucketBatchSampler(lengths, 32, seed=1), BucketBatchSampler(lengths, 32, seed=1)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)


def test_bucketing_cuts_padding_on_imdb_like_lengths():
    # Review lengths are roughly log-normal (median ~170 tokens, long tail).
    lengths = np.random.default_rng(0).lognormal(5.2, 0.7, 5000).astype(int) + 1
    bucketed = padding_fraction(list(BucketBatchSampler(lengths, 32, seed=0)), lengths)
    order = np.random.default_rng(0).permutation(len(lengths))
    random_batches = [order[i:i + 32] for i in range(0, len(order), 32)]
    shuffled = padding_fraction(random_batches, lengths)
    print(f"padding fraction: random batches {shuffled:.1%}, bucketed {bucketed:.1%}")
    assert shuffled > 0.4 and bucketed < 0.15 and bucketed < shuffled / 5


def test_padding_fraction_by_hand():
    assert padding_fraction([[0, 1]], [3, 1]) == pytest.approx(2 / 6)
    assert padding_fraction([], []) == 0.0


def test_bucketed_loader_yields_padded_batches_covering_everything():
    from bigtext_lite.data.batching import bucketed_loader

    seqs = [torch.arange(1, n + 1) for n in [3, 9, 1, 4, 7, 2, 8]]
    loader = bucketed_loader(seqs, list(range(7)), batch_size=3, pad_id=0, shuffle=False)
    seen = []
    for ids, lengths, labels in loader:
        assert ids.shape == (len(labels), int(lengths.max()))
        seen += labels.tolist()
    assert sorted(seen) == list(range(7))
