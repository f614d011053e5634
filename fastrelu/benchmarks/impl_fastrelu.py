"""fastrelu's own implementation of the workloads, through the public API only.

W1 and W3 use :class:`fastrelu.MLP` with the workload's initial weights copied in and
:func:`fastrelu.fit` with the workload's seed, so the batch sequence is the one every peer
replays (:func:`fastrelu.minibatches`). W2 needs the ensemble engine (``fr.Ensemble``,
issue 5): :func:`prepare_ensemble` is the marked place for it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from fastrelu.benchmarks.common import RunResult
from fastrelu.benchmarks.workloads import Problem

__all__ = ["prepare_single", "prepare_ensemble", "ensemble_available", "threads"]

#: Why the W2 fastrelu implementation is missing; used as the skip reason everywhere.
ENSEMBLE_MISSING = "needs fr.Ensemble (issue 5)"


def threads() -> int:
    """Threads numba's parallel kernels use."""
    import numba

    return int(numba.get_num_threads())


def prepare_single(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()`` training one ``fr.MLP`` with ``fr.fit`` and ``fr.SGD`` (W1, W3)."""
    import fastrelu as fr

    w = problem.workload
    if problem.ensemble:
        raise ValueError(f"workload: {w.name} is an ensemble workload; use prepare_ensemble")

    def run() -> RunResult:
        net = fr.MLP(w.sizes, seed=0, dtype="float32")
        for i, (W, b) in enumerate(problem.params):
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


def ensemble_available() -> bool:
    """True once ``fr.Ensemble`` exists (issue 5)."""
    import fastrelu as fr

    try:
        fr.Ensemble  # noqa: B018 - lazy attribute, import happens here
    except (AttributeError, ImportError):
        return False
    return True


def prepare_ensemble(problem: Problem) -> Callable[[], RunResult]:
    """W2 with ``fr.Ensemble``: NOT IMPLEMENTED until issue 5 lands.

    To fill in (issue 5): build an ensemble of ``problem.workload.n_nets`` networks of
    ``problem.workload.sizes``, copy ``problem.params`` (stacked ``W (K, out, in)``,
    ``b (K, out)``) into it, give member ``k`` learning rate ``problem.lrs[k]`` and batch
    seed ``problem.seeds[k]`` (its batches are ``problem.batches[k]``, i.e.
    ``fr.minibatches(n_rows, batch_size, steps=steps, seed=seeds[k])``), train
    ``steps`` SGD steps on MSE, and return ``RunResult(last-step losses (K,), stacked params)``.
    """
    raise NotImplementedError(ENSEMBLE_MISSING)
