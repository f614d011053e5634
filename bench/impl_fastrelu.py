"""fastrelu's own implementation of the workloads, through the public API only.

W1 and W3 use :class:`fastrelu.MLP` with the workload's initial weights copied in and
:func:`fastrelu.fit` with the workload's seed, so the batch sequence is the one every peer
replays (:func:`fastrelu.minibatches`). W2 trains all its networks with one
:meth:`fastrelu.Ensemble.fit` call, and again through :func:`fastrelu.sweep` (``fastrelu-sweep``).
S0 is one :func:`fastrelu.sweep` at initialization and its pivot.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from fastrelu_bench.common import RunResult
from fastrelu_bench.s0 import S0Problem, S0Result
from fastrelu_bench.workloads import Problem

__all__ = ["prepare_single", "prepare_ensemble", "prepare_sweep", "prepare_s0", "threads"]


def threads() -> int:
    """Threads numba's parallel kernels use."""
    import numba

    return int(numba.get_num_threads())


def prepare_single(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()`` training one ``fr.MLP`` with ``fr.fit`` and ``fr.SGD`` (W1, W3).

    The network is built once; each run copies the workload's initial weights into it (as
    the PyTorch peer copies them into its module) and trains it with a new ``fr.SGD``.
    ``fit`` draws the batch order from the seed inside the timed run.
    """
    import fastrelu as fr

    w = problem.workload
    if problem.ensemble:
        raise ValueError(f"workload: {w.name} is an ensemble workload; use prepare_ensemble")

    net = fr.MLP(w.sizes, seed=0, dtype="float32")   # built once, as the peers build theirs

    def run() -> RunResult:
        for i, (W, b) in enumerate(problem.params):   # every run starts from the same weights
            net.weights[i][...] = W
            net.biases[i][...] = b
        hist = fr.fit(net, problem.X, problem.y, optimizer=fr.SGD(w.lr), loss=w.loss,
                      batch_size=w.batch_size, steps=w.steps, shuffle=True, seed=w.seed)
        if hist.steps != w.steps:
            raise RuntimeError(
                f"fastrelu.fit ran {hist.steps} steps instead of {w.steps} "
                f"(diverged_at={hist.diverged_at})")
        params = [(np.array(W, dtype=np.float32), np.array(b, dtype=np.float32))
                  for W, b in zip(net.weights, net.biases)]
        return RunResult(float(hist.loss[-1]), params)

    return run


def prepare_ensemble(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()`` training all W2 networks with one ``fr.Ensemble.fit`` call.

    Member ``k`` starts from ``problem.params`` row ``k``, uses ``fr.SGD(problem.lrs[k])``
    and the batches of ``fr.minibatches(..., seed=problem.seeds[k])`` (``batch_seeds``).
    The ensemble is built once; each run resets its stacked parameter buffer to the
    initial values (as the peers clone theirs).
    """
    import fastrelu as fr

    w = problem.workload
    if not problem.ensemble:
        raise ValueError(f"workload: {w.name} is a single-network workload; use prepare_single")
    seeds = [int(s) for s in problem.seeds]
    ens = fr.Ensemble(w.sizes, seeds=seeds, dtype="float32")
    for k, member in enumerate(ens.members):
        for i, (W, b) in enumerate(problem.params):
            member.weights[i][...] = W[k]
            member.biases[i][...] = b[k]
    start = ens.params.copy()
    optimizers = [fr.SGD(float(lr)) for lr in problem.lrs]

    def run() -> RunResult:
        ens.params[...] = start
        hist = ens.fit(problem.X, problem.y, optimizer=optimizers, loss=w.loss,
                       batch_size=w.batch_size, steps=w.steps, shuffle=True, batch_seeds=seeds)
        n_layers = len(problem.params)
        params = [(np.stack([np.array(m.weights[i], dtype=np.float32) for m in ens.members]),
                   np.stack([np.array(m.biases[i], dtype=np.float32) for m in ens.members]))
                  for i in range(n_layers)]
        return RunResult(np.asarray(hist.final_loss, dtype=np.float32), params)

    return run


