"""The step loop calls its kernels through function pointers: the same bits, one copy of each.

numba would otherwise link forward, backward, the loss and the optimizer into the step loop and
optimize and emit them once more there (about 7 s of the scenario's cold start). The bits of
the pointer calls against linked ones: tests/test_ensemble.py (an ensemble member links them,
``fit`` calls them through pointers, and the two end bit-identical).

On a first run a helper process compiles backward into the kernel cache meanwhile
(``kernels.compile_helper``); the bits are those of compiling it in the process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import fastrelu as fr
from fastrelu.kernels import compile_helper, losses, network, optim, pointers, train
from fastrelu.kernels._config import active_cache_folder, cache_has
from fastrelu.kernels.layout import H_LR, NHYPER, SGD

FASTRELU = "_ZN8fastrelu7kernels"


def _fit(dtype, steps=3):
    X, y = fr.data.teacher(64, 3, seed=0)
    net = fr.MLP([3, 8, 8, 1], seed=0, dtype=dtype)
    hist = fr.fit(net, X, y, optimizer=fr.Adam(1e-2), steps=steps, batch_size=16, seed=0)
    return net, hist


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_step_kernels_are_pointers_of_the_kernels_signatures(dtype):
    kern = pointers.step_kernels(np.dtype(dtype))
    assert pointers.step_kernels(np.dtype(dtype)) is kern            # built once per dtype
    typ = numba.typeof(kern)
    assert all(isinstance(t, numba.types.FunctionType) for t in typ.types), typ
    for p, kernel in zip(kern, (network.forward, losses.loss_and_grad, network.backward,
                                optim.apply_update)):
        assert p.kernel is kernel
        assert p.signature() in [c.signature for c in kernel.overloads.values()]
        assert p.__wrapper_address__() > 0
    assert str(kern.forward.signature().args[0].dtype) == dtype


def test_the_step_loop_holds_none_of_the_kernels_it_calls():
    _fit("float32")
    (sig,) = [s for s in train.run_steps.signatures
              if isinstance(s[-1], numba.types.NamedTuple)
              and isinstance(s[-1].types[0], numba.types.FunctionType)][:1]
    lib = train.run_steps.overloads[sig].library
    names = [f.name for f in lib._final_module.functions if not f.is_declaration]
    ours = [n for n in names if n.startswith(FASTRELU)]
    assert ours and all("run_steps" in n for n in ours), ours      # no forward, backward, ...
    assert not any("7network7forward" in n or "8backward" in n for n in names)


def test_a_pointer_called_from_python_calls_its_kernel():
    kern = pointers.step_kernels(np.dtype(np.float64))
    rng = np.random.default_rng(0)
    theta, grad = rng.standard_normal(7), rng.standard_normal(7)
    hyper = np.zeros(NHYPER)
    hyper[H_LR] = 0.1
    a, b = theta.copy(), theta.copy()
    assert kern.update(SGD, a, grad, np.zeros((2, 7)), hyper, 1)
    assert optim.apply_update(SGD, b, grad, np.zeros((2, 7)), hyper, 1)
    assert np.array_equal(a, b) and np.array_equal(a, theta - 0.1 * grad)


_FIT_AND_REPORT = (
    "import hashlib, json\n"
    "import fastrelu as fr\n"
    "from fastrelu.kernels import network, optim, train\n"
    "X, y = fr.data.teacher(64, 3, seed=0)\n"
    "net = fr.MLP([3, 8, 1], seed=0)\n"
    "fr.fit(net, X, y, optimizer=fr.Adam(0.01), steps=5, batch_size=16, seed=0)\n"
    "count = lambda k, d: sum(getattr(k.stats, d).values())\n"
    "print(json.dumps({'bits': hashlib.sha256(net.params.tobytes()).hexdigest(),\n"
    "                  'run_steps': [count(train.run_steps, 'cache_hits'),\n"
    "                                count(train.run_steps, 'cache_misses')],\n"
    "                  'forward': count(network.forward, 'cache_misses'),\n"
    "                  'backward': [count(network.backward, 'cache_hits'),\n"
    "                               count(network.backward, 'cache_misses')],\n"
    "                  'update': [count(optim.apply_update, 'cache_hits'),\n"
    "                             count(optim.apply_update, 'cache_misses')]}))\n")


def _fit_in_process(cache, helper):
    env = {**os.environ, "FASTRELU_CACHE_DIR": str(cache), "FASTRELU_COMPILE_HELPER": helper}
    out = subprocess.run([sys.executable, "-c", _FIT_AND_REPORT], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def test_first_runs_with_and_without_the_helper_and_a_warm_run(tmp_path):
    """From empty caches: with the compile helper, backward comes from the cache the helper
    filled (on two CPUs or more); without it, this process compiles it; the step loop and the
    optimizer compile once here either way. Same bits. Then a
    second process loads the step loop (its index keyed on the pointers' signatures) and
    every kernel behind the pointers from the cache."""
    helped = _fit_in_process(tmp_path / "a", "1")
    alone = _fit_in_process(tmp_path / "b", "0")
    assert helped["bits"] == alone["bits"]
    assert alone["backward"] == [0, 1] and alone["run_steps"] == [0, 1] and alone["forward"] == 1
    if compile_helper._cpus() >= 2:
        assert helped["backward"] == [1, 0], helped          # loaded: the helper compiled it
    assert helped["run_steps"] == [0, 1] and helped["update"] == alone["update"] == [0, 1]
    warm = _fit_in_process(tmp_path / "a", "1")
    assert warm["bits"] == alone["bits"]
    assert warm["run_steps"] == [1, 0] and warm["forward"] == 0 and warm["backward"] == [1, 0]


def test_no_helper_when_it_cannot_help(monkeypatch, tmp_path):
    names, entries = ("backward",), ("network.backward",)
    monkeypatch.setenv(compile_helper.HELPER_ENV, "0")
    assert compile_helper.start("float32", names, entries) is None
    monkeypatch.delenv(compile_helper.HELPER_ENV)
    monkeypatch.setattr(compile_helper, "_cpus", lambda: 1)
    assert compile_helper.start("float32", names, entries) is None
    monkeypatch.setattr(compile_helper, "_cpus", lambda: 2)
    monkeypatch.setattr(compile_helper, "active_cache_folder", lambda: None)
    assert compile_helper.start("float32", names, entries) is None
    monkeypatch.setattr(compile_helper, "active_cache_folder", lambda: str(tmp_path))
    monkeypatch.setattr(compile_helper, "cache_has", lambda entry, folder: True)
    assert compile_helper.start("float32", names, entries) is None    # already cached


def test_the_helper_runs_this_package_into_this_cache(monkeypatch, tmp_path):
    """Started in the folder holding this fastrelu package (``-m`` then imports it, not a
    ``fastrelu`` folder in the caller's working folder), told this process's cache parent,
    and not allowed to start helpers of its own."""
    seen = {}

    class FakePopen:
        def __init__(self, argv, **kwargs):
            seen.update(kwargs, argv=argv)

    folder = tmp_path / "numba-0123456789abcdef"
    monkeypatch.delenv(compile_helper.HELPER_ENV, raising=False)
    monkeypatch.setattr(compile_helper, "_cpus", lambda: 2)
    monkeypatch.setattr(compile_helper, "active_cache_folder", lambda: str(folder))
    monkeypatch.setattr(compile_helper, "cache_has", lambda entry, folder: False)
    monkeypatch.setattr(compile_helper.subprocess, "Popen", FakePopen)
    monkeypatch.chdir(tmp_path)
    assert isinstance(compile_helper.start("float32", ("backward",), ("network.backward",)),
                      FakePopen)
    assert seen["argv"][1:] == ["-m", "fastrelu.kernels.compile_helper", "float32", "backward"]
    assert os.path.samefile(os.path.join(seen["cwd"], "fastrelu"), os.path.dirname(fr.__file__))
    assert seen["env"]["FASTRELU_CACHE_DIR"] == str(tmp_path)
    assert seen["env"][compile_helper.HELPER_ENV] == "0"


def test_a_failed_or_stuck_helper_is_waited_for_and_changes_nothing(monkeypatch):
    failed = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    compile_helper.finish(failed)
    assert failed.returncode == 3
    monkeypatch.setattr(compile_helper, "TIMEOUT_S", 0.2)
    stuck = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    compile_helper.finish(stuck)
    assert stuck.returncode is not None and stuck.returncode != 0     # stopped, reaped
    compile_helper.finish(None)
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    compile_helper.stop(running)
    assert running.returncode is not None and running.returncode != 0
    compile_helper.stop(None)


def test_a_failing_compile_stops_the_helper(monkeypatch):
    """If this process's own compiling fails, the helper it started does not outlive it."""
    started = []

    def fake_start(dtype, names, entries):
        started.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return started[-1]

    def broken(self):
        raise RuntimeError("compile failed")

    monkeypatch.setattr(compile_helper, "start", fake_start)
    monkeypatch.setattr(pointers.Pointer, "resolve", broken)
    with pytest.raises(RuntimeError, match="compile failed"):
        pointers._step_kernels.__wrapped__(np.dtype("float32"))
    assert started and started[0].returncode is not None      # stopped and reaped


def test_a_kernel_that_compiles_to_another_signature_is_refused():
    kernel, sig = pointers.step_signatures(np.dtype("float64"))["update"]
    wrong = numba.types.float64(*sig.args)     # apply_update returns a boolean
    with pytest.raises(TypeError, match="apply_update compiled to .* not the declared"):
        pointers.Pointer(kernel, wrong).resolve()


def test_the_helper_compiles_into_the_cache_folder_it_is_given(tmp_path):
    env = {**os.environ, "FASTRELU_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-m", "fastrelu.kernels.compile_helper", "float64", "update"],
                   env=env, check=True, capture_output=True)
    folders = list(tmp_path.glob("numba-*"))
    assert len(folders) == 1 and folders[0].name == os.path.basename(active_cache_folder())
    assert cache_has("optim.apply_update", str(folders[0]))
    assert not cache_has("network.backward", str(folders[0]))
