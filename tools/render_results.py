"""Render book/results.md from the JSON files under results/ (written by
``bigtext run <chapter>``), next to the published reference figures.

    python tools/render_results.py          # rewrite book/results.md
    python tools/render_results.py --check  # exit 1 if it is out of date (the tests do this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "results.md"

# Published IMDB test accuracies, with where they come from. bentrevett's notebooks are
# quoted at commit 329f654 (January 2024): the printed test accuracy of each.
TUTORIAL = "{cite}`trevett2021`, notebook"
REFERENCES = [
    ("Tutorial LSTM (GloVe vectors, packed, 256 tokens)", "86.2", f"{TUTORIAL} 2"),
    ("Tutorial CNN (GloVe vectors, 256 tokens)", "87.5", f"{TUTORIAL} 3"),
    ("Paragraph/word vectors (full model + unlabelled)", "88.89", "{cite}`maas2011`"),
    ("Official fastText, bigrams, 20 epochs", None, "measured here, {ref}`sec-fasttext`"),
    ("NBSVM-bi", "91.22", "{cite}`wang2012`"),
    ("Tutorial bert-base-uncased, fine-tuned 3 epochs", "93.3", f"{TUTORIAL} 4"),
    ("BERT-base fine-tuned", "94.60", "{cite}`sun2019`"),
]
OFFICIAL_ROW = "bigrams, 20 epochs, official fastText"  # the row of results/fasttext-full.json


def official_fasttext(runs: list[dict]) -> str:
    """The official fastText's measured accuracy, from the full fastText run: a figure
    typed here would drift from the run it quotes."""
    for r in runs:
        if r.get("chapter") == "fasttext" and r["profile"] == "full" and not r.get("tag"):
            for row in r["rows"]:
                if row["config"] == OFFICIAL_ROW:
                    return _pct(row["test_acc"])
    return "–"


CHAPTER_TITLES = {  # in the book's reading order
    "formulas": ("Formulas checked against PyTorch", "sec-classification"),
    "text_pipeline": ("The text pipeline", "sec-text-pipeline"),
    "training_loop": ("The training loop", "sec-training-loop"),
    "baselines": ("Linear baselines", "sec-linear-baselines"),
    "fasttext": ("fastText, ours and the official", "sec-fasttext"),
    "word_vectors": ("Word vectors and transfer", "sec-word-vectors"),
    "lstm": ("LSTM on IMDB", "sec-lstm"), "bert": ("BERT fine-tuning", "sec-bert")}

INTRODUCTION = [
    "(sec-results)=",
    "# Results",
    "",
    "Every number on this page was written by `bigtext run <chapter> --profile quick|full`",
    "into `results/<chapter>-<profile>.json` and rendered by `tools/render_results.py`;",
    "each row says where and from which commit it ran. The quick profile runs on a CPU on",
    "small subsets (it shows the code works, not what the model can do); the full profile",
    "is the published run on the whole of IMDB (22,500 training, 2,500 validation and",
    "25,000 test reviews). In a full run, the configuration marked **best** was chosen on",
    "validation accuracy; its test accuracy is the chapter's headline number. Each",
    "chapter's quick runs are folded below its full ones.",
    "",
    "## Published figures to compare with",
    "",
    "| model | IMDB test accuracy (%) | source |",
    "| --- | ---: | --- |",
]


def _pct(x) -> str:
    return f"{100 * x:.2f}" if isinstance(x, (int, float)) else "–"


def _word_vector_tables(r: dict) -> list[str]:
    """The word-vectors chapter: trainers compared on one corpus, and the learning curve."""
    out = []
    if r.get("compare"):
        c = r["compare"]
        seeds = r["settings"].get("compare_seeds", 1)
        each = f"; mean ± standard deviation over {seeds} trainings each" if seeds > 1 else ""
        out += [f"Skip-gram on {c['texts']:,} reviews ({c['tokens_per_epoch']:,} tokens per "
                f"epoch), {r['settings']['epoch']} epochs, dimension {r['settings']['dim']}"
                f"{each}:", "",
                "| implementation | seconds | words / s | neighbour rating r | analogies (%) "
                "| device |",
                "| --- | ---: | ---: | ---: | ---: | --- |"]
        for name, row in c["rows"].items():  # a yardstick this machine lacked is left out
            if "skipped" not in row:
                sd = row.get("sd")  # several seeds
                r_sd = f" ± {sd['neighbour_rating_r']:.3f}" if sd else ""
                a_sd = f" ± {_pct(sd['analogies'])}" if sd else ""
                out.append(f"| {name} | {row['seconds']:.1f} | {row['words_per_s']:,} | "
                           f"{row['neighbour_rating_r']:.3f}{r_sd} | "
                           f"{_pct(row['analogies']['all'])}{a_sd} | {row['device']} |")
        out.append("")
    if r.get("curve"):
        sizes = r["curve"]["sizes"]
        out += ["Test accuracy (%) by number of labelled training reviews:", "",
                "| embedding matrix | " + " | ".join(f"{n:,}" for n in sizes) + " |",
                "| --- |" + " ---: |" * len(sizes)]
        out += [f"| {name} | " + " | ".join(_pct(a) for a in accs) + " |"
                for name, accs in r["curve"]["accuracy"].items()]
        out.append("")
    return out


# A run made from a working copy records its commit as "X+uncommitted changes", and
# "(the code of commit Y)" once its code was committed as Y: for a reader, that is Y.
CODE_OF = re.compile(r"\w+\+uncommitted changes \(the code of commit (\w+)\)")


def provenance(commit: str | None) -> str:
    """The code a run came from, in a reader's words."""
    if not commit:
        return "an unrecorded version of the code"
    if m := CODE_OF.fullmatch(commit):
        return f"the code of commit `{m[1]}`"
    if commit.endswith("+uncommitted changes"):
        return f"a development version after commit `{commit.split('+')[0]}`"
    return f"commit `{commit}`"