def _sweep_arch(problem: Problem) -> dict:
    """The grid keys of W2's architecture (every hidden layer of one width)."""
    w = problem.workload
    hidden = w.sizes[1:-1]
    if not hidden or len(set(hidden)) != 1 or w.sizes[0] != problem.X.shape[1]:
        raise ValueError(f"sizes: fr.sweep builds nets of equal hidden widths on the data's "
                         f"inputs, got {w.sizes!r}")
    return {"width": [hidden[0]], "depth": [len(hidden)], "init": [w.init]}


def prepare_sweep(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()`` training the W2 networks through one :func:`fastrelu.sweep`.

    W2's network ``k`` has its own learning rate ``lrs[k]`` *and* its own seed ``seeds[k]``
    (weights and batch order), so ``lr`` and ``seed`` are zipped keys: the grid lists the
    pairs, ``{("lr", "seed"): [(lrs[0], seeds[0]), ...]}``, not their product, and the sweep
    trains all of them as one ensemble (``chunk_size`` = the number of nets: one chunk, one
    ``Ensemble.fit``), each net measured (final loss) on all rows. The nets are W2's exactly:
    its initial weights are the ones ``fr.MLP(sizes, init, seed=seeds[k])`` draws
    (:func:`~fastrelu_bench.workloads.make_problem`). ``fr.sweep`` returns rows, not
    parameters, so the gate uses each row's ``final_loss`` (full data), in the order of W2's
    nets (the grid keeps the listed order of zipped pairs).
    """
    import fastrelu as fr

    w = problem.workload
    if not problem.ensemble:
        raise ValueError(f"workload: {w.name} is a single-network workload; use prepare_single")
    grid = {**_sweep_arch(problem),
            ("lr", "seed"): [(float(lr), int(seed)) for lr, seed in zip(problem.lrs, problem.seeds)]}
    data = (problem.X, problem.y)

    def run() -> RunResult:
        res = fr.sweep(grid, data=data, steps=w.steps, batch_size=w.batch_size, optimizer="sgd",
                       loss=w.loss, chunk_size=w.n_nets)
        value = res.column("final_loss")                  # NaN for a non-finite net
        losses = np.where(np.isfinite(value), value, np.inf)
        return RunResult(losses, None, full_loss=losses)

    return run


def prepare_s0(problem: S0Problem) -> Callable[[], S0Result]:
    """Return ``run()``: one :func:`fastrelu.sweep` over the S0 grid at initialization.

    ``fr.sweep({"width": widths, "depth": depths, "seed": range(S)}, data="abs1d", steps=0)``
    (He-normal init and zero biases are the sweep's defaults) and P(dead layer) from
    ``res.pivot("depth", "width", "dead_layer")``, both inside the timed run.
    """
    import fastrelu as fr

    w = problem.workload
    X, _ = fr.data.abs1d()
    if not np.array_equal(np.asarray(X, dtype=np.float32), problem.X):
        raise ValueError(f"n_rows: fr.sweep(data='abs1d') uses abs1d's {len(X)} rows, "
                         f"the problem has {len(problem.X)}")
    grid = {"width": list(w.widths), "depth": list(w.depths), "seed": range(w.seeds_per_cell)}

    def run() -> S0Result:
        res = fr.sweep(grid, data="abs1d", steps=0)
        table = res.pivot("depth", "width", "dead_layer")
        if list(table.row_labels) != list(w.depths) or list(table.col_labels) != list(w.widths):
            raise RuntimeError(f"pivot labels {table.row_labels}, {table.col_labels} are not "
                               f"depths {w.depths}, widths {w.widths}")
        n = np.asarray(table.counts, dtype=np.int64)
        dead = np.rint(np.asarray(table.values, dtype=np.float64) * n).astype(np.int64)
        return S0Result(dead, n)

    return run
