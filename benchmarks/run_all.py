"""Every CPU benchmark, one after another, each in a fresh process: the table of ours
against each reference, refreshed, written to results/bench-cpu.json and printed as
markdown. `make bench` runs it; the chapters quote a piece with
``bigtext_lite.experiments.bench.quote(piece)``.

    python benchmarks/run_all.py                         # all: about 10 minutes on 2 cores
    python benchmarks/run_all.py --only lstm,wordpiece   # a subset

Never two at once: they measure speed. A benchmark that fails (or runs past --timeout)
is shown as failed with its last error line, and the others still run. With --only, the
rows of the benchmarks not run are kept from the previous file; every row says when, at
which commit and on how many cores it ran.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "results" / "bench-cpu.json"  # experiments.result_name("bench", "cpu")

# name -> script and sizes, chosen so that the whole run stays under ~20 minutes on 2 cores
# (about 10 on the 2-core machine it was tuned on, 12 where the vector files must first be
# written); even repeat counts, so that each order of the alternation runs as often
BENCHMARKS = {
    "word2vec": ["bench_word2vec.py", "--texts", "5000", "--repeats", "4"],
    "fasttext": ["bench_fasttext.py", "--targets", "polarity", "--settings",
                 "unigrams,bigrams,unigrams at 32 (row means),bigrams at 32 (row means)",
                 "--repeats", "4"],
    "wordpiece": ["bench_wordpiece.py", "--limit", "5000", "--repeats", "4"],
    "lstm": ["bench_lstm.py", "--batch", "32", "--max-len", "200", "--repeats", "12"],
    # GloVe-sized (400,000 x 300): about 5 minutes, 2 more the first time (1.6 GB to write)
    "vectors": ["bench_vectors.py", "--words", "400000", "--repeats", "2"],
    "train_loop": ["bench_train_loop.py", "--repeats", "10", "--steps", "200"],
}


def command(name: str) -> str:
    script, *args = BENCHMARKS[name]
    return shlex.join(["python", f"benchmarks/{script}", *args])


def last_error_line(lines) -> str:
    """What a failed run said last: a traceback's last line is the exception itself."""
    said = [line.strip() for line in lines if line.strip()]
    return said[-1] if said else "no output"


def echo(stream, tail: collections.deque) -> None:
    for line in stream:
        print(line, end="", flush=True)
        tail.append(line)


def run_one(name: str, timeout: float) -> tuple[list[dict], str | None]:
    """One benchmark in a fresh process, its output shown as it comes: (its rows, None),
    or ([], why it failed)."""
    script, *args = BENCHMARKS[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        # its own session: a timeout kills the workers it started too, not only the script
        proc = subprocess.Popen([sys.executable, str(HERE / script), *args, "--json", str(out)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True,
                                env={**os.environ, "BIGTEXT_DEVICE": "cpu"})
        tail = collections.deque(maxlen=40)
        reader = threading.Thread(target=echo, args=(proc.stdout, tail))
        reader.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            reader.join()
            return [], f"killed after {timeout:.0f} s (--timeout)"
        reader.join()
        if code != 0:
            return [], last_error_line(tail)
        if not out.exists():
            return [], f"{script} exited 0 but wrote no --json rows"
        return json.loads(out.read_text(encoding="utf-8"))["rows"], None


def failed_row(name: str, why: str) -> dict:
    return {"benchmark": name, "failed": why, "command": command(name)}


def merge(previous: list[dict], new: list[dict], ran: list[str]) -> list[dict]:
    """This run's rows, plus the previous file's rows of the benchmarks it did not run,
    in BENCHMARKS' order."""
    kept = [r for r in previous if r.get("benchmark") not in ran]
    order = list(BENCHMARKS)
    return sorted(kept + new, key=lambda r: order.index(r["benchmark"])
                  if r.get("benchmark") in order else len(order))


def amount(side: dict) -> str:
    value = side["value"]
    if abs(value) >= 1e6:
        number = f"{value / 1e6:.2f}M"
    else:
        number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{side['name']}: {number} {side['unit']}"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(rows: list[dict]) -> str:
    """The rows as a markdown table; a failed benchmark as a row that says so."""
    lines = ["| piece | ours | reference | ratio, min / median (> 1: ours faster) "
             "| repeats, load | command |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['benchmark']} | **failed** | – | {cell(r['failed'])} | – "
                         f"| `{r['command']}` |")
            continue
        ratio = f"{r['min']:.2f} / {r['median']:.2f}" + (f"; {r['note']}" if r.get("note") else "")
        load = f"{r['repeats']}; load {r['load_before'][0]:.2f} → {r['load_after'][0]:.2f}"
        lines.append(f"| {cell(r['title'])} | {cell(amount(r['ours']))} "
                     f"| {cell(amount(r['reference']))} | {cell(ratio)} | {load} "
                     f"| `{r['command']}` |")
    return "\n".join(lines)


def chosen(only: str | None) -> list[str]:
    """The benchmarks --only names (all without it); SystemExit naming an unknown one."""
    names = list(BENCHMARKS) if only is None else [n.strip() for n in only.split(",")]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"--only: unknown benchmark {', '.join(unknown)}; "
                         f"choose from {', '.join(BENCHMARKS)}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument("--timeout", type=float, default=900, help="seconds per benchmark")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    names = chosen(args.only)
    os.environ["BIGTEXT_DEVICE"] = "cpu"  # the CPU table, on any machine; environment() reads it

    from bigtext_lite.experiments import environment
    from bigtext_lite.io import write_json_atomic

    env = {**environment(), "cpu_count": os.cpu_count()}
    previous = json.loads(args.out.read_text(encoding="utf-8"))["rows"] if args.out.exists() else []
    start, new = time.perf_counter(), []
    for i, name in enumerate(names):
        print(f"\n== {name} ({i + 1}/{len(names)}): {command(name)}", flush=True)
        began = time.perf_counter()
        rows, why = run_one(name, args.timeout)
        stamp = {"benchmark": name, "date": env["date"], "git_commit": env["git_commit"],
                 "cpu_count": env["cpu_count"], "seconds": round(time.perf_counter() - began, 1)}
        new += [{**r, **stamp} for r in rows] or [{**failed_row(name, why), **stamp}]
        # written after every benchmark (complete: false), so a run cut short keeps its rows
        result = {"name": "bench", "profile": "cpu", "complete": i == len(names) - 1,
                  "only": args.only, **env, "wall_seconds": round(time.perf_counter() - start, 1),
                  "rows": merge(previous, new, names[: i + 1])}
        write_json_atomic(args.out, result, indent=2)
    print(f"\n{env['date']}, commit {env['git_commit']}, {env['cpu_count']} CPU cores, "
          f"torch {env['torch']}; {result['wall_seconds'] / 60:.1f} minutes; "
          f"written to {args.out}\n")
    print(table(result["rows"]))
    return 1 if any("failed" in r for r in new) else 0


if __name__ == "__main__":
    sys.exit(main())
