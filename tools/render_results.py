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
    ("Official fastText, bigrams, 20 epochs", None,
     "not published: this book's run of the official package, {ref}`sec-fasttext`"),
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
    "Every measured number on this page was written by `bigtext run <chapter> --profile",
    "quick|full` into `results/<chapter>-<profile>.json` (a variant run into a tagged",
    "`results/<chapter>-<profile>-<tag>.json`); figures from papers carry their source.",
    "Each run says where, when and from which commit it ran: the full runs shown were",
    "made chapter by chapter, and the one published run of every chapter from a single",
    "clean commit (`bigtext publish`) has not been made yet. The full profile runs on",
    "the whole of IMDB: the",
    "baselines, LSTM and BERT runs train on 22,500 reviews and hold out 2,500 for",
    "validation, the fastText and word-vector runs train on all 25,000, with no",
    "validation split, and every full run tests on the 25,000 test reviews unless its",
    "heading says otherwise (quick runs test on subsets). Where a full run has a",
    "validation split, the configuration marked **best** was chosen on validation",
    "accuracy, and its test accuracy is the chapter's headline number.",
    "",
    "Each chapter's quick runs are folded below its full ones. The quick profile runs on",
    "a CPU on small subsets: it shows that the code works, not what the model can do. A",
    "quick row comes from its own `bigtext run`, at the commit and date its heading",
    "names, not from the chapter's cells, which train with the same settings in a",
    "separate run: the load of a shared 2-core machine moves their timings from the",
    "chapter's, at times by large factors, and where the code has changed between the",
    "two runs their accuracies can differ too. Read a chapter's quick numbers in the",
    "chapter.",
    "",
    "## Figures to compare with",
    "",
    "Published IMDB test accuracies, and one figure this book measured itself (the",
    "official fastText package, trained with the same settings as ours):",
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
        # the earliest run's files name all-MiniLM-L6-v2's rows "BERT", as the chapter
        # does not: its name for them here too
        out += [f"| {name.replace('BERT input', 'MiniLM input')} | "
                + " | ".join(_pct(a) for a in accs) + " |"
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


# The configuration that stands for a chapter whose full run picks no best, and how
# the page says it was fixed.
HEADLINE_CONFIG = {"fasttext": "bigrams, 20 epochs, bigtext_lite"}
HEADLINE_NOTE = ("The fastText runs hold out no validation reviews, so nothing there was "
                 "chosen on validation: its headline is a fixed setting, the book's own "
                 "implementation with bigrams and 20 epochs, the largest of the settings "
                 "compared with the official fastText.")

# Some overrides are switches of how a run was made, not settings of what it trained.
SWITCHES = {"timings"}

# Two GPU runs read all-MiniLM-L6-v2's weights from a copy rounded to fp16; their files
# say so in an override or a note. The page says it once, in a reader's words.
FP16_FOOTNOTE = ("[^fp16]: This run read all-MiniLM-L6-v2's pre-trained weights (the "
                 "word-vector run: its word-embedding table only) from a copy rounded to "
                 "fp16, a relative error of at most 2^-11 (about 5e-4) per weight; "
                 "`bigtext run` reads the checkpoint's own fp32 weights.")
FP16_NOTE = re.compile(r"\s*For this run its weights were stored in fp16[^()]*\([^)]*\)\.")


def fp16_copy(r: dict) -> bool:
    """Whether the run read the pre-trained weights from the fp16-rounded copy."""
    overrides = " ".join(str(v) for v in (r.get("overrides") or {}).values())
    return "fp16" in overrides or bool(FP16_NOTE.search(r.get("note") or ""))


def headline(r: dict) -> dict | None:
    """The row of a full run that is its chapter's headline, or None."""
    config = r.get("best_config") or HEADLINE_CONFIG.get(r["chapter"])
    return next((row for row in r.get("rows", []) if row["config"] == config), None)


def _accuracy(r: dict, row: dict) -> str:
    """A headline's test accuracy: over its seeds (mean ± standard deviation) when the
    run trained it with several."""
    seeds = r.get("seeds") or {}
    if seeds.get("config") != row["config"] or "sd" not in seeds:
        return _pct(row["test_acc"])
    return (f"{_pct(seeds['mean'])} ± {100 * seeds['sd']:.2f} "
            f"({len(seeds['test_accs'])} seeds)")


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
                out.append(f"| {{ref}}`{label}` | {row['config']} | {_accuracy(r, row)} | "
                           f"{r['device']}, {r['date'][:10]}, {provenance(r['git_commit'])}"
                           f"{done} |")
    if len(out) <= 5:
        return []
    return out + ([] if not any(headline_fixed(r) for r in runs) else ["", HEADLINE_NOTE])


def headline_fixed(r: dict) -> bool:
    """Whether a full run's headline row is the fixed one of HEADLINE_CONFIG."""
    return (r.get("profile") == "full" and not r.get("tag") and not r.get("best_config")
            and r.get("chapter") in HEADLINE_CONFIG and headline(r) is not None)


def default_setting(r: dict, key: str):
    """The value ``key`` has in the profile ``r`` ran, from its chapter's Settings (None
    when the chapter or the key is unknown)."""
    import importlib

    try:
        settings = importlib.import_module(f"bigtext_lite.experiments.{r['chapter']}").Settings
        return getattr(settings.for_profile(r["profile"]), key, None)
    except (ImportError, KeyError, AttributeError, ValueError):
        return None


def _heading(r: dict) -> list[str]:
    """Which profile and overrides, where, when and from which code."""
    status = "" if r.get("complete", True) else " (incomplete: only the rows shown finished)"
    # an override's value may carry its explanation in brackets: the value alone here,
    # and none that only restates the profile's own setting
    values = {k: str(v).split(" (")[0] for k, v in (r.get("overrides") or {}).items()
              if k not in SWITCHES}
    changed = ", ".join(f"{k}={v}" for k, v in values.items()
                        if v != str(default_setting(r, k)))
    variant = f", with {changed}" if changed else ""
    variant += "[^fp16]" if fp16_copy(r) else ""
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
    """Ours against the official fastText, its large batches, epoch times, BERT's
    throughput, a note."""
    out = []
    if r.get("ours_vs_official"):
        out += ["", "Ours against the official, same settings and threads (means over the "
                "repeats):", "",
                "| setting | accuracy (points) | words / s, file to model | words / s / thread, "
                "training |",
                "| --- | ---: | ---: | ---: |"]
        out += [f"| {x['setting']} | {x['accuracy_points']:+.2f} | {x['words_per_second']:.2f}× | "
                f"{x['training_words_per_second']:.2f}× |" for x in r["ours_vs_official"]]
    if r.get("large_batches"):
        out += ["", f"Ours alone at large batches, bigrams, on {r['device']} (means over the "
                "repeats):", "",
                "| batch, steps of a shared row | lr | test (%) | seconds / epoch |",
                "| --- | ---: | ---: | ---: |"]
        out += [f"| {x['config']} | {x['lr']} | "
                + ("diverged | – |" if x["diverged"]
                   else f"{_pct(x['test_acc'])} | {x['epoch_seconds']:.3f} |")
                for x in r["large_batches"]]
    if r.get("epoch_seconds"):
        out += ["", "Seconds per training epoch:", "",
                "| variant | seconds |", "| --- | ---: |"]
        out += [f"| {k} | {v:.2f} |" for k, v in r["epoch_seconds"].items()]
    if r.get("throughput"):
        # a list of measures, each named by its mode (one, a dict, in runs made before the
        # table: its dtype names it)
        table = r["throughput"] if isinstance(r["throughput"], list) else [r["throughput"]]
        names = list(dict.fromkeys(k for t in table for k in t["sequences_per_second"]))
        out += ["", f"Training throughput, sequences / s (batch {table[0]['batch_size']}):",
                "", "| tokens | precision | " + " | ".join(names) + " |",
                "| ---: | --- |" + " ---: |" * len(names)]
        for t in table:
            speed = t["sequences_per_second"]
            out.append(f"| {t['seq_len']} | {t.get('mode', t['dtype'])} | "
                       + " | ".join(f"{speed[k]:,.1f}" if k in speed else "–" for k in names)
                       + " |")
    note = FP16_NOTE.sub("", r.get("note") or "").strip()
    if note:
        out += ["", f"Note: {note}"]
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
    if any(fp16_copy(r) for r in runs):
        out += ["", FP16_FOOTNOTE]
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
