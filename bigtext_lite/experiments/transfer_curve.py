"""The word-vectors chapter's learning curve: does a transferred embedding matrix help?

A bag-of-embeddings classifier trained on 250 .. 25,000 labelled reviews, its embedding
matrix random or transferred (our skip-gram vectors, all-MiniLM-L6-v2's input
embeddings), frozen or fine-tuned under one Adam recipe; test accuracy at each size,
mean and spread over a few seeds.
Walkthrough: notebooks/07_word_vectors.ipynb, "Does transfer help?".
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from bigtext_lite import config
from bigtext_lite.data import load_imdb
from bigtext_lite.data.batching import bucketed_loader
from bigtext_lite.data.text import Vocab, numericalize
from bigtext_lite.models import bert
from bigtext_lite.models.bow import BagOfEmbeddings
from bigtext_lite.train import evaluate, fit
from bigtext_lite.vectors import Vectors, build_embedding_matrix, skipgram


def curve_data(s, vocab_texts) -> dict:
    """A vocabulary from the unlabelled corpus (so transferred vectors cover words the
    few labelled reviews never show), and the test set. ``s``: the chapter's Settings."""
    vocab = Vocab.build(vocab_texts, min_count=2, max_size=s.vocab_size)
    test = load_imdb("test").sample(s.max_test, seed=0)
    return {"vocab": vocab,
            "test": (numericalize(test.texts, vocab, max_len=s.max_len), list(test.labels)),
            "train": load_imdb("train")}


def bag_classifier(matrix: torch.Tensor | None, vocab: Vocab, dim: int,
                   freeze: bool = False) -> BagOfEmbeddings:
    """The curve's model: a bag of embeddings whose rows are random (``matrix`` None, of
    size ``dim``) or a copy of ``matrix``, trainable or frozen (``requires_grad`` False)."""
    if freeze and matrix is None:
        raise ValueError("freeze=True needs a matrix to freeze")
    dim = dim if matrix is None else matrix.shape[1]
    model = BagOfEmbeddings(len(vocab), dim, 2, vocab["<pad>"])
    if matrix is not None:
        model.embedding.weight.data.copy_(matrix)
    model.embedding.weight.requires_grad_(not freeze)
    return model


def train_classifier(matrix: torch.Tensor | None, n: int, data: dict, s, seed: int = 0,
                     freeze: bool = False) -> float:
    """Test accuracy of a bag-of-embeddings classifier trained on ``n`` reviews, its
    embedding matrix random (``None``) or initialised from ``matrix``. ``freeze`` keeps
    the matrix fixed (``requires_grad`` False) and trains the linear layer alone, with
    the same Adam, step size, epochs and batches: frozen and fine-tuned differ in the
    freezing only. ``seed`` picks the reviews, the initial weights and the batch order."""
    config.seed_everything(seed)
    vocab, device = data["vocab"], config.device()
    part = data["train"].sample(n, seed=seed)
    seqs = numericalize(part.texts, vocab, max_len=s.max_len)
    model = bag_classifier(matrix, vocab, s.dim, freeze)
    num_epochs = max(3, min(40, math.ceil(s.examples / n)))  # about the same steps at every size
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=5e-3)
    fit(model, bucketed_loader(seqs, list(part.labels), 32, vocab["<pad>"], seed=seed),
        num_epochs=num_epochs, optimizer=optimizer, device=device, progress=False, verbose=False)
    test = bucketed_loader(*data["test"], 256, vocab["<pad>"], shuffle=False)
    return evaluate(model, test, device=device)["acc"]


