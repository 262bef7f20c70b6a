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


def time_steps(step: Callable, inputs: Sequence, warmup: int, device: torch.device,
               clock: Callable = time.perf_counter):
    """(seconds for ``step(x)`` over the first ``warmup`` inputs, seconds over the rest).

    The warm-up absorbs compilation, cuDNN's autotuning and the allocator's start-up;
    queued GPU work is waited for before each clock reading. ``clock`` is wall-clock
    time unless told otherwise (``time.process_time``: this process's CPU time).
    """
    start = clock()
    for x in inputs[:warmup]:
        step(x)
    sync(device)
    warm = clock()
    for x in inputs[warmup:]:
        step(x)
    sync(device)
    return warm - start, clock() - warm


def train_step(model, device, amp: str | None = None, compile: bool = False,
               lr: float = 1e-3) -> Callable:
    """A function that takes one training step (forward, backward, Adam step) of
    ``model`` on a batch ``(*inputs, y)``, under ``amp`` autocast, compiled or not."""
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

    return step


def train_step_time(model, batches, device, amp: str | None = None, compile: bool = False,
                    warmup: int = 3, lr: float = 1e-3) -> dict:
    """Seconds per training step (forward, backward, Adam step) over ``batches``,
    after ``warmup`` steps that absorb compilation and allocator start-up.

    Returns {"step_s": ..., "first_steps_s": ...}: steady-state seconds per step,
    and the time of the warm-up steps (for torch.compile, the compile cost).
    """
    first, rest = time_steps(train_step(model, device, amp, compile, lr), batches, warmup, device)
    return {"step_s": rest / max(1, len(batches) - warmup), "first_steps_s": first}


def compare_step_times(steps: dict, batches: Sequence, device, warmup: int = 3,
                       rounds: int = 3) -> dict:
    """{name: {"step_s", "slowest_round_s", "first_steps_s"}} for each named step
    function in ``steps`` (seconds per step: the fastest round, the slowest round),
    or {name: {"error": ...}} for one whose warm-up raised (torch.compile without a
    C++ compiler, bf16 on a device without it).

    Each function first takes ``warmup`` steps, timed by the wall clock (for
    torch.compile, the compile cost, paid partly in worker processes); then the functions
    take turns over the remaining batches, ``rounds`` times, and each keeps its fastest
    round. On a CPU those steps are timed in this process's CPU time (all its threads),
    which other programs on a shared machine inflate less than the wall clock; on a GPU
    by the wall clock.
    Taking turns means what load remains slows one round of one variant, not all of
    one variant's rounds.
    """
    clock = time.process_time if torch.device(device).type == "cpu" else time.perf_counter
    out = {}
    for name, step in steps.items():
        try:
            first, _ = time_steps(step, batches[:warmup], warmup, device)  # compiling: wall clock
            out[name] = {"first_steps_s": first, "rounds": []}
        except Exception as err:  # the variant is unavailable here; the others still run
            out[name] = {"error": f"{type(err).__name__}: {str(err)[:120]}"}
    rest = batches[warmup:]
    for _ in range(rounds):
        for name, step in steps.items():
            if "error" not in out[name]:
                _, seconds = time_steps(step, rest, 0, device, clock)
                out[name]["rounds"].append(seconds / max(1, len(rest)))
    for r in out.values():
        if "rounds" in r:
            rounds = r.pop("rounds")
            r.update(step_s=min(rounds), slowest_round_s=max(rounds))
    return out
