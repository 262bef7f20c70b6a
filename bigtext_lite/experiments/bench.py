"""The benchmarks' latest run, quoted in a reader's words: ``quote("lstm")``.

`make bench` (benchmarks/run_all.py) runs each CPU benchmark in a fresh process and
writes ``results/bench-cpu.json``: one row per piece (the fields are described in
benchmarks/common.py), each with a ratio per alternated repeat, > 1 = ours faster.
A chapter quotes that file rather than typing a figure that would drift from it.

Walkthrough: book/how_built.md (benchmarks).
"""

from __future__ import annotations

from bigtext_lite.experiments import find_published, result_name


def sentence(row: dict) -> str:
    """One row as a sentence: the min ratio (what a reader can count on), then how it
    was measured and when."""
    ours, reference = row["ours"], row["reference"]
    text = (f"our {ours['name']} runs at {row['min']:.2f}x the speed of {reference['name']} "
            f"(measured in {reference['unit']}; min of {row['repeats']} "
            f"alternated repeats, median {row['median']:.2f}; {row['cpu_count']} CPU cores, "
            f"{row['date'][:10]}, commit {row['git_commit']})")
    return text + (f"; {row['note']}" if row.get("note") else "")


def quote(piece: str, result: dict | None = None) -> str | None:
    """The latest measurement of ``piece`` (e.g. ``"lstm"``, ``"wordpiece"``,
    ``"fasttext-polarity-bigrams"``) as one sentence; ``result``: a bench-cpu.json's
    contents (read from results/ when None). None, with a hint printed, when the file
    or the piece is missing, or its benchmark failed on the latest run."""
    if result is None:
        # not load_result: its hint names `bigtext run`, which does not write this file
        result = find_published(result_name("bench", "cpu"))
        if result is None:
            print("no results/bench-cpu.json: `make bench` (benchmarks/run_all.py) writes it")
            return None
    for row in result["rows"]:
        if row.get("piece") == piece:
            return sentence(row)
    pieces = ", ".join(r["piece"] for r in result["rows"] if "piece" in r)
    failed = ", ".join(f"{r['benchmark']} ({r['failed']})" for r in result["rows"]
                       if "failed" in r)
    print(f"no piece {piece!r} in results/bench-cpu.json; it has {pieces or 'none'}"
          + (f"; failed on the latest run: {failed}" if failed else ""))
    return None
