"""The training examples cut into the batches :meth:`FastText.sgd_step` reads, and how
a row that several examples of one batch read takes their steps (``row_steps``).

fastText steps after every example, so a row that c examples read moves c times, each
step taken from where the last one left it. A batch takes all its examples' steps from
the same parameters. ``row_steps="sum"`` adds them up: each example's full step, the
official update for small batches. In a large batch the rows of common words are read
by most of its examples, and their summed step is c steps long, all aimed from the
starting point, none seeing where the others went; at fastText's learning rates that
diverges. ``row_steps="mean"`` moves such a row by the mean of its c steps instead, and
leaves a row read by one example of the batch (most n-grams) its full step.

Walkthrough: notebooks/06_fasttext.ipynb, "Large batches".
"""

from __future__ import annotations

import numpy as np
import torch

ROW_STEPS = ("sum", "mean")


def mean_step_weights(ids: np.ndarray, weights: np.ndarray,
                      bounds: list[int]) -> np.ndarray:
    """The weights of the input update under ``row_steps="mean"``: each row's weight
    divided by how many examples of its batch read it. ``ids`` and ``weights`` (N,)
    hold the batches one after another, batch k at ``bounds[k]:bounds[k + 1]``; an
    example reads each of its rows once (``distinct_per_text``), so a row's count in a
    batch is the number of its examples that read it.

    One counter per row, counted up for a batch and cleared after it: a few times
    faster than sorting each batch's rows to count them (``np.unique``). A count is at
    most the batch's rows, so the counters take the smallest type that holds that
    (uint16 for IMDB's batches of 32): a fresh process pays for each page it touches."""
    size = np.min_scalar_type(max(np.diff(bounds), default=0))
    readers = np.zeros(int(ids.max(initial=-1)) + 1, dtype=size)  # (rows,)
    out = np.empty_like(weights)  # (N,)
    one = size.type(1)  # of the counters' type, so that np.add.at casts nothing
    for a, b in zip(bounds[:-1], bounds[1:]):
        rows = ids[a:b]
        np.add.at(readers, rows, one)  # unbuffered: a row twice in a batch counts twice
        out[a:b] = weights[a:b] / readers[rows]
        readers[rows] = 0
    return out


class Batches:
    """Training examples as one flat tensor of feature ids, cut into fixed batches:
    batch k is examples k*B .. k*B+B-1, views made once, so a step copies nothing."""

    def __init__(self, ids: np.ndarray, counts: np.ndarray, weights: np.ndarray,
                 labels: list[list[int]], num_labels: int, multi: bool, batch_size: int,
                 device, row_steps: str = "sum"):
        starts = np.concatenate([[0], np.cumsum(counts)])  # (examples + 1,)
        first = np.arange(len(counts)) // batch_size * batch_size  # where each one's batch starts
        within = (starts[:-1] - starts[first]).astype(ids.dtype)  # where it starts in its batch
        offsets = torch.from_numpy(within).to(device)  # (examples,)
        lengths = torch.from_numpy(counts).to(device)  # (examples,)
        # where each batch's rows start, and where the last one's end
        bounds = starts[np.r_[0:len(counts):batch_size, len(counts)]].tolist()
        step_weights = None
        if row_steps == "mean":
            step_weights = torch.from_numpy(mean_step_weights(ids, weights, bounds)).to(device)
        ids = torch.from_numpy(ids).to(device)  # (all rows,)
        weights = torch.from_numpy(weights).to(device)  # (all rows,)
        choices = None
        if multi:  # ova: every label of a line is a target
            targets = torch.zeros(len(labels), num_labels, device=device)  # (examples, K)
            for row, labs in enumerate(labels):
                targets[row, labs] = 1.0
        elif all(len(labs) == 1 for labs in labels):
            targets = torch.tensor([labs[0] for labs in labels], device=device)  # (examples,)
        else:  # one label per step, drawn at random from the line's labels, as in fastText
            width = max(len(labs) for labs in labels)
            padded = [labs + labs[:1] * (width - len(labs)) for labs in labels]
            targets = torch.tensor(padded, device=device)  # (examples, most labels of a line)
            choices = torch.tensor([len(labs) for labs in labels], device=device)  # (examples,)
        self.batches, self.step_weights = [], []
        for k, a in enumerate(range(0, len(labels), batch_size)):
            b = min(a + batch_size, len(labels))
            rows = slice(bounds[k], bounds[k + 1])
            self.batches.append((ids[rows], offsets[a:b], weights[rows], lengths[a:b],
                                 targets[a:b], None if choices is None else choices[a:b]))
            self.step_weights.append(None if step_weights is None else step_weights[rows])
        self.batch_size, self.device = batch_size, ids.device

    def __len__(self):
        return len(self.batches)

    def batch(self, k: int):
        """(ids, offsets, weights, lengths, targets) of batch k: :meth:`FastText.sgd_step`'s
        input; its ``step_weights`` are ``self.step_weights[k]``."""
        *inputs, targets, choices = self.batches[k]
        if choices is not None:
            pick = (torch.rand(len(choices), device=self.device) * choices).long()  # (B,)
            targets = targets.gather(1, pick[:, None])[:, 0]  # (B,)
        return *inputs, targets
