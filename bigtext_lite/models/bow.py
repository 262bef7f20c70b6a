"""The simplest neural text classifier: average the word embeddings, then one
linear layer. The training-loop chapter trains it; fastText adds n-grams to it.

Walkthrough: notebooks/04_training_loop.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn


class BagOfEmbeddings(nn.Module):
    """logits = W mean_t(E[ids_t]) + b over the real (non-padding) tokens."""

    def __init__(self, vocab_size: int, dim: int, num_classes: int, pad_id: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.out = nn.Linear(dim, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # ids: (B, T), lengths: (B,). The padding row of E is zero, so summing over
        # T and dividing by the true length gives the mean of the real tokens.
        summed = self.embedding(ids).sum(dim=1)  # (B, dim)
        mean = summed / lengths.clamp(min=1).unsqueeze(1).to(summed.dtype)  # (B, dim)
        return self.out(mean)  # logits: (B, num_classes)
