"""The masked mean both the LSTM and the BERT classifier pool with."""

from __future__ import annotations

import torch

from bigtext_lite.models.pooling import masked_mean


def test_masked_mean_reads_the_real_tokens_alone():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4)  # (B, T, H)
    lengths = [5, 2, 0]
    real = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None]  # (B, T)
    x[~real] = 1e6  # padding that would swamp any mean it entered
    got = masked_mean(x, real)
    torch.testing.assert_close(got[0], x[0].mean(0))
    torch.testing.assert_close(got[1], x[1, :2].mean(0))
    assert torch.equal(got[2], torch.zeros(4))  # no real token: zeros, not 0 / 0
    torch.testing.assert_close(masked_mean(x, real.long()), got)  # a 0/1 attention mask
