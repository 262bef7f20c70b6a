"""The training loop every chapter uses: ``fit(model, train_loader, ...)``.

One function, readable in one sitting. It moves batches to the device, runs the
forward pass under autocast when asked (bf16, or fp16 with a GradScaler),
accumulates gradients over ``accumulate`` batches, clips them, steps the
optimiser and the scheduler, evaluates once per epoch, keeps a :class:`History`,
stops early on a validation metric, and writes checkpoints that a later call
with ``resume=True`` continues from exactly. Under ``torchrun`` it trains with
DistributedDataParallel (see :mod:`bigtext_lite.train.distributed`).

Walkthrough: notebooks/04_training_loop.ipynb.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from bigtext_lite import config
from bigtext_lite.checkpoint import rng_state, set_rng_state, unwrap
from bigtext_lite.errors import NonFiniteLossError
from bigtext_lite.train import distributed
from bigtext_lite.train.device import autocast, resolve_amp, to_device
from bigtext_lite.train.resume import (
    LAST,
    epoch_batches,
    load_latest,
    prepare_folder,
    restore_training,
    run_settings,
    save_training,
)


@dataclass
class History:
    """What happened: one dict per epoch, and the loss of every optimiser step."""

    epochs: list[dict] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def column(self, key: str) -> list:
        return [row.get(key) for row in self.epochs]

    def as_dict(self) -> dict:  # plain types only: fits in a weights_only checkpoint
        return {"epochs": self.epochs, "step_losses": self.step_losses,
                "best_epoch": self.best_epoch, "stopped_early": self.stopped_early}


def default_forward(model, batch):
    """A batch is ``(*inputs, y)``: the model gets the inputs, the loss gets y."""
    *inputs, y = batch
    return model(*inputs), y


@torch.no_grad()
def evaluate(model, loader, loss_fn=F.cross_entropy, forward=default_forward, device=None,
             amp=None) -> dict:
    """Mean loss and accuracy over ``loader`` (summed over all ranks under DDP)."""
    device = torch.device(device or next(model.parameters()).device)
    amp = resolve_amp(amp, device)
    was_training = model.training
    model.eval()
    total = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count
    for batch in loader:
        with autocast(device, amp):
            logits, y = forward(model, to_device(batch, device))
            loss = loss_fn(logits.float(), y)
        n = y.shape[0]
        total += torch.stack([loss.double() * n, (logits.argmax(-1) == y).sum().double(),
                              torch.tensor(n, dtype=torch.float64, device=device)])
    distributed.all_reduce_sum(total)
    model.train(was_training)
    loss_sum, correct, count = total.tolist()
    return {"loss": loss_sum / max(count, 1), "acc": correct / max(count, 1)}


@torch.no_grad()
def predict(model, loader, forward=default_forward, device=None, amp=None):
    """Class probabilities for every example of ``loader``, in the dataset's order.

    Returns (probs (N, C), targets (N,)) as CPU tensors. With a batch sampler
    (e.g. length buckets) the batches come out of order; its index lists put
    each row back where it belongs.
    """
    device = torch.device(device or next(model.parameters()).device)
    amp = resolve_amp(amp, device)
    was_training = model.training
    model.eval()
    probs, targets = [], []
    for batch in loader:
        with autocast(device, amp):
            logits, y = forward(model, to_device(batch, device))
        probs.append(logits.float().softmax(-1).cpu())
        targets.append(y.cpu())
    model.train(was_training)
    probs, targets = torch.cat(probs), torch.cat(targets)
    sampler = getattr(loader, "batch_sampler", None)
    if sampler is not None and hasattr(sampler, "lengths"):  # our BucketBatchSampler
        order = torch.tensor([i for batch in sampler for i in batch])
        probs[order], targets[order] = probs.clone(), targets.clone()
    return probs, targets


def _try_compile(model):
    if not hasattr(torch, "compile"):
        warnings.warn("this torch has no torch.compile; training eagerly")
        return model
    # Text batches change length from batch to batch: compile shape-generic at the
    # first call (by default torch.compile specialises on the first length, then
    # recompiles once with it symbolic when a batch of another length arrives).
    return torch.compile(model, dynamic=True)


def fit(model, train_loader, *, num_epochs: int, optimizer, loss_fn=F.cross_entropy,
        valid_loader=None, forward: Callable = default_forward, device=None,
        scheduler=None, scheduler_interval: str = "step", amp: str | None = None,
        compile: bool = False, clip_grad_norm: float | None = None, accumulate: int = 1,
        checkpoint_dir: str | Path | None = None, checkpoint_every: int | None = None,
        resume: bool = False, patience: int | None = None, monitor: str = "val_acc",
        restore_best: bool = True, callbacks: tuple = (), progress: bool = True,
        verbose: bool = True) -> History:
    """Train ``model`` for ``num_epochs`` epochs and return its :class:`History`.

    forward(model, batch) -> (logits, y): how a batch reaches the model (default:
        ``model(*batch[:-1])``, target ``batch[-1]``).
    amp: None, "bf16", "fp16" (with a GradScaler) or "auto" (see resolve_amp).
    compile: try ``torch.compile``; if compiling fails, warn and train eagerly.
    accumulate: add gradients of this many batches before each optimiser step
        (each batch's loss is divided by the number of batches in its group:
        ``accumulate``, or fewer in an epoch's short last group).
    scheduler_interval: "step" (after every optimiser step) or "epoch".
    checkpoint_dir: write ``last.pt`` there every ``checkpoint_every`` optimiser
        steps and at each epoch end (keeping the one before as ``prev.pt``);
        ``resume=True`` continues from it exactly (early-stopping state and best
        weights included), from ``prev.pt`` with a warning if it is damaged. Only
        ``num_epochs``, ``lr`` and ``amp`` may differ from the run's (a warning).
    patience: stop when ``monitor`` (e.g. "val_acc", "val_loss") has not improved
        for this many epochs; with ``restore_best`` the best weights are put back.
    callbacks: functions called as ``cb(event, info)``, event "step" or "epoch".
    """
    device = torch.device(device) if device else config.device()
    amp = resolve_amp(amp, device)
    if accumulate < 1:
        raise ValueError(f"accumulate must be >= 1, got {accumulate}")
    if scheduler_interval not in ("step", "epoch"):
        raise ValueError(
            f"scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}")
    main_rank = distributed.is_main()
    model.to(device)
    net = distributed.wrap(model, device)  # DDP under torchrun, else the model itself
    run = _try_compile(net) if compile else net
    compiled_ok = not compile  # becomes True after the first successful compiled step
    scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")  # fp16 gradients underflow
    higher_better = not monitor.endswith("loss")
    history, best_value, best_state, bad_epochs = History(), None, None, 0
    start_epoch, skip_batches, step = 0, 0, 0
    folder = Path(checkpoint_dir) if checkpoint_dir else None
    path = folder / LAST if folder else None
    epoch_rng, resume_rng, partial = None, None, (0.0, 0)  # partial: loss sum, examples so far
    settings = run_settings(
        optimizer, scheduler, num_epochs=num_epochs, batches_per_epoch=len(train_loader),
        accumulate=accumulate, clip_grad_norm=clip_grad_norm, amp=amp, patience=patience,
        monitor=monitor, restore_best=restore_best, scheduler_interval=scheduler_interval)
    if folder is not None and main_rank:
        prepare_folder(folder, fresh=not resume)
    found = load_latest(folder, map_location=device) if resume and folder else None
    rotate = found is not None and found[1] == path  # only a last.pt known good becomes prev.pt
    if found is not None:
        state, source = found
        restore_training(state, source, settings, model, optimizer, scheduler, scaler)
        history = History(**state["history"])
        start_epoch, skip_batches, step = state["epoch"], state["batches_done"], state["step"]
        best_value, bad_epochs = state["best_value"], state["bad_epochs"]
        best_state, partial = state.get("best_state"), tuple(state["partial"])
        epoch_rng, resume_rng = state["epoch_rng"], state["rng"]
        set_rng_state(resume_rng)  # where the interrupted run's generators were
        if verbose and main_rank:
            done = " (it had stopped early: nothing left to train)" if history.stopped_early else ""
            print(f"resumed from {source}: epoch {start_epoch + 1}, step {step}{done}")
    end_epoch = start_epoch if history.stopped_early else num_epochs

    def save(epoch, batches_done, partial=(0.0, 0)):
        nonlocal rotate
        if path is None or not main_rank:
            return
        save_training({
            "model": unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict(), "history": history.as_dict(), "epoch": epoch,
            "batches_done": batches_done, "step": step, "best_value": best_value,
            "bad_epochs": bad_epochs, "best_state": best_state, "epoch_rng": epoch_rng,
            "rng": rng_state(), "partial": list(partial), "settings": settings,
        }, folder, rotate)
        rotate = True

    def compute_loss(run, batch):
        with autocast(device, amp):
            logits, y = forward(run, batch)
            return y, loss_fn(logits.float(), y)

    model.train()
    for epoch in range(start_epoch, end_epoch):
        batches, epoch_rng = epoch_batches(train_loader, epoch, skip_batches, epoch_rng,
                                           resume_rng)
        first_batch, skip_batches = skip_batches, 0
        (loss_sum, seen), partial = partial, (0.0, 0)
        t0 = time.perf_counter()
        bar = tqdm(total=len(train_loader) - first_batch, leave=False,
                   desc=f"epoch {epoch + 1}/{num_epochs}", disable=not (progress and main_rank))
        optimizer.zero_grad(set_to_none=True)
        for i, batch in enumerate(batches, start=first_batch):
            bar.update()
            batch = to_device(batch, device)
            last_in_group = (i + 1) % accumulate == 0 or i + 1 == len(train_loader)
            # The epoch's last group can be short: divide by its real number of batches,
            # so that its step is a mean over its batches like every other step.
            group = min(accumulate, len(train_loader) - i // accumulate * accumulate)
            # DDP: all-reduce gradients only on the last batch of an accumulation group.
            sync = net.no_sync() if not last_in_group and hasattr(net, "no_sync") else nullcontext()
            with sync:
                try:
                    y, loss = compute_loss(run, batch)
                    compiled_ok = True
                except Exception as err:
                    if compiled_ok:
                        raise
                    warnings.warn(f"torch.compile failed ({type(err).__name__}: {err}); "
                                  f"training eagerly")
                    run, compiled_ok = net, True
                    y, loss = compute_loss(run, batch)
                loss_value = loss.item()  # one host sync per batch, reused below
                if not math.isfinite(loss_value):
                    last = f"; the last good checkpoint is {path}" if path and path.exists() else ""
                    raise NonFiniteLossError(
                        f"loss is {loss_value} at epoch {epoch + 1}, batch {i + 1}, "
                        f"optimiser step {step + 1}{last}")
                scaler.scale(loss / group if group > 1 else loss).backward()
            loss_sum += loss_value * y.shape[0]
            seen += y.shape[0]
            if not last_in_group:
                continue
            if clip_grad_norm is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            if scheduler is not None and scheduler_interval == "step":
                scheduler.step()
            step += 1
            history.step_losses.append(loss_value)
            if not bar.disable:
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            for cb in callbacks:
                cb("step", {"epoch": epoch, "step": step, "loss": loss_value})
            if checkpoint_every and step % checkpoint_every == 0:
                save(epoch, i + 1, (loss_sum, seen))

        # Draw the finished bar before closing it: a notebook saved after the run shows
        # the bar's last drawn state, which tqdm's rate limit can leave at 99 %.
        bar.refresh()
        bar.close()
        train_loss = distributed.mean_over_ranks(loss_sum, seen, device)
        row = {"epoch": epoch + 1, "train_loss": train_loss, "lr": optimizer.param_groups[0]["lr"],
               "time": time.perf_counter() - t0}
        if valid_loader is not None:
            scores = evaluate(model, valid_loader, loss_fn, forward, device, amp)
            row.update({f"val_{k}": v for k, v in scores.items()})
        if scheduler is not None and scheduler_interval == "epoch":
            is_plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            scheduler.step(row[monitor]) if is_plateau else scheduler.step()
        history.epochs.append(row)
        value = row.get(monitor)
        if value is not None and (best_value is None or (
                value > best_value if higher_better else value < best_value)):
            best_value, bad_epochs, history.best_epoch = value, 0, epoch + 1
            if patience is not None and restore_best:
                best_state = copy.deepcopy(unwrap(model).state_dict())
        elif value is not None:
            bad_epochs += 1
        # Decided before the save: a run resumed after it must know that it has stopped.
        history.stopped_early = patience is not None and bad_epochs >= patience
        if verbose and main_rank:
            print("  ".join(f"{k} {v:.1f} s" if k == "time" else f"{k} {v:.4g}"
                            if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
        for cb in callbacks:
            cb("epoch", row)
        save(epoch + 1, 0)
        if history.stopped_early:
            if verbose and main_rank:
                print(f"early stop: {monitor} has not improved for {patience} epochs "
                      f"(best {best_value:.4g} at epoch {history.best_epoch})")
            break
    if best_state is not None and history.best_epoch != len(history.epochs):
        unwrap(model).load_state_dict(best_state)
    return history
