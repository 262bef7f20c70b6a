"""The training loop: learning, accumulation, resume, checkpoints, AMP, compile fallback, DDP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from bigtext_lite import checkpoint as ckpt
from bigtext_lite.errors import NonFiniteLossError
from bigtext_lite.io import save_atomic
from bigtext_lite.train import evaluate, fit, linear_warmup_decay, predict

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    # One intra-op thread: the same arithmetic in every process, and no threads spinning for
    # cores that other processes hold (a 40-step run takes 20x longer with 2 on 2 busy cores).
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def blobs(n=320, d=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X @ torch.randn(d, generator=g) > 0).long()
    return TensorDataset(X, y)


class DropoutNet(torch.nn.Module):
    """Small, with dropout, so a resumed run must restore the RNG to match."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(),
                                       torch.nn.Dropout(0.3), torch.nn.Linear(16, 2))

    def forward(self, x):
        return self.net(x)


def test_fit_learns_and_keeps_history():
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 2)
    train, valid = DataLoader(blobs(), 32, shuffle=True), DataLoader(blobs(seed=0), 64)
    hist = fit(model, train, valid_loader=valid, num_epochs=5, device="cpu", progress=False,
               verbose=False, optimizer=torch.optim.SGD(model.parameters(), lr=0.5))
    assert len(hist.epochs) == 5 and len(hist.step_losses) == 5 * 10
    assert hist.column("val_acc")[-1] > 0.9 > hist.column("val_acc")[0] - 0.5
    assert hist.column("train_loss")[-1] < hist.column("train_loss")[0]


