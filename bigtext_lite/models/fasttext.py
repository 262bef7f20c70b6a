"""fastText's supervised classifier (Joulin et al., 2017) in PyTorch.

A text is the set of its words and of its hashed word n-grams; the model
averages their embeddings and applies one linear layer, trained by SGD with a
linearly decaying learning rate. Everything that decides *which* features a
text gets follows the official implementation exactly, so one training file
trains both and the same n-gram lands in the same bucket:

- tokens are split on whitespace; a token starting with ``__label__`` is a label;
  every line ends with the end-of-sentence token ``</s>``, which is a word;
- token hashes are 32-bit FNV-1a over the UTF-8 bytes, each byte sign-extended
  as C++'s ``int8_t`` does (bytes >= 0x80 differ from a naive FNV-1a);
- n-gram hashes combine the word hashes as the C++ code does with 64-bit
  arithmetic: ``h = h * 116049371 + hash(next word)``, bucket = ``h % bucket``,
  where each 32-bit hash enters as a *signed* int32 widened to 64 bits.

Losses: ``softmax``, ``hs`` (hierarchical softmax over a Huffman tree of the
label counts), ``ns`` (negative sampling of labels) and ``ova`` (one-vs-all,
for several labels per text). Training: per-example SGD as in the official
recipe, batched with a *summed* loss so that each example still gets its own
full-size step (a batch-mean loss would divide every step by the batch size).

Walkthrough: notebooks/04_fasttext.ipynb.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bigtext_lite import checkpoint as ckpt
from bigtext_lite.formulas import huffman_codes
from bigtext_lite.train import fit  # imported here, before any fork: Hogwild workers inherit it

EOS = "</s>"
LABEL_PREFIX = "__label__"
_MASK64 = (1 << 64) - 1


# --- hashing, exactly as fastText's C++ ---------------------------------------------

def fasttext_hash(token: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes, each byte sign-extended like ``int8_t``."""
    h = 2166136261
    for byte in token.encode("utf-8"):
        h ^= (byte | 0xFFFFFF00) if byte >= 0x80 else byte  # int8_t(b) as uint32
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def ngram_buckets(word_hashes: Sequence[int], n: int, bucket: int) -> list[int]:
    """Bucket ids of all 2..n-grams of a line, in fastText's order (reference version)."""
    signed = [h - (1 << 32) if h >= (1 << 31) else h for h in word_hashes]  # stored as int32
    out = []
    for i in range(len(signed)):
        h = signed[i] & _MASK64
        for j in range(i + 1, min(len(signed), i + n)):
            h = (h * 116049371 + (signed[j] & _MASK64)) & _MASK64
            out.append(h % bucket)
    return out


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of ``<word>`` with minn <= n <= maxn, in fastText's order
    (by start position, then length; ``<`` and ``>`` alone are never n-grams)."""
    w = "<" + word + ">"
    out = []
    for i in range(len(w)):
        for n in range(max(minn, 1), maxn + 1):
            if i + n > len(w):
                break
            if n == 1 and (i == 0 or i + n == len(w)):
                continue
            out.append(w[i:i + n])
    return out


def char_ngram_hashes(word: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """Bucket ids (0 .. bucket-1) of the character n-grams of ``word``, as fastText hashes them."""
    return [fasttext_hash(g) % bucket for g in char_ngrams(word, minn, maxn)]


def subword_rows(word: str, word_id: int | None, nwords: int, minn: int, maxn: int, bucket: int,
                 pruned: dict[int, int] | None = None) -> list[int]:
    """Rows of fastText's input matrix whose mean is ``word``'s vector, as
    ``Dictionary::getSubwords``: the word's own row (``word_id``, None when it is
    out of the vocabulary), then ``nwords + bucket`` of each character n-gram;
    ``</s>`` and ``maxn == 0`` have no n-grams. ``pruned`` (a pruned model's map
    from bucket to kept row) drops the buckets it lacks and renumbers the rest."""
    ids = [] if word_id is None else [word_id]
    if word != EOS and maxn > 0:
        for h in char_ngram_hashes(word, minn, maxn, bucket):
            if pruned:
                if h not in pruned:
                    continue
                h = pruned[h]
            ids.append(nwords + h)
    return ids


# --- reading the official training format ---------------------------------------------

def parse_line(line: str, label_prefix: str = LABEL_PREFIX) -> tuple[list[str], list[str]]:
    """(labels, words) of one line; labels may stand anywhere, as in fastText."""
    labels, words = [], []
    for token in line.split():
        (labels if token.startswith(label_prefix) else words).append(token)
    return labels, words


def read_file(path: str | Path, encoding_errors: str = "strict") -> list[tuple[list[str], list[str]]]:
    """Read a file in fastText's format: ``__label__pos some words ...`` per line.

    Non-UTF-8 bytes raise a ``ValueError`` naming the line and column, unless
    ``encoding_errors="replace"`` (then they become U+FFFD).
    """
    examples = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8", errors=encoding_errors)
            except UnicodeDecodeError as err:
                raise ValueError(f"{path}, line {number}, byte {err.start + 1}: not valid UTF-8 "
                                 f"({raw[err.start:err.start + 1]!r}); re-encode the file as UTF-8 "
                                 f"or pass encoding_errors='replace'") from None
            examples.append(parse_line(line))
    return examples


def write_file(path: str | Path, texts: Iterable[Sequence[str]], labels: Iterable[Sequence[str] | str]) -> Path:
    """Write tokenised texts and their labels in fastText's format, one line each.
    Labels get the ``__label__`` prefix unless they have it already."""
    with open(path, "w", encoding="utf-8") as f:
        for tokens, labs in zip(texts, labels):
            labs = [labs] if isinstance(labs, str) else labs
            labs = [l if l.startswith(LABEL_PREFIX) else LABEL_PREFIX + l for l in labs]
            f.write(" ".join(labs + list(tokens)) + "\n")
    return Path(path)


# --- the dictionary: words, labels, and the features of a text --------------------------

class Dictionary:
    """Words (with ``</s>``) kept at ``min_count``, labels, and hashed n-gram buckets."""

    def __init__(self, words: list[str], word_counts: list[int], labels: list[str],
                 label_counts: list[int], word_ngrams: int = 1, bucket: int = 2_000_000):
        self.words, self.word_counts = words, word_counts
        self.labels, self.label_counts = labels, label_counts
        self.word_ngrams, self.bucket = word_ngrams, bucket if word_ngrams > 1 else 0
        self.word_id = {w: i for i, w in enumerate(words)}
        self.label_id = {l: i for i, l in enumerate(labels)}
        self._cache: dict[str, tuple[int, int]] = {}

    @classmethod
    def build(cls, examples, min_count: int = 1, word_ngrams: int = 1, bucket: int = 2_000_000):
        words, labels = Counter(), Counter()
        for labs, toks in examples:
            if labs:
                words.update(toks)
                words[EOS] += 1
                labels.update(labs)
        if not labels:
            raise ValueError("no line has a label: label lines as '__label__<name> text ...'")
        kept = sorted((w for w, c in words.items() if c >= min_count), key=lambda w: (-words[w], w))
        labs = sorted(labels, key=lambda l: (-labels[l], l))
        return cls(kept, [words[w] for w in kept], labs, [labels[l] for l in labs], word_ngrams, bucket)

    @property
    def num_features(self) -> int:
        return len(self.words) + self.bucket

    def _lookup(self, token: str) -> tuple[int, int]:
        """(word id or -1, fastText hash as a signed int32), cached per distinct token."""
        entry = self._cache.get(token)
        if entry is None:
            h = fasttext_hash(token)
            entry = self._cache[token] = (self.word_id.get(token, -1), h - (1 << 32) if h >= 1 << 31 else h)
        return entry

    def features(self, tokens: Sequence[str]) -> np.ndarray:
        """Feature ids of one text: known words and ``</s>``, then n-gram buckets
        (offset by the number of words). Unknown words add no word feature but do
        take part in n-grams, as in fastText."""
        return self.features_many([tokens])[0]

    def features_many(self, token_lists) -> list[np.ndarray]:
        """:meth:`features` for many texts at once, vectorised over all their tokens
        (64-bit unsigned arithmetic wraps exactly like the C++ code's)."""
        token_lists = [list(t) + [EOS] for t in token_lists]
        lengths = np.array([len(t) for t in token_lists])
        # C-level loops (dict.fromkeys, map) over 7 million tokens: a Python
        # loop here would take longer than training.
        index = {t: i for i, t in enumerate(dict.fromkeys(itertools.chain.from_iterable(token_lists)))}
        rows = np.fromiter(map(index.__getitem__, itertools.chain.from_iterable(token_lists)),
                           dtype=np.int64, count=int(lengths.sum()))
        table = np.array([self._lookup(t) for t in index], dtype=np.int64).reshape(-1, 2)
        wid, signed = table[rows, 0], table[rows, 1]
        doc = np.repeat(np.arange(len(token_lists)), lengths)
        pieces, doc_of = [wid[wid >= 0]], [doc[wid >= 0]]
        h, u = signed.view(np.uint64), signed.view(np.uint64)
        with np.errstate(over="ignore"):
            for k in range(1, self.word_ngrams):
                h = h[:-1] * np.uint64(116049371) + u[k:]
                same = doc[:-k] == doc[k:]  # an n-gram never spans two texts
                pieces.append((h[same] % np.uint64(self.bucket)).astype(np.int64) + len(self.words))
                doc_of.append(doc[:-k][same])
        ids, owner = np.concatenate(pieces), np.concatenate(doc_of)
        order = np.argsort(owner, kind="stable")
        return np.split(ids[order], np.cumsum(np.bincount(owner, minlength=len(token_lists)))[:-1])

    def state(self) -> dict:
        return {"words": self.words, "word_counts": self.word_counts, "labels": self.labels,
                "label_counts": self.label_counts, "word_ngrams": self.word_ngrams, "bucket": self.bucket}


# --- the model ---------------------------------------------------------------------

class FastText(nn.Module):
    """hidden = mean of the feature embeddings; scores from one output matrix.

    The input table uses sparse gradients: a step touches only the rows of the
    features in the batch, as fastText's C++ does.
    """

    def __init__(self, num_features: int, num_labels: int, dim: int, loss: str = "softmax",
                 label_counts: Sequence[int] | None = None, neg: int = 5):
        super().__init__()
        if loss not in ("softmax", "hs", "ns", "ova"):
            raise ValueError(f"loss must be 'softmax', 'hs', 'ns' or 'ova', got {loss!r}")
        if loss in ("hs", "ns") and label_counts is None:
            raise ValueError(f"loss={loss!r} needs label_counts")
        self.loss_name, self.num_labels, self.neg = loss, num_labels, neg
        self.input = nn.EmbeddingBag(num_features, dim, mode="mean", sparse=True)
        nn.init.uniform_(self.input.weight, -1.0 / dim, 1.0 / dim)  # fastText's initialisation
        rows = num_labels - 1 if loss == "hs" else num_labels  # hs: one row per inner tree node
        self.output = nn.Parameter(torch.zeros(rows, dim))  # zero, as in fastText
        if loss == "hs":
            codes = huffman_codes(list(label_counts))
            depth = max(len(nodes) for nodes, _ in codes)
            nodes = torch.zeros(num_labels, depth, dtype=torch.long)
            signs = torch.zeros(num_labels, depth)  # 0 marks padding beyond a path's end
            for label, (path, bits) in enumerate(codes):
                nodes[label, :len(path)] = torch.tensor(path)
                signs[label, :len(path)] = 1 - 2 * torch.tensor(bits, dtype=torch.float)
            self.register_buffer("paths", nodes, persistent=False)
            self.register_buffer("signs", signs, persistent=False)
        if loss == "ns":  # negatives drawn in proportion to sqrt(label count), as fastText
            probs = torch.tensor(label_counts, dtype=torch.float).sqrt()
            self.register_buffer("neg_probs", probs / probs.sum(), persistent=False)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.input(ids, offsets)  # hidden: (B, dim)

    def _path_scores(self, hidden, labels):  # (B, depth) logits along each label's path
        return (self.output[self.paths[labels]] * hidden[:, None, :]).sum(-1)

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Summed over the batch (one full SGD step per example). ``targets``: (B,)
        label ids, or (B, K) 0/1 for ``ova``."""
        if self.loss_name == "softmax":
            return F.cross_entropy(hidden @ self.output.T, targets, reduction="sum")
        if self.loss_name == "ova":
            return F.binary_cross_entropy_with_logits(hidden @ self.output.T, targets, reduction="sum")
        if self.loss_name == "hs":
            signs = self.signs[targets]
            return -(F.logsigmoid(signs * self._path_scores(hidden, targets)) * signs.abs()).sum()
        negatives = self._sample_negatives(targets)  # ns
        pos = (self.output[targets] * hidden).sum(-1)
        neg = (self.output[negatives] * hidden[:, None, :]).sum(-1)
        return -(F.logsigmoid(pos).sum() + F.logsigmoid(-neg).sum())

    def _sample_negatives(self, targets):
        draw = torch.multinomial(self.neg_probs, targets.numel() * self.neg, replacement=True)
        draw = draw.view(-1, self.neg)
        for _ in range(10):  # redraw negatives that hit the true label (fastText does too)
            clash = draw == targets[:, None]
            if not clash.any():
                break
            draw[clash] = torch.multinomial(self.neg_probs, int(clash.sum()), replacement=True)
        return draw

    @torch.no_grad()
    def log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, K) log-probabilities (for ns / ova: independent per-label sigmoids)."""
        if self.loss_name == "softmax":
            return F.log_softmax(hidden @ self.output.T, dim=-1)
        if self.loss_name == "hs":
            labels = torch.arange(self.num_labels, device=hidden.device)
            scores = torch.einsum("kdh,bh->bkd", self.output[self.paths[labels]], hidden)
            return (F.logsigmoid(self.signs * scores) * self.signs.abs()).sum(-1)
        return F.logsigmoid(hidden @ self.output.T)


class SparseSGD(torch.optim.Optimizer):
    """Plain SGD that applies a sparse gradient in place, touching only its rows.

    ``torch.optim.SGD`` adds a sparse gradient to a dense table out of place,
    copying all 2 million x dim rows every step; ``index_put_`` writes only the
    rows the batch used (``index_put_`` with ``accumulate=True`` sums repeated
    rows, and is the fastest of PyTorch's scatter-adds on a CPU), so a step costs
    what the batch costs.
    """

    def __init__(self, params, lr: float):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    rows, values = p.grad._indices()[0], p.grad._values()
                    p.index_put_((rows,), values * -group["lr"], accumulate=True)
                else:
                    p.add_(p.grad, alpha=-group["lr"])


# --- training, prediction, evaluation, save / load ----------------------------------------

@dataclass
class Args:
    """The official hyperparameter names and defaults (supervised mode)."""

    lr: float = 0.1
    dim: int = 100
    epoch: int = 5
    minCount: int = 1
    wordNgrams: int = 1
    bucket: int = 2_000_000
    loss: str = "softmax"
    neg: int = 5
    batch_size: int = 8  # ours: examples per step (summed loss); fastText steps per example
    seed: int = 0


def _flatten(feats: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """EmbeddingBag's input: all feature ids in one tensor, and where each text starts."""
    ids = torch.from_numpy(np.concatenate(feats) if feats else np.empty(0, np.int64))
    offsets = torch.from_numpy(np.cumsum([0] + [len(f) for f in feats[:-1]], dtype=np.int64))
    return ids, offsets


class FastTextClassifier:
    """A trained model with its dictionary: ``predict``, ``test``, ``save``, ``load``."""

    def __init__(self, dictionary: Dictionary, model: FastText, args: Args):
        self.dictionary, self.model, self.args = dictionary, model, args
        self.stats: dict = {}

    @property
    def labels(self) -> list[str]:
        return self.dictionary.labels

    def _batch(self, token_lists, device):
        ids, offsets = _flatten(self.dictionary.features_many(token_lists))
        return ids.to(device), offsets.to(device)

    @torch.no_grad()
    def predict(self, text: str | Sequence[str], k: int = 1, threshold: float = 0.0):
        """(labels, probabilities) of the top ``k`` labels above ``threshold``.

        ``text`` is split on whitespace (fastText's rule) unless already a token
        list. A text with no known word is classified from ``</s>`` alone: the
        model's prior, as in fastText.
        """
        return self.predict_many([text], k, threshold)[0]

    @torch.no_grad()
    def predict_many(self, texts, k: int = 1, threshold: float = 0.0, batch_size: int = 1024):
        device = self.model.output.device
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = [t.split() if isinstance(t, str) else t for t in texts[start:start + batch_size]]
            probs = self.model.log_probs(self.model(*self._batch(chunk, device))).exp()
            top = probs.topk(min(k, probs.shape[1]), dim=-1)
            for p, i in zip(top.values.tolist(), top.indices.tolist()):
                keep = [(self.labels[j], q) for j, q in zip(i, p) if q >= threshold]
                out.append(([label for label, _ in keep], [q for _, q in keep]))
        return out

    def test(self, data, k: int = 1) -> tuple[int, float, float]:
        """(examples, precision@k, recall@k) as fastText's ``test``. ``data``: a file
        path or (labels, tokens) pairs. Gold labels never seen in training cannot
        be predicted; like fastText we drop them (with a warning) and skip lines
        left with no label."""
        examples = read_file(data) if isinstance(data, (str, Path)) else data
        unseen = Counter(l for labs, _ in examples for l in labs if l not in self.dictionary.label_id)
        if unseen:
            warnings.warn(f"{sum(unseen.values())} gold labels never seen in training were dropped: "
                          f"{sorted(unseen)[:5]}")
        kept = [(labs, toks) for labs, toks in examples if any(l in self.dictionary.label_id for l in labs)]
        preds = self.predict_many([toks for _, toks in kept], k)
        hits = sum(len(set(p) & set(labs)) for (labs, _), (p, _) in zip(kept, preds))
        n_pred = sum(len(p) for p, _ in preds)
        n_gold = sum(sum(l in self.dictionary.label_id for l in labs) for labs, _ in kept)
        return len(kept), hits / max(n_pred, 1), hits / max(n_gold, 1)

    def save(self, path: str | Path) -> Path:
        return ckpt.save_atomic({"args": asdict(self.args), "dictionary": self.dictionary.state(),
                                 "model": self.model.state_dict()}, path)

    @classmethod
    def load(cls, path: str | Path, device="cpu") -> "FastTextClassifier":
        state = ckpt.load(path, map_location=device)
        args, dictionary = Args(**state["args"]), Dictionary(**state["dictionary"])
        model = FastText(dictionary.num_features, len(dictionary.labels), args.dim, args.loss,
                         dictionary.label_counts, args.neg)
        ckpt.load_model_state(model, state["model"], str(path))
        return cls(dictionary, model.to(device), args)


class _Batches:
    """Shuffled batches of (feature ids, offsets, targets), one pass per iteration.

    A plain iterable rather than a DataLoader: at 8 examples per step the
    DataLoader's per-batch machinery costs as much as the step itself. The order
    is drawn from torch's global generator, so ``fit`` can rebuild it on resume.
    """

    def __init__(self, feats: list[np.ndarray], labels: list[list[int]], num_labels: int, multi: bool,
                 batch_size: int):
        self.feats, self.labels, self.num_labels, self.multi = feats, labels, num_labels, multi
        self.batch_size = batch_size

    def __len__(self):
        return -(-len(self.feats) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.feats)).tolist()
        for start in range(0, len(order), self.batch_size):
            yield self.collate(order[start:start + self.batch_size])

    def collate(self, indices):
        ids, offsets = _flatten([self.feats[i] for i in indices])
        if self.multi:
            targets = torch.zeros(len(indices), self.num_labels)
            for row, i in enumerate(indices):
                targets[row, self.labels[i]] = 1.0
        else:  # one label per step; a line with several gets one at random, as in fastText
            targets = torch.tensor([labs[0] if len(labs) == 1 else labs[np.random.randint(len(labs))]
                                    for labs in (self.labels[i] for i in indices)])
        return ids, offsets, targets


def _train_worker(model, feats, labels, args: Args, multi: bool, seed: int, num_threads: int,
                  verbose: bool, fit_kwargs: dict, device: str = "cpu") -> None:
    """Train ``model`` on one shard with :func:`bigtext_lite.train.fit` (one Hogwild worker)."""
    torch.set_num_threads(num_threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    loader = _Batches(feats, labels, model.num_labels, multi, args.batch_size)
    optimizer = SparseSGD(model.parameters(), lr=args.lr)
    total = args.epoch * len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / total))
    fit(model, loader, num_epochs=args.epoch, optimizer=optimizer, scheduler=scheduler, loss_fn=model.loss,
        forward=lambda m, b: (m(b[0], b[1]), b[2]), device=device, progress=verbose, verbose=False,
        **fit_kwargs)


