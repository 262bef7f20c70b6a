"""Plots the chapters share, so no chapter copies a matplotlib block."""

from __future__ import annotations

import matplotlib.pyplot as plt


def curves(history, title: str = "", step_losses: bool = True):
    """Learning curves from a :class:`bigtext_lite.train.History`: losses on the
    left (per step, faint, and per epoch), validation accuracy on the right."""
    epochs = history.column("epoch")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.4))
    if step_losses and history.step_losses:
        steps_per_epoch = len(history.step_losses) / max(len(epochs), 1)
        x = [(i + 1) / steps_per_epoch for i in range(len(history.step_losses))]
        ax_loss.plot(x, history.step_losses, color="tab:blue", alpha=0.25, lw=0.8,
                     label="train (per step)")
    ax_loss.plot(epochs, history.column("train_loss"), "o-", color="tab:blue",
                 label="train (epoch mean)")
    if "val_loss" in history.epochs[0]:
        ax_loss.plot(epochs, history.column("val_loss"), "s-", color="tab:orange",
                     label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_loss.legend()
    if "val_acc" in history.epochs[0]:
        ax_acc.plot(epochs, [100 * a for a in history.column("val_acc")], "s-", color="tab:orange")
        if history.best_epoch:
            best = history.epochs[history.best_epoch - 1]["val_acc"]
            ax_acc.axhline(100 * best, color="grey", ls="--", lw=0.8,
                           label=f"best {100 * best:.1f}%")
            ax_acc.legend()
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Validation accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(matrix, labels=("neg", "pos"), title: str = "Confusion matrix", ax=None):
    """A confusion matrix (rows: gold, columns: predicted) with counts and row shares."""
    import numpy as np

    matrix = np.asarray(matrix)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2))
    shares = matrix / matrix.sum(axis=1, keepdims=True).clip(min=1)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{matrix[i, j]:,}\n{shares[i, j]:.1%}", ha="center", va="center",
                    color="white" if shares[i, j] > 0.5 else "black")
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels,
           yticklabels=labels, xlabel="predicted", ylabel="gold", title=title)
    return ax