def test_each_epochs_bar_is_last_drawn_full(monkeypatch):
    """A notebook keeps a progress bar as it was last drawn: fit draws it full before
    closing it, or a saved chapter would show every epoch stopped at 99 %."""
    import io

    from bigtext_lite.train import loop

    drawn = []

    class Recorded(loop.tqdm):
        def refresh(self, *args, **kwargs):
            drawn.append((self.n, self.total))
            return super().refresh(*args, **kwargs)

    monkeypatch.setattr(loop, "tqdm", lambda *a, **k: Recorded(*a, file=io.StringIO(), **k))
    model = torch.nn.Linear(10, 2)
    fit(model, DataLoader(blobs(), 32), num_epochs=2, device="cpu", verbose=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert drawn and drawn[-1] == (10, 10)


def test_gradient_accumulation_4x8_equals_one_batch_of_32():
    def run(batch_size, accumulate):
        torch.manual_seed(0)
        model = torch.nn.Linear(10, 2)
        fit(model, DataLoader(blobs(n=128), batch_size), num_epochs=2, accumulate=accumulate,
            device="cpu", optimizer=torch.optim.SGD(model.parameters(), lr=0.3), progress=False,
            verbose=False)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert (run(8, 4) - run(32, 1)).abs().max() < 1e-6
    assert (run(8, 1) - run(32, 1)).abs().max() > 1e-3  # the check can tell them apart


def test_a_short_last_accumulation_group_is_a_mean_over_its_own_batches():
    # 120 examples: 15 batches of 8, so the last group of accumulate=4 holds 3 batches;
    # batches of 32 leave a last batch of 24. Dividing its 3 losses by 4 (not 3) would
    # shrink that step's gradient by a quarter, and Adam's step with it.
    def run(batch_size, accumulate):
        torch.manual_seed(0)
        model = torch.nn.Linear(10, 2).double()
        data = TensorDataset(blobs(n=120).tensors[0].double(), blobs(n=120).tensors[1])
        fit(model, DataLoader(data, batch_size), num_epochs=2, accumulate=accumulate,
            device="cpu", optimizer=torch.optim.Adam(model.parameters(), lr=0.05),
            progress=False, verbose=False)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert (run(8, 4) - run(32, 1)).abs().max() < 1e-10


class Interrupt(Exception):
    pass


def training_run(mode, ckpt_dir, resume=False, callbacks=()):
    """The runs that resume must reproduce. "plain": 4 epochs, a warm-up schedule, dropout;
    "early_stopping": stops at epoch 5 with its best val_loss at epoch 3, and puts those
    weights back (a small training set with 25% flipped labels overfits)."""
    torch.manual_seed(0)
    model = DropoutNet()
    common = dict(device="cpu", progress=False, verbose=False, checkpoint_dir=ckpt_dir,
                  resume=resume, callbacks=callbacks)
    if mode == "plain":
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        return model, fit(model, DataLoader(blobs(), 32, shuffle=True), num_epochs=4, optimizer=opt,
                          scheduler=linear_warmup_decay(opt, warmup_steps=5, total_steps=40),
                          checkpoint_every=3, **common)
    X, y = blobs(n=400).tensors
    flip = torch.rand(400, generator=torch.Generator().manual_seed(1)) < 0.25
    noisy = torch.where(flip, 1 - y, y)
    hist = fit(model, DataLoader(TensorDataset(X[:96], noisy[:96]), 16, shuffle=True),
               num_epochs=10, valid_loader=DataLoader(TensorDataset(X[200:], y[200:]), 100),
               patience=2, monitor="val_loss", restore_best=True, checkpoint_every=2,
               optimizer=torch.optim.Adam(model.parameters(), lr=0.05), **common)
    return model, hist


def _resume_run(ckpt_dir, stop_at=None, resume=False, mode="plain"):
    def stopper(event, info):
        if event == "step" and info["step"] == stop_at:
            raise Interrupt

    return training_run(mode, ckpt_dir, resume, callbacks=(stopper,) if stop_at else ())


# plain: mid-epoch, at an epoch end, a later epoch; early stopping (6 steps an epoch, best
# epoch 3, stops after epoch 5): at the best epoch's end, after it, in the last epoch.
@pytest.mark.parametrize("mode, stop_at", [("plain", 7), ("plain", 10), ("plain", 23),
                                           ("early_stopping", 18), ("early_stopping", 20),
                                           ("early_stopping", 29)])
def test_resume_gives_the_same_parameters_and_loss_curve(tmp_path, mode, stop_at):
    ref_model, ref_hist = _resume_run(tmp_path / "ref", mode=mode)
    with pytest.raises(Interrupt):
        _resume_run(tmp_path / "cut", stop_at=stop_at, mode=mode)
    saved = ckpt.load(tmp_path / "cut" / "last.pt")
    assert saved["step"] < stop_at
    model, hist = _resume_run(tmp_path / "cut", resume=True, mode=mode)
    assert hist.step_losses == ref_hist.step_losses  # exact, step for step
    for p, q in zip(model.state_dict().values(), ref_model.state_dict().values()):
        assert torch.equal(p, q)  # with early stopping: the best epoch's weights, restored
    assert [r["train_loss"] for r in hist.epochs] == pytest.approx(
        [r["train_loss"] for r in ref_hist.epochs], abs=1e-6)
    assert (hist.best_epoch, hist.stopped_early) == (ref_hist.best_epoch, ref_hist.stopped_early)


def test_crash_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_atomic({"step": 1, "w": torch.ones(3)}, path)
    real_save = torch.save

    def dies_halfway(obj, f, *a, **k):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk yanked")

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(OSError, match="disk yanked"):
        save_atomic({"step": 2, "w": torch.zeros(3)}, path)
    monkeypatch.setattr(torch, "save", real_save)
    state = ckpt.load(path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left


def test_damaged_checkpoint_and_wrong_shapes_are_named(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="bad.pt is damaged"):
        ckpt.load(tmp_path / "bad.pt")
    model = torch.nn.Linear(4, 2)
    state = {"weight": torch.zeros(3, 4), "extra": torch.zeros(1)}
    with pytest.raises(ValueError) as err:
        ckpt.load_model_state(model, state, "ckpt.pt")
    msg = str(err.value)
    assert "missing: ['bias']" in msg and "unexpected: ['extra']" in msg
    assert "weight: (3, 4) in ckpt.pt, (2, 4) in the model" in msg


def test_checkpoints_are_loaded_with_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("code ran",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(RuntimeError, match="damaged or not a checkpoint"):
        ckpt.load(tmp_path / "evil.pt")


def test_non_finite_loss_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 2)
    calls = {"n": 0}

    def loss_fn(logits, y):
        calls["n"] += 1
        loss = torch.nn.functional.cross_entropy(logits, y)
        return loss * float("nan") if calls["n"] == 5 else loss

    with pytest.raises(NonFiniteLossError,
                       match=r"loss is nan at epoch 1, batch 5, optimiser step 5; "
                             r"the last good checkpoint is .*last\.pt"):
        fit(model, DataLoader(blobs(), 32), num_epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss_fn=loss_fn, device="cpu",
            progress=False, verbose=False, checkpoint_dir=tmp_path, checkpoint_every=1)
    state = ckpt.load(tmp_path / "last.pt")
    assert state["step"] == 4 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_compile_failure_falls_back_to_eager_with_a_warning(monkeypatch):
    class Broken(torch.nn.Module):
        def forward(self, *a):
            raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", lambda model, **kw: Broken())
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 2)
    with pytest.warns(UserWarning,
                      match="torch.compile failed .*no compiler here.*training eagerly"):
        hist = fit(model, DataLoader(blobs(), 32), num_epochs=3, compile=True, device="cpu",
                   progress=False, verbose=False,
                   optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
                   valid_loader=DataLoader(blobs(), 64))
    assert hist.column("val_acc")[-1] > 0.9


def test_bf16_autocast_on_cpu_trains_and_bad_amp_is_refused():
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 2)
    hist = fit(model, DataLoader(blobs(), 32), num_epochs=3, amp="bf16", device="cpu",
               progress=False, verbose=False, optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
               valid_loader=DataLoader(blobs(), 64))
    assert hist.column("val_acc")[-1] > 0.85
    with pytest.raises(ValueError, match="amp must be"):
        fit(model, DataLoader(blobs(), 32), num_epochs=1, amp="fp8", device="cpu",
            optimizer=torch.optim.SGD(model.parameters(), lr=0.5))


