"""Write each chapter's *Runtime* lines (its first cell) from the runs that measured them,
so the times a reader is promised cannot drift from the measurements:

- the quick profile on 2 CPU cores: results/colab-twin.json (`make colab-twin`), which ran
  every chapter end to end in Colab's packages, its install cell included;
- the full profile: the chapter's published results/<run>-full.json (its wall time,
  device and date), when there is one;
- a Colab T4: not measured (no T4 here); the estimate and its grounds are written out.

The wording is for readers: what was measured, on what, and what is expected elsewhere
and why. How it was measured (Colab's package versions installed afresh on 2 CPU cores,
not Colab itself) is for contributors, in tools/colab_twin.py.

    python tools/sync_runtime.py          # rewrite the lines that are out of date
    python tools/sync_runtime.py --check  # exit 1 and list them (what the tests do)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
# From "*Runtime*" up to the prerequisites line (or the end of the cell).
BLOCK = re.compile(r"^\*Runtime\*.*?(?=^\*Prerequisites\*|\Z)", re.M | re.S)
RUN = re.compile(r"experiments import (\w+) as experiment")
# Chapters that train on the GPU when there is one; the others run on the CPU anywhere.
GPU_RUNS = {"training_loop", "word_vectors", "lstm", "bert"}
# Why a T4 should take 10-15x an H100's time: its memory bandwidth (320 GB/s against
# 3,350) and dense fp16/bf16 tensor throughput (65 TFLOPS against 989), vendor figures.
T4_FACTOR = "10 to 15 times"


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def run_name(nb) -> str | None:
    """The chapter's `bigtext run` name, from its parameters cell (None: it has none)."""
    found = RUN.search("\n".join(c.source for c in nb.cells if c.cell_type == "code"))
    return found[1] if found else None


def full_sentence(run: str | None) -> str:
    full = load(f"{run}-full.json") if run else None
    if run is None or not (ROOT / "bigtext_lite" / "experiments" / f"{run}.py").exists():
        return ""
    if full is None:
        return " The `full` profile has not been timed."
    on = (f"{'one ' if full['device'].startswith('NVIDIA') else ''}{full['device']}, "
          f"on {full['date'][:10]}")
    if not full.get("complete", True):  # its time is not the profile's: say what it did
        rows = len(full.get("rows") or [])
        return (f" The `full` profile has not run to its end: the published run, on {on}, "
                f"was stopped after {minutes(full['wall_seconds'])} with {rows} "
                f"configuration{'s' if rows != 1 else ''} done.")
    return (f" The `full` profile's experiment (`bigtext run {run} --profile full`, which "
            f"leaves out the notebook's own demonstrations) took "
            f"{minutes(full['wall_seconds'])} on {on}.")


def t4_sentence(run: str | None) -> str:
    if run not in GPU_RUNS:
        return ("On Colab's free runtime expect about the same times: this chapter computes "
                "on the CPU, and that runtime has 2 CPU cores too (not timed on Colab "
                "itself).")
    quick = ("Colab's T4 runtime has the same 2 CPU cores and adds the GPU, which the "
             "chapter then computes on. The quick profile has not been timed on a T4")
    full = load(f"{run}-full.json")
    if full is None:
        return quick + "."
    grounds = ("a T4 has about a tenth of an H100's memory bandwidth and a fifteenth of "
               "its 16-bit tensor throughput")
    if not full.get("complete", True):  # no time of the whole profile to scale
        return f"{quick}, and the T4 estimate above rests on vendor figures: {grounds}."
    return (f"{quick}, and the full profile should take about {T4_FACTOR} its time on the "
            f"H100, because {grounds} (vendor figures).")


def row_of(run: dict | None, config: str) -> dict | None:
    return next((r for r in (run or {}).get("rows", []) if r["config"] == config), None)


# The colab profile, defined for the reader where a chapter first names it.
COLAB = ("The `colab` profile, for a free Colab runtime ({doc}`../book/how_to_run`), "
         "uses all of the data")


