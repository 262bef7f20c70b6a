"""Schedules for ``fit``: a learning rate that warms up then decays, and a callback that
trains some parameters only after the first epochs.

Walkthrough: notebooks/04_training_loop.ipynb; unfreeze_after in
notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

import torch


def linear_warmup_decay(optimizer, warmup_steps: int, total_steps: int):
    """Learning rate rising linearly from 0 over ``warmup_steps``, then falling
    linearly to 0 at ``total_steps`` (BERT's schedule). Step it every batch."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def unfreeze_after(epochs: int, *params: torch.nn.Parameter):
    """A ``fit`` callback for "freeze for k epochs, then fine-tune" (e.g. pretrained
    embeddings): freeze ``params`` (``requires_grad_(False)``) but put them in the
    optimiser from the start, which skips parameters that have no gradient; they
    start training after epoch ``epochs``. No optimiser to rebuild, no state lost.
    Call it before training starts: it freezes the parameters at once. Build the
    optimiser from all parameters, not only those with ``requires_grad``, or the
    frozen ones never train."""
    for p in params:
        p.requires_grad_(False)

    def callback(event, info):
        if event == "epoch" and info["epoch"] == epochs:
            for p in params:
                p.requires_grad_(True)
    return callback
