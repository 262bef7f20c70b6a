"""Resume after a SIGKILL: between steps, inside checkpoint writes, twice in a row; with and
without early stopping. The resumed run must end bitwise equal to an uninterrupted one.

Each kill happens in a forked child at a point fixed in advance (a step, or the n-th
``torch.save`` / ``os.replace`` of a checkpoint write, counted in the uninterrupted run),
so nothing depends on timing: a loaded machine only makes the test slower.
"""

from __future__ import annotations

import io
import os
import signal
import time
import traceback
import warnings
from contextlib import contextmanager

import pytest
import torch
from test_train import one_thread, training_run  # noqa: F401 (one_thread: autouse fixture)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children (POSIX)")


def die():
    os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def write_events(on_save, on_replace):
    """Route every ``torch.save`` and ``os.replace`` (the two halves of a checkpoint write)
    through ``on_save(real, obj, f)`` / ``on_replace(real, src, dst)``."""
    real_save, real_replace = torch.save, os.replace
    torch.save = lambda obj, f, *a, **k: on_save(real_save, obj, f)
    os.replace = lambda src, dst: on_replace(real_replace, src, dst)
    try:
        yield
    finally:
        torch.save, os.replace = real_save, real_replace


def reference(mode, folder):
    """The uninterrupted run, and the kinds of its write events in order."""
    events = []

    def on_save(real, obj, f):
        events.append("save")
        return real(obj, f)

    def on_replace(real, src, dst):
        events.append("replace")
        return real(src, dst)

    with write_events(on_save, on_replace):
        model, hist = training_run(mode, folder)
    return model, hist, events


def killed_run(mode, folder, kill, resume):
    """Train until ``kill`` = ("step", k) or ("event", n, "during"|"before"|"after")."""
    if kill[0] == "step":
        def at_step(event, info):
            if event == "step" and info["step"] == kill[1]:
                die()
        training_run(mode, folder, resume, callbacks=(at_step,))
        return
    _, target, when = kill
    seen = [0]

    def hit():
        seen[0] += 1
        return seen[0] - 1 == target

    def on_save(real, obj, f):
        if not hit():
            return real(obj, f)
        buf = io.BytesIO()
        real(obj, buf)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])  # half a checkpoint on disk
        f.flush()
        die()

    def on_replace(real, src, dst):
        now = hit()
        if now and when in ("before", "during"):
            die()
        real(src, dst)
        if now and when == "after":
            die()

    with write_events(on_save, on_replace):
        training_run(mode, folder, resume)


def in_child(fn) -> str | None:
    """Run ``fn`` in a forked child; None if SIGKILL ended it, else what happened instead."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + 300  # only a hung child ever gets near this
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.005)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return None
    return f"not killed (status {status})"


def kill_points(events, num_steps):
    """Every third step, and every part of 7 spread-out writes: half-written payload, just
    before each rename (after the fsync; between rotation and placement), just after."""
    points = [("step", k) for k in range(1, num_steps + 1, 3)]
    saves = [i for i, e in enumerate(events) if e == "save"]
    chosen = sorted({saves[round(j * (len(saves) - 1) / 6)] for j in range(7)})
    for s in chosen:
        end = saves[saves.index(s) + 1] if s != saves[-1] else len(events)
        points.append(("event", s, "during"))
        points += [("event", r, "before") for r in range(s + 1, end)]
        points.append(("event", end - 1, "after"))
    return points


def same_run(model, hist, ref_model, ref_hist) -> str | None:
    if not all(torch.equal(p, q) for p, q in zip(model.state_dict().values(),
                                                 ref_model.state_dict().values())):
        return "final weights differ"
    if hist.step_losses != ref_hist.step_losses:
        return f"loss curves differ ({len(hist.step_losses)} vs {len(ref_hist.step_losses)} steps)"
    untimed = [[{k: v for k, v in r.items() if k != "time"} for r in h.epochs]
               for h in (hist, ref_hist)]
    if untimed[0] != untimed[1] or hist.best_epoch != ref_hist.best_epoch:
        return f"epochs differ: {untimed[0]} vs {untimed[1]}"
    if hist.stopped_early != ref_hist.stopped_early:
        return "stopped_early differs"
    return None


@pytest.mark.parametrize("mode", ["plain", "early_stopping"])
def test_resume_after_kills_is_bitwise_exact(tmp_path, mode):
    ref_model, ref_hist, events = reference(mode, tmp_path / "ref")
    if mode == "early_stopping":  # the run this mode is about: stops, and best != last
        assert ref_hist.stopped_early and ref_hist.best_epoch < len(ref_hist.epochs) < 10
    points = kill_points(events, len(ref_hist.step_losses))
    # Killed twice: the resumed run dies too, inside its 2nd write or one step before the end.
    writes = [p for p in points if p[0] == "event"]
    middle = writes[len(writes) // 2]
    chains = [[points[2], ("event", 3, "during")],
              [middle, ("step", len(ref_hist.step_losses) - 1)]]
    scenarios = [[p] for p in points] + chains
    kills = [k for chain in scenarios for k in chain]
    in_write = sum(k[0] == "event" for k in kills)
    problems, fallbacks = [], 0
    for n, chain in enumerate(scenarios):
        folder = tmp_path / f"cut{n}"
        for i, kill in enumerate(chain):
            failed = in_child(lambda: killed_run(mode, folder, kill, resume=i > 0))
            if failed:
                problems.append(f"{chain}: child {i} {failed}")
        with warnings.catch_warnings(record=True) as caught:  # a fallback to prev.pt warns
            warnings.simplefilter("always")
            model, hist = training_run(mode, folder, resume=True)
        fallbacks += any("resuming from the previous checkpoint" in str(w.message) for w in caught)
        differs = same_run(model, hist, ref_model, ref_hist)
        left = sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))
        if differs or left:
            problems.append(f"{chain}: {differs or ''} {f'temp files left {left}' if left else ''}")
    summary = (f"{mode}: {len(kills)} kills in {len(scenarios)} runs ({len(chains)} killed twice), "
               f"{in_write} inside a write; {fallbacks} resumed from prev.pt")
    print(summary)
    assert len(kills) >= 30 and in_write >= 20
    assert fallbacks > 0  # kills between the two renames leave no last.pt: prev.pt is used
    assert not problems, summary + ", not exact:\n" + "\n".join(problems)

