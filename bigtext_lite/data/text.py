"""Tokenisation and vocabularies: what torchtext's ``basic_english`` and ``Vocab`` did.

torchtext stopped at 0.18 and its compiled library does not load beside a
current torch, so the book keeps these few pieces itself. Same rules, same
ordering, plain Python. Walkthrough: notebooks/03_text_pipeline.ipynb.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import torch

from bigtext_lite.io import write_json_atomic

# torchtext.data.utils._basic_english_normalize, rule for rule and in the same
# order (the order matters: "." is split off before "<br />" is removed): what
# basic_english applies, one (pattern, replacement) after another.
BASIC_ENGLISH_RULES = [
    (re.compile(r"\'"), " '  "),
    (re.compile(r"\""), ""),
    (re.compile(r"\."), " . "),
    (re.compile(r"<br \/>"), " "),
    (re.compile(r","), " , "),
    (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "),
    (re.compile(r"\!"), " ! "),
    (re.compile(r"\?"), " ? "),
    (re.compile(r"\;"), " "),
    (re.compile(r"\:"), " "),
    (re.compile(r"\s+"), " "),
]


def basic_english(line: str) -> list[str]:
    """Lower-case, split off ' . , ( ) ! ?, drop " ; :, split on whitespace.

    >>> basic_english("Don't panic, it's 3.14!")
    ['don', "'", 't', 'panic', ',', 'it', "'", 's', '3', '.', '14', '!']
    """
    line = line.lower()
    for pattern, replacement in BASIC_ENGLISH_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


class Vocab:
    """Token <-> index, with specials first and unknown tokens mapped to a default.

    Ordering follows torchtext's ``build_vocab_from_iterator``: specials, then
    tokens by decreasing frequency, ties broken alphabetically, so the same
    corpus always gives the same indices.
    """

    def __init__(self, itos: Sequence[str], default_token: str | None = "<unk>",
                 counts: Counter | None = None):
        self.itos = list(itos)
        self.counts = counts or Counter()  # corpus counts, for coverage statistics
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dupes = [t for t, n in Counter(self.itos).items() if n > 1][:5]
            raise ValueError(f"duplicate tokens in vocabulary: {dupes}")
        if default_token is not None and default_token not in self.stoi:
            raise ValueError(f"default token {default_token!r} is not in the vocabulary")
        self.default_token = default_token
        self.default_index = None if default_token is None else self.stoi[default_token]

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_count: int = 1,
              max_size: int | None = None, specials: Sequence[str] = ("<unk>", "<pad>"),
              default_token: str | None = "<unk>") -> "Vocab":
        """Count tokens and keep those seen at least ``min_count`` times.

        ``max_size`` caps the number of non-special tokens (the most frequent win).
        """
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counts = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        for special in specials:
            counts.pop(special, None)
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        return cls(list(specials) + kept[:max_size], default_token, counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        index = self.stoi.get(token, self.default_index)
        if index is None:
            raise KeyError(f"token {token!r} is not in the vocabulary and there is no default")
        return index

    def lookup_indices(self, tokens: Sequence[str]) -> list[int]:
        return [self[t] for t in tokens]

    def lookup_token(self, index: int) -> str:
        if not 0 <= index < len(self.itos):
            raise IndexError(f"index {index} is outside the vocabulary (size {len(self)})")
        return self.itos[index]

    def lookup_tokens(self, indices: Sequence[int]) -> list[str]:
        return [self.lookup_token(int(i)) for i in indices]

    def encode(self, tokens: Sequence[str]) -> torch.Tensor:
        """Numericalise one token list into a LongTensor of indices."""
        return torch.tensor(self.lookup_indices(tokens), dtype=torch.long)

    def save(self, path: str | Path) -> None:
        # atomic: a crash never leaves half a vocabulary
        write_json_atomic(path, {"itos": self.itos, "default_token": self.default_token})

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(data["itos"], data["default_token"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not a vocabulary saved by Vocab.save: {err}") from err

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[:6]})"


class Encoded(NamedTuple):
    """A split as a model reads it: each review's token ids, and the reviews' labels."""

    ids: list  # one sequence of token ids per review
    labels: list[int]


def numericalize(texts: Sequence[str], vocab: Vocab, tokenizer=basic_english,
                 max_len: int | None = None) -> list[torch.Tensor]:
    """Tokenise and look up every text; keep the first ``max_len`` tokens if given.

    An empty text (no tokens) becomes a single ``<unk>`` so every sequence has a
    length of at least one, as packing and averaging need.
    """
    out = []
    for text in texts:
        tokens = tokenizer(text)[:max_len] or [vocab.default_token or vocab.itos[0]]
        out.append(vocab.encode(tokens))
    return out
