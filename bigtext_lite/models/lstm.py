"""An LSTM sentiment classifier, and everything needed to predict with it later.

embedding -> dropout -> (bi)LSTM over packed sequences -> pooling -> dropout -> linear.

Packing (``pack_padded_sequence``) is what keeps padding out of the recurrence:
without it the forward direction's last state has read every padding token
after the review, and the backward direction starts on padding. ``packed=False``
keeps that naive behaviour on purpose, so the chapter can measure it.

On a CPU, PyTorch's packed path is several times slower than the padded one, so
there the same exact result is computed on padded tensors (:func:`rnn_within_lengths`),
which, like packing, skips the steps after a review has ended where enough of the batch
is padding; on a GPU cuDNN runs packed sequences fast and packing is used as it is.

Walkthrough: notebooks/08_lstm.ipynb.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bigtext_lite import checkpoint as ckpt
from bigtext_lite.data.batching import pad_collate
from bigtext_lite.data.text import Vocab, basic_english, numericalize
from bigtext_lite.io import save_atomic, write_json_atomic
from bigtext_lite.models.pooling import masked_mean

POOLINGS = ("last", "max", "mean")


def reverse_within_lengths(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """Index ``(B, T)`` that reverses each row's first ``lengths[b]`` steps and leaves
    its padding where it is: ``[a b c pad] -> [c b a pad]``. Its own inverse."""
    t = torch.arange(T, device=lengths.device)[None, :]  # (1, T)
    n = lengths[:, None]  # (B, 1)
    return torch.where(t < n, n - 1 - t, t)


# A batch is sorted and run in stretches when they leave out more than a tenth of its
# padded steps. Below that (bucketed batches) sorting costs more than it saves: measured
# on a CPU, the two break even when the stretches leave out about 6 %.
SORTED_BELOW = 0.9


def stretches(lengths: list[int], pieces: int = 4) -> list[tuple[int, int, int]]:
    """(start, stop, rows) of the stretches of time a direction runs in, for ``lengths``
    sorted longest first (another order gives wrong stretches): from ``start`` to
    ``stop`` only the first ``rows`` reviews have real tokens left. A stretch ends where
    the reviews still running drop to 3/4, 1/2 and 1/4 of the batch (tied lengths give
    fewer stretches). PackedSequence drops the reviews that have ended at every step (one
    small matrix product per step, slow on a CPU); this drops them at most three times.
    """
    B = len(lengths)
    if B == 0:
        return []
    ends = sorted({lengths[B - k * B // pieces - 1] for k in range(1, pieces)} | {lengths[0]})
    out, start = [], 0
    for stop in ends:
        if stop > start:
            out.append((start, stop, sum(n > start for n in lengths)))
            start = stop
    return out


def _run_stretches(step, seq: torch.Tensor, weights, parts, hidden: int, training: bool):
    """One layer and direction over ``seq`` ``(B, T, in)``, its rows sorted longest first
    (any order when one stretch runs them all), stretch by stretch on the reviews still
    running, each stretch starting from the states the one before ended in:
    ``(B, T, hidden)``, zero where none ran. A review that ends inside a stretch runs on
    over its padding to the stretch's end, as on padded tensors: those steps are masked,
    and no later stretch reads its state."""
    B, T, _ = seq.shape
    state = [seq.new_zeros(1, B, hidden)] * (2 if step is torch.lstm else 1)  # (1, B, H) each
    outs, done = [], 0
    for start, stop, rows in parts:
        hx = tuple(s[:, :rows] for s in state)
        # one layer, one direction, batch first: the op nn.LSTM itself calls
        out, *state = step(seq[:rows, start:stop], hx if len(hx) == 2 else hx[0], weights,
                           True, 1, 0.0, training, False, True)  # out: (rows, stop - start, H)
        outs.append(out if rows == B else nn.functional.pad(out, (0, 0, 0, 0, 0, B - rows)))
        done = stop
    if done < T:  # the steps after the longest review: padding alone
        outs.append(seq.new_zeros(B, T - done, hidden))
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)  # (B, T, H)


def rnn_within_lengths(rnn: nn.LSTM | nn.GRU, x: torch.Tensor, lengths: torch.Tensor):
    """What ``rnn`` returns on packed sequences, computed on the padded ``x`` ``(B, T, E)``:
    ``(out, h)``, the outputs ``(B, T, H * directions)``, zero on the padding, and each
    layer and direction's last hidden state ``(layers * directions, B, H)`` (no cell state).

    Trailing padding cannot change a forward step that comes before it, so the forward
    direction runs on ``x`` as it is and its last state is read at ``lengths - 1``. The
    backward direction runs forward over each review reversed within its length (the
    padding stays at the end), and its outputs are reversed back. Where that leaves out
    more than a tenth of the batch's steps, neither direction runs on a review that has
    ended, as with packing: the batch is sorted by length and run in a few
    :func:`stretches`, each on the reviews still running (a review runs on to the end of
    the stretch it ends in); otherwise all T steps run and the padding is masked. Layer
    by layer, so each layer reads the real steps of the one below. Between layers,
    dropout draws its own masks: equal to the packed model in eval mode, not mask for
    mask in training.
    """
    B, T, _ = x.shape
    lengths = lengths.to(x.device)
    longest_first, order = lengths.sort(descending=True)
    parts = stretches(longest_first.tolist())
    if sum(rows * (stop - start) for start, stop, rows in parts) < SORTED_BELOW * B * T:
        lengths, x = longest_first, x[order]
    else:  # little padding to skip (bucketed batches): not worth sorting the batch for
        parts, order = [(0, T, B)], None
    rev = reverse_within_lengths(lengths, T)[..., None]  # (B, T, 1)
    last = (lengths - 1).clamp(min=0)  # (B,)
    rows = torch.arange(B, device=x.device)  # (B,)
    step = torch.lstm if isinstance(rnn, nn.LSTM) else torch.gru
    h, inp = [], x
    for layer in range(rnn.num_layers):
        outs = []
        for direction in range(2 if rnn.bidirectional else 1):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [getattr(rnn, name + suffix)
                       for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            seq = inp.gather(1, rev.expand_as(inp)) if direction else inp  # (B, T, E or H * dirs)
            out = _run_stretches(step, seq, weights, parts, rnn.hidden_size, rnn.training)
            h.append(out[rows, last])  # (B, H): the state after each review's last real token
            outs.append(out.gather(1, rev.expand_as(out)) if direction else out)
        inp = torch.cat(outs, dim=-1)  # (B, T, H * directions)
        if layer < rnn.num_layers - 1:
            inp = nn.functional.dropout(inp, rnn.dropout, rnn.training)
    mask = torch.arange(T, device=x.device)[None, :, None] < lengths[:, None, None]  # (B, T, 1)
    out, h = inp * mask, torch.stack(h)  # (B, T, H * directions), (layers * directions, B, H)
    if order is None:
        return out, h
    back = order.argsort()  # the batch's own order again
    return out[back], h[:, back]


class LSTMClassifier(nn.Module):
    """logits for a batch of padded token ids ``(B, T)`` with true ``lengths`` ``(B,)``.

    pooling: "last" (final hidden state of each direction, concatenated), or
        "max" / "mean" over the time steps of the real tokens.
    embeddings: optional ``(vocab_size, embed_dim)`` tensor to start from
        (pretrained vectors); ``freeze`` keeps it fixed.
    """

    def __init__(self, vocab_size: int, num_classes: int = 2, pad_id: int = 0,
                 embed_dim: int = 128, hidden: int = 128, layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.5,
                 pooling: str = "last", packed: bool = True, rnn: str = "lstm",
                 embeddings: torch.Tensor | None = None, freeze: bool = False):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if rnn not in ("lstm", "gru"):
            raise ValueError(f"rnn must be 'lstm' or 'gru', got {rnn!r}")
        # Everything needed to rebuild the model: saved next to its weights.
        self.config = dict(vocab_size=vocab_size, num_classes=num_classes, pad_id=pad_id,
                           embed_dim=embed_dim, hidden=hidden, layers=layers,
                           bidirectional=bidirectional, dropout=dropout, pooling=pooling,
                           packed=packed, rnn=rnn)
        self.pooling, self.packed = pooling, packed
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        if embeddings is not None:
            if tuple(embeddings.shape) != (vocab_size, embed_dim):
                raise ValueError(f"embeddings have shape {tuple(embeddings.shape)}, "
                                 f"expected ({vocab_size}, {embed_dim})")
            self.embedding.weight.data.copy_(embeddings)
        self.embedding.weight.requires_grad_(not freeze)
        cell = nn.LSTM if rnn == "lstm" else nn.GRU
        self.rnn = cell(embed_dim, hidden, num_layers=layers, batch_first=True,
                        bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        directions = 2 if bidirectional else 1
        self.out = nn.Linear(hidden * directions, num_classes)

    def freeze_embeddings(self, frozen: bool = True) -> None:
        """For "freeze for k epochs, then fine-tune": flip between the two."""
        self.embedding.weight.requires_grad_(not frozen)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.embedding(ids))  # (B, T, E)
        if self.packed and x.device.type == "cpu":
            out, h = rnn_within_lengths(self.rnn, x, lengths)  # exact, and fast on a CPU
        elif self.packed:
            # Lengths must live on the CPU; enforce_sorted=False sorts (and unsorts) for us.
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, h = self.rnn(packed)
            # out: (B, T, H * directions), zero on the padding
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        else:
            out, h = self.rnn(x)  # the recurrence runs over the padding too
        h = h[0] if isinstance(h, tuple) else h  # LSTM returns (h, c), GRU returns h
        if self.pooling == "last":
            # h: (layers * directions, B, H); the last layer's directions are at the end.
            k = 2 if self.rnn.bidirectional else 1
            pooled = torch.cat(list(h[-k:]), dim=-1)  # (B, H * directions)
        else:
            steps = torch.arange(ids.shape[1], device=ids.device)[None, :]  # (1, T)
            real = (steps < lengths.to(ids.device)[:, None])  # (B, T)
            # pooled: (B, H * directions), from the real steps alone
            if self.pooling == "max":
                pooled = out.masked_fill(~real[..., None], float("-inf")).max(dim=1).values
            else:
                pooled = masked_mean(out, real)
        return self.out(self.dropout(pooled))  # logits: (B, num_classes)


# --- saving and predicting: one folder holds the model, its vocabulary and config ---

MODEL_FILE, VOCAB_FILE, CONFIG_FILE = "model.pt", "vocab.json", "config.json"


def save(model: LSTMClassifier, vocab: Vocab, folder: str | Path,
         labels: Sequence[str] = ("neg", "pos"), max_len: int | None = None) -> Path:
    """Write everything :func:`load` needs to predict on raw text into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = ckpt.unwrap(model)
    if len(labels) != model.config["num_classes"]:
        raise ValueError(f"{len(labels)} labels given for a model with "
                         f"{model.config['num_classes']} classes")
    save_atomic(model.state_dict(), folder / MODEL_FILE)
    vocab.save(folder / VOCAB_FILE)
    meta = {"model": model.config, "labels": list(labels), "max_len": max_len,
            "tokenizer": "basic_english"}
    write_json_atomic(folder / CONFIG_FILE, meta, indent=2)  # last: its presence means "complete"
    return folder


