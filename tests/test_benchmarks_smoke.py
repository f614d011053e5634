"""Benchmark machinery without timing: workloads, the correctness gate, runner, ceiling.

The gate test is the point: every installed implementation (fastrelu, NumPy, PyTorch, JAX)
trains the same reduced-size W1/W3 (and W2 peers) from the same start on the same batches
and must reach the same final loss to float32 tolerance.
"""
from __future__ import annotations

import pkgutil
import statistics
import subprocess
import sys

import numpy as np
import pytest

import fastrelu as fr
from fastrelu_bench import ceiling as ceiling_mod
from fastrelu_bench.common import RunResult, check_agreement, evaluate_loss, thread_limit
from fastrelu_bench.implementations import availability, implementations_for
from fastrelu_bench.runner import resolve_workloads, run_benchmarks
from fastrelu_bench.workloads import Problem, flops_per_step, get_workload, make_problem

from _torch import require_torch

SMALL = {
    "W1": dict(steps=150),
    "W3": dict(sizes=(784, 96, 96, 10), n_rows=512, batch_size=64, steps=12),
    "W2": dict(n_nets=6, steps=25),
}


def _prepare(workload: str, name: str):
    impl = next(i for i in implementations_for(workload) if i.name == name)
    if "torch" in impl.requires:
        require_torch()
    for module in impl.requires:
        pytest.importorskip(module)
    ok, reason = availability(impl)
    if not ok:
        pytest.skip(reason)
    return impl.load()


def test_workloads_match_issue_definitions():
    w1, w2, w3 = (get_workload(n) for n in ("W1", "W2", "W3"))
    assert (w1.sizes, w1.loss, w1.n_rows, w1.batch_size, w1.lr, w1.steps) == ((10, 64, 64, 1), "mse", 4096, 32, 0.01, 2000)
    assert (w2.sizes, w2.n_nets, w2.n_rows, w2.batch_size, w2.steps) == ((10, 32, 32, 32, 1), 512, 2048, 64, 200)
    lrs = w2.learning_rates
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-1)
    assert np.allclose(np.diff(np.log(lrs.astype(np.float64))), np.log(100) / 511, rtol=1e-4)
    assert (w3.sizes, w3.loss, w3.batch_size, w3.steps) == ((784, 1024, 1024, 10), "cross_entropy", 256, 50)


def test_flop_count_equals_sum_of_matmuls():
    # Count each product of a training step: forward, weight gradient, input gradient (not layer 0).
    for name in ("W1", "W2", "W3"):
        w = get_workload(name)
        count = 0
        for i, (fan_in, fan_out) in enumerate(zip(w.sizes[:-1], w.sizes[1:])):
            products = 3 if i > 0 else 2
            count += products * 2 * w.batch_size * fan_in * fan_out
        assert flops_per_step(w) == count
    assert flops_per_step(get_workload("W3")) == 2 * 256 * (3 * (784 * 1024 + 1024 * 1024 + 1024 * 10) - 784 * 1024)


def test_problem_is_deterministic_and_uses_fit_batches():
    w = get_workload("W1", steps=300)
    a, b = make_problem(w), make_problem(w)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y) and np.array_equal(a.batches, b.batches)
    assert all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1]) for p, q in zip(a.params, b.params))
    assert a.X.dtype == np.float32 and a.y.dtype == np.float32 and a.params[0][0].shape == (64, 10)
    expected = np.asarray(list(fr.minibatches(w.n_rows, w.batch_size, steps=w.steps, seed=w.seed)))
    assert np.array_equal(a.batches, expected)
    per_epoch = w.n_rows // w.batch_size
    assert np.array_equal(np.sort(a.batches[:per_epoch].ravel()), np.arange(w.n_rows))


@pytest.mark.parametrize("workload", ["W1", "W3"])
@pytest.mark.parametrize("name", ["numpy", "torch", "jax"])
def test_gate_peer_matches_fastrelu(workload, name):
    problem = make_problem(get_workload(workload, **SMALL[workload]))
    peer_run = _prepare(workload, name)(problem)  # imports the peer before limiting its threads
    ours_run = _prepare(workload, "fastrelu")(problem)
    with thread_limit(1):  # torch's 2-thread mode crawls on a shared 2-core machine
        peer, ours = peer_run(), ours_run()
    agreement = check_agreement(problem, {"fastrelu": ours, name: peer})
    initial = evaluate_loss(problem, problem.params)
    assert agreement[name].reference == "fastrelu"
    assert agreement[name].agrees, agreement[name]
    assert agreement[name].final_loss[0] < 0.98 * initial[0]  # training did real work
    # Each implementation's own last-step minibatch loss is the same number too.
    assert peer.loss == pytest.approx(ours.loss, rel=2e-3)