# The configuration that stands for a chapter whose full run picks no best.
HEADLINE_CONFIG = {"fasttext": "bigrams, 20 epochs, bigtext_lite"}


def headline(r: dict) -> dict | None:
    """The row of a full run that is its chapter's headline, or None."""
    config = r.get("best_config") or HEADLINE_CONFIG.get(r["chapter"])
    return next((row for row in r.get("rows", []) if row["config"] == config), None)


def headlines(runs: list[dict]) -> list[str]:
    """One row per chapter: its full run's headline model, accuracy, and where it ran."""
    out = ["", "## Each chapter's headline", "",
           "| chapter | model | IMDB test accuracy (%) | run |", "| --- | --- | ---: | --- |"]
    for chapter, (_, label) in CHAPTER_TITLES.items():
        for r in runs:
            if r.get("chapter") == chapter and r["profile"] == "full" and not r.get("tag"):
                row = headline(r)
                if row is None:
                    continue
                done = "" if r.get("complete", True) else "; incomplete, see below"
                out.append(f"| {{ref}}`{label}` | {row['config']} | {_pct(row['test_acc'])} | "
                           f"{r['device']}, {r['date'][:10]}, {provenance(r['git_commit'])}"
                           f"{done} |")
    return out if len(out) > 5 else []


def _heading(r: dict) -> list[str]:
    """Which profile and overrides, where, when and from which code."""
    status = "" if r.get("complete", True) else " (incomplete: only the rows shown finished)"
    changed = ", ".join(f"{k}={v}" for k, v in (r.get("overrides") or {}).items())
    variant = f", with {changed}" if changed else ""
    sizes = (f"; {r['train_size']:,} training / {r['test_size']:,} test reviews"
             if "train_size" in r else "")
    return [f"**{r['profile']} profile{variant}**{status}: {r['device']}, torch {r['torch']}, "
            f"{r['date']}, {provenance(r['git_commit'])}{sizes}.", ""]


def _rows_table(r: dict) -> list[str]:
    """One line per configuration; speed and epoch-time columns where the rows have them."""
    rows = r.get("rows", [])
    speed = any("words_per_second" in row for row in rows)
    epoch = any("seconds_per_epoch" in row for row in rows)
    training = any("train_words_per_second_per_thread" in row for row in rows)
    out = []
    if rows:
        out += ["| configuration | validation (%) | test (%) |"
                + (" seconds | words / s |" if speed else "")
                + (" words / s / thread, training |" if training else "")
                + (" seconds / epoch |" if epoch else ""),
                "| --- | ---: | ---: |" + (" ---: | ---: |" if speed else "")
                + (" ---: |" if training else "") + (" ---: |" if epoch else "")]
    for row in rows:
        # A quick run's best configuration says nothing about the model: no mark.
        chosen = row["config"] == r.get("best_config") and r["profile"] == "full"
        best = " **best**" if chosen else ""
        extra = f" {row['seconds']:.1f} | {row['words_per_second']:,} |" if speed else ""
        if training:
            per_thread = "train_words_per_second_per_thread"
            extra += f" {row[per_thread]:,} |" if per_thread in row else " – |"
        if epoch:
            extra += f" {row['seconds_per_epoch']:.2f} |" if "seconds_per_epoch" in row else " – |"
        out.append(f"| {row['config']}{best} | {_pct(row.get('val_acc'))} | "
                   f"{_pct(row.get('test_acc'))} |" + extra)
    return out