@pytest.mark.parametrize("capability,expected",
                         [((7, 5), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_auto_amp_follows_the_compute_capability_not_bf16_emulation(monkeypatch, capability,
                                                                    expected):
    """A T4 (7.5) says yes to is_bf16_supported() by emulation: "auto" must pick fp16 there."""
    from bigtext_lite.train import resolve_amp

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: capability)
    assert resolve_amp("auto", torch.device("cuda")) == expected
    assert resolve_amp("auto", torch.device("cpu")) is None


def test_fp16_trains_through_a_grad_scaler(monkeypatch):
    """Under fp16 every backward goes through GradScaler.scale and every step through
    scaler.step (which skips a step whose gradients overflowed); on the CPU here,
    the same code as on a T4."""
    calls = {"scale": 0, "step": 0}
    real_scale, real_step = torch.amp.GradScaler.scale, torch.amp.GradScaler.step

    def scale(self, loss):
        calls["scale"] += 1
        assert self.is_enabled()
        return real_scale(self, loss)

    def step(self, optimizer, *args, **kwargs):
        calls["step"] += 1
        return real_step(self, optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.amp.GradScaler, "scale", scale)
    monkeypatch.setattr(torch.amp.GradScaler, "step", step)
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 2)
    loader = DataLoader(blobs(), 32)
    hist = fit(model, loader, num_epochs=3, amp="fp16", device="cpu", progress=False,
               verbose=False, optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
               valid_loader=DataLoader(blobs(), 64))
    assert calls == {"scale": 3 * len(loader), "step": 3 * len(loader)}
    assert hist.column("val_acc")[-1] > 0.85
    assert evaluate(model, DataLoader(blobs(), 64), amp="auto")["acc"] > 0.85  # "auto" off on CPU


def test_early_stopping_and_best_weights():
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 2)
    start = [p.detach().clone() for p in model.parameters()]
    hist = fit(model, DataLoader(blobs(), 32), num_epochs=10, patience=2, monitor="val_loss",
               device="cpu", optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
               valid_loader=DataLoader(blobs(), 64), progress=False, verbose=False)
    assert hist.stopped_early and len(hist.epochs) == 3 and hist.best_epoch == 1
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), start))


def test_linear_warmup_then_decay():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = linear_warmup_decay(opt, warmup_steps=4, total_steps=12)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25,
                                 0.125])


def test_evaluate_counts_loss_and_accuracy():
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    X = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    y = torch.tensor([0, 1, 1])
    out = evaluate(model, DataLoader(TensorDataset(X, y), 2), device="cpu")
    assert out["acc"] == pytest.approx(2 / 3)
    assert out["loss"] == pytest.approx(torch.nn.functional.cross_entropy(X, y).item(), rel=1e-6)