def learning_curve(arms: dict[str, tuple[torch.Tensor | None, bool]], data: dict, s,
                   out: dict | None = None, after_each=lambda: None, verbose: bool = False) -> dict:
    """Test accuracy of each arm ``name: (matrix or None, freeze)`` at each of ``s.sizes``,
    trained ``s.repeats`` times (seeds 0, 1, ..). Returns (and fills ``out``, if given)
    {"sizes", "seeds", "accuracy": {name: [mean per size]}, "spread": {name: [standard
    deviation over the seeds per size]}, "runs": {name: [[accuracy per seed] per size]}};
    calls ``after_each()`` as each arm is done."""
    out = {} if out is None else out
    seeds = list(range(s.repeats))
    out.update(sizes=list(s.sizes), seeds=seeds, accuracy={}, spread={}, runs={})
    for name, (matrix, freeze) in arms.items():
        runs = torch.tensor([[train_classifier(matrix, n, data, s, seed, freeze) for seed in seeds]
                             for n in s.sizes], dtype=torch.float64)  # (sizes, seeds)
        spread = runs.std(1) if len(seeds) > 1 else torch.zeros(len(s.sizes))  # (sizes,)
        out["runs"][name] = [[round(a, 4) for a in row] for row in runs.tolist()]
        out["accuracy"][name] = [round(a, 4) for a in runs.mean(1).tolist()]
        out["spread"][name] = [round(a, 4) for a in spread.tolist()]
        if verbose:
            print(name, out["accuracy"][name], "+-", out["spread"][name], flush=True)
        after_each()
    return out


def to_init_scale(matrix: torch.Tensor) -> torch.Tensor:
    """``matrix`` divided by its non-zero rows' standard deviation: the scale of
    ``nn.Embedding``'s own N(0, 1) initialisation, so that one Adam step size moves a
    transferred matrix as far, relative to its size, as a random one."""
    rows = matrix[matrix.abs().sum(1) > 0]  # (found, dim): the zero rows stay zero
    return matrix / rows.std()


def transfer_matrices(ours: skipgram.WordVectors, data: dict, s) -> tuple[dict, dict]:
    """The curve's arms, name: (matrix, freeze): random embeddings trained; our vectors and
    all-MiniLM-L6-v2's input embeddings, each frozen and fine-tuned, both at the scale of
    a random initialisation (:func:`to_init_scale`); and their coverage reports."""
    vocab = data["vocab"]
    matrix, cov = build_embedding_matrix(vocab, ours.vectors(set(vocab.itos)), s.dim,
                                         fallback=ours.get_word_vector)
    matrix = to_init_scale(matrix)
    arms = {"random, trained": (None, False), "ours, frozen": (matrix, True),
            "ours, fine-tuned": (matrix, False)}
    coverage = {"ours": str(cov)}
    if s.bert:
        bert_vectors = input_word_vectors(vocab.itos, s.bert)
        bmatrix, bcov = build_embedding_matrix(vocab, bert_vectors, bert_vectors.dim, oov="zeros")
        bmatrix = to_init_scale(bmatrix)
        arms["MiniLM input embeddings, frozen"] = (bmatrix, True)
        arms["MiniLM input embeddings, fine-tuned"] = (bmatrix, False)
        coverage["bert"] = str(bcov)
    return arms, coverage


def input_word_vectors(words, name: str | Path = "minilm"):
    """Word-level vectors from a BERT-architecture model's WordPiece input embeddings
    (the book's: all-MiniLM-L6-v2): a word's vector is the mean of its pieces' rows
    (``embeddings.word_embeddings``), so a word the tokenizer splits
    (``"unwatchable" -> un ##watch ##able``) still gets one. Words whose pieces are
    all ``[UNK]`` are left out (the caller's OOV strategy decides).

    Returns a :class:`~bigtext_lite.vectors.Vectors` (dimension = hidden size).
    Only the embedding table is read, not the encoder: these are context-free
    vectors, the model's input layer, not its contextual outputs.
    """
    folder = bert.resolve_checkpoint(name)
    state = {bert._canonical(k): v for k, v in bert.read_weights(folder).items()}
    table = state["embeddings.word_embeddings.weight"].float()  # (vocab, hidden)
    tokenizer = bert.tokenizer_for(folder)
    keep, pieces = [], []
    for word in words:
        ids = [i for i in tokenizer.tokenize_ids(word) if i != tokenizer.unk_id]
        if ids:
            keep.append(word)
            pieces.append(ids)
    flat = torch.tensor([i for ids in pieces for i in ids], dtype=torch.long)  # (pieces,)
    offsets = torch.tensor([0] + [len(ids) for ids in pieces[:-1]]).cumsum(0)  # (words,)
    matrix = F.embedding_bag(flat, table, offsets, mode="mean") if keep else table[:0]
    return Vectors(keep, matrix.numpy())  # (words, hidden)
