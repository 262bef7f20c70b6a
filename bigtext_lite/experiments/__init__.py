"""Reproduce a chapter's headline numbers: ``bigtext run <chapter> --profile quick|full``.

Each module here has ``run() -> dict`` that trains and evaluates what its
chapter reports, reading sizes from the active profile. :func:`run_chapter`
adds where and how it ran (device, versions, git commit, date) and writes
``results/<chapter>-<profile>.json``; the book's Results page renders those files.
Everything a run is given is checked first (:func:`check_overrides`, :func:`parse_sets`),
so a mistake costs a second and one line, not a traceback after IMDB has loaded.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch

from bigtext_lite import config
from bigtext_lite.io import write_json_atomic
from bigtext_lite.config import SettingError
from bigtext_lite.models.wordpiece import TRUNCATIONS

CHAPTERS = {"formulas": "bigtext_lite.experiments.formulas", "training_loop": "bigtext_lite.experiments.training_loop",
            "text_pipeline": "bigtext_lite.experiments.text_pipeline",
            "fasttext": "bigtext_lite.experiments.fasttext", "baselines": "bigtext_lite.experiments.baselines",
            "word_vectors": "bigtext_lite.experiments.word_vectors", "lstm": "bigtext_lite.experiments.lstm",
            "bert": "bigtext_lite.experiments.bert"}


def chapter_module(chapter: str):
    """The module of a chapter named in CHAPTERS; SettingError for any other name."""
    if chapter not in CHAPTERS:
        choices = ", ".join(sorted(CHAPTERS))
        raise SettingError(f"unknown chapter {chapter!r}; choose one of {choices}")
    return importlib.import_module(CHAPTERS[chapter])


# --- what each setting may be ------------------------------------------------------------
# A setting's type comes from the chapter's defaults (see spec_of); what the type lets
# through but cannot work is written below, once: a name means the same in every chapter.

AT_LEAST_ONE = {"batch_size", "bucket", "corpus_texts", "dim", "embed_dim", "epoch", "epochs",
                "hidden", "layers", "max_eval", "max_len", "max_test", "max_train", "minCount",
                "min_freq", "n_test", "n_train", "neg", "patience", "repeats", "sizes", "thread",
                "vector_epochs", "vector_texts", "vocab_size", "ws"}  # sizes and counts


def _is_checkpoint(name: str) -> bool:
    """A folder holding config.json, or a name that can only be "minilm" or a Hugging Face
    model ("org/model"); a path to no folder (BIGTEXT_BERT=/typo) is not one."""
    path = Path(name).expanduser()
    if path.is_dir():
        return (path / "config.json").exists()
    return re.fullmatch(r"\w[\w.-]*(/\w[\w.-]*)?", name) is not None


def _is_fasttext_setting(pair: tuple) -> bool:
    """(name, train_supervised arguments); compare_with_official sets thread and seed and
    reads epoch, so epoch must be there."""
    from inspect import signature

    from bigtext_lite.fasttext import train_supervised

    known = set(signature(train_supervised).parameters) - {"data", "thread", "seed", "verbose"}
    return (len(pair) == 2 and isinstance(pair[0], str) and bool(pair[0])
            and isinstance(pair[1], dict) and "epoch" in pair[1] and set(pair[1]) <= known)


CHECKPOINT = "naming 'minilm', a Hugging Face model or a folder holding config.json"
FASTTEXT = "[name, {train_supervised arguments, epoch among them}]"
RULES: dict[str, tuple[str, Callable]] = {  # setting -> (what it must be, in words; the test)
    **{name: (">= 1", lambda v: v >= 1) for name in AT_LEAST_ONE},
    "seed": ("in [0, 2**32)", lambda v: 0 <= v < 2**32),  # NumPy's seeds
    "lr": ("> 0", lambda v: v > 0),
    "valid_fraction": ("in (0, 1)", lambda v: 0 < v < 1),
    "warmup": ("in [0, 1]", lambda v: 0 <= v <= 1),  # the fraction of steps spent warming up
    "truncations": (f"among {', '.join(TRUNCATIONS)}", lambda v: v in TRUNCATIONS),
    "checkpoint": (CHECKPOINT, _is_checkpoint), "bert": (CHECKPOINT, _is_checkpoint),
    "polarity": (FASTTEXT, _is_fasttext_setting), "rating": (FASTTEXT, _is_fasttext_setting),
}
NULLABLE = {"bert"}  # None-able though every default is set: word_vectors skips BERT then
FROM_ENV = {"checkpoint": "BIGTEXT_BERT"}  # defaults read from the environment
WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a non-empty string",
         tuple: "a pair"}
PLURAL = {bool: "true/false values", int: "integers", float: "numbers", str: "strings",
          tuple: "pairs"}


@dataclass(frozen=True)
class Spec:
    """What one setting may be: ``kind`` is its type, or each element's when ``container``
    (list or tuple) says it is a list; ``rule`` is (in words, test) from RULES."""
    kind: type
    container: type | None = None
    nullable: bool = False
    rule: tuple[str, Callable] | None = None

    def words(self) -> str:
        rule = f" {self.rule[0]}" if self.rule else ""
        what = (f"a non-empty list of {PLURAL[self.kind]}{rule}" if self.container
                else f"{WORDS[self.kind]}{rule}")
        return what + (", or null" if self.nullable else "")

    def check(self, value):
        """``value`` as the run takes it (an int as a float, a list as a tuple where the
        default is one); ValueError if the setting cannot take it."""
        if value is None and self.nullable:
            return None
        if not self.container:
            return self._element(value)
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError
        return self.container(self._element(x) for x in value)

    def _element(self, x):
        if self.kind is float and type(x) is int:
            x = float(x)
        if self.kind is tuple and type(x) is list:
            x = tuple(x)  # JSON has no tuples
        # type(), not isinstance(): True is an int to Python, not to a setting
        if type(x) is not self.kind or x == "" or (type(x) is float and not math.isfinite(x)):
            raise ValueError
        if self.rule and not self.rule[1](x):
            raise ValueError
        return x

    def parse(self, text: str):
        """The value of ``--set KEY=TEXT``: true/false (any case) for a bool, null/none for
        None, the text itself for a string, else JSON; what is left the check refuses."""
        word = text.strip().lower()
        if self.nullable and word in ("null", "none"):
            return None
        if self.kind is bool and not self.container and word in ("true", "false"):
            return word == "true"
        if self.kind is str and not self.container:
            return text
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text


def spec_of(name: str, defaults: list) -> Spec:
    """A setting's spec from its default in each profile: None in one makes it None-able,
    an int in one and a float in another makes it a float, a list gives its elements' type."""
    values = [v for v in defaults if v is not None]
    container = type(values[0]) if values and isinstance(values[0], (list, tuple)) else None
    kinds = {type(x) for v in values for x in (v if container else [v])}
    kinds = {float} if kinds == {int, float} else kinds
    if len(kinds) != 1 or next(iter(kinds)) not in WORDS:
        raise TypeError(f"setting {name!r}: defaults {defaults} give no one type to check it by")
    return Spec(kinds.pop(), container, len(values) < len(defaults) or name in NULLABLE,
                RULES.get(name))


