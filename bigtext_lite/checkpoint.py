"""Checkpoints that lose nothing: atomic writes, safe loads, every RNG captured.

A checkpoint is written to a temporary file in the same folder, flushed and
fsync'ed, then renamed over the old one (``os.replace`` is atomic on POSIX and
Windows), so a crash at any moment leaves either the old or the new file,
never half of one. Loading checks every CRC-32 of the zip first (``torch.load``
does not), then uses ``torch.load(weights_only=True)``: a checkpoint can hold
tensors, numbers, strings, lists and dicts, but never code.

``fit``'s checkpoints keep one older file (``last.pt`` becomes ``prev.pt`` by a
rename) to fall back to, loudly, when the newest is damaged; the settings of the
run, so that resuming a different run is refused; and the early-stopping state
with the best weights, so a resumed run ends where an uninterrupted one would.

Walkthrough: notebooks/02_training_loop.ipynb, "Checkpoints and resume".
"""

from __future__ import annotations

import random
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from bigtext_lite.io import remove_stale_temps, save_atomic, write_atomic


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


# --- training checkpoints: what fit(checkpoint_dir=..., resume=True) writes and reads --------

LAST, PREV = "last.pt", "prev.pt"  # the newest checkpoint, and the one before it
TRAINING_KEYS = ("model", "optimizer", "scheduler", "scaler", "history", "epoch", "batches_done",
                 "step", "best_value", "bad_epochs", "epoch_rng", "rng", "partial")
# A resumed call may change these on purpose (train longer, a smaller lr after a NaN, another
# device's amp); any other difference would silently continue a different run.
CHANGEABLE = ("num_epochs", "lr", "amp")


def run_settings(optimizer, scheduler, **loop) -> dict:
    """What defines a run, kept in its checkpoints so a resumed call can be compared.
    ``lr`` is the nominal one: a scheduler has already moved ``lr`` (not ``initial_lr``)."""
    groups = optimizer.param_groups
    return {**loop, "optimizer": type(optimizer).__name__,
            "scheduler": type(scheduler).__name__ if scheduler is not None else None,
            "lr": [float(g.get("initial_lr", g["lr"])) for g in groups],
            "param_groups": [{k: _plain(v) for k, v in g.items()
                              if k not in ("params", "lr", "initial_lr")}
                             | {"params": len(g["params"])} for g in groups]}


def _plain(value):
    return value.tolist() if isinstance(value, torch.Tensor) else value


def prepare_folder(folder: Path, fresh: bool) -> None:
    """Remove what a killed write left behind, and on a fresh run the older run's
    ``prev.pt``, so a fallback can never land in another run."""
    remove_stale_temps(folder, (LAST, PREV))
    if fresh:
        (folder / PREV).unlink(missing_ok=True)


def save_training(state: dict, folder: Path, rotate: bool) -> Path:
    """Write ``last.pt`` atomically; with ``rotate`` the one it replaces becomes ``prev.pt``."""
    return write_atomic(folder / LAST, lambda f: torch.save(state, f),
                        keep=folder / PREV if rotate else None)


def load_latest(folder: Path, map_location="cpu") -> tuple[dict, Path] | None:
    """The newest usable training checkpoint in ``folder`` and its path, or None if it
    has none. A damaged ``last.pt`` falls back to ``prev.pt`` with a warning naming it."""
    skipped, damaged = [], False
    for path in (folder / LAST, folder / PREV):
        if not path.exists():
            skipped.append(f"{path} is missing")
            continue
        try:
            state = load(path, map_location)
        except DamagedCheckpointError as err:
            skipped.append(str(err))
            damaged = True
            continue
        check_training_state(state, path)
        if path.name == PREV:
            warnings.warn(f"{skipped[0]}; resuming from the previous checkpoint {path} "
                          f"(step {state['step']})")
        return state, path
    if damaged:
        raise DamagedCheckpointError(f"no usable checkpoint in {folder}: " + "; ".join(skipped))
    return None


def check_training_state(state, path: Path) -> None:
    """A one-line error when ``path`` holds something other than what fit writes."""
    if isinstance(state, dict) and all(k in state for k in TRAINING_KEYS):
        return
    expected = "fit(resume=True) expects the dict fit writes ('model', 'optimizer', 'epoch', ...)"
    tensors = isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    if tensors and state:
        raise CheckpointError(
            f"{path} holds a bare state dict ({len(state)} tensors, e.g. {next(iter(state))!r}), "
            f"not a training checkpoint: {expected}; to start from these weights, "
            f"model.load_state_dict(torch.load(...)) and fit without resume")
    what = (f"a dict with keys {list(state)[:6]}" if isinstance(state, dict)
            else f"a {type(state).__name__}")
    raise CheckpointError(f"{path} holds {what}, not a training checkpoint: {expected}")


def check_settings(saved: dict | None, now: dict, path: Path) -> None:
    """Refuse to continue a run under different settings; warn about the changeable ones."""
    if saved is None:  # written before settings were recorded: nothing to compare
        return
    diffs = [k for k in now if k in saved and saved[k] != now[k]]
    shown = {k: f"{k} {saved[k]!r} in {path.name}, {now[k]!r} in this call" for k in diffs}
    fixed = [shown[k] for k in diffs if k not in CHANGEABLE]
    if fixed:
        raise CheckpointError(
            f"{path} was written by a different run ({'; '.join(fixed)}): resume=True continues "
            f"the same run, so call fit with that run's settings or give another checkpoint_dir")
    if diffs:
        warnings.warn(f"resuming {path} with changed settings ({'; '.join(shown.values())}): "
                      f"this call's values are used from here on")


def restore_training(state: dict, path: Path, settings: dict, model, optimizer, scheduler,
                     scaler) -> None:
    """Put a checkpoint's model, optimiser, scheduler and scaler states back, after checking
    that it comes from a run with this call's settings."""
    check_settings(state.get("settings"), settings, path)
    load_model_state(model, state["model"], str(path))
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: its optimiser state does not fit "
                              f"{type(optimizer).__name__} ({err})") from err
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if state["scaler"]:  # empty when written without fp16 (amp may change between devices)
        scaler.load_state_dict(state["scaler"])
    if "settings" in state:
        change_lr(optimizer, scheduler, state["settings"]["lr"], settings["lr"])
    elif settings["patience"] is not None and settings["restore_best"]:
        warnings.warn(f"{path} comes from a version of fit that did not keep the best weights: "
                      f"an earlier best epoch cannot be put back at the end")


def change_lr(optimizer, scheduler, old: list[float], new: list[float]) -> None:
    """Rescale each group's lr (and a scheduler's base) by new / old: a schedule in
    progress keeps its shape around the new nominal lr."""
    for i, (group, a, b) in enumerate(zip(optimizer.param_groups, old, new)):
        if a == b:
            continue
        group["lr"] = group["lr"] / a * b if a else b  # / a first: exact while lr == a
        if "initial_lr" in group:
            group["initial_lr"] = b
        if hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs[i] = b
