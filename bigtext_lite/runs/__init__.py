"""Reproduce a chapter's headline numbers: ``bigtext run <chapter> --profile quick|full``.

Each module here has ``run() -> dict`` that trains and evaluates what its
chapter reports, reading sizes from the active profile. :func:`run_chapter`
adds where and how it ran (device, versions, git commit, date) and writes
``results/<chapter>-<profile>.json``; the book's Results page renders those files.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from bigtext_lite import config
from bigtext_lite.checkpoint import write_json_atomic

CHAPTERS = {"formulas": "bigtext_lite.runs.formulas", "training_loop": "bigtext_lite.runs.training_loop",
            "text_pipeline": "bigtext_lite.runs.text_pipeline",
            "fasttext": "bigtext_lite.runs.fasttext", "baselines": "bigtext_lite.runs.baselines",
            "word_vectors": "bigtext_lite.runs.word_vectors", "lstm": "bigtext_lite.runs.lstm",
            "bert": "bigtext_lite.runs.bert"}


def with_overrides(settings: dict, overrides: dict | None) -> dict:
    """``settings`` updated by ``overrides``; an unknown key is an error, not a silent no-op."""
    unknown = sorted(set(overrides or {}) - set(settings))
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {sorted(settings)}")
    return {**settings, **(overrides or {})}


def result_name(chapter: str, profile: str, tag: str | None = None) -> str:
    return f"{chapter}-{profile}{'-' + tag if tag else ''}.json"


def environment() -> dict:
    """Where a run happened: device, library versions, git commit, date."""
    dev = config.device()
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent,
                              timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "--short", "HEAD") or None
        if commit and git("status", "--porcelain", "--untracked-files=no"):
            commit += "+uncommitted changes"  # the numbers came from code not yet in that commit
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({os.cpu_count()} cores)",
        "torch": torch.__version__, "python": platform.python_version(), "git_commit": commit,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def run_chapter(chapter: str, profile: str | None = None, out_dir: str | Path = "results",
                overrides: dict | None = None, tag: str | None = None) -> Path:
    """Run one chapter's experiment under ``profile`` and write its JSON result.

    overrides: settings to change (e.g. ``{"batch_size": 256}``); the result
        records them, and ``tag`` names the file ``<chapter>-<profile>-<tag>.json``.
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; choose one of {sorted(CHAPTERS)}")
    if profile is not None:
        os.environ["BIGTEXT_PROFILE"] = profile  # config.profile() reads it everywhere below
    profile = config.profile()
    start, env = time.perf_counter(), environment()
    out = Path(out_dir) / result_name(chapter, profile, tag)

    def write(metrics: dict, complete: bool) -> None:
        # Written as the run goes (complete: false), so a run cut short keeps its rows.
        result = {"chapter": chapter, "profile": profile, "tag": tag, "overrides": overrides or {},
                  "complete": complete, **env,
                  "wall_seconds": round(time.perf_counter() - start, 1), **metrics}
        write_json_atomic(out, result, indent=2, default=str)

    module = importlib.import_module(CHAPTERS[chapter])
    metrics = module.run(lambda partial: write(partial, False), overrides=overrides)
    write(metrics, True)
    return out


def load_result(chapter: str, profile: str = "full", tag: str | None = None) -> dict | None:
    """A published ``results/<chapter>-<profile>[-<tag>].json`` (from the repository's
    ``results/`` folder, looked for from the current folder upwards), or None."""
    here = Path.cwd().resolve()
    name = result_name(chapter, profile, tag)
    for folder in [here, *here.parents, Path(__file__).resolve().parents[2]]:
        path = folder / "results" / name
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    print(f"no results/{name} here: `bigtext run {chapter} --profile {profile}` writes it")
    return None
