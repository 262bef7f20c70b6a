"""What ``fit(checkpoint_dir=..., resume=True)`` writes, and how it continues from it.

``fit`` writes ``last.pt`` atomically every ``checkpoint_every`` optimiser steps and
at each epoch end. Each checkpoint holds the model, optimiser, scheduler and scaler
states, every RNG (and the one the epoch's batch order was drawn from), the
early-stopping state with the best weights, and the settings of the run. So a
resumed run takes the very batches, dropout masks and steps an uninterrupted one
would, and ends where it would; resuming a different run is refused. The file it
replaces becomes ``prev.pt`` (by a rename), to fall back to, loudly, when the newest
is damaged.

Walkthrough: notebooks/04_training_loop.ipynb, "Checkpoints and resume".
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from bigtext_lite.checkpoint import (
    CheckpointError,
    DamagedCheckpointError,
    load,
    load_model_state,
    rng_state,
    set_rng_state,
)
from bigtext_lite.io import remove_stale_temps, write_atomic

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


def epoch_batches(loader, epoch: int, skip: int, epoch_rng: dict | None,
                  resume_rng: dict | None):
    """An iterator over ``loader``'s batches for ``epoch``, past the first ``skip``, and
    the RNG state the epoch's batch order was drawn from (to keep in checkpoints).

    The loader's shuffle draws from the global RNG when the iterator is made: a fresh
    epoch records that state; a resumed one (``skip`` > 0) sets the interrupted epoch's
    ``epoch_rng`` to rebuild the very same order, skips the batches already done, then
    puts the generators back where the interrupted run had them (``resume_rng``)."""
    for holder in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        if hasattr(holder, "set_epoch"):
            holder.set_epoch(epoch)  # a fresh, reproducible order each epoch
    if skip:
        set_rng_state(epoch_rng)
    else:
        epoch_rng = rng_state()
    batches = iter(loader)
    for _ in range(skip):
        next(batches)
    if skip:
        set_rng_state(resume_rng)
    return batches, epoch_rng
