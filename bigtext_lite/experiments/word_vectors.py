"""Chapter 5's experiments: word vectors trained four ways, and what they are worth.

1. ``compare``: skip-gram with character n-grams trained on the same IMDB text
   with the same settings by ours, the official fastText, gensim's ``FastText``
   and gensim's ``Word2Vec`` (no n-grams): seconds, words per second, and two
   measures of the neighbours (see ``neighbour_rating_agreement`` and
   ``analogy_accuracy``). Yardsticks that are not installed are skipped.
2. ``learning_curve``: a bag-of-embeddings classifier trained on 250 ..
   25,000 labelled reviews, its embedding matrix random or transferred (our
   vectors, BERT's input embeddings), test accuracy at each size.

IMDB's unlabelled reviews and the training reviews (never their labels, never
the test set) are the corpus the vectors learn from.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bigtext_lite import config
from bigtext_lite.data import basic_english, load_imdb
from bigtext_lite.data.batching import bucketed_loader
from bigtext_lite.data.text import Vocab, numericalize
from bigtext_lite.vectors import Vectors, build_embedding_matrix
from bigtext_lite.vectors import skipgram as W
from bigtext_lite.experiments.official import train_official_on_tokens
from bigtext_lite.models import bert
from bigtext_lite.models.bow import BagOfEmbeddings
from bigtext_lite.train import evaluate, fit


def settings(profile: str | None = None) -> dict:
    quick = (profile or config.profile()) == "quick"
    if quick:
        return dict(corpus_texts=2000, dim=50, epoch=2, minCount=5, bucket=200_000, ws=5, neg=5,
                compare=True, curve=True, sizes=[250, 1000, 4000], n_test=2000, max_len=400,
                vocab_size=20_000, bert="minilm", batch_size=1024)
    return dict(corpus_texts=None, dim=100, epoch=5, minCount=5, bucket=2_000_000, ws=5, neg=5,
                compare=True, curve=True, sizes=[250, 500, 1000, 2500, 5000, 10_000, 25_000], n_test=None,
                max_len=800, vocab_size=50_000, bert="minilm", batch_size=4096)


def corpus(n: int | None = None) -> list[list[str]]:
    """Tokenised unlabelled + training reviews (the first ``n``, unlabelled first)."""
    texts = list(load_imdb("unsup").texts) + list(load_imdb("train").texts)
    return [basic_english(t) for t in texts[:n]]


# --- what a set of vectors is worth, without a labelled word list ----------------------

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
    sub = vectors.subset(words).unit()
    sims = sub @ sub.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    own = np.array([ratings[w] for w in words])
    return float(np.corrcoef(own, own[top].mean(axis=1))[0, 1])


# A small analogy probe built the way Mikolov et al.'s set is: every ordered pair of
# pairs within a relation is one question (a : b :: c : ?).
RELATIONS = {
    "gender": [("actor", "actress"), ("man", "woman"), ("he", "she"), ("his", "her"), ("king", "queen"),
               ("boy", "girl"), ("father", "mother"), ("son", "daughter"), ("brother", "sister"),
               ("husband", "wife")],
    "plural": [("film", "films"), ("movie", "movies"), ("actor", "actors"), ("character", "characters"),
               ("scene", "scenes"), ("story", "stories"), ("director", "directors"), ("episode", "episodes"),
               ("song", "songs"), ("book", "books")],
    "comparative": [("good", "better"), ("bad", "worse"), ("big", "bigger"), ("funny", "funnier"),
                    ("scary", "scarier"), ("long", "longer"), ("old", "older"), ("young", "younger"),
                    ("strong", "stronger"), ("cheap", "cheaper")],
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


# --- the same corpus, four trainers -----------------------------------------------------

def train_ours(texts, s, device=None):
    model = W.train_unsupervised(texts, device=device or config.device(), verbose=False, model="skipgram",
                                 dim=s["dim"], epoch=s["epoch"], minCount=s["minCount"], bucket=s["bucket"],
                                 ws=s["ws"], neg=s["neg"], batch_size=s["batch_size"])
    return model, model.stats["train_s"]


def train_official(texts, s, thread: int):
    model, seconds = train_official_on_tokens(texts, model="skipgram", dim=s["dim"], epoch=s["epoch"],
                                              minCount=s["minCount"], bucket=s["bucket"], ws=s["ws"],
                                              neg=s["neg"], thread=thread, verbose=0)
    words = [w for w in model.get_words() if w != "</s>"]
    return Vectors(words, np.stack([model.get_word_vector(w) for w in words])), seconds


def train_gensim(texts, s, thread: int, subwords: bool):
    from gensim.models import FastText, Word2Vec

    common = dict(vector_size=s["dim"], window=s["ws"], min_count=s["minCount"], negative=s["neg"], sg=1,
                  sample=1e-4, alpha=0.05, epochs=s["epoch"], workers=thread, seed=0)
    start = time.perf_counter()
    if subwords:
        model = FastText(texts, min_n=3, max_n=6, bucket=s["bucket"], **common)
    else:
        model = Word2Vec(texts, **common)
    seconds = time.perf_counter() - start
    kv = model.wv
    return Vectors(list(kv.index_to_key), kv.vectors), seconds


def compare(texts, s, ours=None, thread: int | None = None) -> dict:
    """Train with every available implementation on ``texts`` and probe each.

    ours: an already trained model of ours (its time is reported), else one is trained.
    Returns {"rows": {name: measures}, "vectors": {name: Vectors}, "ours": our model, ...}.
    """
    thread = thread or os.cpu_count() or 1
    tokens = sum(len(t) + 1 for t in texts) * s["epoch"]
    ratings = word_ratings()
    probe = [w for w, _ in Counter(w for t in texts for w in t).most_common(3000) if w in ratings]
    rows, found = {}, {}
    if ours is None:
        ours, _ = train_ours(texts, s)
    trainers = {"ours": lambda: (ours.vectors(), ours.stats["train_s"]),
                "official fastText": lambda: train_official(texts, s, thread),
                "gensim FastText": lambda: train_gensim(texts, s, thread, subwords=True),
                "gensim Word2Vec (no n-grams)": lambda: train_gensim(texts, s, thread, subwords=False)}
    for name, train in trainers.items():
        try:
            vecs, seconds = train()
        except ImportError as err:
            rows[name] = {"skipped": f"not installed ({err.name})"}
            continue
        found[name] = vecs
        rows[name] = {"seconds": round(seconds, 1), "words_per_s": round(tokens / seconds),
                      "device": ours.stats["device"] if name == "ours" else f"cpu, {thread} thread(s)",
                      "words": len(vecs),
                      "neighbour_rating_r": round(neighbour_rating_agreement(vecs, ratings, probe), 3),
                      "analogies": {k: round(v, 3) for k, v in analogy_accuracy(vecs).items()}}
        print(name, rows[name], flush=True)
    examples = {name: {w: [x for x, _ in v.most_similar(w, 6)] for w in ("great", "awful", "hitchcock")
                       if w in v} for name, v in found.items()}
    return {"tokens_per_epoch": tokens // s["epoch"], "texts": len(texts), "rows": rows,
            "neighbours": examples, "probe_words": len(probe), "vectors": found, "ours": ours}


# --- the learning curve -----------------------------------------------------------------

def curve_data(s: dict, vocab_texts) -> dict:
    """A vocabulary from the unlabelled corpus (so transferred vectors cover words the
    few labelled reviews never show), and the test set."""
    vocab = Vocab.build(vocab_texts, min_freq=2, max_size=s["vocab_size"])
    test = load_imdb("test").sample(s["n_test"], seed=0)
    return {"vocab": vocab, "test": (numericalize(test.texts, vocab, max_len=s["max_len"]), list(test.labels)),
            "train": load_imdb("train")}


def train_classifier(matrix: torch.Tensor | None, n: int, data: dict, s: dict, seed: int = 0) -> float:
    """Test accuracy of a bag-of-embeddings classifier trained end to end on ``n``
    reviews, its embedding matrix random (``None``) or initialised from ``matrix``."""
    config.seed_everything(seed)
    vocab, device = data["vocab"], config.device()
    part = data["train"].sample(n, seed=seed)
    seqs = numericalize(part.texts, vocab, max_len=s["max_len"])
    model = BagOfEmbeddings(len(vocab), s["dim"] if matrix is None else matrix.shape[1], 2, vocab["<pad>"])
    if matrix is not None:
        model.embedding.weight.data.copy_(matrix)
    epochs = max(3, min(40, math.ceil(10_000 / n)))  # about the same number of steps at every size
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=5e-3)
    fit(model, bucketed_loader(seqs, list(part.labels), 32, vocab["<pad>"], seed=seed), num_epochs=epochs,
        optimizer=optimizer, device=device, progress=False, verbose=False)
    test = bucketed_loader(*data["test"], 256, vocab["<pad>"], shuffle=False)
    return evaluate(model, test, device=device)["acc"]


def mean_vectors(matrix: torch.Tensor, seqs) -> torch.Tensor:
    """Each review as the mean of its words' rows (unknown words count as zeros)."""
    lengths = torch.tensor([len(x) for x in seqs])
    offsets = torch.cumsum(lengths, 0) - lengths
    return torch.nn.functional.embedding_bag(torch.cat(seqs), matrix, offsets, mode="mean")