def colab_sentence(run: str | None) -> str:
    """What the `colab` profile (experiments' Settings: all the data, the headline
    configuration, one seed) adds up to, from the published run of the same settings."""
    if run in {"text_pipeline", "training_loop", "baselines"}:
        return f" {COLAB}: in this chapter it runs the same settings as `full`."
    if run == "fasttext":
        return (f" {COLAB} and trains each setting once instead of three times: about "
                "a third of that experiment's time, on the CPU as there.")
    if run == "word_vectors":
        return (f" {COLAB}, trains the curve once per size and leaves out the official "
                "fastText and gensim; it has not been timed.")
    if run == "lstm":
        r = row_of(load("lstm-full-b256.json"), "random, max pooling")
        return "" if r is None else (
            f" {COLAB} at batch 256, and `bigtext run lstm --profile colab` trains max "
            f"pooling only: the published run of those settings reached "
            f"{100 * r['test_acc']:.2f} % in {r['epochs_run']} epochs of "
            f"{r['seconds_per_epoch']:.1f} s on an H100; expect an epoch to take {T4_FACTOR} "
            f"as long on a T4. This notebook under that profile trains its own cells' models "
            f"(mean pooling, then the fastText vectors) on all of the data instead.")
    if run == "bert":
        full = load("bert-full.json")
        r = row_of(full, "minilm, head+tail, 512 tokens")
        return "" if r is None else (
            f" {COLAB}, and `bigtext run bert --profile colab` fine-tunes head+tail with "
            f"[CLS] only: in the published run, fine-tuning those settings took "
            f"{r['total_seconds']:.0f} s on an H100 and reached {100 * r['test_acc']:.2f} %; "
            f"expect {T4_FACTOR} as long on a T4, plus tokenising all of IMDB and a "
            f"throughput measurement.")
    return ""


def block(nb, name: str, twin: dict) -> str:
    """The chapter's *Runtime* and *Checked against* lines."""
    row = next(r for r in twin["chapters"] if r["chapter"] == name)
    if not row["ran"]:
        raise SystemExit(f"{name} failed in the Colab twin: fix it before writing its runtime")
    run = run_name(nb)
    full = full_sentence(run)
    profile = "the `quick` profile (the default)" if full else "the chapter"
    packages = twin["packages"]
    return (f"*Runtime*: {profile} takes about {minutes(row['seconds'])} on 2 CPU cores, "
            f"from installing the library to the last cell (measured end to end on "
            f"{row['date']}).{full}{colab_sentence(run)} {t4_sentence(run)}\n"
            f"*Checked against*: Colab's runtime of {twin['runtime']} (Python "
            f"{twin['python'].rsplit('.', 1)[0]}, torch {packages['torch']}, transformers "
            f"{packages['transformers']}): the chapter runs end to end with those versions, "
            f"and {'the `quick` profile' if full else 'the chapter'}'s time above was "
            f"measured with them. The outputs on this page come from a separate run, whose "
            f"torch version is printed near the top of the page.\n")


def sync(path: Path, twin: dict, write: bool) -> bool:
    """Return True if ``path`` already matched; rewrite it when ``write``."""
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    if not BLOCK.search(first.source):
        raise SystemExit(f"{path.name}: its first cell has no *Runtime* line")
    new = BLOCK.sub(lambda m: block(nb, path.stem, twin), first.source, count=1)
    if new == first.source:
        return True
    if write:
        first.source = new
        nbformat.write(nb, path)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    args = parser.parse_args()
    twin = load("colab-twin.json")
    if twin is None:
        print("no results/colab-twin.json: run `make colab-twin` first")
        return 1
    stale = [nb for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
             if not sync(nb, twin, not args.check)]
    for nb in stale:
        print(f"{'out of date' if args.check else 'updated'}: {nb.relative_to(ROOT)}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
