"""Numba's on-disk cache for fastrelu's kernels: fastrelu's own business.

Keyed on the kernel sources, chosen by ``FASTRELU_CACHE_DIR`` / ``NUMBA_CACHE_DIR`` / the
package folder / the user's cache / a temp folder, stale siblings pruned; and numba's settings
for everybody else in the process left exactly as they were.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from fastrelu.kernels import _config

KERNELS = os.path.dirname(os.path.abspath(_config.__file__))
KEY = "numba-" + _config.source_key()
TAG = "py%d%d%s" % (sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""))

# A kernel that compiles in about a second: enough to see where numba saves fastrelu's code.
SMALL_KERNEL = """
import numpy as np
from fastrelu.kernels.losses import loss_and_grad
loss_and_grad(0, np.zeros((2, 1)), np.ones((2, 1)), np.zeros(2, np.int64), 2.0, np.zeros((2, 1)))
"""


def _run(code: str, env: dict[str, str | None], tmp_path) -> dict:
    """Run ``code`` in a fresh interpreter (``env``: overrides, None removes); return its last
    line, JSON."""
    full = dict(os.environ, HOME=str(tmp_path / "home"))
    for name in ("NUMBA_CACHE_DIR", _config.CACHE_ENV, "NUMBA_CACHE_LOCATOR_CLASSES"):
        full.pop(name, None)
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _indexes(folder) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, f), folder)
                  for f in files if f.endswith(".nbi")]
    return sorted(found)


# --- numba's settings stay the user's -------------------------------------------------------

USER_MODULE = """
from numba import njit


@njit(cache=True)
def user_double(x):
    return 2 * x
"""

CHECK_SETTINGS = """
import json, os, sys
import numba
before = (os.environ.get("NUMBA_CACHE_DIR", "<absent>"), numba.config.CACHE_DIR)
import fastrelu as fr
net = fr.MLP([2, 3, 1], seed=0)
fr.fit(net, [[0.0, 1.0], [1.0, 0.0]], [0.5, 0.2], optimizer=fr.SGD(0.1), steps=2)
net.forward([[0.0, 1.0]])
after = (os.environ.get("NUMBA_CACHE_DIR", "<absent>"), numba.config.CACHE_DIR)
sys.path.insert(0, "user")
import usermod
assert usermod.user_double(3) == 6
from fastrelu.kernels import _config, train
print(json.dumps({"before": before, "after": after, "folder": _config.active_cache_folder(),
                  "run_steps": train.run_steps._cache.cache_path,
                  "user": usermod.user_double._cache.cache_path}))
"""


def _user_module(tmp_path):
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "usermod.py").write_text(USER_MODULE)
    return str(tmp_path / "user")


def _has_index(folder, entry):
    return any(os.path.basename(i).startswith(entry + "-") for i in _indexes(folder))


def test_import_fit_predict_leave_numba_settings_alone(tmp_path):
    """No NUMBA_CACHE_DIR: it stays absent; the user's function caches next to its source."""
    user = _user_module(tmp_path)
    doc = _run(CHECK_SETTINGS, {}, tmp_path)
    assert doc["before"] == doc["after"] == ["<absent>", ""]
    assert doc["user"] == os.path.join(user, "__pycache__")   # numba's default, not fastrelu's
    assert _has_index(doc["user"], "usermod.user_double")
    assert doc["folder"] == os.path.join(KERNELS, "__pycache__", KEY)
    assert os.path.dirname(doc["run_steps"]) == doc["folder"]
    assert _has_index(doc["folder"], "train.run_steps")
    assert not _has_index(doc["folder"], "usermod.user_double")


def test_import_fit_predict_leave_a_users_numba_cache_dir_alone(tmp_path):
    """NUMBA_CACHE_DIR set: it stays as set, and is still the user's functions' cache."""
    _user_module(tmp_path)
    numba_dir = str(tmp_path / "nc")
    warm = os.path.join(KERNELS, "__pycache__")   # FASTRELU_CACHE_DIR: the suite's warm kernels
    doc = _run(CHECK_SETTINGS, {"NUMBA_CACHE_DIR": numba_dir, _config.CACHE_ENV: warm}, tmp_path)
    assert doc["before"] == doc["after"] == [numba_dir, numba_dir]
    assert doc["folder"] == os.path.join(warm, KEY)
    assert os.path.dirname(doc["run_steps"]) == doc["folder"]
    (user_sub,) = os.listdir(numba_dir)
    assert doc["user"] == os.path.join(numba_dir, user_sub) and user_sub.startswith("user_")
    assert _has_index(doc["user"], "usermod.user_double")