def setting_specs(chapter: str) -> dict[str, Spec]:
    module = chapter_module(chapter)
    per_profile = [module.settings(p) for p in config.PROFILES]
    names = dict.fromkeys(name for s in per_profile for name in s)
    return {name: spec_of(name, [s[name] for s in per_profile if name in s]) for name in names}


def _unknown(chapter: str, name, specs: dict) -> str:
    close = difflib.get_close_matches(str(name), specs, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown setting for {chapter}; {hint}known: {', '.join(sorted(specs))}"


def check_overrides(chapter: str, overrides: dict | None, profile: str) -> dict:
    """``overrides`` as the chapter's run takes them, after checking every setting the run
    will use under ``profile`` (defaults too: one comes from BIGTEXT_BERT)."""
    if not isinstance(overrides, (dict, type(None))):
        raise SettingError(f"overrides must be a dict of settings, got {type(overrides).__name__}")
    specs, overrides = setting_specs(chapter), dict(overrides or {})
    for name in overrides:
        if name not in specs:
            raise SettingError(f"{name!r}: {_unknown(chapter, name, specs)}")
    checked = {}
    for name, value in {**chapter_module(chapter).settings(profile), **overrides}.items():
        try:
            checked[name] = specs[name].check(value)
        except ValueError:
            where = (f"{name}={value!r}" if name in overrides or name not in FROM_ENV
                     else f"{FROM_ENV[name]}={value!r}")
            raise SettingError(f"{where}: must be {specs[name].words()}") from None
    return {name: checked[name] for name in overrides}


def parse_sets(chapter: str, items: list[str]) -> dict:
    """``--set KEY=VALUE`` items as overrides, each read as its setting's type and checked;
    a SettingError names the item."""
    specs, overrides = setting_specs(chapter), {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise SettingError(f"--set {item}: takes KEY=VALUE, e.g. --set batch_size=256")
        if name in overrides:
            raise SettingError(f"--set {item}: {name} is set twice")
        if name not in specs:
            raise SettingError(f"--set {item}: {_unknown(chapter, name, specs)}")
        try:
            overrides[name] = specs[name].check(specs[name].parse(text))
        except ValueError:
            raise SettingError(f"--set {item}: must be {specs[name].words()}") from None
    return overrides


def check_output(out_dir: str | Path, tag: str | None) -> None:
    """The result file can be written where asked (found now, not after the run)."""
    if tag and not re.fullmatch(r"[\w.+-]+", tag):
        raise SettingError(f"tag {tag!r}: use letters, digits and . _ + - (it names the file)")
    problem = config.folder_problem(Path(out_dir), writable=True)
    if problem:
        raise SettingError(f"results folder {str(out_dir)!r} {problem}")


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
    Everything is checked before any work: a mistake raises SettingError (a ValueError).
    """
    module = chapter_module(chapter)
    profile = config.profile() if profile is None else config.parse_profile(profile, "profile")
    overrides = check_overrides(chapter, overrides, profile)
    config.check_environment()
    check_output(out_dir, tag)
    os.environ["BIGTEXT_PROFILE"] = profile  # config.profile() reads it everywhere below
    start, env = time.perf_counter(), environment()
    out = Path(out_dir) / result_name(chapter, profile, tag)

    def write(metrics: dict, complete: bool) -> None:
        # Written as the run goes (complete: false), so a run cut short keeps its rows.
        result = {"chapter": chapter, "profile": profile, "tag": tag, "overrides": overrides or {},
                  "complete": complete, **env,
                  "wall_seconds": round(time.perf_counter() - start, 1), **metrics}
        write_json_atomic(out, result, indent=2, default=str)

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
