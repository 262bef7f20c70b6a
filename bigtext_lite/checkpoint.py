"""Checkpoints that lose nothing: atomic writes, safe loads, every RNG captured.

A checkpoint is written to a temporary file in the same folder, flushed and
fsync'ed, then renamed over the old one (``os.replace`` is atomic on POSIX and
Windows), so a crash at any moment leaves either the old or the new file,
never half of one. Loading uses ``torch.load(weights_only=True)``: a checkpoint
can hold tensors, numbers, strings, lists and dicts, but never code.

Walkthrough: notebooks/02_training_loop.ipynb, "Checkpoints and resume".
"""

from __future__ import annotations

import json
import os
import random
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


def write_atomic(path: str | Path, write) -> Path:
    """Write a file through ``write(binary_file)`` atomically: temp file, flush,
    fsync, rename, fsync the folder. Readers see the old file or the new one,
    never half of one; on an error the old file is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only still there if something above failed
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def save_atomic(obj, path: str | Path) -> Path:
    """``torch.save`` to ``path`` atomically (see :func:`write_atomic`)."""
    return write_atomic(path, lambda f: torch.save(obj, f))


def write_json_atomic(path: str | Path, obj, **dump_kwargs) -> Path:
    """``json.dump`` to ``path`` atomically (see :func:`write_atomic`).
    ``dump_kwargs`` go to ``json.dumps``."""
    data = json.dumps(obj, ensure_ascii=False, **dump_kwargs).encode("utf-8")
    return write_atomic(path, lambda f: f.write(data))


def load(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; a clear error if it is unreadable."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for damaged files
        raise RuntimeError(f"checkpoint {path} is damaged or not a checkpoint: {err}") from err


def load_model_state(model: torch.nn.Module, state_dict: dict, source: str = "checkpoint") -> None:
    """``load_state_dict`` with an error that lists missing, unexpected and mis-shaped tensors."""
    own = unwrap(model).state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = [f"{k}: {tuple(state_dict[k].shape)} in {source}, {tuple(own[k].shape)} in the model"
              for k in sorted(set(own) & set(state_dict)) if own[k].shape != state_dict[k].shape]
    if missing or unexpected or shapes:
        lines = [f"{source} does not fit {type(unwrap(model)).__name__}:"]
        lines += [f"  missing: {missing}"] if missing else []
        lines += [f"  unexpected: {unexpected}"] if unexpected else []
        lines += [f"  wrong shape: {s}" for s in shapes]
        raise ValueError("\n".join(lines))
    unwrap(model).load_state_dict(state_dict)
