"""Checkpoints that lose nothing: safe loads, every RNG captured, mismatches named.

Loading checks every CRC-32 of the zip first (``torch.load`` does not), then uses
``torch.load(weights_only=True)``: a checkpoint can hold tensors, numbers, strings,
lists and dicts, but never code. A state dict that does not fit its model is refused
with one report of every missing, unexpected and mis-shaped tensor. Writing goes
through :mod:`bigtext_lite.io` (temp file, fsync, rename); what ``fit`` keeps in its
checkpoints, and how it resumes from them, is :mod:`bigtext_lite.train.resume`.

Walkthrough: notebooks/04_training_loop.ipynb, "Checkpoints and resume".
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import torch


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module under torch.compile (``_orig_mod``) and DDP (``module``), so
    saved keys never carry their ``_orig_mod.`` / ``module.`` prefixes."""
    while True:
        inner = getattr(model, "_orig_mod", None) or getattr(model, "module", None)
        if not isinstance(inner, torch.nn.Module):
            return model
        model = inner


def rng_state() -> dict:
    """Every random generator a training step can touch, in loadable form."""
    state = {
        "python": list(random.getstate()[1]) + [random.getstate()[2] or 0],
        "python_version": random.getstate()[0],
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def set_rng_state(state: dict) -> None:
    *internal, gauss = state["python"]
    random.setstate((state["python_version"], tuple(int(x) for x in internal),
                     None if gauss == 0 else gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and why."""


class DamagedCheckpointError(CheckpointError):
    """The file is not the whole, intact file that was written (empty, truncated, bad CRC)."""


def verify(path: Path) -> None:
    """Check every member of the zip ``torch.save`` writes against its CRC-32.

    ``torch.load`` does not: flipped bytes inside a tensor load silently as wrong
    weights (a NaN in a bias, say). Files that are not zips (torch's legacy format)
    have no checksum; ``torch.load`` alone decides about them."""
    def damaged(why):
        return DamagedCheckpointError(f"checkpoint {path} is damaged or not a checkpoint: {why}")
    size = path.stat().st_size
    if size == 0:
        raise damaged("the file is empty (0 bytes)")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":  # a zip's start without its end: cut short
                raise damaged(f"truncated ({size} bytes, the zip's end record is missing)")
        return
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()  # reads every member, compares its CRC-32
    except Exception as err:  # zipfile raises several types for broken headers
        raise damaged(f"unreadable zip ({type(err).__name__}: {err})") from err
    if bad is not None:
        raise damaged(f"member {bad!r} fails its CRC-32 check (its bytes changed after writing)")


def load(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` after checking its CRCs
    (:func:`verify`); a clear error if it is damaged or unreadable."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    verify(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for damaged files
        raise DamagedCheckpointError(
            f"checkpoint {path} is damaged or not a checkpoint: {err}") from err


def mismatch_report(own: dict, theirs: dict, source: str, model: str) -> str | None:
    """Why the tensors ``theirs`` (read from ``source``) do not fit ``own`` (a model's
    state dict under the same names, ``model`` saying which model): every missing,
    unexpected and mis-shaped tensor, one per line. None when they fit."""
    missing = sorted(set(own) - set(theirs))
    unexpected = sorted(set(theirs) - set(own))
    shapes = [f"{k}: {tuple(theirs[k].shape)} in {source}, {tuple(own[k].shape)} in the model"
              for k in sorted(set(own) & set(theirs)) if own[k].shape != theirs[k].shape]
    if not (missing or unexpected or shapes):
        return None
    lines = [f"{source} does not fit {model}:"]
    lines += [f"  missing: {missing}"] if missing else []
    lines += [f"  unexpected: {unexpected}"] if unexpected else []
    lines += [f"  wrong shape: {s}" for s in shapes]
    return "\n".join(lines)


def load_model_state(model: torch.nn.Module, state_dict: dict, source: str = "checkpoint") -> None:
    """``load_state_dict`` with an error that lists missing, unexpected and mis-shaped tensors."""
    model = unwrap(model)
    report = mismatch_report(model.state_dict(), state_dict, source, type(model).__name__)
    if report:
        raise ValueError(report)
    model.load_state_dict(state_dict)
