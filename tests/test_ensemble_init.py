"""Ensembles draw their members without K MLP objects, and get fr.MLP's bits exactly."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastrelu as fr
from fastrelu.init import FUSED_KIND, SCHEMES, FusedInit

sizes_st = st.lists(st.integers(1, 9), min_size=2, max_size=5)


@settings(max_examples=40, deadline=None)
@given(sizes=sizes_st, init=st.sampled_from(sorted(SCHEMES)), dtype=st.sampled_from(["float32", "float64"]),
       seeds=st.lists(st.integers(0, 2**32), min_size=1, max_size=4), residual=st.booleans(),
       batchnorm=st.booleans())
def test_members_equal_mlp_bit_for_bit(sizes, init, dtype, seeds, residual, batchnorm):
    ens = fr.Ensemble(sizes, seeds=seeds, init=init, dtype=dtype, residual=residual, batchnorm=batchnorm)
    for j, seed in enumerate(seeds):
        net = fr.MLP(sizes, init=init, seed=seed, dtype=dtype, residual=residual, batchnorm=batchnorm)
        assert ens.params[j].tobytes() == net.params.tobytes()
        assert ens.running[j].tobytes() == net.running.tobytes()
        member = ens.members[j]
        assert (member.init, member.bias_init, member.sizes) == (net.init, net.bias_init, net.sizes)
        assert np.shares_memory(member.params, ens.params)


@pytest.mark.parametrize("init", sorted(FUSED_KIND))
def test_fused_draw_is_the_per_layer_draw(init):
    """One draw of the total size, scaled per layer, gives the scheme functions' numbers."""
    sizes = (4, 6, 3, 2)
    net = fr.MLP(list(sizes), init=init, seed=11, dtype="float64")
    fused = FusedInit(init, sizes, net._arch[:, 2], net._arch[:, 3])
    params = np.zeros_like(net.params)
    fused.apply(fused.draw(np.random.default_rng(11)), params)
    rng = np.random.default_rng(11)
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        drawn = SCHEMES[init](rng, fan_in, fan_out)
        w, b = drawn if isinstance(drawn, tuple) else (drawn, None)
        assert net.weights[i].tobytes() == np.asarray(w, np.float64).tobytes()
        got = params[net._arch[i, 2]:net._arch[i, 2] + fan_in * fan_out]
        assert got.tobytes() == np.asarray(w, np.float64).ravel().tobytes()
        if b is not None:
            assert params[net._arch[i, 3]:net._arch[i, 3] + fan_out].tobytes() == np.asarray(b).tobytes()


def test_mixed_members_callables_and_biases():
    def ones(rng, fan_in, fan_out):
        return np.ones((fan_out, fan_in))

    inits = ["he", ones, "rai", "zeros", "torch_default"]
    biases = [0.5, -1.0, 0.0, 2.0, 0.0]
    ens = fr.Ensemble([2, 5, 1], seeds=[3, 4, 5, 6, 7], init=inits, bias=biases)
    for j in range(5):
        net = fr.MLP([2, 5, 1], init=inits[j], bias=biases[j], seed=3 + j)
        assert ens.params[j].tobytes() == net.params.tobytes(), inits[j]
    assert ens.inits == ["he", "ones", "rai", "zeros", "torch_default"]


def test_member_arguments_are_checked_by_member():
    with pytest.raises(ValueError, match=r"^init\[1\]='kaiming' is not accepted; expected one of "):
        fr.Ensemble([2, 3, 1], seeds=[0, 1], init=["he", "kaiming"])
    with pytest.raises(ValueError, match=r"^bias\[0\]=0.5 is not accepted; expected 0.0 with init='rai'"):
        fr.Ensemble([2, 3, 1], seeds=[0, 1], init="rai", bias=[0.5, 0.0])
    with pytest.raises(ValueError, match=r"^seeds\[1\]=-1 is not accepted; expected an integer >= 0"):
        fr.Ensemble([2, 3, 1], seeds=[0, -1])


def test_members_are_built_only_when_asked_for():
    ens = fr.Ensemble([1, 3, 1], seeds=range(1000), init="he")
    assert ens._members is None and len(ens) == 1000
    assert ens.member(999).params.tobytes() == fr.MLP([1, 3, 1], seed=999).params.tobytes()
    assert ens._members is None
