"""What one setting may be: its type, read from its values in both profiles, and its rule.

A value given with ``--set`` or ``run_chapter(overrides=...)`` is checked against both
before any work starts, so a mistake costs a second and one line, not a traceback after
IMDB has loaded. Walkthrough: book/how_to_run.md.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bigtext_lite.models.bert import POOLINGS
from bigtext_lite.models.wordpiece import TRUNCATIONS

# What a type lets through but cannot work is written here, once: a name means the same
# in every chapter.
AT_LEAST_ONE = {"batch_size", "bucket", "corpus_texts", "dim", "embed_dim", "epoch",
                "hidden", "layers", "max_eval", "max_len", "max_test", "max_train", "minCount",
                "min_count", "neg", "num_epochs", "patience", "repeats", "large_batch_repeats",
                "seeds", "sizes", "thread",
                "vector_num_epochs", "vector_texts", "vocab_size", "ws"}  # sizes and counts


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


def _is_large_batch_setting(pair: tuple) -> bool:
    """A fastText setting that names its lr and batch_size (large_batches reads them)
    and leaves the device to the run."""
    return (_is_fasttext_setting(pair) and {"lr", "batch_size"} <= set(pair[1])
            and "device" not in pair[1])


# What the LSTM chapter compares (experiments/lstm.py): the embeddings (random or fastText
# vectors, frozen or not), the pooling over the LSTM's states, packing for the last state.
# Here, not there, because the chapter's settings are checked against it.
LSTM_CONFIGS = ("random, mean pooling", "random, max pooling", "fastText vectors, frozen, mean",
                "fastText vectors, fine-tuned, mean", "random, last state",
                "random, last state, not packed")


CHECKPOINT = "naming 'minilm', a Hugging Face model or a folder holding config.json"
FASTTEXT = "[name, {train_supervised arguments, epoch among them}]"
RULES: dict[str, tuple[str, Callable]] = {  # setting -> (what it must be, in words; the test)
    **{name: (">= 1", lambda v: v >= 1) for name in AT_LEAST_ONE},
    "seed": ("in [0, 2**32)", lambda v: 0 <= v < 2**32),  # NumPy's seeds
    "lr": ("> 0", lambda v: v > 0),
    "tfidf_cs": ("> 0", lambda v: v > 0), "nb_cs": ("> 0", lambda v: v > 0),  # C = 1 / L2 strength
    "valid_fraction": ("in (0, 1)", lambda v: 0 < v < 1),
    "warmup": ("in [0, 1]", lambda v: 0 <= v <= 1),  # the fraction of steps spent warming up
    "truncations": (f"among {', '.join(TRUNCATIONS)}", lambda v: v in TRUNCATIONS),
    "poolings": (f"among {', '.join(POOLINGS)}", lambda v: v in POOLINGS),
    "configs": ("among the LSTM chapter's configurations (experiments/lstm.py: CONFIGS)",
                lambda v: v in LSTM_CONFIGS),
    "checkpoint": (CHECKPOINT, _is_checkpoint), "bert": (CHECKPOINT, _is_checkpoint),
    "polarity": (FASTTEXT, _is_fasttext_setting), "rating": (FASTTEXT, _is_fasttext_setting),
    "large_batches": ("[name, {train_supervised arguments, epoch, lr and batch_size among "
                      "them, no device}]", _is_large_batch_setting),
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
