"""Our WordPiece tokenizer against the Rust tokenizer of the same checkpoint on
every review of the IMDB test set: mismatches (must be 0) and speed, side by side.

    python benchmarks/bench_wordpiece.py [--checkpoint minilm] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one core each: a like-for-like speed ratio

from transformers import AutoTokenizer  # noqa: E402

from bigtext_lite.data import load_imdb  # noqa: E402
from bigtext_lite.models import bert as B  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default="minilm")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test reviews")
    args = parser.parse_args()
    texts = list(load_imdb("test").texts)[: args.limit]
    folder = B.resolve_checkpoint(args.checkpoint)
    ours, rust = B.tokenizer_for(folder), AutoTokenizer.from_pretrained(str(folder))

    start = time.perf_counter()
    ours_ids = [ours.encode(t, max_length=None) for t in texts]
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = rust(texts)
    rust_s = time.perf_counter() - start

    bad = [i for i, (ids, types) in enumerate(ours_ids)
           if ids != theirs["input_ids"][i] or types != theirs["token_type_ids"][i]]
    masks = ours.pad(ours_ids[:256])["attention_mask"]
    padded = rust(texts[:256], padding=True, return_tensors="pt")["attention_mask"]
    tokens = sum(len(ids) for ids, _ in ours_ids)
    print(f"{len(texts):,} IMDB test reviews, {tokens:,} tokens, checkpoint {args.checkpoint}")
    print(f"mismatched ids or token types: {len(bad)}   attention masks equal: {bool((masks == padded).all())}")
    print(f"ours (Python, 1 core): {ours_s:6.1f} s  {tokens / ours_s / 1e3:8.0f} k tokens/s")
    print(f"Rust tokenizers (1 core): {rust_s:6.1f} s  {tokens / rust_s / 1e3:8.0f} k tokens/s")
    print(f"speed ratio ours / Rust: {rust_s / ours_s:.3f}")
    if bad:
        raise SystemExit(f"first mismatches at reviews {bad[:10]}")


if __name__ == "__main__":
    main()
