"""Labelled reviews as parallel lists, and label-stratified ways to take a part of them.

:class:`Reviews` is one split of a data set (what :func:`~bigtext_lite.data.imdb.load_imdb`
returns): texts, labels, ratings and where each review came from, indexable like a torch
Dataset. ``sample`` and :func:`train_valid_split` keep the label shares of the whole in
any part, the same part for the same seed.

Walkthrough: notebooks/03_text_pipeline.ipynb, "Loading IMDB".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np


class Review(NamedTuple):
    text: str
    label: int  # 1 positive, 0 negative, -1 unlabelled
    rating: int  # stars 1-4 (neg) or 7-10 (pos) from the file name; 0 unlabelled


@dataclass
class Reviews:
    """One split of IMDB as parallel lists; indexable like a torch Dataset."""

    texts: list[str]
    labels: list[int]
    ratings: list[int]
    ids: list[str]  # "train/pos/1234_9": where each review came from

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> Review:
        return Review(self.texts[i], self.labels[i], self.ratings[i])

    def __iter__(self) -> Iterator[Review]:
        return (self[i] for i in range(len(self)))

    def select(self, indices) -> "Reviews":
        idx = [int(i) for i in indices]
        cols = (self.texts, self.labels, self.ratings, self.ids)
        return Reviews(*([col[i] for i in idx] for col in cols))

    def sample(self, n: int | None, seed: int = 0) -> "Reviews":
        """A label-stratified random subset of ``n`` reviews (all if ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        return self.select(sorted(_stratified_order(self.labels, seed)[:n]))


def _stratified_order(labels: list[int], seed: int) -> list[int]:
    """All indices shuffled, interleaved by label so any prefix is balanced."""
    rng = np.random.default_rng(seed)
    labels_arr = np.asarray(labels)
    groups = [rng.permutation(np.flatnonzero(labels_arr == c)) for c in np.unique(labels_arr)]
    # Rank inside its group divided by group size: sorting by it interleaves the
    # groups in proportion, so any prefix keeps the label shares of the whole.
    keys = np.concatenate([(np.arange(len(g)) + 0.5) / len(g) for g in groups])
    order = np.concatenate(groups)[np.argsort(keys, kind="stable")]
    return order.tolist()


def train_valid_split(reviews: Reviews, valid_fraction: float = 0.1, seed: int = 0):
    """Split off a label-stratified validation set, the same one for the same seed.

    Hyperparameters are chosen on it; the official test split is touched only
    for the final figure.
    """
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    order = _stratified_order(reviews.labels, seed)
    n_valid = round(len(order) * valid_fraction)
    return reviews.select(sorted(order[n_valid:])), reviews.select(sorted(order[:n_valid]))
