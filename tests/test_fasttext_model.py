"""fastText's model: the hierarchical softmax is a distribution, a bad loss is refused,
and the hand-written SGD step is one autograd SGD step, for every loss."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bigtext_lite import fasttext as ft


def test_hs_probabilities_sum_to_one_over_labels():
    counts = [50, 30, 10, 5, 3, 2]
    model = ft.FastText(100, len(counts), 8, "hs", counts)
    torch.nn.init.normal_(model.output)
    hidden = torch.randn(4, 8)
    torch.testing.assert_close(model.log_probs(hidden).exp().sum(-1), torch.ones(4))


def test_bad_loss_is_refused():
    with pytest.raises(ValueError, match="loss must be"):
        ft.FastText(10, 2, 4, loss="hinge")


@pytest.mark.parametrize("loss", ["softmax", "hs", "ns", "ova"])
def test_sgd_step_is_one_autograd_sgd_step(loss):
    """The hand-written update equals autograd's gradient of FastText.loss, applied
    by plain SGD, for every loss (same negatives for ns)."""
    torch.manual_seed(0)
    num_labels, dim, lr = 5, 6, 0.3
    model = ft.FastText(40, num_labels, dim, loss, label_counts=[9, 5, 3, 2, 1], neg=3)
    with torch.no_grad():
        model.output.normal_()
    texts = [torch.randint(0, 40, (n,)) for n in (7, 3, 11)]
    texts[0][:3] = 4  # a row three times in one text
    if loss == "ova":
        targets = (torch.rand(3, num_labels) < 0.4).float()
    else:
        targets = torch.tensor([0, 3, 4])
    raw = torch.cat(texts)
    offsets = torch.tensor([0, 7, 10])

    reference = copy.deepcopy(model)
    torch.manual_seed(1)
    negatives = reference._sample_negatives(targets) if loss == "ns" else None
    expected_loss = reference.loss(reference(raw, offsets), targets, negatives)
    expected_loss.backward()
    with torch.no_grad():
        for p in reference.parameters():
            p -= lr * p.grad

    ids, per_text, weights = ft.distinct_per_text(raw.numpy(), np.array([7, 3, 11]))
    lengths = torch.from_numpy(per_text)
    torch.manual_seed(1)
    got_loss = model.sgd_step(torch.from_numpy(ids), torch.cumsum(lengths, 0) - lengths,
                              torch.from_numpy(weights), lengths, targets, lr)
    torch.testing.assert_close(got_loss, expected_loss.detach())
    torch.testing.assert_close(model.output, reference.output)
    torch.testing.assert_close(model.input.weight, reference.input.weight)