# --- where fastrelu's kernels go ------------------------------------------------------------

WHERE = """
import json, os
from fastrelu.kernels import _config, losses
doc = {"folder": _config.active_cache_folder(), "exists": None,
       "kernel": losses.loss_and_grad._cache.cache_path}
doc["exists"] = os.path.exists(doc["folder"])
""" + SMALL_KERNEL + """
doc["indexes"] = sorted(os.listdir(doc["kernel"]))
print(json.dumps(doc))
"""


def test_fastrelu_cache_dir_selects_the_parent_and_wins(tmp_path):
    parent = tmp_path / "fr-cache"
    doc = _run(WHERE, {_config.CACHE_ENV: str(parent), "NUMBA_CACHE_DIR": str(tmp_path / "nc")},
               tmp_path)
    assert doc["folder"] == str(parent / KEY)
    assert doc["exists"] is False          # importing created nothing; the first save did
    assert os.path.dirname(doc["kernel"]) == doc["folder"]
    assert any(f.startswith("losses.loss_and_grad-") and f.endswith(f".{TAG}.nbi")
               for f in doc["indexes"])
    assert os.listdir(parent) == [KEY]
    assert not (tmp_path / "nc").exists()


def test_a_numba_cache_dir_the_user_set_is_honoured_in_a_keyed_subfolder(tmp_path):
    numba_dir = tmp_path / "nc"
    doc = _run(WHERE, {"NUMBA_CACHE_DIR": str(numba_dir)}, tmp_path)
    assert doc["folder"] == str(numba_dir / "fastrelu" / KEY)
    assert os.path.dirname(doc["kernel"]) == doc["folder"]
    assert _has_index(doc["folder"], "losses.loss_and_grad")
    assert os.listdir(numba_dir) == ["fastrelu"] and os.listdir(numba_dir / "fastrelu") == [KEY]


def test_importing_creates_no_folder(tmp_path):
    code = ("import json, os, fastrelu, fastrelu.kernels.train\n"
            "from fastrelu.kernels import _config\n"
            "print(json.dumps(os.path.exists(%r)))\n" % str(tmp_path / "fr"))
    assert _run(code, {_config.CACHE_ENV: str(tmp_path / "fr")}, tmp_path) is False


READ_ONLY = """
import json, os
real_access = os.access
denied = [%r] + [p for p in %r]
def access(path, mode, **kw):
    # As root every folder is writable: deny writes under the package and the listed folders.
    if mode & os.W_OK and any(os.path.abspath(path).startswith(d) for d in denied):
        return False
    return real_access(path, mode, **kw)
os.access = access
""" + WHERE


def test_read_only_package_moves_the_cache_to_the_user_folder(tmp_path):
    doc = _run(READ_ONLY % (KERNELS, []), {}, tmp_path)
    home_cache = str(tmp_path / "home" / ".cache" / "fastrelu")
    assert doc["folder"] == os.path.join(home_cache, KEY)
    assert os.path.dirname(doc["kernel"]) == doc["folder"]
    assert any(f.startswith("losses.loss_and_grad-") for f in doc["indexes"])


def test_read_only_package_and_home_fall_back_to_a_private_temp_folder(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "home").mkdir()   # an existing, read-only home
    doc = _run(READ_ONLY % (KERNELS, [str(tmp_path / "home")]), {"TMPDIR": str(tmp_path / "tmp")},
               tmp_path)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    temp_parent = tmp_path / "tmp" / f"fastrelu-{uid}"
    assert doc["folder"] == str(temp_parent / KEY)
    assert any(f.startswith("losses.loss_and_grad-") for f in doc["indexes"])
    assert oct(temp_parent.stat().st_mode & 0o777) == oct(0o700)


def test_a_foreign_temp_folder_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setattr(_config.tempfile, "gettempdir", lambda: str(tmp_path))
    temp_parent = _config._temp_parent()
    assert temp_parent == str(tmp_path / f"fastrelu-{os.getuid() if hasattr(os, 'getuid') else 0}")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", temp_parent)   # planted by someone else
    assert not _config._private(temp_parent)
    os.unlink(temp_parent)
    assert _config._private(temp_parent)              # absent: fastrelu creates it, 0700
    os.mkdir(temp_parent)
    assert _config._private(temp_parent)              # a real folder of ours
    if hasattr(os, "getuid") and os.getuid() == 0:
        os.chown(temp_parent, 12345, 12345)           # someone else's
        assert not _config._private(temp_parent)


