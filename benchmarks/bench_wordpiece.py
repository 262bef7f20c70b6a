"""Our WordPiece tokenizer against the Rust tokenizer of the same checkpoint on the IMDB
test set, one core each: mismatches (must be 0), then reviews/s over repeats that
alternate which one goes first, each ours from a cold word cache.

    python benchmarks/bench_wordpiece.py [--checkpoint minilm] [--limit N] [--repeats 3]
                                         [--json PATH]   # also the rows run_all.py collects
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# One core each, for a like-for-like ratio: set before the Rust library and torch load.
os.environ.update(TOKENIZERS_PARALLELISM="false", RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1")

import torch  # noqa: E402
from common import add_json_option, load_average, row, spread, write_rows  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from bigtext_lite.data import load_imdb  # noqa: E402
from bigtext_lite.models import (
    basic_tokenization,  # noqa: E402
    bert,  # noqa: E402
)


def time_ours(ours, texts):
    ours._cache.clear()  # a cold cache each time: the cost of one pass over new text
    start = time.perf_counter()
    encoded = [ours.encode(t, max_length=None) for t in texts]
    return time.perf_counter() - start, encoded


def time_rust(rust, texts):
    start = time.perf_counter()
    encoded = rust(texts)
    return time.perf_counter() - start, encoded


def time_bare(rust, texts):
    """The Rust ``tokenizers.Tokenizer`` under transformers, without its Python wrapping."""
    start = time.perf_counter()
    encoded = [e.ids for e in rust.backend_tokenizer.encode_batch(texts)]
    return time.perf_counter() - start, encoded


TIMERS = {"ours": time_ours, "rust": time_rust, "bare": time_bare}
LABELS = {"ours": "ours (Python)", "rust": "Rust, transformers", "bare": "Rust, bare Tokenizer"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default="minilm")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test reviews")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (at least 2)")
    add_json_option(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    texts = list(load_imdb("test").texts)[: args.limit]
    folder = bert.resolve_checkpoint(args.checkpoint)
    ours, rust = bert.tokenizer_for(folder), AutoTokenizer.from_pretrained(str(folder))
    rust.model_max_length = 10**9  # no "longer than 512" warning: neither side truncates here
    start = time.perf_counter()
    for top in (0xFFFF, sys.maxunicode):  # built once per process: timed apart
        basic_tokenization._patterns(top)
    build_s = time.perf_counter() - start

    times, first, load_before = {name: [] for name in TIMERS}, {}, load_average()
    for r in range(max(2, args.repeats)):
        order = list(TIMERS) if r % 2 == 0 else list(TIMERS)[::-1]  # alternate: load drifts
        for name in order:
            seconds, encoded = TIMERS[name](ours if name == "ours" else rust, texts)
            times[name].append(seconds)
            first.setdefault(name, encoded)

    ours_ids, theirs = first["ours"], first["rust"]
    bad = [i for i, (ids, types) in enumerate(ours_ids)
           if ids != theirs["input_ids"][i] or types != theirs["token_type_ids"][i]
           or ids != first["bare"][i]]
    masks = ours.pad(ours_ids[:256])["attention_mask"]
    padded = rust(texts[:256], padding=True, return_tensors="pt")["attention_mask"]
    tokens = sum(len(ids) for ids, _ in ours_ids)
    print(f"{len(texts):,} IMDB test reviews, {tokens:,} tokens, checkpoint {args.checkpoint}, "
          f"{len(times['ours'])} alternated repeats, 1 core each")
    print(f"mismatched ids or token types: {len(bad)}   "
          f"attention masks equal: {bool((masks == padded).all())}")
    print(f"character classes built once in {build_s:.2f} s (not in the times below)")
    for name, label in LABELS.items():
        rates = [len(texts) / s for s in times[name]]
        each = ", ".join(f"{x:,.0f}" for x in rates)
        print(f"{label:20s} reviews/s  best {max(rates):7,.0f}  "
              f"median {statistics.median(rates):7,.0f}   ({each})")
    ratios = {}
    for name in ("rust", "bare"):  # a ratio per repeat: both ran under the same load
        ratios[name] = spread(theirs_s / ours_s
                              for ours_s, theirs_s in zip(times["ours"], times[name]))
        print(f"speed ratio ours / {LABELS[name]}: min {ratios[name]['min']:.2f}  median "
              f"{ratios[name]['median']:.2f}   "
              f"({', '.join(f'{x:.2f}' for x in ratios[name]['ratios'])})")
    rate = {name: statistics.median(len(texts) / s for s in times[name]) for name in TIMERS}
    write_rows(args.json, [row(
        "wordpiece", f"WordPiece ({args.checkpoint}), 1 core, {len(texts):,} IMDB test reviews",
        ("pure-Python WordPiece tokenizer", rate["ours"], "reviews/s"),
        ("the Rust tokenizer under transformers", rate["rust"], "reviews/s"),
        ratios["rust"]["ratios"], load_before, note=f"mismatches {len(bad)}",
        mismatches=len(bad), tokens=tokens,
        bare_tokenizer={"reviews_per_s": rate["bare"], **ratios["bare"]})])
    if bad:
        raise SystemExit(f"first mismatches at reviews {bad[:10]}")


if __name__ == "__main__":
    main()