def probe_accuracy(matrix: torch.Tensor, n: int, data: dict, s: dict, seed: int = 0, l2: float = 1e-3) -> float:
    """Frozen vectors: logistic regression on each review's mean vector (standardised),
    trained to convergence by L-BFGS. A linear probe has no step size or epoch count
    to get wrong, so differences come from the vectors alone."""
    torch.manual_seed(seed)
    part = data["train"].sample(n, seed=seed)
    x = mean_vectors(matrix, numericalize(part.texts, data["vocab"], max_len=s["max_len"]))
    y = torch.tensor(list(part.labels), dtype=torch.float32)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    x = (x - mu) / sd
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + l2 * w.square().sum()
        loss.backward()
        return loss
    opt.step(closure)
    test_x = (mean_vectors(matrix, data["test"][0]) - mu) / sd
    with torch.no_grad():
        pred = (test_x @ w + b) > 0
    return float((pred.long() == torch.tensor(data["test"][1])).float().mean())


def learning_curve(matrices: dict[str, tuple[torch.Tensor | None, bool]], data: dict, s: dict,
                   out: dict | None = None, after_each=lambda: None) -> dict:
    """{name: [test accuracy at each size]}: (matrix, True) is a linear probe of frozen
    vectors, (matrix or None, False) a bag-of-embeddings classifier trained end to end.
    Fills ``out`` (if given) and calls ``after_each()`` as each curve is done."""
    out = {} if out is None else out
    for name, (matrix, freeze) in matrices.items():
        run = probe_accuracy if freeze else train_classifier
        out[name] = [round(run(matrix, n, data, s), 4) for n in s["sizes"]]
        print(name, out[name], flush=True)
        after_each()
    return out


