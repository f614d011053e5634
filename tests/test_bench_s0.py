"""Workload S0 (born dead at initialization) and W2 through fr.sweep, without timing.

Every S0 implementation counts dead-layer nets with vectorized code; each count is checked
against a plain per-net NumPy loop over the very weights that implementation draws (exact
counts), and the Monte Carlo gate is shown to pass honest implementations and to reject a
peer with a realistic bug.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastrelu as fr
from fastrelu_bench import impl_fastrelu, peers_numpy
from fastrelu_bench.common import RunResult, check_agreement, evaluate_loss
from fastrelu_bench.implementations import availability, implementations_for
from fastrelu_bench.runner import run_benchmarks
from fastrelu_bench.s0 import S0, S0Result, check_s0_agreement, make_s0_problem
from fastrelu_bench.workloads import get_workload, make_problem

from _s0 import any_row_dead
from _torch import require_torch

#: A smaller grid for the per-net checks (every JAX cell is one compile of a few seconds).
SMALL = S0.replace(widths=(2, 3), depths=(3, 6), seeds_per_cell=40)


def _run(name: str, problem) -> S0Result:
    impl = next(i for i in implementations_for("S0") if i.name == name)
    if "torch" in impl.requires:
        require_torch()
    for module in impl.requires:
        pytest.importorskip(module)
    assert availability(impl) == (True, "")
    return impl.load()(problem)()


def _twin_dead(X: np.ndarray, weights: list[np.ndarray]) -> bool:
    """Plain NumPy, one net: some hidden layer with every pre-activation <= 0 on every row."""
    h = X.astype(np.float32)
    dead = False
    for W in weights:
        z = h @ W.T
        dead = dead or bool(np.all(z <= 0))
        h = np.maximum(z, 0)
    return dead


def _numpy_weights(problem):
    """Per cell, per net: the weights the NumPy peer draws (one generator, (S, out, in) per layer)."""
    w = problem.workload
    rng = np.random.default_rng(w.seed)
    for i, j, depth, width in problem.cells:
        fan_in, stack = 1, []
        for _ in range(depth):
            W = rng.standard_normal((w.seeds_per_cell, width, fan_in), dtype=np.float32)
            stack.append(W * np.float32(np.sqrt(2.0 / fan_in)))
            fan_in = width
        yield i, j, [[W[k] for W in stack] for k in range(w.seeds_per_cell)]


def _fastrelu_weights(problem):
    """Per cell, per net: the hidden weights of fr.MLP([1, width x depth, 1], init="he", seed=k)."""
    w = problem.workload
    for i, j, depth, width in problem.cells:
        nets = [fr.MLP([1] + [width] * depth + [1], init="he", seed=k, dtype="float32")
                for k in range(w.seeds_per_cell)]
        yield i, j, [[np.asarray(W) for W in net.weights[:-1]] for net in nets]


def _jax_weights(problem):
    """Per cell, per net: the weights the JAX peer draws (fold_in per cell, split per net, one
    normal draw per net cut into layers)."""
    jax = pytest.importorskip("jax")
    w = problem.workload
    root = jax.random.PRNGKey(w.seed)
    for c, (i, j, depth, width) in enumerate(problem.cells):
        keys = jax.random.split(jax.random.fold_in(root, c), w.seeds_per_cell)
        flat = np.asarray(jax.vmap(lambda k: jax.random.normal(k, (width + (depth - 1) * width * width,)))(keys))
        nets = []
        for row in flat:
            first = row[:width].reshape(width, 1) * np.float32(np.sqrt(2.0))
            rest = row[width:].reshape(depth - 1, width, width) * np.float32(np.sqrt(2.0 / width))
            nets.append([first, *rest])
        yield i, j, nets


def _torch_weights(problem):
    torch = require_torch()
    w = problem.workload
    gen = torch.Generator().manual_seed(w.seed)
    for i, j, depth, width in problem.cells:
        fan_in, stack = 1, []
        for _ in range(depth):
            W = torch.randn((w.seeds_per_cell, width, fan_in), generator=gen) * float(np.sqrt(2.0 / fan_in))
            stack.append(W.numpy())
            fan_in = width
        yield i, j, [[W[k] for W in stack] for k in range(w.seeds_per_cell)]


@pytest.fixture(scope="module")
def small():
    """The small problem and every available implementation's result on it (one run each)."""
    problem = make_s0_problem(SMALL)
    cache: dict = {}

    def get(name: str) -> S0Result:
        if name not in cache:
            cache[name] = _run(name, problem)
        return cache[name]

    return problem, get