@pytest.mark.parametrize("name", ["torch-baddbmm", "torch-func", "jax-vmap"])
def test_gate_ensemble_peers_match_numpy(name):
    problem = make_problem(get_workload("W2", **SMALL["W2"]))
    ref = _prepare("W2", "numpy-batched")(problem)()
    peer_run = _prepare("W2", name)(problem)
    with thread_limit(1):
        peer = peer_run()
    assert peer.params[0][0].shape == (6, 32, 10)
    agreement = check_agreement(problem, {"numpy-batched": ref, name: peer})
    assert agreement[name].agrees, agreement[name]
    np.testing.assert_allclose(peer.loss, ref.loss, rtol=2e-3)


def test_ensemble_member_equals_single_network_run():
    # Member k of the stacked NumPy run is the single-net run with its seed, lr and batches.
    w = get_workload("W2", **SMALL["W2"])
    problem = make_problem(w)
    stacked = _prepare("W2", "numpy-batched")(problem)()
    k = 4
    seed_k = int(problem.seeds[k])
    assert np.array_equal(problem.batches[k],
                          np.asarray(list(fr.minibatches(w.n_rows, w.batch_size, steps=w.steps, seed=seed_k))))
    # W2's initial weights are the ones fr.MLP draws for the member's seed (so fr.sweep, which
    # takes seeds, trains W2's nets).
    net = fr.MLP(w.sizes, init=w.init, seed=seed_k, dtype="float32")
    own = [(np.array(W), np.array(b)) for W, b in zip(net.weights, net.biases)]
    for (W, b), (Ws, bs) in zip(own, problem.params):
        assert np.array_equal(W, Ws[k]) and np.array_equal(b, bs[k])
    single = Problem(w.replace(n_nets=1, lr=float(problem.lrs[k]), lr_max=None), problem.X, problem.y,
                     own, problem.batches[k], problem.lrs[k:k + 1], problem.seeds[k:k + 1])
    alone = _prepare("W1", "numpy")(single)()
    for (W1_, b1), (Wk, bk) in zip(alone.params, stacked.params):
        np.testing.assert_allclose(W1_, Wk[k], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b1, bk[k], rtol=1e-4, atol=1e-6)


def test_fastrelu_ensemble_matches_numpy_and_restarts_each_run():
    impl = implementations_for("W2")[0]
    assert impl.name == "fastrelu" and availability(impl) == (True, "")
    problem = make_problem(get_workload("W2", **SMALL["W2"]))
    run = impl.load()(problem)
    ours, again = run(), run()  # each run restarts from the initial weights
    ref = _prepare("W2", "numpy-batched")(problem)()
    agreement = check_agreement(problem, {"fastrelu": ours, "numpy-batched": ref})
    assert agreement["numpy-batched"].agrees, agreement["numpy-batched"]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(ours.params, again.params))
    np.testing.assert_allclose(ours.loss, ref.loss, rtol=2e-3)


def test_gate_flags_different_work():
    w = get_workload("W1", steps=100)
    problem = make_problem(w)
    other = make_problem(w.replace(lr=0.03))
    prepare = _prepare("W1", "numpy")
    results = {"numpy": prepare(problem)(), "numpy-lr0.03": prepare(other)()}
    agreement = check_agreement(problem, results)
    assert agreement["numpy"].agrees and agreement["numpy"].max_rel_diff == 0.0
    assert not agreement["numpy-lr0.03"].agrees
    diverged = RunResult(float("nan"), [(np.full_like(W, np.nan), b) for W, b in problem.params])
    assert not check_agreement(problem, {"numpy": results["numpy"], "bad": diverged})["bad"].agrees


def test_runner_medians_and_ratios_are_consistent():
    events = []
    report = run_benchmarks("W1", implementations=["fastrelu", "numpy"], repeat=3, steps=30,
                            ceiling_n=128, cold=False, progress=lambda d, t, s: events.append((d, t, s)))
    assert report.ok
    (w,) = report.workloads
    fr_res, np_res = w.get("fastrelu"), w.get("numpy")
    flops = flops_per_step(get_workload("W1")) * 30
    assert w.flops_per_run == flops and w.reference == "fastrelu"
    for res in (fr_res, np_res):
        assert res.status == "ok" and len(res.times_s) == 3
        assert res.median_s == statistics.median(res.times_s)
        assert res.throughput == pytest.approx(30 / res.median_s)
        assert res.gflops == pytest.approx(flops / res.median_s / 1e9)
        assert res.ceiling_share == pytest.approx(res.gflops / w.ceiling["gflops"])
    assert len(w.ceiling["times_s"]) == 3 and w.ceiling["n"] == 128  # one sgemm per round
    assert report.ceiling["times_s"] == w.ceiling["times_s"]
    assert fr_res.fastrelu_speedup == 1.0
    assert np_res.fastrelu_speedup == pytest.approx(np_res.median_s / fr_res.median_s)
    assert events[-1][0] == events[-1][1]  # progress reaches its total
    assert [d for d, _, _ in events] == sorted(d for d, _, _ in events)
    assert report.to_dict()["workloads"][0]["implementations"][1]["name"] == "numpy"


