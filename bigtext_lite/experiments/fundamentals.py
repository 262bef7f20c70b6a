"""The fundamentals chapter's settings and its one data set: a synthetic linear
regression, y = X w + b + noise, whose true w and b the chapter's descent must recover.
Everything is synthetic and runs in seconds on a CPU, so there is no ``run()``: the
chapter's checks are exact, not numbers to publish.

Walkthrough: notebooks/01_fundamentals.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bigtext_lite.experiments import settings
from bigtext_lite.experiments.settings import profiled


@dataclass(frozen=True)
class Settings(settings.Settings):
    n_samples: int = 200  # rows of the synthetic regression
    n_features: int = 3  # columns of X, the length of the true w
    noise: float = 0.1  # standard deviation of the noise added to y
    lr: float = 0.1  # the gradient-descent step size
    num_steps: int = 200  # full-batch descent steps, by hand and with torch.optim.SGD
    batch_size: int = 32  # examples per batch in the DataLoader section
    dropout_p: float = 0.5  # the probability dropout zeroes an element
    dropout_draws: int = profiled(20_000, full=200_000)  # samples for dropout's mean
    depth: int = profiled(30, full=50)  # layers of the deep MLP (residuals, initialisation)
    width: int = 64  # units per layer of the deep MLP with and without residuals
    init_width: int = 256  # units per layer when comparing initialisations (wide: less drift)
    seed: int = 0  # one seed for every random tensor


def regression_data(s: Settings, dtype=torch.float64):
    """X: (n, d), y: (n,), and the true w: (d,) and b: () that made y = X w + b + noise.
    float64 by default, so hand-written and PyTorch versions can be compared to 1e-12."""
    g = torch.Generator().manual_seed(s.seed)
    X = torch.randn(s.n_samples, s.n_features, generator=g, dtype=dtype)
    w_true = torch.arange(1, s.n_features + 1, dtype=dtype) * (-1) ** torch.arange(s.n_features)
    b_true = torch.tensor(0.5, dtype=dtype)
    y = X @ w_true + b_true + s.noise * torch.randn(s.n_samples, generator=g, dtype=dtype)
    return X, y, w_true, b_true