@pytest.mark.parametrize("name, weights", [("fastrelu", _fastrelu_weights), ("numpy-batched", _numpy_weights),
                                           ("jax-vmap", _jax_weights), ("torch-batched", _torch_weights)])
def test_each_implementation_counts_what_a_per_net_loop_counts(small, name, weights):
    problem, get = small
    res = get(name)
    assert res.dead.shape == res.n.shape == (2, 2) and np.all(res.n == SMALL.seeds_per_cell)
    expected = np.zeros((2, 2), dtype=np.int64)
    for i, j, nets in weights(problem):
        expected[i, j] = sum(_twin_dead(problem.X, net) for net in nets)
    np.testing.assert_array_equal(res.dead, expected)   # rows = depths, columns = widths
    assert 0 < expected.sum() < 4 * SMALL.seeds_per_cell and len(set(expected.ravel())) > 1


def test_workload_is_the_issue_grid_on_abs1d():
    assert (S0.widths, S0.depths, S0.seeds_per_cell, S0.n_rows) == ((2, 3, 5), (4, 9, 19), 1000, 128)
    assert S0.units == S0.n_nets == 9000 and S0.metric == "nets/s"
    problem = make_s0_problem()
    X, _ = fr.data.abs1d()
    assert problem.X.dtype == np.float32 and np.array_equal(problem.X, X)
    assert [c[2:] for c in problem.cells][:4] == [(4, 2), (4, 3), (4, 5), (9, 2)]
    with pytest.raises(ValueError, match="seeds_per_cell"):
        S0.replace(seeds_per_cell=0)


def test_honest_implementations_pass_the_gate(small):
    problem, get = small
    names = [i.name for i in implementations_for("S0") if availability(i)[0]]
    agreements = check_s0_agreement(problem, {name: get(name) for name in names})
    assert agreements["fastrelu"].score == 0.0 and agreements["fastrelu"].reference == "fastrelu"
    for name, ag in agreements.items():
        assert ag.agrees, (name, ag.reason)
        assert 0.0 <= ag.score <= 1.0 and np.all((ag.p >= 0) & (ag.p <= 1))


def test_runner_does_not_time_a_peer_that_disagrees(monkeypatch):
    monkeypatch.setattr(peers_numpy, "_s0_dead", any_row_dead)   # dead on SOME row
    report = run_benchmarks("S0", implementations=["fastrelu", "numpy-batched"], repeat=1, seeds=100,
                            cold=False, ceiling_n=64)
    (w,) = report.workloads
    bad = w.get("numpy-batched")
    assert not report.ok and bad.status == "mismatch" and bad.times_s == [] and bad.median_s is None
    assert "differs from fastrelu's" in bad.reason and "Monte Carlo tolerance" in bad.reason
    assert bad.gate_score > 1 and w.get("fastrelu").status == "ok" and w.best_peer is None


