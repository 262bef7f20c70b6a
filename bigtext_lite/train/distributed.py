"""Data-parallel training with torch.distributed: the same ``fit`` on 1 or N processes.

Launch a script with ``torchrun --standalone --nproc_per_node=N script.py``:
torchrun starts N processes and gives each RANK, WORLD_SIZE and a rendezvous
address. :func:`setup` joins them (NCCL on GPUs, gloo on CPUs); ``fit`` then
wraps the model in DistributedDataParallel, which averages gradients across
processes after every backward pass. Each process must see a different shard
of the data: build loaders with :func:`make_loader`, which uses a
``DistributedSampler`` under torchrun and a plain one otherwise.

    torchrun --standalone --nproc_per_node=2 -m bigtext_lite.experiments.ddp_demo --out params.pt

runs the chapter's demo (the multi-process test uses it).
Walkthrough: notebooks/04_training_loop.ipynb, "Several GPUs".
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler


def setup(backend: str | None = None) -> int:
    """Join the process group if launched by torchrun; return this process's rank.
    ``backend``: None picks NCCL when there is a GPU, else gloo; processes that train
    on the CPU pass "gloo" (NCCL reduces only GPU tensors)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    return rank()


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """Only rank 0 logs, draws progress bars and writes checkpoints."""
    return rank() == 0


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    if active():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def mean_over_ranks(total: float, count: int, device) -> float:
    """The mean over all processes' examples, from each one's ``total`` and ``count``."""
    t = torch.tensor([total, count], dtype=torch.float64, device=device)
    all_reduce_sum(t)
    return t[0].item() / max(t[1].item(), 1)


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel under torchrun; the model itself otherwise."""
    if not active():
        return model
    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def make_loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                **kwargs) -> DataLoader:
    """A DataLoader whose ``batch_size`` is per process; under torchrun each process
    gets its own shard (a DistributedSampler; ``fit`` calls its ``set_epoch``)."""
    if not active():
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, **kwargs)
    sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, **kwargs)


def cleanup() -> None:
    if active():
        dist.destroy_process_group()
