"""Numba's on-disk cache must work when the package folder is read-only."""
from __future__ import annotations

import os

from fastrelu.kernels import _config


def test_read_only_package_moves_cache_to_user_folder(monkeypatch, tmp_path):
    here = os.path.dirname(os.path.abspath(_config.__file__))
    real_access = os.access
    # As root every folder is writable, so simulate a read-only install by denying the package folder.
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).startswith(here) else real_access(p, mode))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    from numba.core import config

    monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    _config.ensure_cache_dir()
    expected = os.path.join(str(tmp_path), ".cache", "fastrelu", "numba")
    assert os.environ["NUMBA_CACHE_DIR"] == expected
    assert config.CACHE_DIR == expected
    assert os.path.isdir(expected)


def test_explicit_cache_dir_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    _config.ensure_cache_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_writable_package_keeps_numba_default(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    _config.ensure_cache_dir()
    assert "NUMBA_CACHE_DIR" not in os.environ
