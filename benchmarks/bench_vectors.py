"""Reading a big vector file for a small vocabulary: ours against gensim's
``KeyedVectors.load_word2vec_format``, time and peak memory, side by side.

Generates a GloVe-sized file (400,000 words x 300, text ``.vec`` and word2vec
binary; about 1.1 GB + 0.5 GB, kept in --folder for later runs), then reads it
into a 20,000-word vocabulary (19,000 words of the file, 1,000 absent) with
each reader in a fresh process, ``--repeats`` times (which reader goes first
alternates), and reports seconds and peak memory above the interpreter's
baseline (Linux ``VmHWM`` minus ``VmRSS`` before reading), medians of the repeats.

    python benchmarks/bench_vectors.py [--words 400000] [--dim 300] [--vocab 20000]
                                       [--repeats 2] [--folder /tmp/bench_vectors]
                                       [--json PATH]   # also the rows run_all.py collects
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import add_json_option, load_average, row, spread, write_rows

_READ = r"""
import json, sys, time
import numpy as np

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

reader, path, vocab_path = sys.argv[1:4]
vocab = open(vocab_path, encoding="utf-8").read().split("\n")
if reader == "ours":
    from bigtext_lite import vectors
else:
    from gensim.models import KeyedVectors
base = status("VmRSS")
start = time.perf_counter()
if reader == "ours":
    vecs = vectors.load(path, words=set(vocab))
    words, matrix = vecs.words, vecs.matrix
else:  # gensim reads every vector, then we pick the vocabulary's
    kv = KeyedVectors.load_word2vec_format(path, binary=path.endswith(".bin"))
    words = [w for w in vocab if w in kv.key_to_index]
    matrix = kv[words]
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_bytes": status("VmHWM") - base, "found": len(words),
                  "result_bytes": matrix.nbytes, "checksum": float(np.abs(matrix).sum())}))
"""


def generate(folder: Path, n: int, dim: int, vocab_size: int) -> tuple[Path, Path, Path]:
    """A .vec and a word2vec .bin of n random vectors, and a vocabulary file."""
    from bigtext_lite import vectors

    folder.mkdir(parents=True, exist_ok=True)
    vec, binary = folder / f"v{n}x{dim}.vec", folder / f"v{n}x{dim}.bin"
    vocab = folder / f"vocab{vocab_size}.txt"
    words = [f"w{i}" for i in range(n)]
    if not (vec.exists() and binary.exists()):
        rng = np.random.default_rng(0)
        # GloVe prints 5-6 decimals
        matrix = rng.normal(0, 0.4, (n, dim)).astype(np.float32).round(5)  # (n, dim)
        print(f"writing {n:,} x {dim} vectors to {folder} ...", flush=True)
        vectors.write_text(vec, vectors.Vectors(words, matrix))
        vectors.write_word2vec_bin(binary, vectors.Vectors(words, matrix))
    rng = np.random.default_rng(1)
    keep = rng.choice(n, vocab_size - vocab_size // 20, replace=False)
    absent = [f"absent{i}" for i in range(vocab_size // 20)]
    vocab.write_text("\n".join([words[i] for i in keep] + absent), encoding="utf-8")
    return vec, binary, vocab


def read(reader: str, path: Path, vocab: Path) -> dict:
    """One reader on one file, in a fresh process: seconds, peak bytes, what it found."""
    done = subprocess.run([sys.executable, "-c", _READ, reader, str(path), str(vocab)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{reader} failed on {path}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=400_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--vocab", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bench_vectors"))
    add_json_option(parser)
    args = parser.parse_args()
    vec, binary, vocab = generate(args.folder, args.words, args.dim, args.vocab)
    runs, load_before = {}, load_average()
    for repeat in range(args.repeats):
        for path in (vec, binary):
            for reader in ("ours", "gensim")[:: 1 if repeat % 2 == 0 else -1]:
                runs.setdefault((path.suffix, reader), []).append(read(reader, path, vocab))
    rows = {key: median_run(each) for key, each in runs.items()}
    print(f"\n{args.words:,} x {args.dim} file -> {args.vocab:,}-word vocabulary "
          f"(result {rows[('.vec', 'ours')]['result_bytes'] / 2**20:.1f} MiB), "
          f"medians of {args.repeats} repeats")
    print(f"{'format':8} {'reader':8} {'seconds':>8} {'peak MiB':>9} {'peak/result':>12} "
          f"{'found':>7}")
    for (fmt, reader), r in rows.items():
        print(f"{fmt:8} {reader:8} {r['seconds']:8.2f} {r['peak_bytes'] / 2**20:9.1f} "
              f"{r['peak_bytes'] / r['result_bytes']:12.2f} {r['found']:7,.0f}")
    measured = []
    for fmt, kind in ((".vec", "text"), (".bin", "word2vec binary")):
        ours, theirs = rows[(fmt, "ours")], rows[(fmt, "gensim")]
        assert ours["found"] == theirs["found"]
        assert abs(ours["checksum"] - theirs["checksum"]) < 1e-3 * theirs["checksum"]
        speed = spread(g["seconds"] / o["seconds"]
                       for o, g in zip(runs[(fmt, "ours")], runs[(fmt, "gensim")]))
        memory = [r["peak_bytes"] / r["result_bytes"] for r in (ours, theirs)]
        print(f"{fmt}: ours {theirs['seconds'] / ours['seconds']:.1f}x faster than gensim, "
              f"peak memory {memory[0]:.2f}x the result (gensim {memory[1]:.1f}x); same vectors; "
              f"per repeat {', '.join(f'{x:.1f}' for x in speed['ratios'])}x")
        measured.append(row(
            f"vectors-{fmt[1:]}", f"{kind} vector file ({args.words:,} x {args.dim}) into a "
            f"{args.vocab:,}-word vocabulary, fresh process each",
            (f"{fmt} reader", ours["seconds"], "seconds"),
            ("gensim's load_word2vec_format", theirs["seconds"], "seconds"), speed["ratios"],
            load_before,
            note=f"peak memory {memory[0]:.2f}x the result (gensim {memory[1]:.1f}x)",
            peak_mib={"ours": ours["peak_bytes"] / 2**20, "gensim": theirs["peak_bytes"] / 2**20},
            result_mib=ours["result_bytes"] / 2**20))
    print(f"measured {time.strftime('%Y-%m-%d %H:%M')}, python {sys.version.split()[0]}")
    write_rows(args.json, measured)


if __name__ == "__main__":
    main()
