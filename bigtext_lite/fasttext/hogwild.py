"""Hogwild training (Recht et al., 2011): worker processes that update the same shared
tensors without locks, as fastText's threads do. Processes, not threads: Python's
per-batch work would serialise threads on the GIL. Used by the supervised fastText
trainer and the skip-gram trainer.
"""

from __future__ import annotations

import gc
import os

import torch


def context():
    """fork where there is one (the workers inherit the prepared data for free)."""
    return torch.multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")


def run(ctx, target, jobs) -> None:
    """``target(*job)`` for every job, each in its own process of ``ctx``; waits for all.
    The tensors the jobs update must already be in shared memory."""
    workers = [ctx.Process(target=target, args=job) for job in jobs]
    gc.freeze()  # the workers' garbage collector then leaves the parent's objects (and pages) alone
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        gc.unfreeze()
    failed = [w.exitcode for w in workers if w.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(workers)} training processes failed "
                           f"(exit codes {failed}); their error is printed above")
