"""The bidirectional LSTM on a CPU: padded (reads the padding), packed through PyTorch's
PackedSequence, and packed-exact on padded tensors (rnn_within_lengths, what
LSTMClassifier(packed=True) runs on a CPU). Forward + backward of one training step,
IMDB-like lengths, the three interleaved in one process (the order reversed every other
repeat, as load drifts), min and median of the repeats. Then the same on a bucketed
batch (lengths within 5 % of each other), where packing has almost no padding to skip:
what exactness costs when skipping padding cannot pay for it.

    python benchmarks/bench_lstm.py [--batch 64] [--max-len 400] [--repeats 3] [--threads 2]
                                    [--json PATH]   # also the rows run_all.py collects

Goal: packed-exact at >= 0.8x the padded model's speed (ratio = padded time / its time).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import add_json_option, load_average, row, spread, write_rows
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bigtext_lite.models.lstm import rnn_within_lengths


def step_padded(rnn, x, lengths):
    return rnn(x)[0]


def step_packed(rnn, x, lengths):
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=x.shape[1])[0]


def step_exact(rnn, x, lengths):
    return rnn_within_lengths(rnn, x, lengths)[0]


STEPS = {"padded": step_padded, "packed (PackedSequence)": step_packed,
         "packed-exact, padded tensors": step_exact}


def timed(rnn, x, lengths, repeats: int) -> dict:
    """Seconds per forward + backward step of each of STEPS, alternated, after a warm-up."""
    times = {name: [] for name in STEPS}
    for step in STEPS.values():
        step(rnn, x, lengths).sum().backward()
    for r in range(repeats):
        for name, step in list(STEPS.items())[:: 1 if r % 2 == 0 else -1]:
            start = time.perf_counter()
            step(rnn, x, lengths).sum().backward()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=400)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    add_json_option(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rnn = nn.LSTM(args.dim, args.dim, bidirectional=True, batch_first=True)
    x = torch.randn(args.batch, args.max_len, args.dim, requires_grad=True)
    # IMDB's lengths are skewed: most reviews are well under the cut, a few reach it
    lengths = (torch.distributions.LogNormal(5.2, 0.7).sample((args.batch,)).long()
               .clamp(10, args.max_len))
    lengths[0] = args.max_len
    bucketed = (args.max_len * (1 - 0.05 * torch.rand(args.batch))).long()  # (B,)
    bucketed[0] = args.max_len
    load_before = load_average()
    times = timed(rnn, x, lengths, args.repeats)
    times_bucketed = timed(rnn, x, bucketed, args.repeats)
    padded = min(times["padded"])
    print(f"batch {args.batch}, {args.max_len} steps at most "
          f"(mean length {lengths.float().mean():.0f}), {args.threads} threads, "
          f"{args.repeats} repeats")
    print(f"{'':32} {'min s':>8} {'median s':>9} {'padded / it':>12}")
    for name, ts in times.items():
        print(f"{name:32} {min(ts):8.3f} {statistics.median(ts):9.3f} {padded / min(ts):12.2f}")
    exact, packed, exact_bucketed = (
        spread(p / t for p, t in zip(ts["padded"], ts[name]))
        for ts, name in ((times, "packed-exact, padded tensors"),
                         (times, "packed (PackedSequence)"),
                         (times_bucketed, "packed-exact, padded tensors")))
    print(f"padded / packed-exact per repeat: {', '.join(f'{x:.2f}' for x in exact['ratios'])}; "
          f"min {exact['min']:.2f}, median {exact['median']:.2f}")
    print(f"on a bucketed batch (lengths within 5 %): padded / packed-exact "
          f"{', '.join(f'{x:.2f}' for x in exact_bucketed['ratios'])}; "
          f"min {exact_bucketed['min']:.2f}, median {exact_bucketed['median']:.2f}")
    mean_length = float(lengths.float().mean())
    write_rows(args.json, [row(
        "lstm", f"bidirectional LSTM on CPU, forward + backward, batch {args.batch}, "
        f"{args.max_len} steps at most (mean {mean_length:.0f}), {args.threads} threads",
        ("packed-exact LSTM", statistics.median(times["packed-exact, padded tensors"]), "s/step"),
        ("the padded nn.LSTM", statistics.median(times["padded"]), "s/step"), exact["ratios"],
        load_before, note=f"PyTorch PackedSequence {packed['min']:.2f}x; on a bucketed batch "
        f"(lengths within 5 %, little padding to skip) {exact_bucketed['min']:.2f} / "
        f"{exact_bucketed['median']:.2f}x",
        packed_sequence={"s_per_step": statistics.median(times["packed (PackedSequence)"]),
                         **packed}, bucketed=exact_bucketed)])


if __name__ == "__main__":
    main()