def _extra_tables(r: dict) -> list[str]:
    """Ours against the official fastText, epoch times, BERT's throughput, a note."""
    out = []
    if r.get("ours_vs_official"):
        out += ["", "Ours against the official, same settings and threads (means over the "
                "repeats):", "",
                "| setting | accuracy (points) | words / s, file to model | words / s / thread, "
                "training |",
                "| --- | ---: | ---: | ---: |"]
        out += [f"| {x['setting']} | {x['accuracy_points']:+.2f} | {x['words_per_second']:.2f}× | "
                f"{x['training_words_per_second']:.2f}× |" for x in r["ours_vs_official"]]
    if r.get("epoch_seconds"):
        out += ["", "Seconds per training epoch:", "",
                "| variant | seconds |", "| --- | ---: |"]
        out += [f"| {k} | {v:.2f} |" for k, v in r["epoch_seconds"].items()]
    if r.get("throughput"):
        t = r["throughput"]
        out += ["", f"Training throughput ({t['dtype']}, batch {t['batch_size']} × "
                f"{t['seq_len']} tokens):",
                "", "| implementation | sequences / s |", "| --- | ---: |"]
        out += [f"| {k} | {v:,.1f} |" for k, v in t["sequences_per_second"].items()]
    if r.get("note"):
        out += ["", f"Note: {r['note']}"]
    return out


def _run(r: dict) -> list[str]:
    """One result file: its heading, then its facts, derivations or rows and tables."""
    out = _heading(r)
    if r.get("facts"):
        out += ["| measure | value |", "| --- | ---: |"]
        out += [f"| {k} | {v:,} |" for k, v in r["facts"].items()]
    if any("max_abs_error" in row for row in r.get("rows", [])):
        out += ["| derivation | checked against | largest difference |", "| --- | --- | ---: |"]
        out += [f"| {row['config']} | {row['reference']} | {row['max_abs_error']:.1e} |"
                for row in r["rows"]]
        return out + [""]
    return out + _rows_table(r) + _word_vector_tables(r) + _extra_tables(r) + [""]


def render(results_dir: Path = ROOT / "results") -> str:
    files = sorted(results_dir.glob("*.json"))
    runs = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    out = INTRODUCTION + [f"| {name} | {acc or official_fasttext(runs)} | {source} |"
                          for name, acc, source in REFERENCES]
    out += headlines(runs)
    for chapter, (title, label) in CHAPTER_TITLES.items():
        chapter_runs = [r for r in runs if r.get("chapter") == chapter]
        if not chapter_runs:
            continue
        out += ["", f"## {title}", "", f"Chapter: {{ref}}`{label}`.", ""]
        # the full runs, then the colab ones (a learner's GPU), then the quick ones folded
        full = sorted((r for r in chapter_runs if r["profile"] != "quick"),
                      key=lambda r: (r["profile"] != "full", r.get("tag") or ""))
        quick = [r for r in chapter_runs if r["profile"] == "quick"]
        for r in full:
            out += _run(r)
        if quick and full:  # folded: a quick run shows the code works, not the model
            title = "The quick run" + ("s" if len(quick) > 1 else "") + " (CPU, small subsets)"
            out += ["````{admonition} " + title, ":class: dropdown", ""]
            for r in sorted(quick, key=lambda r: r.get("tag") or ""):
                out += _run(r)
            out += ["````"]
        else:
            for r in sorted(quick, key=lambda r: r.get("tag") or ""):
                out += _run(r)
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="fail if book/results.md is out of date")
    args = parser.parse_args()
    page = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run python tools/render_results.py")
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
