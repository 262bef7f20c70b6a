"""What resume does with the files it finds: flipped bytes, a damaged newest checkpoint
(falls back to prev.pt), truncated and empty files, a bare state dict or another program's
file, a checkpoint of another model / optimiser / settings, stale temp files, a run that had
already stopped early."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile

import pytest
import torch
from test_train import Interrupt, _resume_run, blobs, one_thread, training_run  # noqa: F401
from torch.utils.data import DataLoader

from bigtext_lite import checkpoint as ckpt
from bigtext_lite.io import save_atomic
from bigtext_lite.train import fit, linear_warmup_decay


def quick(folder, resume=False, model=None, opt=None, stop_at=None, **kw):
    """Linear(10, 2): 4 steps an epoch, a checkpoint after every step."""
    torch.manual_seed(0)
    model = model or torch.nn.Linear(10, 2)
    opt = opt or torch.optim.SGD(model.parameters(), lr=0.1)

    def stop(event, info):
        if event == "step" and info["step"] == stop_at:
            raise Interrupt

    args = dict(num_epochs=2, optimizer=opt, device="cpu", progress=False, verbose=False,
                checkpoint_dir=folder, checkpoint_every=1, resume=resume, callbacks=(stop,)) | kw
    hist = fit(model, DataLoader(blobs(n=64), 16, shuffle=True), **args)
    return model, hist


def flip_a_tensor_byte(path):
    """XOR one byte in the middle of the largest tensor stored in the zip: a bit rot
    that leaves every header intact."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
        data = z.read(info)
    raw = bytearray(path.read_bytes())
    at = raw.find(data) + len(data) // 2
    raw[at] ^= 0x40
    path.write_bytes(bytes(raw))
    return info.filename


def test_flipped_bytes_inside_a_tensor_are_caught_by_the_crc(tmp_path):
    path = tmp_path / "w.pt"
    save_atomic({"w": torch.linspace(-1, 1, 4096)}, path)
    member = flip_a_tensor_byte(path)  # torch.load alone returns the changed tensor
    with pytest.raises(ckpt.DamagedCheckpointError, match=rf"{re.escape(str(path))} is damaged "
                                                          rf".*member '{member}' fails its CRC-32"):
        ckpt.load(path)


def test_damaged_last_falls_back_to_prev_loudly_and_stays_exact(tmp_path):
    ref_model, ref_hist = _resume_run(tmp_path / "ref")
    with pytest.raises(Interrupt):
        _resume_run(tmp_path / "cut", stop_at=23)
    last, prev = tmp_path / "cut" / "last.pt", tmp_path / "cut" / "prev.pt"
    assert ckpt.load(prev)["step"] < ckpt.load(last)["step"]  # one older checkpoint kept
    flip_a_tensor_byte(last)
    with pytest.warns(UserWarning, match=rf"{re.escape(str(last))} is damaged .*CRC-32.*; resuming "
                                         rf"from the previous checkpoint .*prev.pt \(step \d+\)"):
        model, hist = _resume_run(tmp_path / "cut", resume=True)
    assert hist.step_losses == ref_hist.step_losses
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), ref_model.parameters()))
    # The damaged file was replaced without becoming prev.pt: both are readable now.
    assert ckpt.load(prev)["step"] < ckpt.load(last)["step"]


def test_both_checkpoints_damaged_is_an_error_naming_both(tmp_path):
    with pytest.raises(Interrupt):
        quick(tmp_path, stop_at=3)
    last, prev = tmp_path / "last.pt", tmp_path / "prev.pt"
    flip_a_tensor_byte(last)
    prev.write_bytes(prev.read_bytes()[:100])
    with pytest.raises(ckpt.DamagedCheckpointError, match=r"no usable checkpoint in .*: checkpoint "
                                                          r".*last.pt .*CRC.*prev.pt .*truncated"):
        quick(tmp_path, resume=True)


@pytest.mark.parametrize("content, why", [
    (b"", r"the file is empty \(0 bytes\)"),
    ("half", r"truncated \(\d+ bytes, the zip's end record is missing\)"),
    (b"just some text\n", r"damaged or not a checkpoint"),
])
def test_empty_truncated_and_garbage_files_are_named(tmp_path, content, why):
    path = tmp_path / "last.pt"
    save_atomic({"w": torch.ones(1000)}, path)
    path.write_bytes(path.read_bytes()[:2000] if content == "half" else content)
    with pytest.raises(ckpt.DamagedCheckpointError, match=rf"checkpoint .*last.pt is .*{why}"):
        ckpt.load(path)
    with pytest.raises(ckpt.DamagedCheckpointError, match=rf"no usable checkpoint in .*{why}"):
        quick(tmp_path, resume=True)  # no prev.pt to fall back to: an error, not a fresh start


@pytest.mark.parametrize("content, what", [
    ("state_dict", r"holds a bare state dict \(2 tensors, e.g. 'weight'\), not a training "
                   r"checkpoint: fit\(resume=True\) expects the dict fit writes"),
    ({"args": {}, "dictionary": {}, "model": {}}, r"holds a dict with keys \['args', "
                                                  r"'dictionary', 'model'\], not a training"),
    ([1, 2, 3], r"holds a list, not a training checkpoint"),
])
def test_a_bare_state_dict_or_a_foreign_file_gets_a_one_line_error(tmp_path, content, what):
    model = torch.nn.Linear(10, 2)
    save_atomic(model.state_dict() if content == "state_dict" else content,
                tmp_path / "last.pt")
    with pytest.raises(ckpt.CheckpointError, match=rf"last.pt {what}") as err:
        quick(tmp_path, resume=True, model=model)
    assert "\n" not in str(err.value)


