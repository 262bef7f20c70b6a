"""The fundamentals chapter's settings and its synthetic regression."""

from __future__ import annotations

import math

import torch

from bigtext_lite.experiments import fundamentals


def test_settings_in_both_profiles():
    quick, full = (fundamentals.Settings.for_profile(p) for p in ("quick", "full"))
    assert quick.depth < full.depth and quick.dropout_draws < full.dropout_draws
    assert quick.seed == full.seed and quick.lr == full.lr
    assert fundamentals.Settings.chapter() == "fundamentals"
    assert quick.with_overrides({"depth": 12}).depth == 12


def test_regression_data_is_repeatable_and_least_squares_recovers_the_truth():
    s = fundamentals.Settings()
    X, y, w_true, b_true = fundamentals.regression_data(s)
    assert X.shape == (s.n_samples, s.n_features) and y.shape == (s.n_samples,)
    assert X.dtype == torch.float64 and w_true.tolist() == [1.0, -2.0, 3.0]
    again = fundamentals.regression_data(s)
    assert torch.equal(again[0], X) and torch.equal(again[1], y)
    other = fundamentals.regression_data(s.with_overrides({"seed": 1}))
    assert not torch.equal(other[0], X)

    ones = torch.ones(len(X), 1, dtype=X.dtype)
    theta = torch.linalg.lstsq(torch.cat([X, ones], 1), y[:, None]).solution.flatten()
    error = (theta - torch.cat([w_true, b_true[None]])).abs().max().item()
    assert error < 5 * s.noise / math.sqrt(s.n_samples)  # the noise's error, not the model's
    residual = y - X @ w_true - b_true
    assert abs(residual.std().item() - s.noise) < 0.2 * s.noise


def test_regression_data_in_float32():
    X, y, w, b = fundamentals.regression_data(fundamentals.Settings(n_samples=10), torch.float32)
    assert {t.dtype for t in (X, y, w, b)} == {torch.float32} and len(y) == 10
