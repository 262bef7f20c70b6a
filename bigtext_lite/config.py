"""Profiles, data and cache locations, device choice and seeding.

One switch, the environment variable ``BIGTEXT_PROFILE``, decides how big a run is:
``quick`` (CI, nbval, a laptop: real data, small subsets, few epochs) or ``full``
(the published run, meant for a GPU). Walkthrough: book/how_to_run.md.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

PROFILES = ("quick", "full")
DEFAULT_PROFILE = "quick"  # cheap by default: nobody starts a 2-hour run by accident


def profile() -> str:
    """The active profile, from ``BIGTEXT_PROFILE`` (default ``quick``)."""
    value = os.environ.get("BIGTEXT_PROFILE", DEFAULT_PROFILE).strip().lower()
    if value not in PROFILES:
        raise ValueError(
            f"BIGTEXT_PROFILE={value!r} is not a profile; use one of {PROFILES}"
        )
    return value


def is_quick() -> bool:
    return profile() == "quick"


def _user_cache_home() -> Path:
    # XDG_CACHE_HOME is the Linux convention; ~/.cache is its documented default.
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bigtext_lite"


def data_root() -> Path:
    """Where datasets live: ``BIGTEXT_DATA`` if set, else ``~/.cache/bigtext_lite/data``.

    The folder may be read-only (a shared copy of IMDB): nothing derived is
    written here, only downloads when the data is missing.
    """
    env = os.environ.get("BIGTEXT_DATA")
    return Path(env).expanduser() if env else _user_cache_home() / "data"


def cache_dir() -> Path:
    """Where derived files go (parsed datasets): ``BIGTEXT_CACHE`` or
    ``~/.cache/bigtext_lite/cache``. Safe to delete at any time."""
    env = os.environ.get("BIGTEXT_CACHE")
    return Path(env).expanduser() if env else _user_cache_home() / "cache"


def device(prefer: str | None = None) -> torch.device:
    """The best available device: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or ``BIGTEXT_DEVICE``) forces one, e.g. ``"cpu"`` to compare.
    """
    prefer = prefer or os.environ.get("BIGTEXT_DEVICE")
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0, deterministic: bool = False) -> int:
    """Seed Python, NumPy and PyTorch (all devices) so a run can be repeated.

    ``deterministic=True`` also asks PyTorch for deterministic kernels, which
    are slower on a GPU and raise where none exists; on CPU runs are already
    repeatable with seeding alone.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    return seed


def describe() -> str:
    """One line naming what produced a notebook's outputs (profile, device, versions)."""
    dev = device()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else dev.type.upper()
    return (
        f"profile={profile()} | device={name} | torch {torch.__version__} | "
        f"CPU threads {torch.get_num_threads()}"
    )
