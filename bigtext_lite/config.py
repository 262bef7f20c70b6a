"""Profiles, data and cache locations, device choice and seeding.

One switch, the environment variable ``BIGTEXT_PROFILE``, decides how big a run is:
``quick`` (CI, nbval, a laptop: real data, small subsets, few epochs), ``colab`` (a
learner's free Colab GPU, a T4: all of the data, one configuration, minutes a chapter)
or ``full`` (the published run, every configuration, meant for a fast GPU).
Walkthrough: book/how_to_run.md.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

PROFILES = ("quick", "colab", "full")
DEFAULT_PROFILE = "quick"  # cheap by default: nobody starts a 2-hour run by accident


class SettingError(ValueError):
    """A setting, argument or environment variable that cannot work. The message is one
    line naming it and what it must be; ``bigtext`` prints it and exits with code 2."""


def parse_profile(value: str, where: str = "BIGTEXT_PROFILE") -> str:
    """``value`` as a profile name (case and spaces ignored); ``where`` names its source."""
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in PROFILES:
        raise SettingError(f"{where}={value!r} is not a profile; use one of {', '.join(PROFILES)}")
    return name


def profile() -> str:
    """The active profile, from ``BIGTEXT_PROFILE`` (default ``quick``)."""
    return parse_profile(os.environ.get("BIGTEXT_PROFILE", DEFAULT_PROFILE))


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


def folder_problem(path: Path, writable: bool) -> str | None:
    """Why ``path`` cannot serve as a folder (made if missing), or None if it can. Asked
    before a run, so a bad location fails now rather than at the first write."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the folder that would hold the ones still to be made
    if not existing.is_dir():
        return "is a file, not a folder" if existing == path else f"is inside {existing}, a file"
    if writable and not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written: {existing} is read-only to this user"
    return None


def check_device(name: str | None) -> None:
    """Refuse a ``BIGTEXT_DEVICE`` that torch cannot parse or this machine does not have."""
    if not name:
        return
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise SettingError(f"BIGTEXT_DEVICE={name!r} is not a device; use e.g. cpu, cuda, cuda:1 "
                           f"or mps") from None
    mps = getattr(torch.backends, "mps", None)
    here = {"cuda": (dev.index or 0) < torch.cuda.device_count(),
            "mps": bool(mps and mps.is_available())}.get(dev.type, True)
    if not here:
        raise SettingError(f"BIGTEXT_DEVICE={name!r}: this machine has no such device")


def check_environment() -> None:
    """Refuse, naming the variable, a data or cache location that cannot work and a device
    this machine lacks (``BIGTEXT_PROFILE`` is checked wherever it is read). The data
    folder may be read-only; the cache is written."""
    for var, path, writable in (("BIGTEXT_DATA", data_root(), False),
                                ("BIGTEXT_CACHE", cache_dir(), True)):
        problem = folder_problem(path, writable)
        if problem:
            where = f"{var}={os.environ[var]!r}" if os.environ.get(var) else f"{path} (set {var})"
            raise SettingError(f"{where} {problem}")
    check_device(os.environ.get("BIGTEXT_DEVICE"))


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
