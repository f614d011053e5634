"""kernels.rai: RAI's draws (bounded integers, exponential, gamma, beta) with NumPy's bits."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import fastrelu as fr
from fastrelu.kernels import pcg64, rai


@njit
def _fill(seed, kind, arg, n, out):
    s = np.empty(pcg64.STATE_WORDS, np.uint64)
    pcg64.seed_state(seed, s)
    for i in range(n):
        if kind == 0:
            out[i] = np.float64(rai.bounded_uint32(s, np.uint64(arg)))
        elif kind == 1:
            out[i] = rai.standard_exponential(s)
        elif kind == 2:
            out[i] = rai.standard_gamma(s, arg)
        else:
            out[i] = rai.beta(s, 2.0, 1.0)


def draws(seed, kind, arg, n):
    out = np.empty(n)
    _fill(np.uint64(seed), kind, arg, n, out)
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), high=st.integers(1, 2**31), n=st.integers(1, 200))
def test_bounded_integers_equal_generator_integers(seed, high, n):
    want = np.random.default_rng(seed).integers(0, high + 1, n).astype(np.float64)
    assert draws(seed, 0, high, n).tobytes() == want.tobytes()


def test_exponential_gamma_and_beta_equal_numpy():
    """Enough draws that the ziggurat's wedge and tail steps and the gamma's log test all run."""
    for seed in (0, 7, 2**40):
        n = 100_000
        assert draws(seed, 1, 0.0, n).tobytes() == np.random.default_rng(seed).standard_exponential(n).tobytes()
        for shape in (1.0, 2.0, 5.5):
            assert draws(seed, 2, shape, n).tobytes() == np.random.default_rng(seed).standard_gamma(shape, n).tobytes()
        assert draws(seed, 3, 0.0, n).tobytes() == np.random.default_rng(seed).beta(2.0, 1.0, n).tobytes()


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 12), min_size=2, max_size=6), dtype=st.sampled_from(["float32", "float64"]),
       seeds=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=5), residual=st.booleans(),
       batchnorm=st.booleans())
def test_an_ensemble_of_rai_nets_has_the_bits_of_fr_mlp(sizes, dtype, seeds, residual, batchnorm):
    if residual:
        sizes = [sizes[0]] * (len(sizes) - 1) + [sizes[-1]]
    kw = dict(init="rai", dtype=dtype, residual=residual, batchnorm=batchnorm)
    ens = fr.Ensemble(sizes, seeds=seeds, **kw)
    want = np.stack([fr.MLP(sizes, seed=s, **kw).params for s in seeds])
    assert ens.params.tobytes() == want.tobytes()


def test_rai_members_mixed_with_other_inits_keep_their_own_bits():
    inits = ["rai", "he", "rai", "torch_default", "zeros"]
    ens = fr.Ensemble([2, 6, 6, 1], seeds=[5, 6, 7, 8, 9], init=inits)
    want = np.stack([fr.MLP([2, 6, 6, 1], init=i, seed=s).params for i, s in zip(inits, [5, 6, 7, 8, 9])])
    assert ens.params.tobytes() == want.tobytes()
