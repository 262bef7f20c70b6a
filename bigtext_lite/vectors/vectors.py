"""A set of word vectors: ``vectors[word]``, ``word in vectors``, nearest neighbours and
analogies by cosine similarity. Every reader in this package returns one, and
:func:`~bigtext_lite.vectors.transfer.build_embedding_matrix` takes one.

Walkthrough: notebooks/07_word_vectors.ipynb.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


class Vectors:
    """Words and their vectors: ``vectors[word]``, ``word in vectors``, ``get``,
    nearest neighbours and analogies by cosine similarity."""

    def __init__(self, words: list[str], matrix: np.ndarray):
        matrix = np.asarray(matrix, dtype=np.float32)  # matrix: (len(words), dim)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words, self.matrix = list(words), matrix
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            dup = next(w for w, c in Counter(self.words).items() if c > 1)
            raise ValueError(f"the word {dup!r} appears more than once")
        self._unit = None

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.matrix[self.index[word]]

    def get(self, word: str, default=None):
        i = self.index.get(word)
        return default if i is None else self.matrix[i]

    def unit(self) -> np.ndarray:
        """The rows scaled to length 1 (computed once): cosine similarity is a dot product."""
        if self._unit is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)  # norms: (len, 1)
            self._unit = self.matrix / np.maximum(norms, 1e-8)  # _unit: (len, dim)
        return self._unit

    def most_similar(self, query: str | np.ndarray, k: int = 10,
                     exclude=()) -> list[tuple[str, float]]:
        """The ``k`` words closest to ``query`` (a word or a vector) by cosine similarity."""
        if isinstance(query, str):
            exclude = set(exclude) | {query}
            query = self[query]
        else:
            exclude = set(exclude)
        q = np.asarray(query, dtype=np.float32)  # q: (dim,)
        sims = self.unit() @ (q / max(np.linalg.norm(q), 1e-8))  # sims: (len,)
        # The excluded words can only take k + len(exclude) places at the top.
        order = np.argsort(-sims)[:k + len(exclude)]
        return [(self.words[i], float(sims[i])) for i in order if self.words[i] not in exclude][:k]

    def analogy(self, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
        """``a`` is to ``b`` as ``c`` is to ...? (3CosAdd: the nearest to b - a + c, the
        inputs excluded)."""
        u = self.unit()
        query = u[self.index[b]] - u[self.index[a]] + u[self.index[c]]  # query: (dim,)
        return self.most_similar(query, k, exclude=(a, b, c))

    def subset(self, words) -> "Vectors":
        keep = [w for w in words if w in self.index]
        return Vectors(keep, self.matrix[[self.index[w] for w in keep]])
