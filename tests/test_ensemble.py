"""Ensemble members end bit-identical to training each network alone with fr.fit."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import fastrelu as fr

CASES = [
    # sizes, kwargs, optimizers, batch_size, loss
    ([3, 8, 8, 1], {}, [fr.SGD(0.05), fr.SGD(0.01, momentum=0.9), fr.Adam(0.01)], 16, "mse"),
    ([4, 6, 6, 6, 3], {"residual": True}, [fr.RMSprop(0.01), fr.RMSprop(0.01, momentum=0.5), fr.SGD(0.1)], 32,
     "cross_entropy"),
    ([3, 5, 5, 2], {"batchnorm": True}, [fr.SGD(0.05), fr.Adam(0.01), fr.SGD(0.02, weight_decay=0.01)], 20, "mse"),
    # a batch of >= 256 rows takes the chunked gradient path (parallel in fit, serial in the ensemble)
    ([3, 8, 8, 1], {}, [fr.SGD(0.05), fr.Adam(0.01), fr.SGD(0.01)], 300, "mse"),
]


def data(sizes, loss, n=330, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], n)
    return X, y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes,kw,opts,batch,loss", CASES)
def test_member_equals_fit_alone(sizes, kw, opts, batch, loss, dtype):
    X, y = data(sizes, loss)
    seeds = [11, 12, 13]
    inits = ["he", "xavier", "rai"]
    ens = fr.Ensemble(sizes, seeds=seeds, init=inits, dtype=dtype, **kw)
    hist = ens.fit(X, y, optimizer=opts, loss=loss, batch_size=batch, epochs=3, clip_norm=5.0)
    for k, (seed, init, opt) in enumerate(zip(seeds, inits, opts)):
        net = fr.MLP(sizes, init=init, seed=seed, dtype=dtype, **kw)
        h = fr.fit(net, X, y, optimizer=opt, loss=loss, batch_size=batch, epochs=3, seed=seed, clip_norm=5.0)
        assert np.array_equal(net.params, ens.params[k]), f"member {k} differs from fit alone"
        assert np.array_equal(net.running, ens.running[k])
        assert np.array_equal(h.loss, hist.loss[k])
        assert hist.diverged_at[k] is None


def test_diverging_member_is_frozen_and_isolated():
    X, y = data([3, 8, 1], "mse")
    ens = fr.Ensemble([3, 8, 1], seeds=[1, 2])
    hist = ens.fit(X, y * 1e3, optimizer=[fr.SGD(1e4), fr.SGD(1e-3)], epochs=2)
    assert hist.diverged_at[0] is not None and hist.steps[0] == hist.diverged_at[0] + 1
    assert np.isnan(hist.loss[0, hist.steps[0]:]).all()
    assert hist.diverged_at[1] is None
    net = fr.MLP([3, 8, 1], seed=2)
    fr.fit(net, X, y * 1e3, optimizer=fr.SGD(1e-3), epochs=2, seed=2)
    assert np.array_equal(net.params, ens.params[1])


def test_members_are_views_of_the_stack():
    ens = fr.Ensemble([2, 4, 1], seeds=[0, 1])
    ens.members[1].weights[0][0, 0] = 42.0
    assert ens.params[1, 0] == 42.0
    assert ens.forward(np.ones((3, 2))).shape == (2, 3, 1)


def test_bad_arguments():
    with pytest.raises(TypeError, match="seeds"):
        fr.Ensemble([2, 4, 1], seeds=3)
    with pytest.raises(ValueError, match=r"^init with 1 entries is not accepted; expected one value or one per member \(2\)$"):
        fr.Ensemble([2, 4, 1], seeds=[0, 1], init=["he"])
    ens = fr.Ensemble([2, 4, 1], seeds=[0, 1])
    before = ens.params.copy()
    with pytest.raises(ValueError, match=r"^optimizer with 3 entries is not accepted; expected one value or one per member \(2\)$"):
        ens.fit(np.ones((4, 2)), np.ones(4), optimizer=[fr.SGD(0.1)] * 3)
    with pytest.raises(ValueError, match=r"^X of shape \(4, 3\) is not accepted; expected .* with 2 columns \(the network's input width\)$"):
        ens.fit(np.ones((4, 3)), np.ones(4), optimizer=fr.SGD(0.1))
    assert np.array_equal(before, ens.params)


SCRIPT = """
import numpy as np, fastrelu as fr, sys
rng = np.random.default_rng(0)
X = rng.normal(size=(600, 4)); y = rng.normal(size=(600, 1))
ens = fr.Ensemble([4, 16, 16, 1], seeds=list(range(6)), dtype="float64")
ens.fit(X, y, optimizer=fr.Adam(0.01), batch_size=64, epochs=2)
net = fr.MLP([4, 16, 16, 1], seed=0, dtype="float64")
fr.fit(net, X, y, optimizer=fr.SGD(0.01), batch_size=300, epochs=2, seed=0)
sys.stdout.write(ens.params.tobytes().hex()[:4000] + net.params.tobytes().hex())
"""


def test_same_bits_for_any_thread_count():
    outs = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        outs.append(res.stdout)
    assert outs[0] == outs[1]