def test_gate_checks_the_closed_form_bounds_and_shapes():
    problem = make_s0_problem(S0.replace(seeds_per_cell=50))
    n = np.full((3, 3), 50)
    lo, hi = fr.theory.born_dead_bounds([5] * 4)
    # Identical tables pass the two-sample test, but width 5, depth 4 all dead is far above the
    # upper bound (one input meets a dead layer with probability hi): both are rejected.
    dead = np.zeros((3, 3), dtype=np.int64)
    dead[:, 0] = 45
    dead[0, 2] = 50
    verdict = check_s0_agreement(problem, {"fastrelu": S0Result(dead, n), "peer": S0Result(dead.copy(), n)})
    for ag in verdict.values():
        assert not ag.agrees and ag.score == 0.0
        assert "width 5, depth 4 is outside the closed-form bounds" in ag.reason and f"{hi:.4f}" in ag.reason
    ok = dead.copy()
    ok[0, 2] = 1
    one_more = ok.copy()
    one_more[0, 2] = 2          # one net in 50 more: well within Monte Carlo error
    verdict = check_s0_agreement(problem, {"fastrelu": S0Result(ok, n), "peer": S0Result(one_more, n)})
    assert verdict["peer"].agrees and 0 < verdict["peer"].score < 1
    wrong_shape = check_s0_agreement(problem, {"fastrelu": S0Result(ok, n), "peer": S0Result(ok[:2], n[:2])})
    assert not wrong_shape["peer"].agrees and "shape" in wrong_shape["peer"].reason
    with pytest.raises(ValueError, match="reference"):
        check_s0_agreement(problem, {"fastrelu": S0Result(ok, n)}, reference="nope")


def test_runner_reports_nets_per_second_and_the_best_peer():
    report = run_benchmarks("S0", implementations=["fastrelu", "numpy-batched"], repeat=2, seeds=10,
                            cold=False, ceiling_n=64)
    assert report.ok and report.ceiling is None          # S0 runs no sgemm rounds
    (w,) = report.workloads
    assert (w.workload, w.metric, w.n_nets, w.flops_per_run, w.ceiling) == ("S0", "nets/s", 90, None, None)
    ours, peer = w.get("fastrelu"), w.get("numpy-batched")
    for res in (ours, peer):
        assert res.status == "ok" and len(res.times_s) == 2 and res.gflops is None
        assert res.throughput == pytest.approx(90 / res.median_s)
        assert len(res.p_dead_layer) == 3 and all(len(row) == 3 for row in res.p_dead_layer)
    assert w.best_peer == "numpy-batched" and peer.vs_best_peer is None
    assert ours.vs_best_peer == pytest.approx(peer.median_s / ours.median_s)
    assert peer.fastrelu_speedup == pytest.approx(peer.median_s / ours.median_s)
    bounds = [fr.theory.born_dead_bounds([n] * d) for d in (4, 9, 19) for n in (2, 3, 5)]
    assert np.allclose(np.ravel(w.grid["lower_bound"]), [b[0] for b in bounds])
    assert np.allclose(np.ravel(w.grid["upper_bound"]), [b[1] for b in bounds])


def test_w2_through_the_sweep_trains_the_ensembles_nets():
    problem = make_problem(get_workload("W2", n_nets=5, steps=25))
    ensemble = impl_fastrelu.prepare_ensemble(problem)()
    swept = impl_fastrelu.prepare_sweep(problem)()
    assert swept.params is None and swept.full_loss.shape == (5,)
    # The same nets: the sweep's full-data losses are the Ensemble's final parameters' losses.
    np.testing.assert_allclose(swept.full_loss, evaluate_loss(problem, ensemble.params), rtol=1e-6)
    assert len(set(np.round(swept.full_loss, 6))) == 5        # five different nets
    agreements = check_agreement(problem, {"fastrelu": ensemble, "fastrelu-sweep": swept})
    assert agreements["fastrelu-sweep"].agrees
    shifted = RunResult(swept.loss, None, full_loss=swept.full_loss * 1.01)
    assert not check_agreement(problem, {"fastrelu": ensemble, "off": shifted})["off"].agrees
    with pytest.raises(ValueError, match="full_loss"):
        check_agreement(problem, {"fastrelu": ensemble, "empty": RunResult(0.0, None)})
