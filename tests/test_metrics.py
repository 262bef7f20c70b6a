"""Metrics against hand-computed cases, a rank formula, and scikit-learn when present."""

from __future__ import annotations

import numpy as np
import pytest

from bigtext_lite import metrics

# 10 items: TP=3, FN=1, FP=2, TN=4 for class 1.
Y_TRUE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
Y_PRED = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]


def test_binary_by_hand():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == pytest.approx(7 / 10)
    assert metrics.confusion_matrix(Y_TRUE, Y_PRED).tolist() == [[4, 2], [1, 3]]
    p, r, f = metrics.precision_recall_f1(Y_TRUE, Y_PRED)
    assert (p, r) == pytest.approx((3 / 5, 3 / 4))
    assert f == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))


def test_multiclass_macro_and_zero_division():
    y_true, y_pred = [0, 1, 2, 2], [0, 2, 2, 2]
    p, r, f = metrics.precision_recall_f1(y_true, y_pred, average=None)
    assert p.tolist() == pytest.approx([1, 0, 2 / 3]) and r.tolist() == pytest.approx([1, 0, 1])
    assert metrics.precision_recall_f1(y_true, y_pred, average="macro")[1] == pytest.approx(2 / 3)


def test_roc_auc_by_hand_and_with_ties():
    # scores: pos 0.9, 0.4; neg 0.6, 0.1 -> pairs (pos > neg): 0.9>0.6, 0.9>0.1, 0.4>0.1 = 3 of 4
    assert metrics.roc_auc([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1]) == pytest.approx(0.75)
    fpr, tpr, thr = metrics.roc_curve([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1])
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1] and tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert metrics.roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts one half


def test_auc_equals_the_rank_formula():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounding creates ties
    pos, neg = s[y == 1], s[y == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert metrics.roc_auc(y, s) == pytest.approx(pairs)


def test_against_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y, yhat, s = rng.integers(0, 3, 500), rng.integers(0, 3, 500), rng.random(500)
    assert metrics.accuracy(y, yhat) == pytest.approx(sk.accuracy_score(y, yhat))
    assert (metrics.confusion_matrix(y, yhat) == sk.confusion_matrix(y, yhat)).all()
    ours = metrics.precision_recall_f1(y, yhat, average="macro")
    theirs = sk.precision_recall_fscore_support(y, yhat, average="macro", zero_division=0)[:3]
    assert ours == pytest.approx(theirs)
    yb = (y == 1).astype(int)
    assert metrics.roc_auc(yb, s) == pytest.approx(sk.roc_auc_score(yb, s))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="y_true has 2 items but y_pred has 3"):
        metrics.accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="no items"):
        metrics.accuracy([], [])
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\)"):
        metrics.confusion_matrix([0, 1], [0, 2], num_classes=2)


def test_paired_difference_counts_disagreements_and_matches_mcnemar_exact():
    a = np.array([1, 1, 0, 0, 1, 0], dtype=bool)  # A right
    b = np.array([1, 0, 1, 1, 1, 0], dtype=bool)  # B right
    out = metrics.paired_difference(a, b)
    assert (out["gains"], out["losses"], out["n"]) == (2, 1, 6)
    d = b.astype(int) - a.astype(int)  # (n,) in {-1, 0, 1}
    assert out["diff"] == pytest.approx(d.mean())
    assert out["se"] == pytest.approx(d.std() / np.sqrt(len(d)))
    swapped = metrics.paired_difference(b, a)
    assert swapped["diff"] == pytest.approx(-out["diff"]) and swapped["p"] == out["p"]
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for n in (40, 2000):
        a, b = rng.random(n) < 0.8, rng.random(n) < 0.83
        out = metrics.paired_difference(a, b)
        exact = stats.binomtest(min(out["gains"], out["losses"]),
                                out["gains"] + out["losses"], 0.5).pvalue
        assert out["p"] == pytest.approx(exact, rel=1e-9)
    assert metrics.paired_difference(a, a)["p"] == 1.0  # no disagreement
    with pytest.raises(ValueError, match="right_a has 3 items but right_b has 2"):
        metrics.paired_difference([1, 0, 1], [1, 0])
