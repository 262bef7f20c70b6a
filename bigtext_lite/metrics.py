"""Classification metrics: accuracy, precision / recall / F1, confusion matrix, ROC and AUC,
and the paired difference of two models on the same items.

Plain NumPy, written from their definitions (notebooks/02_classification.ipynb,
"Metrics"), checked against hand-computed cases and scikit-learn in the tests.
"""

from __future__ import annotations

import math

import numpy as np


def _as_labels(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("no items to score")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """Share of items whose prediction equals the label."""
    y_true, y_pred = _as_labels(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of items of true class i predicted as class j (labels 0..K-1)."""
    y_true, y_pred = _as_labels(y_true, y_pred)
    k = num_classes or int(max(y_true.max(), y_pred.max())) + 1
    if min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k:
        raise ValueError(f"labels must be integers in [0, {k}), got "
                         f"{sorted(set(np.unique(y_true)) | set(np.unique(y_pred)))}")
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def precision_recall_f1(y_true, y_pred, average: str | None = "binary", pos_label: int = 1,
                        num_classes: int | None = None):
    """Precision TP/(TP+FP), recall TP/(TP+FN), F1 their harmonic mean.

    ``average="binary"``: for class ``pos_label`` only; ``"macro"``: the mean over
    classes; ``None``: one value per class. A ratio with a zero denominator is 0
    (scikit-learn's ``zero_division=0``).
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    if average == "binary":
        return float(precision[pos_label]), float(recall[pos_label]), float(f1[pos_label])
    if average == "macro":
        return float(precision.mean()), float(recall.mean()), float(f1.mean())
    if average is None:
        return precision, recall, f1
    raise ValueError(f"average must be 'binary', 'macro' or None, got {average!r}")


def roc_curve(y_true, scores):
    """False- and true-positive rates as the decision threshold sweeps down the scores.

    Returns (fpr, tpr, thresholds), starting at (0, 0) with threshold +inf; tied
    scores move together (one point per distinct score).
    """
    y_true, scores = _as_labels(y_true, scores)
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("roc_curve needs binary labels 0/1")
    n_pos, n_neg = int(y_true.sum()), int(len(y_true) - y_true.sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_curve needs both classes in y_true")
    order = np.argsort(-scores, kind="stable")
    scores, y_true = scores[order], y_true[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(y_true)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    return (np.r_[0, fps / n_neg], np.r_[0, tps / n_pos], np.r_[np.inf, scores[last_of_tie]])


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve (trapezoids): the probability that a random
    positive scores above a random negative, ties counting one half."""
    fpr, tpr, _ = roc_curve(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def paired_difference(right_a, right_b) -> dict:
    """Two models scored on the same items: B's accuracy minus A's, and how sure it is.

    ``right_a``, ``right_b``: (n,) booleans, True where each model is right. Only the
    items on which the two disagree move the difference: ``gains`` (B right, A wrong)
    and ``losses`` (A right, B wrong), so ``diff = (gains - losses) / n``. Its standard
    error is that of the mean of d_i in {-1, 0, +1}: sqrt(gains + losses - n diff^2) / n,
    the luck of which items were drawn (not of a seed). ``p``: McNemar's exact test,
    two-sided, the chance of a split at least this uneven between gains and losses if
    each disagreement were a fair coin."""
    a, b = (np.asarray(r, dtype=bool).ravel() for r in (right_a, right_b))
    if len(a) != len(b):
        raise ValueError(f"right_a has {len(a)} items but right_b has {len(b)}")
    if len(a) == 0:
        raise ValueError("no items to compare")
    n, gains, losses = len(a), int(np.sum(b & ~a)), int(np.sum(a & ~b))
    diff = (gains - losses) / n
    se = math.sqrt(max(0.0, gains + losses - n * diff ** 2)) / n
    m = gains + losses  # exact binomial tail, in integers: no rounding for any m
    tail = sum(math.comb(m, k) for k in range(min(gains, losses) + 1))
    p = min(1.0, 2 * tail / 2 ** m) if m else 1.0
    return {"n": n, "gains": gains, "losses": losses, "diff": diff, "se": se, "p": p}