def test_runner_pauses_before_every_timed_run(monkeypatch):
    """A pause before each sgemm and each timed run (thread pools of the previous
    implementation go idle); recorded in the report; a negative pause is refused."""
    import fastrelu_bench.runner as runner

    pauses = []
    monkeypatch.setattr(runner.time, "sleep", lambda s: pauses.append(s))
    report = run_benchmarks("W1", implementations=["fastrelu", "numpy"], repeat=2, steps=5,
                            ceiling_n=64, cold=False, settle=0.05)
    assert pauses == [0.05] * (2 * 3)   # per round: the sgemm, then the two implementations
    assert report.settle_s == 0.05 and report.to_dict()["settle_s"] == 0.05
    with pytest.raises(ValueError, match="settle"):
        run_benchmarks("W1", repeat=1, steps=1, ceiling=False, cold=False, settle=-1)


def test_runner_rejects_bad_names():
    assert resolve_workloads("all") == ["W1", "W2", "W3", "S0"]
    assert resolve_workloads(["w3", "W1", "w3", "s0"]) == ["W3", "W1", "S0"]
    with pytest.raises(ValueError, match="W1, W2, W3, S0, all"):
        resolve_workloads("W4")
    with pytest.raises(ValueError, match="numpy"):
        run_benchmarks("W1", implementations=["nunpy"], repeat=1, steps=1, ceiling=False, cold=False)
    with pytest.raises(ValueError, match="repeat"):
        run_benchmarks("W1", repeat=0, ceiling=False, cold=False)


def test_sgemm_reports_median_rate():
    probe = ceiling_mod.Sgemm(96)
    np.testing.assert_allclose(probe.c, probe.a.astype(np.float64) @ probe.b, rtol=1e-4)  # it computes the product
    doc = probe.summary([probe.run() for _ in range(3)])
    assert doc["n"] == 96 and len(doc["times_s"]) == 3
    assert doc["gflops"] == pytest.approx(2 * 96 ** 3 / statistics.median(doc["times_s"]) / 1e9)
    assert doc["best_gflops"] >= doc["gflops"]


def test_cold_start_times_a_fresh_process_and_reports_failure():
    doc = ceiling_mod.cold_start([sys.executable, "-c", "import os; e = os.environ; assert e['NUMBA_CACHE_DIR'] == e['FASTRELU_CACHE_DIR']"])
    assert doc["ok"] and doc["cold_s"] > 0 and doc["warm_s"] > 0
    bad = ceiling_mod.cold_start([sys.executable, "-c", "raise SystemExit(3)"])
    assert not bad["ok"] and "exited 3" in bad["error"] and bad["warm_s"] is None


def test_machine_info_names_the_blas_kernels():
    from fastrelu_bench.runner import machine_info

    info = machine_info()
    assert info["cpu_count"] >= 1 and info["numpy"] == np.__version__
    # numpy's bundled OpenBLAS reports the kernel family it picked (e.g. "Haswell", "SkylakeX").
    if info["openblas_core"]:
        assert all(isinstance(v, str) and v for v in info["openblas_core"].values())


def test_the_library_imports_neither_the_benchmarks_nor_the_peers():
    # Every module of fastrelu, imported in a fresh process: no PyTorch, JAX, benchmarks or CLI.
    code = ("import importlib, pkgutil, sys, fastrelu\n"
            "names = [m.name for m in pkgutil.walk_packages(fastrelu.__path__, 'fastrelu.')]\n"
            "for name in names:\n"
            "    importlib.import_module(name)\n"
            "print(len(names), sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'jax', 'fastrelu_bench', 'fastrelu_cli', 'bench'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    n_modules, leaked = out.split(" ", 1)
    assert int(n_modules) > 20 and leaked.strip() == "[]"
    assert not any(m.name == "benchmarks" for m in pkgutil.iter_modules(fr.__path__))
