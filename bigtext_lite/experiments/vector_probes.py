"""What a set of word vectors is worth, without a labelled word list: do a word's
neighbours share its expected star rating, and does a small analogy probe come out right.

Walkthrough: notebooks/07_word_vectors.ipynb, "Four implementations, one corpus".
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import numpy as np

from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.vectors import Vectors


def word_ratings(min_reviews: int = 20) -> dict[str, float]:
    """Each word's mean star rating (1-10) over the training reviews that contain it:
    the "expected rating" of Maas et al. (2011), recomputed from the training set."""
    train = load_imdb("train")
    total, seen = defaultdict(float), Counter()
    for text, rating in zip(train.texts, train.ratings):
        for word in set(basic_english(text)):
            total[word] += rating
            seen[word] += 1
    return {w: total[w] / c for w, c in seen.items() if c >= min_reviews}


def neighbour_rating_agreement(vectors: Vectors, ratings: dict[str, float], words: list[str],
                               k: int = 10) -> float:
    """Pearson correlation, over ``words``, between a word's expected rating and the
    mean expected rating of its ``k`` nearest neighbours (among ``words``). Vectors
    that put "superb" near "excellent" and "dreadful" near "awful" score high; it is
    the property a sentiment classifier built on them needs."""
    words = [w for w in words if w in vectors and w in ratings]
    sub = vectors.subset(words).unit()  # (n, dim), rows of length 1
    sims = sub @ sub.T  # (n, n) cosine similarities
    np.fill_diagonal(sims, -np.inf)
    top = np.argpartition(-sims, k, axis=1)[:, :k]  # (n, k) neighbour indices
    own = np.array([ratings[w] for w in words])
    return float(np.corrcoef(own, own[top].mean(axis=1))[0, 1])


# A small analogy probe built the way Mikolov et al.'s set is: every ordered pair of
# pairs within a relation is one question (a : b :: c : ?).
RELATIONS = {
    "gender": [("actor", "actress"), ("man", "woman"), ("he", "she"), ("his", "her"),
               ("king", "queen"), ("boy", "girl"), ("father", "mother"), ("son", "daughter"),
               ("brother", "sister"), ("husband", "wife")],
    "plural": [("film", "films"), ("movie", "movies"), ("actor", "actors"),
               ("character", "characters"), ("scene", "scenes"), ("story", "stories"),
               ("director", "directors"), ("episode", "episodes"), ("song", "songs"),
               ("book", "books")],
    "comparative": [("good", "better"), ("bad", "worse"), ("big", "bigger"),
                    ("funny", "funnier"), ("scary", "scarier"), ("long", "longer"),
                    ("old", "older"), ("young", "younger"), ("strong", "stronger"),
                    ("cheap", "cheaper")],
}


def analogy_accuracy(vectors: Vectors) -> dict[str, float]:
    """Share of the probe's questions answered exactly (3CosAdd), per relation and overall;
    questions with a word the vectors lack count as wrong."""
    out, right, asked = {}, 0, 0
    for name, pairs in RELATIONS.items():
        hits = 0
        questions = list(itertools.permutations(pairs, 2))
        for (a, b), (c, d) in questions:
            if all(w in vectors for w in (a, b, c, d)):
                hits += vectors.analogy(a, b, c)[0][0] == d
        out[name] = hits / len(questions)
        right, asked = right + hits, asked + len(questions)
    out["all"] = right / asked
    return out
