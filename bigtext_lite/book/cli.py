"""The `bigtext` command: small helpers around the book's data and benchmarks.

    bigtext data            where IMDB is found (downloading it if needed) and its sizes
    bigtext info            profile, device, versions: what a run would use
    bigtext run CHAPTER     reproduce a chapter's headline numbers into results/CHAPTER-PROFILE.json
    bigtext publish         every chapter's full run in turn, resumable: the published run
    bigtext assignments release [--out DIR]   learner versions of the assignments (no solutions)
    bigtext check NOTEBOOK|FOLDER [--csv F]   grade an assignment notebook, or a folder of them

Walkthrough: book/how_to_run.md.
"""

from __future__ import annotations

import argparse
import sys

from bigtext_lite import config


def _data(args) -> int:
    from bigtext_lite.data.imdb import SPLITS, load_imdb, locate_imdb
    from bigtext_lite.errors import DataError

    try:
        print(f"IMDB: {locate_imdb(download_ok=not args.no_download)}")
        for split in SPLITS:
            reviews = load_imdb(split, download=False)
            positive = sum(label == 1 for label in reviews.labels)
            print(f"  {split:>5}: {len(reviews):>6,} reviews, {positive:,} positive")
    except DataError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"parsed cache: {config.cache_dir() / 'imdb'}")
    return 0


def _info(args) -> int:
    print(config.describe())
    print(f"data root: {config.data_root()}\ncache:     {config.cache_dir()}")
    return 0


def _run(args) -> int:
    from bigtext_lite.errors import DataError
    from bigtext_lite.experiments import chapter_module, run_chapter

    try:
        # typed by each setting, then checked
        overrides = chapter_module(args.chapter).Settings.parse_sets(args.set)
        out = run_chapter(args.chapter, args.profile, args.out, overrides, args.tag)
    except config.SettingError as err:  # raised before any work: the line says it all
        print(f"bigtext run {args.chapter}: {err}", file=sys.stderr)
        return 2
    except DataError as err:  # as `bigtext data` reports it
        print(err, file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


def _publish(args) -> int:
    from bigtext_lite.experiments.publish import publish

    only = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else None
    try:
        summary = publish(args.profile, args.out, only)
    except config.SettingError as err:
        print(f"bigtext publish: {err}", file=sys.stderr)
        return 2
    print(f"\n{'chapter':14} {'status':7} {'seconds':>8}")
    for chapter, c in summary["chapters"].items():
        print(f"{chapter:14} {c['status']:7} {c['seconds']:8.0f}")
    print(f"{'all':14} {'':7} {summary['seconds']:8.0f}  (this command: "
          f"{summary['this_command_seconds']:.0f} s; {summary['device']}, "
          f"commit {summary['git_commit']})")
    return 0 if summary["complete"] else 1


def _release(args) -> int:
    from bigtext_lite.book.assignments import release

    for path in release(args.out):
        print(f"wrote {path}")
    return 0


def _check(args) -> int:
    from pathlib import Path

    from bigtext_lite.book import sandbox
    from bigtext_lite.book.assignments import SOLUTIONS, grade, grade_folder

    target = Path(args.target)
    if not target.exists() and (SOLUTIONS / f"{args.target}.ipynb").exists():
        target = SOLUTIONS / f"{args.target}.ipynb"  # a chapter name: the reference solution
    if not target.exists():
        print(f"no notebook or folder {args.target}", file=sys.stderr)
        return 2
    if args.timeout is not None and args.timeout <= 0:
        print(f"--timeout must be a positive number of seconds, got {args.timeout:g}",
              file=sys.stderr)
        return 2
    try:
        _, why_not = sandbox.account(args.user)
    except sandbox.SandboxError as err:
        print(err, file=sys.stderr)
        return 2
    if why_not:
        print(f"note: {why_not}", file=sys.stderr)
    options = dict(source=args.source, user=args.user)
    if args.timeout is not None:
        options["timeout"] = args.timeout
    grades = (grade_folder(target, args.csv, **options) if target.is_dir()
              else [grade(target, **options)])
    if not grades:
        print(f"no notebooks (*.ipynb) in {target}: nothing graded", file=sys.stderr)
    for g in grades:
        error = f"  ({g.error})" if g.error else ""
        print(f"{g.notebook}: {g.score:g} / {g.total:g} points{error}")
        for test_id, (got, possible) in g.tests.items():
            print(f"  {'ok  ' if got == possible else 'FAIL'} {test_id}: {got:g} / {possible:g}")
        for note in g.notes:
            print(f"  note: {note}")
    return 0 if grades and all(g.passed for g in grades) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bigtext", description="The bigtext book's helpers.")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="find (or download) IMDB and report its splits")
    data.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    data.set_defaults(func=_data)
    sub.add_parser("info", help="profile, device and locations").set_defaults(func=_info)
    from bigtext_lite.experiments import CHAPTERS

    run = sub.add_parser("run", help="reproduce a chapter's headline numbers into results/")
    # No argparse choices: run_chapter checks both, in one line like every other mistake
    run.add_argument("chapter", help=f"one of: {', '.join(sorted(CHAPTERS))}")
    run.add_argument("--profile", default=None,
                     help="quick, colab or full (default: BIGTEXT_PROFILE, else quick)")
    run.add_argument("--out", default="results",
                     help="folder for the JSON result (default: results)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="change one setting, e.g. --set batch_size=256 (repeatable; "
                          "true/false, null, numbers, JSON lists)")
    run.add_argument("--tag", default=None, help="suffix of the result file, for runs with --set")
    run.set_defaults(func=_run)
    pub = sub.add_parser("publish", help="every chapter's run in turn into results/, keeping "
                                         "those already complete from this commit and device")
    pub.add_argument("--profile", default="full", help="quick, colab or full (default: full)")
    pub.add_argument("--out", default="results", help="folder (default: results)")
    pub.add_argument("--only", default=None, help="comma-separated chapters (default: all)")
    pub.set_defaults(func=_publish)
    assign = sub.add_parser("assignments", help="assignment notebooks for a course")
    assign_sub = assign.add_subparsers(dest="action", required=True)
    rel = assign_sub.add_parser("release", help="write the learner versions (solutions stripped)")
    rel.add_argument("--out", default="_build/assignments",
                     help="folder (default: _build/assignments)")
    rel.set_defaults(func=_release)
    check = sub.add_parser("check", help="run an assignment's tests and print the points")
    check.add_argument("target", help="a notebook, a folder of submissions, or a chapter name "
                                       "(the solution)")
    check.add_argument("--csv", default=None, help="with a folder: write one row per notebook here")
    check.add_argument("--source", default=None,
                       help="the instructor's copy (a notebook or a chapter name; default: the "
                            "solution notebook of the submission's file name)")
    check.add_argument("--timeout", type=float, default=None,
                       help="seconds a cell may run before grading stops (default: 120)")
    check.add_argument("--user", default="nobody",
                       help="when run as root: the unprivileged account submissions run as "
                            "(default: nobody)")
    check.set_defaults(func=_check)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except config.SettingError as err:  # e.g. BIGTEXT_PROFILE=fast under `bigtext info`
        print(f"bigtext {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
