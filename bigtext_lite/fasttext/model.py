"""fastText's model (Joulin et al., 2017): a text's vector is the mean of its feature
embeddings, and one linear layer scores the labels from it.

Losses: ``softmax``, ``hs`` (hierarchical softmax over a Huffman tree of the label
counts), ``ns`` (negative sampling of labels) and ``ova`` (one-vs-all, for several
labels per text). :meth:`FastText.loss` defines each for autograd;
:meth:`FastText.sgd_step` is the official per-example SGD update, written out and
checked against autograd, applied to a batch with a *summed* loss so that each
example still gets its own full-size step (a batch mean would divide every step
by the batch size).

Shapes: B texts in a batch, N feature rows of all its texts together, K labels,
``dim`` the embedding width, R the output rows an example reads (hs: its label's
path, padded to the tree's depth; ns: its label and its negatives).

Walkthrough: notebooks/06_fasttext.ipynb.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bigtext_lite.formulas import huffman_codes


class FastText(nn.Module):
    """hidden = mean of the feature embeddings; scores from one output matrix.

    :meth:`loss` defines each loss for autograd; :meth:`sgd_step` trains with the
    same gradients written out (what fastText's C++ does), which is several
    times faster than autograd and a sparse optimiser here, and is checked
    against :meth:`loss` by the tests.
    """

    def __init__(self, num_features: int, num_labels: int, dim: int, loss: str = "softmax",
                 label_counts: Sequence[int] | None = None, neg: int = 5, shared: bool = False):
        super().__init__()
        if loss not in ("softmax", "hs", "ns", "ova"):
            raise ValueError(f"loss must be 'softmax', 'hs', 'ns' or 'ova', got {loss!r}")
        if loss in ("hs", "ns") and label_counts is None:
            raise ValueError(f"loss={loss!r} needs label_counts")
        self.loss_name, self.num_labels, self.neg = loss, num_labels, neg
        weight = torch.empty(num_features, dim)  # weight: (num_features, dim)
        if shared:  # for Hogwild workers: filled in shared memory, not filled, then copied there
            weight.share_memory_()
        weight.uniform_(-1.0 / dim, 1.0 / dim)  # fastText's initialisation
        self.input = nn.EmbeddingBag(num_features, dim, mode="mean", _weight=weight)
        rows = num_labels - 1 if loss == "hs" else num_labels  # hs: one row per inner tree node
        self.output = nn.Parameter(torch.zeros(rows, dim))  # output: (rows, dim); zero, as fastText
        if loss == "hs":
            codes = huffman_codes(list(label_counts))
            depth = max(len(nodes) for nodes, _ in codes)
            nodes = torch.zeros(num_labels, depth, dtype=torch.long)  # nodes: (K, depth)
            signs = torch.zeros(num_labels, depth)  # signs: (K, depth); 0 pads beyond a path's end
            for label, (path, bits) in enumerate(codes):
                nodes[label, :len(path)] = torch.tensor(path)
                signs[label, :len(path)] = 1 - 2 * torch.tensor(bits, dtype=torch.float)
            self.register_buffer("paths", nodes, persistent=False)
            self.register_buffer("signs", signs, persistent=False)
        if loss == "ns":  # negatives drawn in proportion to sqrt(label count), as fastText
            probs = torch.tensor(label_counts, dtype=torch.float).sqrt()  # probs: (K,)
            self.register_buffer("neg_probs", probs / probs.sum(), persistent=False)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.input(ids, offsets)  # hidden: (B, dim)

    def _path_scores(self, hidden, labels):
        # output[paths[labels]]: (B, depth, dim) times hidden: (B, 1, dim), summed over dim
        return (self.output[self.paths[labels]] * hidden[:, None, :]).sum(-1)  # (B, depth)

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor,
             negatives: torch.Tensor | None = None):
        """Summed over the batch (one full SGD step per example). ``hidden``: (B, dim);
        ``targets``: (B,) label ids, or (B, K) 0/1 for ``ova``; ``ns`` draws its
        ``negatives`` (B, neg) unless given."""
        if self.loss_name == "softmax":
            return F.cross_entropy(hidden @ self.output.T, targets, reduction="sum")
        if self.loss_name == "ova":
            return F.binary_cross_entropy_with_logits(hidden @ self.output.T, targets,
                                                      reduction="sum")
        if self.loss_name == "hs":
            signs = self.signs[targets]  # (B, depth)
            return -(F.logsigmoid(signs * self._path_scores(hidden, targets)) * signs.abs()).sum()
        negatives = self._sample_negatives(targets) if negatives is None else negatives  # ns
        pos = (self.output[targets] * hidden).sum(-1)  # (B,)
        neg = (self.output[negatives] * hidden[:, None, :]).sum(-1)  # (B, neg)
        return -(F.logsigmoid(pos).sum() + F.logsigmoid(-neg).sum())

    def score_gradient(self, hidden, targets, negatives=None, with_loss: bool = True):
        """:meth:`loss` and its gradient with respect to the scores it reads:
        (rows, dloss/dscore, loss), where score[b, j] = output[rows[b, j]] . hidden[b];
        ``rows`` (B, R) is None when every example reads every row (softmax, ova; then
        dscore is (B, K), else (B, R)), and ``loss`` is None unless ``with_loss``
        (computing it costs as much as a tenth of a training step).

        softmax: d/ds of -log softmax(s)[y] is softmax(s) - onehot(y). The others
        are sums of binary logistic losses -log sigmoid(sign * s) over chosen rows
        (hs: the label's path, sign from its code bit, 0 past its end; ns: the label
        with sign +1 and the negatives with -1; ova: every label, +1 if it applies),
        whose derivative is -sign * sigmoid(-sign * s).
        """
        loss = None
        if self.loss_name == "softmax":
            scores = hidden @ self.output.T  # (B, K)
            if with_loss:
                log_p = F.log_softmax(scores, dim=-1)  # (B, K)
                loss, p = -log_p.gather(1, targets[:, None]).sum(), log_p.exp()
            else:
                p = torch.softmax(scores, dim=-1)  # (B, K)
            minus_one = torch.full_like(p[:, :1], -1.0)  # (B, 1)
            p.scatter_add_(1, targets[:, None], minus_one)  # p - onehot(y), in place
            return None, p, loss
        rows = None
        if self.loss_name == "hs":
            rows, signs = self.paths[targets], self.signs[targets]  # (B, depth) each
        elif self.loss_name == "ns":
            negatives = self._sample_negatives(targets) if negatives is None else negatives
            rows = torch.cat([targets[:, None], negatives], dim=1)  # (B, 1 + neg)
            signs = torch.ones(rows.shape, device=hidden.device)  # (B, 1 + neg)
            signs[:, 1:] = -1
        else:  # ova
            signs = 2 * targets - 1  # (B, K)
        if rows is None:
            scores = hidden @ self.output.T  # (B, K)
        else:
            # output[rows]: (B, R, dim) @ hidden: (B, dim, 1) -> (B, R, 1)
            scores = (self.output[rows] @ hidden[:, :, None])[..., 0]  # (B, R)
        if with_loss:
            loss = -(F.logsigmoid(signs * scores) * signs.abs()).sum()
        return rows, -signs * torch.sigmoid(-signs * scores), loss

    @torch.no_grad()
    def sgd_step(self, ids, offsets, weights, lengths, targets, lr: float,
                 with_loss: bool = True, step_weights=None):
        """One SGD step on a batch, each example's gradient taken at the same
        parameters and applied in full (fastText's ``Model::update``, written out).
        An example's rows are ids[offsets[b]:][:lengths[b]], each with its weight
        (1 / the example's feature count, times how often the row occurs):
        ``ids`` and ``weights`` are (N,), ``offsets`` and ``lengths`` (B,).
        ``step_weights`` (N,), if given, replace ``weights`` in the input rows' update
        (not in the hidden vector): :func:`.batches.mean_step_weights` makes them.
        Returns the summed loss, or None unless ``with_loss``.

        hidden = the weighted sum of the rows (their mean); with g = dloss/dhidden
        (from the output rows before their update), output row r moves by
        -lr * dscore * hidden, and every input row by -lr * weight * g.
        """
        hidden = F.embedding_bag(ids, self.input.weight, offsets, mode="sum",
                                 per_sample_weights=weights)  # (B, dim)
        # rows: (B, R) or None;
        # dscore: (B, R), or (B, K) when every example reads every row
        rows, dscore, loss = self.score_gradient(hidden, targets, with_loss=with_loss)
        dscore.mul_(-lr)  # the output update's factor; dscore @ output is then -lr * g
        if rows is None:  # every row: two small matrix products
            step_hidden = dscore @ self.output  # (B, K) @ (K, dim) -> (B, dim)
            self.output.addmm_(dscore.T, hidden)  # (K, B) @ (B, dim) -> (K, dim)
        else:
            # dscore: (B, 1, R) @ output[rows]: (B, R, dim) -> (B, 1, dim)
            step_hidden = (dscore[:, None, :] @ self.output[rows])[:, 0]  # (B, dim)
            step_output = dscore[..., None] * hidden[:, None, :]  # (B, R, dim)
            # a row read by several examples (or twice by one) gets every step, summed
            self.output.index_put_((rows.reshape(-1),),
                                   step_output.flatten(0, 1),  # (B * R, dim)
                                   accumulate=True)
        # each example's step, given to each of its rows, times the row's weight
        # (N, dim)
        per_row = step_hidden.repeat_interleave(lengths, dim=0, output_size=len(ids))
        per_row = per_row * (weights if step_weights is None else step_weights)[:, None]
        self.input.weight.index_put_((ids,), per_row, accumulate=True)
        return loss

    def _sample_negatives(self, targets):
        draw = torch.multinomial(self.neg_probs, targets.numel() * self.neg, replacement=True)
        draw = draw.view(-1, self.neg)  # (B, neg)
        for _ in range(10):  # redraw negatives that hit the true label (fastText does too)
            clash = draw == targets[:, None]  # (B, neg)
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
            labels = torch.arange(self.num_labels, device=hidden.device)  # (K,)
            # output[paths]: (K, depth, dim) against hidden: (B, dim) -> scores: (B, K, depth)
            scores = torch.einsum("kdh,bh->bkd", self.output[self.paths[labels]], hidden)
            return (F.logsigmoid(self.signs * scores) * self.signs.abs()).sum(-1)
        return F.logsigmoid(hidden @ self.output.T)
