"""The step loop calls its kernels through function pointers: the same bits, one copy of each.

numba would otherwise link forward, backward, the loss and the optimizer into the step loop and
optimize and emit them once more there (about 7 s of the scenario's cold start). The bits of
the pointer calls against linked ones: tests/test_ensemble.py (an ensemble member links them,
``fit`` calls them through pointers, and the two end bit-identical).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import fastrelu as fr
from fastrelu.kernels import losses, network, optim, pointers, train
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


def test_the_step_loop_taking_pointers_loads_from_the_cache(tmp_path):
    """The step loop's cache index is keyed on the pointers' signatures: a second process
    loads it (and the kernels behind the pointers) instead of compiling them."""
    code = ("import fastrelu as fr\n"
            "from fastrelu.kernels import train, network\n"
            "X, y = fr.data.teacher(64, 3, seed=0)\n"
            "fr.fit(fr.MLP([3, 8, 1], seed=0), X, y, optimizer=fr.SGD(0.01), steps=2,\n"
            "       batch_size=32, seed=0)\n"
            "print(sum(train.run_steps.stats.cache_hits.values()), "
            "sum(train.run_steps.stats.cache_misses.values()), "
            "sum(network.forward.stats.cache_misses.values()))\n")
    env = {**os.environ, "FASTRELU_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["0", "1", "1"], runs                 # first process: compiled
    assert runs[1] == ["1", "0", "0"], runs                 # second: all from the cache