def transfer_matrices(ours: W.WordVectors, data: dict, s: dict) -> tuple[dict, dict]:
    """The embedding matrices the curve compares (random; our vectors and BERT's input
    embeddings, each frozen and fine-tuned) and their coverage reports."""
    vocab = data["vocab"]
    matrix, cov = build_embedding_matrix(vocab, ours.vectors(set(vocab.itos)), s["dim"],
                                         fallback=ours.get_word_vector)
    matrices = {"random, trained": (None, False), "ours, frozen (linear probe)": (matrix, True),
                "ours, fine-tuned": (matrix, False)}
    coverage = {"ours": str(cov)}
    if s["bert"]:
        bert_vectors = input_word_vectors(vocab.itos, s["bert"])
        bmatrix, bcov = build_embedding_matrix(vocab, bert_vectors, bert_vectors.dim, oov="zeros")
        matrices["BERT input embeddings, frozen (linear probe)"] = (bmatrix, True)
        matrices["BERT input embeddings, fine-tuned"] = (bmatrix, False)
        coverage["bert"] = str(bcov)
    return matrices, coverage


def run(save_partial=lambda result: None, overrides: dict | None = None) -> dict:
    from bigtext_lite.experiments import with_overrides

    s = with_overrides(settings(), overrides)
    result: dict = {"settings": s}
    texts = corpus(s["corpus_texts"])
    ours, _ = train_ours(texts, s)
    result["ours"] = {k: v for k, v in ours.stats.items()}
    save_partial(result)
    if s["compare"]:
        result["compare"] = {k: v for k, v in compare(texts, s, ours).items() if k not in ("vectors", "ours")}
        save_partial(result)
    if s["curve"]:
        data = curve_data(s, texts)
        matrices, result["coverage"] = transfer_matrices(ours, data, s)
        result["curve"] = {"sizes": s["sizes"], "accuracy": {}}
        learning_curve(matrices, data, s, result["curve"]["accuracy"], lambda: save_partial(result))
    return result


def input_word_vectors(words, name: str | Path = "minilm"):
    """Word-level vectors from BERT's WordPiece input embeddings: a word's vector is
    the mean of its pieces' rows (``embeddings.word_embeddings``), so a word BERT
    splits (``"unwatchable" -> un ##watch ##able``) still gets one. Words whose
    pieces are all ``[UNK]`` are left out (the caller's OOV strategy decides).

    Returns a :class:`~bigtext_lite.vectors.Vectors` (dimension = hidden size).
    Only the embedding table is read, not the encoder: these are context-free
    vectors, the input layer of BERT, not its contextual outputs.
    """
    folder = bert.resolve_checkpoint(name)
    state = {bert._canonical(k): v for k, v in bert.read_weights(folder).items()}
    table = state["embeddings.word_embeddings.weight"].float()
    tokenizer = bert.tokenizer_for(folder)
    keep, pieces = [], []
    for word in words:
        ids = [i for i in tokenizer.tokenize_ids(word) if i != tokenizer.unk_id]
        if ids:
            keep.append(word)
            pieces.append(ids)
    flat = torch.tensor([i for ids in pieces for i in ids], dtype=torch.long)
    offsets = torch.tensor([0] + [len(ids) for ids in pieces[:-1]]).cumsum(0)
    matrix = F.embedding_bag(flat, table, offsets, mode="mean") if keep else table[:0]
    return Vectors(keep, matrix.numpy())
