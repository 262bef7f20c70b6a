"""A step on its device: batches moved there, and the precision the forward pass runs in.

``fit``, ``evaluate`` and ``predict`` share these. Mixed precision ("amp") computes the
forward pass in bf16 or fp16: bf16 keeps fp32's exponent range, so it trains as it is;
fp16 does not, so ``fit`` passes its gradients through a GradScaler. "auto" picks by GPU.

Walkthrough: notebooks/04_training_loop.ipynb.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch


def to_device(batch, device):
    """``batch`` (a tensor, or dicts, lists and tuples of them) on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    return batch


def autocast(device: torch.device, amp: str | None):
    """A context for the forward pass: bf16 / fp16 autocast, or nothing."""
    if amp in (None, "off"):
        return nullcontext()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]
    return torch.autocast(device.type, dtype=dtype)


def resolve_amp(amp: str | None, device: torch.device) -> str | None:
    """``"auto"``: bf16 on a GPU that computes in it (compute capability 8.0 and up: A100,
    H100, ...), fp16 with a GradScaler on an older GPU, off on a CPU. A T4 (7.5) answers
    True to ``torch.cuda.is_bf16_supported()`` by emulating bf16, slower than fp32, so the
    capability decides, not that call. Validates the choice."""
    device = torch.device(device)
    if amp == "auto":
        if device.type != "cuda":
            return None
        major, _ = torch.cuda.get_device_capability(device)
        return "bf16" if major >= 8 else "fp16"
    if amp not in (None, "off", "bf16", "fp16"):
        raise ValueError(f"amp must be None, 'auto', 'bf16' or 'fp16', got {amp!r}")
    return None if amp == "off" else amp
