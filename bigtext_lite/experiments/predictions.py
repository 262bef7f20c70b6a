"""Per-review test predictions of a run, saved beside its result so that a chapter can
draw its analyses (agreement, slices by length, confident mistakes) from the full run's
models on any machine, without training them.

``results/predictions/<chapter>-<profile>[-<tag>].json`` holds, for each model kept,
P(positive) of every test review in thousandths (an integer: about 100 KB per model on
IMDB's 25,000 reviews), the gold labels, and a fingerprint of the test texts, so that
predictions are never paired with other reviews than their own.
"""

from __future__ import annotations

import hashlib

import numpy as np

from bigtext_lite.train import predict, resolve_amp


def fingerprint(texts) -> str:
    """A short hash of the test texts in their order."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def pack(texts, labels, probabilities: dict) -> dict:
    """What the file holds: {"texts": fingerprint, "labels": "0110...", "permille": {model:
    [P(positive) x 1000, ...]}}."""
    labels = np.asarray(labels)
    out = {"texts": fingerprint(texts), "labels": "".join(map(str, labels.tolist())),
           "permille": {}}
    for name, probs in probabilities.items():
        probs = np.asarray(probs, dtype=np.float64)  # (reviews,) P(positive)
        if probs.shape != labels.shape:
            raise ValueError(f"{name}: {probs.shape[0]} predictions for {labels.size} reviews")
        permille = np.rint(1000 * probs).astype(int)
        # Rounding must not move a review across the decision (positive iff P > 0.5):
        # positive iff permille > 500.
        permille = np.where(probs > 0.5, np.maximum(permille, 501), np.minimum(permille, 500))
        out["permille"][name] = permille.tolist()
    return out


def unpack(saved: dict, texts) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(labels, {model: P(positive)}) for ``texts``, which must be the run's test texts.
    A model predicts positive where its P(positive) > 0.5, as when it was saved."""
    if saved["texts"] != fingerprint(texts):
        raise ValueError("these predictions are of other test reviews than the ones given "
                         f"({len(saved['labels']):,} saved): load the run's test set")
    labels = np.frombuffer(saved["labels"].encode("ascii"), dtype=np.uint8) - ord("0")
    return labels, {name: np.asarray(p) / 1000 for name, p in saved["permille"].items()}


def positive_probabilities(model, loader) -> np.ndarray:
    """(reviews,) P(positive) of a two-class model on every review of ``loader``, in its
    dataset's order, under the autocast its device allows (as ``evaluate``)."""
    device = next(model.parameters()).device
    probs, _ = predict(model, loader, device=device, amp=resolve_amp("auto", device))
    return probs[:, 1].numpy()


def accuracy(probs, labels) -> float:
    """The share of reviews whose decision (positive iff P > 0.5) is their label."""
    return float(np.mean((np.asarray(probs) > 0.5) == np.asarray(labels)))


def over_seeds(config: str, accuracies: list[float]) -> dict:
    """A headline trained once per seed (0, 1 ..): each test accuracy, their mean, and
    with several seeds their sample standard deviation ("sd")."""
    out = {"config": config, "test_accs": [round(a, 4) for a in accuracies],
           "mean": round(float(np.mean(accuracies)), 4)}
    if len(accuracies) > 1:
        out["sd"] = round(float(np.std(accuracies, ddof=1)), 4)
    return out


def seeds_line(result: dict) -> str | None:
    """One line on a run's headline over its seeds (:func:`over_seeds`), or None when
    the run trained it once."""
    seeds = result.get("seeds") or {}
    if "sd" not in seeds:
        return None
    each = ", ".join(f"{a:.2%}" for a in seeds["test_accs"])
    return (f"{seeds['config']} over {len(seeds['test_accs'])} seeds: {seeds['mean']:.2%} "
            f"± {seeds['sd']:.2%} (mean ± standard deviation; each: {each})")


def confident_mistakes(positive, labels, k: int = 3) -> np.ndarray:
    """Indices of the ``k`` reviews decided wrongly (positive iff P > 0.5) with the most
    confidence in the wrong class, the most confident first."""
    positive, labels = np.asarray(positive), np.asarray(labels)
    decided = positive > 0.5
    confidence = np.where(decided, positive, 1 - positive)  # (reviews,) P of the decision
    wrong = np.flatnonzero(decided != labels)
    return wrong[np.argsort(-confidence[wrong], kind="stable")[:k]]