def train_supervised(data, lr: float = 0.1, dim: int = 100, epoch: int = 5, minCount: int = 1,
                     wordNgrams: int = 1, bucket: int = 2_000_000, loss: str = "softmax", neg: int = 5,
                     batch_size: int = 8, thread: int = 1, seed: int = 0, verbose: bool = True,
                     device: str | torch.device = "cpu", **fit_kwargs) -> FastTextClassifier:
    """Train like ``fasttext.train_supervised`` (same argument names and defaults).

    ``data``: a path to a file in fastText's format, or (labels, tokens) pairs.
    Lines without a label are skipped with a warning naming the first few.
    The learning rate decays linearly from ``lr`` to 0 over all steps.

    ``thread=1`` trains in this process through :func:`bigtext_lite.train.fit`
    (extra keyword arguments go to it, e.g. ``checkpoint_dir``). ``thread=N``
    does what fastText's threads do: the model goes to shared memory and N
    worker processes each run ``fit`` on 1/N of the examples, updating the
    shared weights without locks (Hogwild; sparse updates rarely collide).
    ``device="cuda"`` trains on a GPU (one process; use a larger ``batch_size``
    there, a GPU step costs about the same for 8 examples as for 1,000).
    """
    if torch.device(device).type != "cpu" and thread > 1:
        raise ValueError("thread > 1 is CPU Hogwild; on a GPU use thread=1 and a larger batch_size")
    args = Args(lr, dim, epoch, minCount, wordNgrams, bucket, loss, neg, batch_size, seed)
    examples = read_file(data) if isinstance(data, (str, Path)) else list(data)
    unlabelled = [n for n, (labs, _) in enumerate(examples, start=1) if not labs]
    if unlabelled:
        warnings.warn(f"{len(unlabelled)} of {len(examples)} lines have no label and were skipped "
                      f"(lines {unlabelled[:5]}{' ...' if len(unlabelled) > 5 else ''})")
    examples = [e for e in examples if e[0]]
    t0 = time.perf_counter()
    dictionary = Dictionary.build(examples, minCount, wordNgrams, bucket)
    feats = dictionary.features_many([toks for _, toks in examples])
    labels = [[dictionary.label_id[l] for l in labs] for labs, _ in examples]
    prep_s = time.perf_counter() - t0

    torch.manual_seed(seed)
    model = FastText(dictionary.num_features, len(dictionary.labels), dim, loss, dictionary.label_counts, neg)
    multi = loss == "ova"
    t1 = time.perf_counter()
    if thread <= 1:
        _train_worker(model, feats, labels, args, multi, seed, torch.get_num_threads(), verbose, fit_kwargs, device)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
    else:
        if fit_kwargs:
            raise ValueError(f"thread > 1 trains in worker processes; {sorted(fit_kwargs)} need thread=1")
        model.share_memory()
        ctx = torch.multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
        workers = [ctx.Process(target=_train_worker, args=(model, feats[r::thread], labels[r::thread], args,
                                                           multi, seed + r, 1, False, {}))
                   for r in range(thread)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        failed = [w.exitcode for w in workers if w.exitcode != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} of {thread} training processes failed (exit codes {failed})")
    train_s = time.perf_counter() - t1
    tokens = sum(len(toks) + 1 for _, toks in examples)  # + </s>, as fastText counts words
    classifier = FastTextClassifier(dictionary, model, args)
    classifier.stats = {"prep_s": prep_s, "train_s": train_s, "tokens_per_epoch": tokens,
                        "words_per_s": tokens * epoch / train_s, "thread": thread}
    if verbose:
        print(f"{len(examples):,} examples, {len(dictionary.words):,} words, {len(dictionary.labels)} labels; "
              f"features {prep_s:.1f} s, training {train_s:.1f} s "
              f"({classifier.stats['words_per_s'] / 1e6:.2f}M words/s, {thread} thread(s))")
    return classifier


_OFFICIAL_TRAIN = """
import json, sys, time
import fasttext
kwargs = json.loads(sys.argv[2])
start = time.perf_counter()
model = getattr(fasttext, sys.argv[4])(sys.argv[1], **kwargs)
seconds = time.perf_counter() - start
model.save_model(sys.argv[3])
print(seconds)
"""


def train_official(path: str | Path, retries: int = 3, function: str = "train_supervised", **kwargs):
    """Train with the official ``fasttext.train_supervised`` (package
    ``fasttext-numpy2``) in a fresh Python process; return (model, seconds).
    ``function="train_unsupervised"`` trains word vectors instead.

    Why a subprocess: inside a process that has already run PyTorch or another
    fastText training, the official bindings often stop with "Encountered NaN"
    on settings that train fine in a fresh process (seen here on IMDB: 0 failures
    in fresh processes, repeated failures after other work in the same one).
    ``seconds`` is the official training call alone, timed inside that process.
    A NaN there too is retried ``retries`` times, then reported.
    """
    import fasttext

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.bin"
        for attempt in range(1, retries + 1):
            done = subprocess.run([sys.executable, "-c", _OFFICIAL_TRAIN, str(path), json.dumps(kwargs), str(out),
                                   function],
                                  capture_output=True, text=True)
            if done.returncode == 0:
                seconds = float(done.stdout.strip().splitlines()[-1])
                return fasttext.load_model(str(out)), seconds
            if "NaN" not in done.stderr or attempt == retries:
                raise RuntimeError(f"official fastText failed: {done.stderr.strip()[-1500:]}")


def train_official_on_tokens(token_lists, function: str = "train_unsupervised", **kwargs):
    """:func:`train_official` on tokenised texts, written to a temporary file one
    line each (the official package trains only from a file); returns (model, seconds)."""
    fd, path = tempfile.mkstemp(suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(" ".join(tokens) + "\n" for tokens in token_lists)
        return train_official(path, function=function, **kwargs)
    finally:
        os.unlink(path)


def write_imdb(folder: str | Path, target: str = "polarity", max_train: int | None = None,
               max_test: int | None = None, seed: int = 0) -> tuple[Path, Path]:
    """Write IMDB train and test files in fastText's format, tokenised with
    ``basic_english``, the training lines shuffled (fastText reads a file in order,
    and IMDB's is sorted by label). ``target``: ``"polarity"`` (pos / neg) or
    ``"rating"`` (the 8 star ratings 1-4 and 7-10)."""
    from bigtext_lite.data import basic_english, load_imdb

    if target not in ("polarity", "rating"):
        raise ValueError(f"target must be 'polarity' or 'rating', got {target!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, limit in (("train", max_train), ("test", max_test)):
        reviews = load_imdb(split).sample(limit, seed=seed)
        order = np.random.default_rng(seed).permutation(len(reviews))
        labels = [("pos" if reviews.labels[i] == 1 else "neg") if target == "polarity"
                  else str(reviews.ratings[i]) for i in order]
        paths.append(write_file(folder / f"imdb_{target}_{split}.txt",
                                (basic_english(reviews.texts[i]) for i in order), labels))
    return paths[0], paths[1]


def compare_with_official(train_path, test_path, settings, thread: int):
    """Both implementations on the same files, hyperparameters and thread count, one
    after the other: rows of (setting, implementation, accuracy, seconds, words/s),
    our rows followed by (training seconds, feature seconds). ``settings``: (name, kwargs)."""
    train, test = read_file(train_path), read_file(test_path)
    rows = []
    for name, hp in settings:
        official, official_s = train_official(train_path, thread=thread, verbose=0, **hp)
        _, official_acc, _ = official.test(str(test_path))
        t0 = time.perf_counter()  # from the parsed file, as the official reads its file
        ours = train_supervised(train, thread=thread, verbose=False, **hp)
        ours_s = time.perf_counter() - t0
        _, ours_acc, _ = ours.test(test)
        words = ours.stats["tokens_per_epoch"] * hp["epoch"]
        rows.append((name, "official fastText", official_acc, official_s, words / official_s))
        rows.append((name, "bigtext_lite", ours_acc, ours_s, words / ours_s,
                     ours.stats["train_s"], ours.stats["prep_s"]))
    return rows