def test_another_models_checkpoint_names_the_mismatch(tmp_path):
    quick(tmp_path)
    with pytest.raises(ValueError, match=r"last.pt does not fit Linear:\n  wrong shape: "
                                         r"bias: \(2,\) in .*last.pt, \(3,\) in the model\n"):
        quick(tmp_path, resume=True, model=torch.nn.Linear(10, 3))


@pytest.mark.parametrize("change, named", [
    (dict(opt="adam"), r"optimizer 'SGD' in last.pt, 'Adam' in this call"),
    (dict(accumulate=2), r"accumulate 1 in last.pt, 2 in this call"),
    (dict(momentum=0.9), r"param_groups .*'momentum': 0.*'momentum': 0.9"),
    (dict(scheduler=True), r"scheduler None in last.pt, 'LambdaLR' in this call"),
])
def test_resuming_a_different_run_is_refused(tmp_path, change, named):
    quick(tmp_path)
    model = torch.nn.Linear(10, 2)
    opt = (torch.optim.Adam(model.parameters(), lr=0.1) if change.get("opt") else
           torch.optim.SGD(model.parameters(), lr=0.1, momentum=change.get("momentum", 0)))
    kw = {"accumulate": change["accumulate"]} if "accumulate" in change else {}
    if change.get("scheduler"):
        kw["scheduler"] = linear_warmup_decay(opt, 2, 8)
    with pytest.raises(ckpt.CheckpointError, match=rf"last.pt was written by a different run "
                                                   rf"\(.*{named}.*\): resume=True continues"):
        quick(tmp_path, resume=True, model=model, opt=opt, **kw)


def test_a_new_lr_or_more_epochs_are_used_with_a_warning(tmp_path):
    with pytest.raises(Interrupt):
        quick(tmp_path, stop_at=3)
    model = torch.nn.Linear(10, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)  # e.g. smaller after a NaN
    with pytest.warns(UserWarning, match=r"num_epochs 2 in last.pt, 3 in this call; lr \[0.1\] "
                                         r"in last.pt, \[0.01\] in this call\): this call's"):
        _, hist = quick(tmp_path, resume=True, model=model, opt=opt, num_epochs=3)
    assert opt.param_groups[0]["lr"] == 0.01 and len(hist.epochs) == 3
    # With a schedule in progress, the schedule goes on around the new nominal lr.
    folder = tmp_path / "scheduled"
    model = torch.nn.Linear(10, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(Interrupt):
        quick(folder, model=model, opt=opt, scheduler=linear_warmup_decay(opt, 2, 8), stop_at=5)
    model = torch.nn.Linear(10, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = linear_warmup_decay(opt, 2, 8)
    lrs = {}

    def record(event, info):
        if event == "step":
            lrs[info["step"]] = opt.param_groups[0]["lr"]

    with pytest.warns(UserWarning, match=r"lr \[0.1\] in last.pt, \[0.05\] in this call"):
        quick(folder, resume=True, model=model, opt=opt, scheduler=sched, callbacks=(record,))
    # linear_warmup_decay(2, 8) after step s: factor (8 - s) / 6
    assert lrs == pytest.approx({s: 0.05 * (8 - s) / 6 for s in (5, 6, 7, 8)})


def test_a_run_that_stopped_early_trains_no_more_after_resume(tmp_path):
    ref_model, ref_hist = training_run("early_stopping", tmp_path)
    assert ref_hist.stopped_early
    steps = []
    model, hist = training_run("early_stopping", tmp_path, resume=True,
                               callbacks=(lambda e, i: steps.append(i),))
    assert steps == [] and len(hist.epochs) == len(ref_hist.epochs)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), ref_model.parameters()))


def test_stale_temp_files_of_killed_writes_are_removed_and_nothing_else(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now names no process
    ours = [tmp_path / f".last.pt.{dead.pid}.tmp", tmp_path / f".prev.pt.{dead.pid}.tmp"]
    kept = [tmp_path / n for n in ("notes.tmp", ".last.pt.tmp", ".last.pt.x1.tmp",
                                   f".other.pt.{dead.pid}.tmp", f"last.pt.{dead.pid}.tmp")]
    kept.append(tmp_path / f".last.pt.{os.getppid()}.tmp")  # a live writer's
    for p in ours + kept:
        p.write_bytes(b"PK\x03\x04 half")
    quick(tmp_path, resume=True)
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in kept)


def test_a_fresh_run_drops_an_older_runs_prev(tmp_path):
    quick(tmp_path)
    assert (tmp_path / "prev.pt").exists()
    with pytest.raises(Interrupt):
        quick(tmp_path, stop_at=2)  # resume=False: a new run in the same folder
    assert not (tmp_path / "prev.pt").exists()  # a fallback must never reach the old run
    assert ckpt.load(tmp_path / "last.pt")["step"] == 1


def test_a_checkpoint_without_best_weights_says_they_cannot_be_restored(tmp_path):
    with pytest.raises(Interrupt):  # after the best epoch (3 of 6 steps each)
        _resume_run(tmp_path, stop_at=22, mode="early_stopping")
    state = ckpt.load(tmp_path / "last.pt")
    del state["best_state"], state["settings"]  # as fit wrote them before this version
    save_atomic(state, tmp_path / "last.pt")
    with pytest.warns(UserWarning, match=r"last.pt comes from a version of fit that did not keep "
                                         r"the best weights"):
        _resume_run(tmp_path, resume=True, mode="early_stopping")
