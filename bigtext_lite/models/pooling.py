"""Pooling a sequence of vectors into one per text: the mean over its real tokens,
padding left out. The LSTM and BERT classifiers both read it.

Walkthrough: notebooks/08_lstm.ipynb, notebooks/09_bert.ipynb.
"""

from __future__ import annotations

import torch


def masked_mean(x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The mean of each text's vectors at its real positions: x (B, T, H), real (B, T)
    true / 1 where a token is real, false / 0 at padding. A text with no real token
    gets zeros rather than 0 / 0."""
    real = real[..., None].to(x.dtype)  # (B, T, 1)
    return (x * real).sum(1) / real.sum(1).clamp(min=1)  # (B, H)
