"""The word-vectors chapter's learning curve: does a transferred embedding matrix help?

A bag-of-embeddings classifier trained on 250 .. 25,000 labelled reviews, its embedding
matrix random or transferred (our skip-gram vectors, BERT's input embeddings), frozen
(a linear probe) or fine-tuned; test accuracy at each size.
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


def train_classifier(matrix: torch.Tensor | None, n: int, data: dict, s, seed: int = 0) -> float:
    """Test accuracy of a bag-of-embeddings classifier trained end to end on ``n``
    reviews, its embedding matrix random (``None``) or initialised from ``matrix``."""
    config.seed_everything(seed)
    vocab, device = data["vocab"], config.device()
    part = data["train"].sample(n, seed=seed)
    seqs = numericalize(part.texts, vocab, max_len=s.max_len)
    dim = s.dim if matrix is None else matrix.shape[1]
    model = BagOfEmbeddings(len(vocab), dim, 2, vocab["<pad>"])
    if matrix is not None:
        model.embedding.weight.data.copy_(matrix)
    num_epochs = max(3, min(40, math.ceil(10_000 / n)))  # about the same steps at every size
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=5e-3)
    fit(model, bucketed_loader(seqs, list(part.labels), 32, vocab["<pad>"], seed=seed),
        num_epochs=num_epochs, optimizer=optimizer, device=device, progress=False, verbose=False)
    test = bucketed_loader(*data["test"], 256, vocab["<pad>"], shuffle=False)
    return evaluate(model, test, device=device)["acc"]


def mean_vectors(matrix: torch.Tensor, seqs) -> torch.Tensor:
    """Each review as the mean of its words' rows (unknown words count as zeros)."""
    lengths = torch.tensor([len(x) for x in seqs])  # (B,)
    offsets = torch.cumsum(lengths, 0) - lengths  # (B,) where each review starts
    return F.embedding_bag(torch.cat(seqs), matrix, offsets, mode="mean")  # (B, dim)


def probe_accuracy(matrix: torch.Tensor, n: int, data: dict, s, seed: int = 0,
                   l2: float = 1e-3) -> float:
    """Frozen vectors: logistic regression on each review's mean vector (standardised),
    trained to convergence by L-BFGS. A linear probe has no step size or epoch count
    to get wrong, so differences come from the vectors alone."""
    torch.manual_seed(seed)
    part = data["train"].sample(n, seed=seed)
    x = mean_vectors(matrix, numericalize(part.texts, data["vocab"], max_len=s.max_len))
    y = torch.tensor(list(part.labels), dtype=torch.float32)  # (n,)
    mu, sd = x.mean(0), x.std(0) + 1e-6  # (dim,) each
    x = (x - mu) / sd
    w = torch.zeros(x.shape[1], requires_grad=True)  # (dim,)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x @ w + b, y) + l2 * w.square().sum()
        loss.backward()
        return loss
    opt.step(closure)
    test_x = (mean_vectors(matrix, data["test"][0]) - mu) / sd
    with torch.no_grad():
        pred = (test_x @ w + b) > 0
    return float((pred.long() == torch.tensor(data["test"][1])).float().mean())


def learning_curve(matrices: dict[str, tuple[torch.Tensor | None, bool]], data: dict, s,
                   out: dict | None = None, after_each=lambda: None) -> dict:
    """{name: [test accuracy at each size]}: (matrix, True) is a linear probe of frozen
    vectors, (matrix or None, False) a bag-of-embeddings classifier trained end to end.
    Fills ``out`` (if given) and calls ``after_each()`` as each curve is done."""
    out = {} if out is None else out
    for name, (matrix, freeze) in matrices.items():
        run = probe_accuracy if freeze else train_classifier
        out[name] = [round(run(matrix, n, data, s), 4) for n in s.sizes]
        print(name, out[name], flush=True)
        after_each()
    return out


def transfer_matrices(ours: skipgram.WordVectors, data: dict, s) -> tuple[dict, dict]:
    """The embedding matrices the curve compares (random; our vectors and BERT's input
    embeddings, each frozen and fine-tuned) and their coverage reports."""
    vocab = data["vocab"]
    matrix, cov = build_embedding_matrix(vocab, ours.vectors(set(vocab.itos)), s.dim,
                                         fallback=ours.get_word_vector)
    matrices = {"random, trained": (None, False), "ours, frozen (linear probe)": (matrix, True),
                "ours, fine-tuned": (matrix, False)}
    coverage = {"ours": str(cov)}
    if s.bert:
        bert_vectors = input_word_vectors(vocab.itos, s.bert)
        bmatrix, bcov = build_embedding_matrix(vocab, bert_vectors, bert_vectors.dim, oov="zeros")
        matrices["BERT input embeddings, frozen (linear probe)"] = (bmatrix, True)
        matrices["BERT input embeddings, fine-tuned"] = (bmatrix, False)
        coverage["bert"] = str(bcov)
    return matrices, coverage


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
