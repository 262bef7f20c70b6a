"""Word vectors -> an embedding matrix for a :class:`~bigtext_lite.data.text.Vocab`.

``build_embedding_matrix`` looks every vocabulary word up in a set of
pretrained vectors (a dict, or a function such as fastText's
``get_word_vector`` that also answers for unseen words), tries the lower-cased
form when the exact one is missing, fills the rest by an OOV strategy and
reports the coverage. The LSTM chapter uses it; the word-vectors chapter adds
the file formats.
"""

from __future__ import annotations

import os
import tempfile
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


def build_embedding_matrix(vocab: Vocab, vectors: Mapping[str, np.ndarray] | Callable[[str], np.ndarray | None],
                           dim: int, oov: str = "random", specials: tuple[str, ...] = ("<unk>", "<pad>"),
                           seed: int = 0, fallback: Callable[[str], np.ndarray] | None = None,
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
    matrix = np.zeros((len(vocab), dim), dtype=np.float32)
    found = np.zeros(len(vocab), dtype=bool)
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
        vec = np.asarray(vec, dtype=np.float32)
        if vec.shape != (dim,):
            raise ValueError(f"the vector of {word!r} has shape {vec.shape}, expected ({dim},)")
        matrix[i], found[i] = vec, True
    real = np.array([w not in specials for w in vocab.itos])
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
            matrix[missing_after] = np.random.default_rng(seed).normal(0, std, (int(missing_after.sum()), dim))
    counts: Counter = vocab.counts
    misses = sorted(((vocab.itos[i], counts.get(vocab.itos[i], 0)) for i in np.flatnonzero(missing)),
                    key=lambda wc: -wc[1])
    tokens_total = sum(counts.get(w, 0) for w, r in zip(vocab.itos, real) if r)
    tokens_found = sum(counts.get(w, 0) for w, f in zip(vocab.itos, found) if f)
    report = Coverage(int(found.sum()), int(real.sum()), tokens_found, tokens_total, lowercased, composed,
                      misses[:20])
    return torch.from_numpy(matrix), report


def train_official_fasttext(texts, dim: int = 100, epoch: int = 5, model: str = "skipgram",
                            min_count: int = 3, minn: int = 3, maxn: int = 6, thread: int | None = None,
                            ):
    """Word vectors from the official fastText (``pip install fasttext-numpy2``),
    trained on ``texts`` (lower-cased, tokenised like the rest of the book).

    Trained in a fresh process (see ``models.fasttext.train_official``).
    Returns the fastText model: ``model.get_word_vector(w)`` answers for any
    word, through its character n-grams when ``w`` was never seen.
    """
    from bigtext_lite.data.text import basic_english
    from bigtext_lite.models.fasttext import train_official

    fd, path = tempfile.mkstemp(suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for text in texts:
                f.write(" ".join(basic_english(text)) + "\n")
        ft, _ = train_official(path, function="train_unsupervised", model=model, dim=dim, epoch=epoch,
                               minCount=min_count, minn=minn, maxn=maxn, thread=thread or os.cpu_count() or 1,
                               verbose=0)
        return ft
    finally:
        os.unlink(path)
