"""Profiles, locations, device choice and seeding."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from bigtext_lite import config


@pytest.mark.parametrize("value,expected", [(None, "quick"), ("quick", "quick"), (" FULL ", "full")])
def test_profile(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("BIGTEXT_PROFILE", raising=False)
    else:
        monkeypatch.setenv("BIGTEXT_PROFILE", value)
    assert config.profile() == expected
    assert config.is_quick() == (expected == "quick")


def test_unknown_profile_is_an_error(monkeypatch):
    monkeypatch.setenv("BIGTEXT_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"BIGTEXT_PROFILE='fast' is not a profile"):
        config.profile()


def test_locations_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BIGTEXT_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("BIGTEXT_CACHE", str(tmp_path / "c"))
    assert config.data_root() == tmp_path / "d" and config.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("BIGTEXT_DATA")
    monkeypatch.delenv("BIGTEXT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.data_root() == tmp_path / "xdg" / "bigtext_lite" / "data"
    assert config.cache_dir() == tmp_path / "xdg" / "bigtext_lite" / "cache"


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("BIGTEXT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert config.device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert config.device().type == "cpu"
    assert config.device("cpu") == torch.device("cpu")
    monkeypatch.setenv("BIGTEXT_DEVICE", "meta")
    assert config.device().type == "meta"


def test_seed_everything_makes_runs_repeat():
    def draw():
        return (np.random.rand(), torch.rand(3), torch.nn.Linear(4, 2).weight.detach().clone())

    config.seed_everything(123)
    a = draw()
    config.seed_everything(123)
    b = draw()
    config.seed_everything(124)
    c = draw()
    assert a[0] == b[0] and torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
    assert a[0] != c[0] and not torch.equal(a[1], c[1])