def test_evaluate_and_predict_take_amp_auto_and_build_no_graph():
    torch.manual_seed(0)
    model, loader = torch.nn.Linear(10, 2), DataLoader(blobs(), 64)
    grad_modes = []

    def forward(model, batch):
        grad_modes.append(torch.is_grad_enabled())
        return model(batch[0]), batch[1]

    plain = evaluate(model, loader, forward=forward, device="cpu")
    assert evaluate(model, loader, forward=forward, device="cpu", amp="auto") == plain  # off: CPU
    probs, targets = predict(model, loader, forward=forward, device="cpu")
    auto_probs, auto_targets = predict(model, loader, forward=forward, device="cpu", amp="auto")
    torch.testing.assert_close(auto_probs, probs)
    assert torch.equal(auto_targets, targets)
    assert grad_modes and not any(grad_modes)  # no autograd graph kept for evaluation


def _torchrun(nproc, out):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "bigtext_lite.experiments.ddp_demo",
           "--out", str(out), "--global-batch", "32"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out, weights_only=True)


def test_ddp_two_cpu_processes_match_one_process(tmp_path):
    one = _torchrun(1, tmp_path / "one.pt")
    two = _torchrun(2, tmp_path / "two.pt")
    for k in one:
        assert (one[k] - two[k]).abs().max() < 1e-6, k


def test_ddp_demo_joins_with_gloo_on_a_gpu_machine(monkeypatch):
    """On a one-GPU runtime (Colab's) the demo's CPU processes must not pick NCCL, which
    reduces only GPU tensors, nor claim GPU number LOCAL_RANK."""
    import torch.distributed as dist

    from bigtext_lite.experiments import ddp_demo
    from bigtext_lite.train import distributed

    joined = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: joined.append(f"cuda:{i}"))
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", joined.append)
    distributed.setup()
    assert joined == ["nccl", "cuda:1"]  # the default on a GPU machine
    joined.clear()

    def stop(backend=None):
        distributed.setup(backend)
        raise SystemExit  # joined: the rest of the demo needs a real group
    monkeypatch.setattr(ddp_demo, "setup", stop)
    with pytest.raises(SystemExit):
        ddp_demo.main(["--out", "unused.pt"])
    assert joined == ["gloo"]


def test_predict_puts_bucketed_batches_back_in_dataset_order():
    from bigtext_lite.data.batching import bucketed_loader
    from bigtext_lite.models.bow import BagOfEmbeddings

    torch.manual_seed(0)
    seqs = [torch.randint(2, 20, (n,)) for n in [5, 2, 9, 3, 7, 1, 4] * 10]
    labels = [i % 2 for i in range(len(seqs))]
    model = BagOfEmbeddings(20, 4, 2, pad_id=1)
    loader = bucketed_loader(seqs, labels, 8, pad_id=1, shuffle=False)
    order = [i for b in loader.batch_sampler for i in b]
    assert order != list(range(len(seqs)))  # really reordered
    probs, targets = predict(model, loader, device="cpu")
    assert targets.tolist() == labels
    expected = torch.cat([model(s[None], torch.tensor([len(s)])).softmax(-1) for s in seqs])
    torch.testing.assert_close(probs, expected)


def test_unfreeze_after_freezes_for_k_epochs_then_trains():
    from bigtext_lite.models.bow import BagOfEmbeddings
    from bigtext_lite.train import fit, unfreeze_after

    torch.manual_seed(0)
    ids = torch.randint(2, 50, (64, 12))
    data = [(ids[i:i + 16], torch.full((16,), 12), (ids[i:i + 16, 0] % 2))
            for i in range(0, 64, 16)]
    model = BagOfEmbeddings(50, 8, 2, pad_id=0)
    emb = model.embedding.weight
    start, seen = emb.detach().clone(), {}
    def snapshot(event, info):
        if event == "epoch":
            seen[info["epoch"]] = emb.detach().clone()
    unfreeze = unfreeze_after(1, emb)  # freezes emb here; the optimiser holds it from the start
    assert not emb.requires_grad
    fit(model, data, num_epochs=3, optimizer=torch.optim.Adam(model.parameters(), lr=0.05),
        device="cpu", callbacks=(unfreeze, snapshot), progress=False, verbose=False)
    assert torch.equal(seen[1], start)  # frozen in epoch 1
    assert not torch.equal(seen[2], seen[1]) and emb.requires_grad  # trained from epoch 2 on
