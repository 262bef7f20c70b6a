"""Timing helpers for benchmarks and the chapters' speed tables.

Timings are reported as ratios measured side by side in one process, never
asserted in unit tests (a loaded CI machine would make such tests flaky).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from bigtext_lite.train import autocast, to_device


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock time measures the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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

    t0 = time.perf_counter()
    for batch in batches[:warmup]:
        step(batch)
    sync(device)
    t1 = time.perf_counter()
    for batch in batches[warmup:]:
        step(batch)
    sync(device)
    t2 = time.perf_counter()
    return {"step_s": (t2 - t1) / max(1, len(batches) - warmup), "first_steps_s": t1 - t0}
