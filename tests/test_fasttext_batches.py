"""Large batches: under row_steps="mean" a row read by several examples of a batch moves
by the mean of their single-example steps, any other row and the output rows by the
same step as under "sum"; the weights count readers per batch, not per run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bigtext_lite import fasttext as ft
from bigtext_lite.experiments.official import write_imdb
from bigtext_lite.fasttext.batches import Batches, mean_step_weights
from bigtext_lite.fasttext.dictionary import training_features

# three examples of two rows each: row 0 is read by all three, rows 1-3 by one each
IDS = np.array([0, 1, 0, 2, 0, 3], dtype=np.int64)
COUNTS = np.array([2, 2, 2], dtype=np.int64)
WEIGHTS = np.full(6, 0.5, dtype=np.float32)
LABELS = [[0], [1], [0]]


def _step(start: dict, examples: slice, rows: slice, row_steps: str):
    """(input moves, output moves) of one sgd_step on these examples from ``start``."""
    model = ft.FastText(4, 2, 3)
    model.load_state_dict(start)
    batches = Batches(IDS[rows], COUNTS[examples], WEIGHTS[rows], LABELS[examples], 2,
                      multi=False, batch_size=3, device="cpu", row_steps=row_steps)
    model.sgd_step(*batches.batch(0), lr=0.5, step_weights=batches.step_weights[0])
    return (model.input.weight - start["input.weight"],
            model.output - start["output"])


@pytest.mark.parametrize("row_steps", ["sum", "mean"])
def test_a_shared_row_takes_the_sum_or_the_mean_of_its_examples_steps(row_steps):
    torch.manual_seed(0)
    model = ft.FastText(4, 2, 3)
    with torch.no_grad():
        model.output.normal_()  # so that the input rows get a gradient at all
    start = {k: v.clone() for k, v in model.state_dict().items()}
    alone = [_step(start, slice(e, e + 1), slice(2 * e, 2 * e + 2), "sum") for e in range(3)]
    inputs, outputs = _step(start, slice(0, 3), slice(0, 6), row_steps)
    shared = torch.stack([moved[0] for moved, _ in alone])  # (3 examples, dim)
    assert shared.abs().min() > 0  # a step the test can see
    expected = shared.sum(0) if row_steps == "sum" else shared.mean(0)
    torch.testing.assert_close(inputs[0], expected)
    for e, row in enumerate((1, 2, 3)):  # read by one example: its whole step
        torch.testing.assert_close(inputs[row], alone[e][0][row])
    torch.testing.assert_close(outputs, sum(moved for _, moved in alone))


def test_readers_are_counted_within_each_batch():
    batches = Batches(IDS, COUNTS, WEIGHTS, LABELS, 2, multi=False, batch_size=2,
                      device="cpu", row_steps="mean")
    # batch 0: examples 0 and 1 both read row 0; batch 1: example 2 alone
    assert batches.step_weights[0].tolist() == [0.25, 0.5, 0.25, 0.5]
    assert batches.step_weights[1].tolist() == [0.5, 0.5]
    summed = Batches(IDS, COUNTS, WEIGHTS, LABELS, 2, multi=False, batch_size=2,
                     device="cpu")
    assert summed.step_weights == [None, None]


def test_a_row_read_by_more_examples_than_a_byte_counts_is_counted_in_full():
    """The counters' type follows the batch's rows: 300 readers of one row must not
    wrap around in a counter of one byte (to 44)."""
    ids, weights = np.zeros(300, dtype=np.int32), np.ones(300, dtype=np.float32)
    assert np.allclose(mean_step_weights(ids, weights, [0, 300]), 1 / 300)
    assert np.allclose(mean_step_weights(ids, weights, [0, 100, 300]),
                       [1 / 100] * 100 + [1 / 200] * 200)


def test_an_unknown_row_steps_is_refused_before_reading_anything():
    with pytest.raises(ValueError, match=r"row_steps must be one of \('sum', 'mean'\), "
                                         r"got 'average'"):
        ft.train_supervised("/no/such/file.txt", row_steps="average")


def test_train_supervised_takes_the_mean_only_where_a_batch_shares_rows():
    """One example a batch shares no row: "mean" trains the very model "sum" does.
    Four a batch share their common words: the two differ."""
    texts = [(["pos"], "good fun film".split()), (["neg"], "bad dull film".split()),
             (["pos"], "good film".split()), (["neg"], "dull bad".split())] * 4

    def weights(batch_size, row_steps):
        model = ft.train_supervised(texts, lr=0.5, dim=4, epoch=2, batch_size=batch_size,
                                    row_steps=row_steps, verbose=False)
        return model.model.input.weight

    torch.testing.assert_close(weights(1, "mean"), weights(1, "sum"), rtol=0, atol=0)
    assert not torch.allclose(weights(4, "mean"), weights(4, "sum"))


def test_counted_readers_equal_sorted_ones_on_real_imdb(real_root, tmp_path):
    """The counters of mean_step_weights give each batch's readers exactly as sorting
    each batch's rows does (np.unique), on real bigram features (2,000 reviews,
    batches of 32)."""
    train_path, _ = write_imdb(tmp_path, "polarity", max_train=2000, max_test=10)
    texts = ft.read_indexed(train_path)
    d = ft.Dictionary.from_indexed(texts.indexed, texts.labels, word_ngrams=2, bucket=2_000_000)
    order = np.arange(len(texts.labels))
    ids, per_text, weights = training_features(d, texts.indexed, order, 2)
    batches = Batches(ids, per_text, weights, [[0]] * len(per_text), 2, multi=False,
                      batch_size=32, device="cpu", row_steps="mean")
    shared = 0
    for (rows, _, row_weights, *_), counted in zip(batches.batches, batches.step_weights):
        _, where, readers = np.unique(rows.numpy(), return_inverse=True, return_counts=True)
        expected = (row_weights.numpy() / readers[where]).astype(np.float32)
        np.testing.assert_array_equal(counted.numpy(), expected)
        shared += int((readers[where] > 1).sum())
    assert shared > 0.3 * len(ids)  # many rows shared within a batch
