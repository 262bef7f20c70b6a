"""Profiles, locations, device choice and seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bigtext_lite import config


@pytest.mark.parametrize("value,expected",
                         [(None, "quick"), ("quick", "quick"), (" FULL ", "full")])
def test_profile(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("BIGTEXT_PROFILE", raising=False)
    else:
        monkeypatch.setenv("BIGTEXT_PROFILE", value)
    assert config.profile() == expected


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


def test_profile_argument_reads_like_the_variable():
    assert config.parse_profile(" Full ", "profile") == "full"
    with pytest.raises(config.SettingError, match=r"^profile='fast' is not a profile; use one of"):
        config.parse_profile("fast", "profile")


def test_locations_that_cannot_be_folders_are_refused(monkeypatch, tmp_path):
    config.check_environment()  # conftest's folders do not exist yet: they can be made
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    monkeypatch.setenv("BIGTEXT_DATA", str(a_file))
    with pytest.raises(config.SettingError, match=r"^BIGTEXT_DATA='.*a_file' is a file, not a"):
        config.check_environment()
    monkeypatch.setenv("BIGTEXT_DATA", str(tmp_path))
    monkeypatch.setenv("BIGTEXT_CACHE", str(a_file / "cache"))
    with pytest.raises(config.SettingError, match=r"^BIGTEXT_CACHE='.*' is inside .*a_file, a"):
        config.check_environment()
    monkeypatch.delenv("BIGTEXT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(a_file))  # the default cache, under a file
    with pytest.raises(config.SettingError, match=r"cache \(set BIGTEXT_CACHE\) is inside"):
        config.check_environment()


def test_cache_must_be_writable_data_need_not(monkeypatch, tmp_path):
    # as if every folder were read-only (a test run as root could write anywhere)
    monkeypatch.setattr(config.os, "access", lambda path, mode: False)
    monkeypatch.setenv("BIGTEXT_DATA", str(tmp_path))
    with pytest.raises(config.SettingError, match=r"^BIGTEXT_CACHE=.* cannot be written"):
        config.check_environment()


def test_device_variable_is_checked(monkeypatch):
    config.check_device(None)
    config.check_device("cpu")
    with pytest.raises(config.SettingError, match=r"^BIGTEXT_DEVICE='gpu' is not a device"):
        config.check_device("gpu")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    config.check_device("cuda")
    config.check_device("cuda:0")
    with pytest.raises(config.SettingError, match=r"'cuda:1': this machine has no such device"):
        config.check_device("cuda:1")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(config.SettingError, match=r"'mps': this machine has no such device"):
        config.check_device("mps")
    monkeypatch.setenv("BIGTEXT_DEVICE", "gpu")
    with pytest.raises(config.SettingError, match="BIGTEXT_DEVICE"):
        config.check_environment()
