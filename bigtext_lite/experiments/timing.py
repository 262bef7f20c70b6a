"""Timing for benchmarks and the chapters' speed tables: one warm-up / sync / clock harness.

Timings are reported as ratios measured side by side in one process, never
asserted in unit tests (a loaded CI machine would make such tests flaky).
Walkthrough: notebooks/04_training_loop.ipynb, "Mixed precision and torch.compile".
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from bigtext_lite.train import autocast, to_device


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock time measures the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable, inputs: Sequence, warmup: int, device: torch.device):
    """(seconds for ``step(x)`` over the first ``warmup`` inputs, seconds over the rest).

    The warm-up absorbs compilation, cuDNN's autotuning and the allocator's start-up;
    queued GPU work is waited for before each clock reading.
    """
    start = time.perf_counter()
    for x in inputs[:warmup]:
        step(x)
    sync(device)
    warm = time.perf_counter()
    for x in inputs[warmup:]:
        step(x)
    sync(device)
    return warm - start, time.perf_counter() - warm


def train_step_time(model, batches, device, amp: str | None = None, compile: bool = False,
                    warmup: int = 3, lr: float = 1e-3) -> dict:
    """Seconds per training step (forward, backward, Adam step) over ``batches``,
    after ``warmup`` steps that absorb compilation and allocator start-up.

    Returns {"step_s": ..., "first_steps_s": ...}: steady-state seconds per step,
    and the time of the warm-up steps (for torch.compile, the compile cost).
    """
    model = model.to(device)
    run = torch.compile(model, dynamic=True) if compile else model  # lengths vary per batch
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(batch):
        *inputs, y = to_device(batch, device)
        with autocast(device, amp):
            loss = F.cross_entropy(run(*inputs).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    first, rest = time_steps(step, batches, warmup, device)
    return {"step_s": rest / max(1, len(batches) - warmup), "first_steps_s": first}