def test_unusable_explicit_folder_falls_through_in_order(monkeypatch, tmp_path):
    from fastrelu.kernels._numba_internals import config as numba_config

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(_config.CACHE_ENV, str(tmp_path / "fr"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "nc"))
    monkeypatch.setattr(numba_config, "CACHE_DIR", "")   # as numba read it from the environment
    assert _config.cache_folder() == str(tmp_path / "fr" / KEY)
    (tmp_path / "fr").write_text("a file, not a folder")
    assert _config.cache_folder() == str(tmp_path / "nc" / "fastrelu" / KEY)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert _config.cache_folder() == os.path.join(KERNELS, "__pycache__", KEY)
    real_access = os.access
    monkeypatch.setattr(os, "access",
                        lambda p, m: False if str(p).startswith(KERNELS) else real_access(p, m))
    assert _config.cache_folder() == str(tmp_path / "home" / ".cache" / "fastrelu" / KEY)


def test_cache_folder_is_keyed_on_kernel_sources(tmp_path):
    src = tmp_path / "kernels"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    key1 = _config.source_key(str(src))
    assert key1 == _config.source_key(str(src)) and len(key1) == 16
    (src / "a.py").write_text("x = 2\n")  # an edit in any kernel file gives a new cache folder
    key2 = _config.source_key(str(src))
    (src / "b.py").write_text("y = 1\n")  # so does a new file
    assert len({key1, key2, _config.source_key(str(src))}) == 3
    assert os.path.basename(_config.cache_folder()) == KEY


