"""fastrelu's own implementation of the workloads, through the public API only.

W1 and W3 use :class:`fastrelu.MLP` with the workload's initial weights copied in and
:func:`fastrelu.fit` with the workload's seed, so the batch sequence is the one every peer
replays (:func:`fastrelu.minibatches`). W2 trains all its networks with one
:meth:`fastrelu.Ensemble.fit` call.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from fastrelu_bench.common import RunResult
from fastrelu_bench.workloads import Problem

__all__ = ["prepare_single", "prepare_ensemble", "threads"]


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
