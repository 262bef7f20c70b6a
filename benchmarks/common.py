"""What the benchmarks share: the machine's load, a ratio's min and median over
alternated repeats, and the ``--json`` rows that benchmarks/run_all.py collects.

A row is one measured piece, as run_all.py prints it and
``bigtext_lite.experiments.bench.quote`` reads it:

    piece         short name, e.g. "wordpiece", "fasttext-polarity-bigrams"
    title         what was measured, at what size (the table's first column)
    ours          {"name", "value", "unit"}: the median over the repeats; the name reads
                  after "our" ("packed-exact LSTM")
    reference     the same, for what ours is measured against; its name reads after "the
                  speed of" ("the padded nn.LSTM", "gensim's load_word2vec_format")
    ratios        one per repeat, > 1 = ours faster; their "min" and "median"
    repeats, load_before, load_after (1, 5 and 15-minute load averages), command
    note          optional, one short phrase: mismatches, accuracy difference, ...

plus whatever else the piece measures (its own fields, named in its script).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
from pathlib import Path

from bigtext_lite.io import write_json_atomic

ROOT = Path(__file__).resolve().parents[1]


def load_average() -> list[float]:
    """1, 5 and 15-minute load: a ratio taken while something else ran is worth less."""
    return [round(x, 2) for x in os.getloadavg()]


def spread(ratios) -> dict:
    """One ratio per alternated repeat, and their min and median: the min is what a
    reader can count on, the median what is typical; a mean would hide one bad repeat."""
    ratios = [float(r) for r in ratios]
    if not ratios:
        raise ValueError("no ratios to summarise: a benchmark needs at least one repeat")
    return {"ratios": [round(r, 4) for r in ratios], "min": round(min(ratios), 4),
            "median": round(statistics.median(ratios), 4)}


def command(argv: list[str] | None = None) -> str:
    """The command line as one would retype it from the repository root, less ``--json``
    (run_all.py's temporary file, which changes nothing that is measured)."""
    argv = list(sys.argv if argv is None else argv)
    script, args, kept = Path(argv[0]).resolve(), argv[1:], []
    while args:
        arg = args.pop(0)
        if arg == "--json":
            args = args[1:]
        elif not arg.startswith("--json="):
            kept.append(arg)
    if script.is_relative_to(ROOT):
        script = script.relative_to(ROOT)
    return shlex.join(["python", str(script), *kept])


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the measured rows there (benchmarks/run_all.py)")


def row(piece: str, title: str, ours: tuple, reference: tuple, ratios, load_before,
        **extra) -> dict:
    """A row as described above; ``ours`` and ``reference`` are (name, value, unit)."""
    def side(name, value, unit):
        return {"name": name, "value": float(value), "unit": unit}

    ratios = list(ratios)
    return {"piece": piece, "title": title, "ours": side(*ours), "reference": side(*reference),
            **spread(ratios), "repeats": len(ratios), "load_before": list(load_before),
            "load_after": load_average(), "command": command(), **extra}


def write_rows(path: Path | None, rows: list[dict]) -> None:
    """The rows as JSON at ``path`` (nothing when no ``--json`` was given)."""
    if path is not None:
        write_json_atomic(path, {"rows": rows}, indent=2)
