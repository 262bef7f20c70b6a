"""The word-vectors chapter's probes: they reward the property they claim to measure."""

import numpy as np

from bigtext_lite.data.vectors import Vectors
from bigtext_lite.runs import word_vectors as E


def test_neighbour_rating_agreement_sees_whether_neighbours_share_ratings():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    ratings = {w: float(i % 10 + 1) for i, w in enumerate(words)}
    # vectors that cluster by rating: neighbours share it
    centres = rng.normal(0, 1, (10, 16))
    clustered = Vectors(words, np.stack([centres[i % 10] + 0.05 * rng.normal(0, 1, 16) for i in range(200)]))
    shuffled = Vectors(words, rng.normal(0, 1, (200, 16)))
    assert E.neighbour_rating_agreement(clustered, ratings, words) > 0.95
    assert abs(E.neighbour_rating_agreement(shuffled, ratings, words)) < 0.3


def test_analogy_probe_scores_vectors_built_to_solve_one_relation():
    rng = np.random.default_rng(1)
    pairs = E.RELATIONS["plural"]
    offset = rng.normal(0, 1, 32)
    words, rows = [], []
    for a, b in pairs:
        base = rng.normal(0, 1, 32)
        words += [a, b]
        rows += [base, base + offset]  # b - a is the same vector for every pair
    vecs = Vectors(words, np.stack(rows))
    scores = E.analogy_accuracy(vecs)
    assert scores["plural"] == 1.0 and scores["gender"] == 0.0  # gender words are missing: counted wrong
    assert abs(scores["all"] - 1 / 3) < 1e-9