class Predictor:
    """Raw text in, (label, probability) out: tokenise, numericalise, batch, run."""

    def __init__(self, model: LSTMClassifier, vocab: Vocab, labels: Sequence[str],
                 max_len: int | None = None):
        self.model, self.vocab = model.eval(), vocab
        self.labels, self.max_len = list(labels), max_len

    @torch.no_grad()
    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """(N, classes) class probabilities for ``texts``, in their order."""
        if isinstance(texts, str):
            raise TypeError("probabilities() takes a list of texts; wrap a single text in a list")
        device = next(self.model.parameters()).device
        seqs = numericalize(texts, self.vocab, basic_english, self.max_len)
        out = []
        for start in range(0, len(seqs), batch_size):
            chunk = [(s, 0) for s in seqs[start:start + batch_size]]
            ids, lengths, _ = pad_collate(chunk, self.model.config["pad_id"])  # (B, T), (B,)
            out.append(self.model(ids.to(device), lengths).float().softmax(-1).cpu())
        return torch.cat(out) if out else torch.empty(0, len(self.labels))

    def predict(self, texts: str | Sequence[str]):
        """``predict("great film")`` -> ("pos", 0.97); a list gives a list of pairs."""
        single = isinstance(texts, str)
        probs = self.probabilities([texts] if single else list(texts))
        best = probs.max(dim=-1)
        pairs = [(self.labels[i], p) for i, p in zip(best.indices.tolist(), best.values.tolist())]
        return pairs[0] if single else pairs


def load(folder: str | Path, device: str | torch.device = "cpu") -> Predictor:
    """Rebuild a :class:`Predictor` from a folder written by :func:`save`."""
    folder = Path(folder)
    missing = [name for name in (CONFIG_FILE, VOCAB_FILE, MODEL_FILE)
               if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a saved LSTM classifier: missing {', '.join(missing)}")
    meta = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    vocab = Vocab.load(folder / VOCAB_FILE)
    model = LSTMClassifier(**meta["model"])
    if len(vocab) != model.config["vocab_size"]:
        raise ValueError(f"{folder}: the vocabulary has {len(vocab)} tokens but the model expects "
                         f"{model.config['vocab_size']}")
    ckpt.load_model_state(model, ckpt.load(folder / MODEL_FILE), str(folder / MODEL_FILE))
    return Predictor(model.to(device), vocab, meta["labels"], meta.get("max_len"))
