"""Reproduce a chapter's headline numbers: ``bigtext run <chapter> --profile quick|colab|full``.

Each chapter module here has a ``Settings`` dataclass (:mod:`.settings`: its quick and
full values) and ``run(settings) -> dict``, which trains and evaluates what its chapter
reports; the chapter's notebook starts from the same ``Settings``. :func:`run_chapter`
checks everything a run is given first, adds where and how it ran (device, versions, git
commit, date) and writes ``results/<chapter>-<profile>.json``; the book's Results page
renders those files. Walkthrough: book/how_to_run.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import platform
import re
import subprocess
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from bigtext_lite import config
from bigtext_lite.config import SettingError
from bigtext_lite.experiments import predictions, published
from bigtext_lite.io import write_json_atomic

CHAPTERS = {name: f"bigtext_lite.experiments.{name}"
            for name in ("formulas", "training_loop", "text_pipeline", "fasttext", "baselines",
                         "word_vectors", "lstm", "bert")}


def chapter_module(chapter: str):
    """The module of a chapter named in CHAPTERS; SettingError for any other name."""
    if chapter not in CHAPTERS:
        choices = ", ".join(sorted(CHAPTERS))
        raise SettingError(f"unknown chapter {chapter!r}; choose one of {choices}")
    return importlib.import_module(CHAPTERS[chapter])


def check_output(out_dir: str | Path, tag: str | None) -> None:
    """The result file can be written where asked (found now, not after the run)."""
    if tag and not re.fullmatch(r"[\w.+-]+", tag):
        raise SettingError(f"tag {tag!r}: use letters, digits and . _ + - (it names the file)")
    problem = config.folder_problem(Path(out_dir), writable=True)
    if problem:
        raise SettingError(f"results folder {str(out_dir)!r} {problem}")


def result_name(chapter: str, profile: str, tag: str | None = None) -> str:
    return f"{chapter}-{profile}{'-' + tag if tag else ''}.json"


# What decides a run's numbers: the library and its requirements. Results, notebooks and
# prose written since the commit do not, so a second `bigtext run` stays clean.
CODE_PATHS = ("bigtext_lite", "pyproject.toml")  # from the repository's root
CODE = tuple(f":(top){path}" for path in CODE_PATHS)  # as git pathspecs


def git_commit(folder: Path) -> str | None:
    """The commit ``folder`` is checked out at, marked when the code differs from it
    (changed or new files under bigtext_lite/, or pyproject.toml); None outside git."""
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=folder,
                              timeout=10).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or None
    if commit and git("status", "--porcelain", "--", *CODE):
        commit += "+uncommitted changes"  # the numbers came from code not yet in that commit
    return commit


def _code_digest(files) -> str:
    """sha256 over (path, content) pairs, sorted by path: one digest for a set of files."""
    digest = hashlib.sha256()
    for name, data in sorted(files):
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def code_hash(root: Path) -> str:
    """The digest of the code that decides a run's numbers (bigtext_lite/ and
    pyproject.toml under ``root``, the repository), read from the files themselves:
    it needs no git, so a run on a machine the repository was copied to without its
    history still says which code ran. :func:`code_hash_at` gives a commit's."""
    if not (root / "bigtext_lite").is_dir():
        raise FileNotFoundError(f"{root} holds no bigtext_lite/: not the repository")
    found = [p for path in CODE_PATHS
             for p in ((root / path).rglob("*") if (root / path).is_dir() else [root / path])]
    files = [p for p in found
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return _code_digest((p.relative_to(root).as_posix(), p.read_bytes()) for p in files)


def code_hash_at(commit: str, repo: Path) -> str | None:
    """:func:`code_hash` of ``commit``'s files (from git's objects); None when ``repo``
    has no such commit."""
    try:  # the commit's files as one tar archive, in one call of git
        archive = subprocess.run(["git", "archive", "--format=tar", commit, "--", *CODE_PATHS],
                                 capture_output=True, cwd=repo, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return _code_digest((m.name, tar.extractfile(m).read()) for m in tar if m.isfile())


# the packages whose versions can move a run's numbers: the yardsticks and the book's own
PACKAGES = ("bigtext-lite", "numpy", "scikit-learn", "transformers", "tokenizers", "safetensors",
            "gensim", "fasttext-numpy2")


def package_versions() -> dict[str, str]:
    """Each installed package of :data:`PACKAGES` and its version (absent ones left out)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def environment() -> dict:
    """Where a run happened: device, library versions, git commit, date."""
    dev = config.device()

    try:
        commit = git_commit(Path(__file__).parent)
    except (OSError, subprocess.SubprocessError):
        commit = None
    # A copy without git's history (a GPU machine the tree was sent to) names its commit
    # in BIGTEXT_COMMIT; code_hash lets anyone check that claim
    # (publish.provenance_problems).
    commit = commit or os.environ.get("BIGTEXT_COMMIT") or None
    device = (torch.cuda.get_device_name(dev) if dev.type == "cuda"
              else f"CPU ({os.cpu_count()} cores)")
    return {
        "device": device, "torch": torch.__version__, "python": platform.python_version(),
        "packages": package_versions(), "git_commit": commit,
        "code_hash": code_hash(Path(__file__).resolve().parents[2]),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def run_chapter(chapter: str, profile: str | None = None, out_dir: str | Path = "results",
                overrides: dict | None = None, tag: str | None = None) -> Path:
    """Run one chapter's experiment under ``profile`` and write its JSON result.

    overrides: settings to change (e.g. ``{"batch_size": 256}``); the result
        records them, and ``tag`` names the file ``<chapter>-<profile>-<tag>.json``.
    Everything is checked before any work: a mistake raises SettingError (a ValueError).
    """
    module = chapter_module(chapter)
    profile = config.profile() if profile is None else config.parse_profile(profile, "profile")
    defaults = module.Settings.for_profile(profile)
    overrides = defaults.checked(overrides)
    settings = dataclasses.replace(defaults, **overrides)
    config.check_environment()
    check_output(out_dir, tag)
    os.environ["BIGTEXT_PROFILE"] = profile  # config.profile() reads it everywhere below
    start, env = time.perf_counter(), environment()
    out = Path(out_dir) / result_name(chapter, profile, tag)

    def write(metrics: dict, complete: bool) -> None:
        # Written as the run goes (complete: false), so a run cut short keeps its rows.
        result = {"chapter": chapter, "profile": profile, "tag": tag, "overrides": overrides,
                  "complete": complete, **env,
                  "wall_seconds": round(time.perf_counter() - start, 1),
                  "settings": dataclasses.asdict(settings), **metrics}
        write_json_atomic(out, result, indent=2, default=str)

    metrics = module.run(settings, save_partial=lambda partial: write(partial, False))
    saved = metrics.pop("predictions", None)  # per-review test predictions (.predictions)
    if saved is not None:
        metrics["predictions"] = f"predictions/{out.name}"
        (out.parent / "predictions").mkdir(exist_ok=True)
        write_json_atomic(out.parent / metrics["predictions"], saved)
    write(metrics, True)
    return out


def find_published(name: str) -> dict | None:
    """``results/<name>``: from the repository's ``results/`` folder, looked for from the
    current folder upwards, else (on Colab) from the commit the library was pip-installed
    from (:mod:`.published`); None when neither has it."""
    here = Path.cwd().resolve()
    for folder in [here, *here.parents, Path(__file__).resolve().parents[2]]:
        path = folder / "results" / name
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    return published.fetch_result(name)


def load_result(chapter: str, profile: str = "full", tag: str | None = None) -> dict | None:
    """A published ``results/<chapter>-<profile>[-<tag>].json`` (see find_published), or
    None, saying how to make it."""
    name = result_name(chapter, profile, tag)
    found = find_published(name)
    if found is None:
        print(f"no results/{name} here: `bigtext run {chapter} --profile {profile}` writes it")
    return found


def load_predictions(texts, chapter: str, profile: str = "full", tag: str | None = None):
    """(labels, {model: P(positive)}) a published run saved for ``texts``, its test reviews
    (:mod:`.predictions`), or None when that run saved none."""
    saved = find_published(f"predictions/{result_name(chapter, profile, tag)}")
    return None if saved is None else predictions.unpack(saved, texts)


def full_run_or(chapter: str, full_texts, here):
    """What a chapter's analyses read: (who, test texts, gold labels, P(positive)) of the
    full run's kept model, from its saved predictions on ``full_texts`` (its test
    reviews), or else ``here()``, the same four for the model the reader just trained."""
    saved = load_predictions(full_texts, chapter, "full")
    if saved is None:
        return here()
    labels, probs = saved
    (name, positive), = probs.items()  # a neural run keeps its best configuration's
    return f"the full run's model ({name})", full_texts, labels, positive
