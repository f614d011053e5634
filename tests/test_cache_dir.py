"""Numba's on-disk cache: keyed on the kernel sources, and working when the package is read-only."""
from __future__ import annotations

import os

import pytest

from fastrelu.kernels import _config


def _fresh(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    from numba.core import config

    monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    return config


def test_read_only_package_moves_cache_to_user_folder(monkeypatch, tmp_path):
    here = os.path.dirname(os.path.abspath(_config.__file__))
    real_access, real_makedirs = os.access, os.makedirs
    # As root every folder is writable, so simulate a read-only install by denying the package folder.
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).startswith(here) else real_access(p, mode))
    monkeypatch.setattr(os, "makedirs", lambda p, exist_ok=False: (_ for _ in ()).throw(PermissionError(p))
                        if str(p).startswith(here) else real_makedirs(p, exist_ok=exist_ok))
    config = _fresh(monkeypatch, tmp_path)
    chosen = _config.ensure_cache_dir()
    assert chosen.startswith(os.path.join(str(tmp_path), ".cache", "fastrelu", "numba-"))
    assert os.environ["NUMBA_CACHE_DIR"] == chosen == config.CACHE_DIR
    assert os.path.isdir(chosen)


def test_cache_folder_is_keyed_on_kernel_sources(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    src = tmp_path / "kernels"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    key1 = _config._source_key(str(src))
    assert key1 == _config._source_key(str(src))
    (src / "a.py").write_text("x = 2\n")  # an edit in any kernel file gives a new cache folder
    assert _config._source_key(str(src)) != key1
    chosen = _config.ensure_cache_dir()
    assert os.path.basename(chosen) == "numba-" + _config._source_key(os.path.dirname(_config.__file__))


def test_explicit_cache_dir_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert _config.ensure_cache_dir() is None
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_cache_has_finds_an_entry_index_in_any_subfolder(tmp_path):
    from fastrelu.kernels._config import cache_has

    assert not cache_has("train.run_steps", str(tmp_path))
    sub = tmp_path / "kernels_abc"
    sub.mkdir()
    (sub / "train.run_steps-214.py311.1.nbc").write_bytes(b"")   # data without its index
    assert not cache_has("train.run_steps", str(tmp_path))
    (sub / "train.run_steps-214.py311.nbi").write_bytes(b"")
    assert cache_has("train.run_steps", str(tmp_path))
    assert not cache_has("ensemble.train_ensemble", str(tmp_path))


def test_kernels_cached_checks_its_argument():
    import fastrelu as fr

    with pytest.raises(ValueError, match="work='train'.*'fit', 'ensemble'"):
        fr.kernels_cached("train")
    fr.fit(fr.MLP([2, 3, 1], seed=0), [[0.0, 1.0]], [0.5], optimizer=fr.SGD(0.1), steps=1)
    assert fr.kernels_cached("fit") is True   # this process just compiled (or loaded) it