def test_worker_processes_compute_the_same_folder(tmp_path):
    """Spawned workers (Dask's start method) find the driver's cache from env and sources."""
    code = ("import json, multiprocessing as mp\n"
            "from fastrelu.kernels import _config\n"
            "if __name__ == '__main__':\n"
            "    with mp.get_context('spawn').Pool(1) as pool:\n"
            "        child = pool.apply(_config.active_cache_folder)\n"
            "    print(json.dumps([_config.active_cache_folder(), child]))\n")
    script = tmp_path / "spawn.py"
    script.write_text(code)
    for env in ({}, {_config.CACHE_ENV: str(tmp_path / "fr")}):
        full = dict(os.environ, **env)
        full.pop("NUMBA_CACHE_DIR", None)
        if not env:
            full.pop(_config.CACHE_ENV, None)
        out = subprocess.run([sys.executable, str(script)], env=full, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        parent, child = json.loads(out.stdout.strip().splitlines()[-1])
        expected = str(tmp_path / "fr" / KEY) if env else os.path.join(KERNELS, "__pycache__", KEY)
        assert parent == child == expected


# --- the locator answers for fastrelu's files only -------------------------------------------

def test_locator_is_registered_once_and_only_for_kernel_files(tmp_path):
    from numba.core.caching import CacheImpl

    _config.install_cache_locator()
    _config.install_cache_locator()
    ours = [c for c in CacheImpl._locator_classes if c.__name__ == "FastreluKernelLocator"]
    assert len(ours) == 1 and CacheImpl._locator_classes[0] is ours[0]

    def f():
        return 1

    other = tmp_path / "elsewhere.py"
    other.write_text("")
    assert ours[0].from_function(f, str(other)) is None
    assert ours[0].from_function(f, os.path.join(KERNELS, "sub", "x.py")) is None
    mine = ours[0].from_function(f, os.path.join(KERNELS, "losses.py"))
    assert os.path.dirname(mine.get_cache_path()) == _config.active_cache_folder()
    assert mine.get_disambiguator() == str(f.__code__.co_firstlineno)


# --- pruning ---------------------------------------------------------------------------------

def _stale(parent, name, age_s=3600.0, extra=None):
    folder = parent / name
    sub = folder / ("kernels_" + "a" * 40)
    sub.mkdir(parents=True)
    (sub / "train.run_steps-214.py311.nbi").write_bytes(b"x")
    (sub / "train.run_steps-214.py311.1.nbc").write_bytes(b"x")
    (sub / "train.run_steps-214.py311.nbi.tmp.0123456789abcdef").write_bytes(b"x")
    if extra:
        (sub / extra).write_bytes(b"mine")
    old = time.time() - age_s
    for path in (sub, folder):
        os.utime(path, (old, old))
    return folder


def test_prune_removes_only_stale_fastrelu_folders(tmp_path):
    keep = "numba-" + "0" * 16
    current = _stale(tmp_path, keep)
    old1 = _stale(tmp_path, "numba-" + "1" * 16)
    old2 = _stale(tmp_path, "numba-" + "2" * 16)
    recent = _stale(tmp_path, "numba-" + "3" * 16, age_s=10)                # in use right now
    foreign = _stale(tmp_path, "numba-" + "4" * 16, extra="notes.txt")        # not only numba's
    (tmp_path / ("numba-" + "5" * 16)).write_text("a file")                     # not a folder
    _stale(tmp_path, "numba-XYZ")                                               # not 16 hex
    _stale(tmp_path, "numba-" + "6" * 15)
    _stale(tmp_path, "other")
    target = _stale(tmp_path / "outside", "numba-" + "7" * 16)
    os.symlink(target, tmp_path / ("numba-" + "8" * 16))                        # never followed
    removed = _config.prune_stale(str(tmp_path), keep=keep)
    assert sorted(removed) == sorted([str(old1), str(old2)])
    left = sorted(os.listdir(tmp_path))
    assert left == sorted([keep, recent.name, foreign.name, "numba-" + "5" * 16, "numba-XYZ",
                           "numba-" + "6" * 15, "other", "outside", "numba-" + "8" * 16])
    assert current.exists() and target.exists()
    assert (foreign / ("kernels_" + "a" * 40) / "notes.txt").exists()
    assert _config.prune_stale(str(tmp_path / "missing"), keep=keep) == []


def test_prune_survives_folders_vanishing_under_it(tmp_path, monkeypatch):
    import shutil

    names = ["numba-%016x" % i for i in range(40)]
    for name in names:
        _stale(tmp_path, name)
    real = _config._numba_only

    def vanishing(folder, cutoff):   # another process removes it between listing and checking
        if folder.endswith(("1", "7")):
            shutil.rmtree(folder)
        return real(folder, cutoff)

    monkeypatch.setattr(_config, "_numba_only", vanishing)
    errors = []

    def prune():
        try:
            _config.prune_stale(str(tmp_path), keep=names[0])
        except Exception as exc:  # noqa: BLE001 - the test records any failure
            errors.append(exc)

    threads = [threading.Thread(target=prune) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and os.listdir(tmp_path) == [names[0]]


def test_first_save_prunes_older_siblings(tmp_path):
    parent = tmp_path / "fr"
    old = _stale(parent, "numba-" + "f" * 16)
    doc = _run(WHERE, {_config.CACHE_ENV: str(parent)}, tmp_path)
    assert doc["folder"] == str(parent / KEY)
    assert not old.exists() and os.listdir(parent) == [KEY]


# --- the first-run hint ----------------------------------------------------------------------

def test_cache_has_finds_an_entry_index_in_any_subfolder(tmp_path):
    from fastrelu.kernels._config import cache_has

    assert not cache_has("train.run_steps", str(tmp_path))
    sub = tmp_path / ("kernels_" + "b" * 40)
    sub.mkdir()
    (sub / f"train.run_steps-214.{TAG}.1.nbc").write_bytes(b"")   # data without its index
    assert not cache_has("train.run_steps", str(tmp_path))
    (sub / "train.run_steps-214.py27.nbi").write_bytes(b"")       # another Python's index
    assert not cache_has("train.run_steps", str(tmp_path))
    (sub / f"train.run_steps-214.{TAG}.nbi").write_bytes(b"")
    assert cache_has("train.run_steps", str(tmp_path))
    assert not cache_has("ensemble.train_ensemble", str(tmp_path))


def test_kernels_cached_looks_where_the_kernels_are_cached(tmp_path):
    code = ("import json, fastrelu as fr\n"
            "from fastrelu.kernels import _config, train\n"
            "print(json.dumps([fr.kernels_cached('fit'), train.run_steps._cache.cache_path,\n"
            "                  _config.active_cache_folder()]))\n")
    cached, path, folder = _run(code, {_config.CACHE_ENV: str(tmp_path / "empty")}, tmp_path)
    assert cached is False and os.path.dirname(path) == folder == str(tmp_path / "empty" / KEY)


def test_kernels_cached_checks_its_argument():
    import fastrelu as fr

    with pytest.raises(ValueError, match="work='train'.*'fit', 'ensemble'"):
        fr.kernels_cached("train")
    fr.fit(fr.MLP([2, 3, 1], seed=0), [[0.0, 1.0]], [0.5], optimizer=fr.SGD(0.1), steps=1)
    assert fr.kernels_cached("fit") is True   # this process just compiled (or loaded) it
