"""The training loop's overhead: `fit` against a bare hand-written loop, same model,
same batches, interleaved runs, one process. Goal: within 3 % per step on CPU.

    python benchmarks/bench_train_loop.py [--repeats 20] [--steps 200] [--threads 1]
                                          [--json PATH]   # also the rows run_all.py collects

Two measurements: paired runs on a realistic model (whose step time drifts by more
than 3 % on a shared machine, hence pairs and quartiles), and the loop's own cost in
microseconds per step, on a model so small that the loop is all there is.

With a GPU it also times fp32-eager vs bf16 vs bf16+compile training steps of a
small LSTM and a small Transformer encoder.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from common import add_json_option, load_average, row, write_rows
from torch import nn

from bigtext_lite import config
from bigtext_lite.experiments.timing import sync, train_step_time
from bigtext_lite.models.bow import BagOfEmbeddings
from bigtext_lite.train import fit


def make_batches(n, batch_size=64, length=256, vocab=20_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(2, vocab, (batch_size, length), generator=g),
             torch.full((batch_size,), length), torch.randint(0, 2, (batch_size,), generator=g))
            for _ in range(n)]


def bare_loop(model, batches, device):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for *inputs, y in batches:
        inputs, y = [x.to(device) for x in inputs], y.to(device)
        loss = F.cross_entropy(model(*inputs), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return (time.perf_counter() - t0) / len(batches)


def fit_loop(model, batches, device):
    t0 = time.perf_counter()
    fit(model, batches, num_epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        device=device, progress=False, verbose=False)
    sync(device)
    return (time.perf_counter() - t0) / len(batches)


class TinyLSTM(nn.Module):
    def __init__(self, vocab=20_000, dim=128, hidden=256):
        super().__init__()
        self.emb, self.lstm = nn.Embedding(vocab, dim), nn.LSTM(dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 2)

    def forward(self, ids, lengths):
        _, (h, _) = self.lstm(self.emb(ids))
        return self.out(h[-1])


class TinyTransformer(nn.Module):
    def __init__(self, vocab=20_000, dim=256, heads=4, layers=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, batch_first=True, norm_first=True)
        self.encoder, self.out = nn.TransformerEncoder(layer, layers), nn.Linear(dim, 2)

    def forward(self, ids, lengths):
        return self.out(self.encoder(self.emb(ids)).mean(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (1 keeps thread scheduling out of a small-model timing)")
    add_json_option(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = config.device()
    print(config.describe())
    batches = make_batches(args.steps)
    # warm up the allocator
    bare_loop(BagOfEmbeddings(20_000, 64, 2, 1).to(device), batches[:20], device)
    bare, ours, load_before = [], [], load_average()
    for r in range(args.repeats):  # pairs, run back to back, alternating which goes first
        runs = [(bare, bare_loop), (ours, fit_loop)]
        for times, loop in (runs if r % 2 == 0 else runs[::-1]):
            torch.manual_seed(0)
            times.append(loop(BagOfEmbeddings(20_000, 64, 2, 1).to(device), batches, device))
    # Machine speed drifts by more than the overhead being measured, so compare each
    # pair with itself and report the median of the per-pair ratios and its spread.
    ratios = sorted(o / b for o, b in zip(ours, bare))
    q1, med, q3 = (ratios[int(q * (len(ratios) - 1))] for q in (0.25, 0.5, 0.75))
    print(f"bag of embeddings, batch 64 x 256 tokens, {args.steps} steps, {args.repeats} pairs:")
    print(f"  bare loop median {1e3 * statistics.median(bare):.3f} ms/step | fit median "
          f"{1e3 * statistics.median(ours):.3f} ms/step")
    print(f"  fit / bare per pair: median {med:.3f} (overhead {100 * (med - 1):+.1f} %), "
          f"quartiles {q1:.3f}-{q3:.3f}")

    # The overhead itself, in microseconds: a model so small that the loop is all there is.
    tiny = [(torch.randn(8, 10), torch.randint(0, 2, (8,))) for _ in range(2000)]
    per_step = {}
    for name, loop in [("bare", bare_loop), ("fit", fit_loop)] * 5:
        torch.manual_seed(0)
        seconds = loop(nn.Linear(10, 2).to(device), tiny, device)
        per_step[name] = min(per_step.get(name, 1.0), seconds)
    extra = per_step["fit"] - per_step["bare"]
    print(f"tiny linear model, 2000 steps, best of 5: bare {1e6 * per_step['bare']:.0f} us/step, "
          f"fit {1e6 * per_step['fit']:.0f} us/step -> fit adds {1e6 * extra:.0f} us per step, "
          f"{100 * extra / statistics.median(bare):.1f} % of the bag-of-embeddings step above")
    write_rows(args.json, [row(
        "train_loop", f"`fit` against a bare loop, bag of embeddings, batch 64 x 256 tokens, "
        f"{args.steps} steps, {device.type.upper()} {args.threads} thread(s)",
        ("fit loop", 1e3 * statistics.median(ours), "ms/step"),
        ("a bare hand-written loop", 1e3 * statistics.median(bare), "ms/step"),
        [b / o for o, b in zip(ours, bare)], load_before,
        note=f"fit adds {1e6 * extra:.0f} us/step (tiny linear model, best of 5)",
        tiny_model_us_per_step={k: 1e6 * v for k, v in per_step.items()})])

    if device.type != "cuda":
        print("no GPU: skipping the fp32 / bf16 / bf16+compile comparison")
        return
    for name, make in [("LSTM", TinyLSTM), ("Transformer", TinyTransformer)]:
        rows = {}
        for label, amp, comp in [("fp32 eager", None, False), ("bf16", "bf16", False),
                                 ("bf16 + compile", "bf16", True)]:
            torch.manual_seed(0)
            rows[label] = train_step_time(make(), make_batches(60, 64, 256), device, amp=amp,
                                          compile=comp, warmup=10)
        base = rows["fp32 eager"]["step_s"]
        for label, r in rows.items():
            print(f"  {name:11} {label:15} {1e3 * r['step_s']:7.2f} ms/step  "
                  f"x{base / r['step_s']:.2f}  (warm-up {r['first_steps_s']:.1f} s)")


if __name__ == "__main__":
    main()
