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

CHAPTERS = {"lstm": "bigtext_lite.runs.lstm", "bert": "bigtext_lite.runs.bert"}


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


def run_chapter(chapter: str, profile: str | None = None, out_dir: str | Path = "results") -> Path:
    """Run one chapter's experiment under ``profile`` and write its JSON result."""
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; choose one of {sorted(CHAPTERS)}")
    if profile is not None:
        os.environ["BIGTEXT_PROFILE"] = profile  # config.profile() reads it everywhere below
    profile = config.profile()
    start, env = time.perf_counter(), environment()
    out = Path(out_dir) / f"{chapter}-{profile}.json"

    def write(metrics: dict, complete: bool) -> None:
        # Written as the run goes (complete: false), so a run cut short keeps its rows.
        result = {"chapter": chapter, "profile": profile, "complete": complete, **env,
                  "wall_seconds": round(time.perf_counter() - start, 1), **metrics}
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, out)

    metrics = importlib.import_module(CHAPTERS[chapter]).run(lambda partial: write(partial, False))
    write(metrics, True)
    return out
