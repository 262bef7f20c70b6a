"""Pretrained vectors into a model's embedding layer: ``build_embedding_matrix`` looks every
word of a :class:`~bigtext_lite.data.text.Vocab` up in a set of vectors (a dict, or a
function such as fastText's ``get_word_vector`` that also answers for unseen words), tries
the lower-cased form when the exact one is missing, fills the rest by an OOV strategy and
reports the :class:`Coverage`.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch

from bigtext_lite.data.text import Vocab

OOV_STRATEGIES = ("zeros", "random", "mean")


@dataclass
class Coverage:
    """How much of a vocabulary (types) and of a corpus (tokens) the vectors cover."""

    types_found: int
    types_total: int
    tokens_found: int
    tokens_total: int
    lowercased: int  # found only through the lower-cased form
    composed: int = 0  # missing, but given a vector by the fallback (e.g. fastText subwords)
    top_misses: list[tuple[str, int]] = field(default_factory=list)

    @property
    def type_rate(self) -> float:
        return self.types_found / max(self.types_total, 1)

    @property
    def token_rate(self) -> float:
        return self.tokens_found / max(self.tokens_total, 1)

    def __str__(self) -> str:
        misses = ", ".join(f"{w} ({c})" for w, c in self.top_misses[:8])
        return (f"types {self.types_found:,}/{self.types_total:,} ({self.type_rate:.1%}), "
                f"tokens {self.token_rate:.1%} (lower-case fallback {self.lowercased:,}, "
                f"composed from subwords {self.composed:,}); "
                f"most frequent misses: {misses or 'none'}")


def build_embedding_matrix(vocab: Vocab,
                           vectors: Mapping[str, np.ndarray] | Callable[[str], np.ndarray | None],
                           dim: int, oov: str = "random",
                           specials: tuple[str, ...] = ("<unk>", "<pad>"), seed: int = 0,
                           fallback: Callable[[str], np.ndarray] | None = None,
                           ) -> tuple[torch.Tensor, Coverage]:
    """A ``(len(vocab), dim)`` float tensor with row i = the vector of ``vocab.itos[i]``.

    vectors: a mapping word -> vector, or a function returning a vector or None.
    oov: what missing words get: "zeros", "random" (normal with the found
        vectors' standard deviation) or "mean" (the mean found vector).
    fallback: tried before ``oov`` for missing words, e.g. fastText's
        ``get_word_vector``, which composes a vector from character n-grams.
        Coverage counts such words as missing (and reports them as composed).
    Special tokens (``specials``) get zeros: ``<pad>`` must stay zero.
    """
    if oov not in OOV_STRATEGIES:
        raise ValueError(f"oov must be one of {OOV_STRATEGIES}, got {oov!r}")
    get = vectors if callable(vectors) else vectors.get
    matrix = np.zeros((len(vocab), dim), dtype=np.float32)  # matrix: (V, dim)
    found = np.zeros(len(vocab), dtype=bool)  # found: (V,)
    lowercased = 0
    for i, word in enumerate(vocab.itos):
        if word in specials:
            continue
        vec = get(word)
        if vec is None and word.lower() != word:
            vec = get(word.lower())
            lowercased += vec is not None
        if vec is None:
            continue
        vec = np.asarray(vec, dtype=np.float32)  # vec: (dim,)
        if vec.shape != (dim,):
            raise ValueError(f"the vector of {word!r} has shape {vec.shape}, expected ({dim},)")
        matrix[i], found[i] = vec, True
    real = np.array([w not in specials for w in vocab.itos])  # real: (V,)
    missing = real & ~found
    composed = 0
    if fallback is not None:
        for i in np.flatnonzero(missing):
            matrix[i] = fallback(vocab.itos[i])
            composed += 1
        missing_after = np.zeros_like(missing)
    else:
        missing_after = missing
    if missing_after.any() and found.any() and oov != "zeros":
        if oov == "mean":
            matrix[missing_after] = matrix[found].mean(axis=0)
        else:
            std = matrix[found].std()
            shape = (int(missing_after.sum()), dim)
            matrix[missing_after] = np.random.default_rng(seed).normal(0, std, shape)
    counts: Counter = vocab.counts
    missed = (vocab.itos[i] for i in np.flatnonzero(missing))
    misses = sorted(((w, counts.get(w, 0)) for w in missed), key=lambda wc: -wc[1])
    tokens_total = sum(counts.get(w, 0) for w, r in zip(vocab.itos, real) if r)
    tokens_found = sum(counts.get(w, 0) for w, f in zip(vocab.itos, found) if f)
    report = Coverage(int(found.sum()), int(real.sum()), tokens_found, tokens_total, lowercased,
                      composed, misses[:20])
    return torch.from_numpy(matrix), report
