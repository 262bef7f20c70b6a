"""Classification metrics: accuracy, precision / recall / F1, confusion matrix, ROC and AUC.

Plain NumPy, written from their definitions (notebooks/02_classification.ipynb,
"Metrics"), checked against hand-computed cases and scikit-learn in the tests.
"""

from __future__ import annotations

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
