"""What every benchmark implementation returns, and the correctness gate that compares them.

An *implementation* of a workload is a ``prepare(problem) -> run`` function: ``prepare``
does the one-off work (converting arrays, building modules, tracing), and ``run()`` trains
from a fresh copy of the initial weights and returns a :class:`RunResult`. Only ``run`` is
timed, after at least one warm-up call (JIT compilation lands there).

Before any timing, :func:`check_agreement` evaluates every implementation's final parameters
on the full training set (float64, one shared NumPy evaluator) and compares the losses to a
reference implementation: a benchmark that compares different work is worthless. An
implementation that cannot hand back its parameters (``fr.sweep`` returns rows) reports its
own full-data final losses instead (:attr:`RunResult.full_loss`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from fastrelu_bench.workloads import Problem

__all__ = ["RunResult", "Prepare", "evaluate_loss", "full_data_loss", "pick_reference", "Agreement",
           "check_agreement", "LOSS_RTOL", "LOSS_ATOL", "thread_limit"]

#: Float32 tolerance of the gate on the full-data loss after training (relative, absolute).
LOSS_RTOL = 2e-3
LOSS_ATOL = 1e-5


@dataclass
class RunResult:
    """Outcome of one complete training run.

    Attributes
    ----------
    loss : float or ndarray
        The implementation's own minibatch loss at its last step (before that step's
        update, as ``fastrelu.fit`` records it); one value per network for ensembles.
    params : list of (W, b) or None
        Final parameters as float32 NumPy arrays in torch ``Linear`` layout, stacked over
        networks for ensembles; None if the implementation does not expose them.
    full_loss : ndarray, optional
        Only with ``params=None``: the implementation's own full-data loss of its final
        networks, one per network (``inf`` for a diverged one), which the gate then uses.
    """

    loss: float | np.ndarray
    params: list[tuple[np.ndarray, np.ndarray]] | None
    full_loss: np.ndarray | None = None


Prepare = Callable[[Problem], Callable[[], RunResult]]


def _forward64(params: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> np.ndarray:
    h = X.astype(np.float64)
    for i, (W, b) in enumerate(params):
        h = h @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h


def evaluate_loss(problem: Problem, params: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Full-data training loss of final ``params`` in float64, shape ``(n_nets,)``.

    Non-finite parameters give ``inf`` (a diverged network).
    """
    X, y, loss = problem.X, problem.y, problem.workload.loss
    n_nets = problem.workload.n_nets
    out = np.empty(n_nets)
    for k in range(n_nets):
        p = params if n_nets == 1 else [(W[k], b[k]) for W, b in params]
        with np.errstate(all="ignore"):
            z = _forward64(p, X)
            if loss == "mse":
                value = np.mean((z - y.reshape(z.shape)) ** 2)
            else:
                z = z - z.max(axis=1, keepdims=True)
                lse = np.log(np.exp(z).sum(axis=1))
                value = np.mean(lse - z[np.arange(len(y)), y])
        out[k] = value if np.isfinite(value) else np.inf
    return out


def full_data_loss(problem: Problem, result: RunResult) -> np.ndarray:
    """What the gate compares: :func:`evaluate_loss` of ``result.params``, or the
    implementation's own ``full_loss`` when it has no parameters to give."""
    if result.params is not None:
        return evaluate_loss(problem, result.params)
    if result.full_loss is None:
        raise ValueError("result: has neither params nor full_loss; the gate needs one of them")
    loss = np.asarray(result.full_loss, dtype=np.float64).reshape(-1)
    if loss.shape != (problem.workload.n_nets,):
        raise ValueError(f"result: full_loss of shape {loss.shape}, expected ({problem.workload.n_nets},)")
    return np.where(np.isfinite(loss), loss, np.inf)


def pick_reference(results: dict, reference: str | None = None) -> str:
    """The gate's reference among ``results``: ``reference``, else ``"fastrelu"`` if present,
    else the first name. Raises ValueError for no results or an unknown name."""
    if not results:
        raise ValueError("results: need at least one implementation's result, got none")
    if reference is None:
        reference = "fastrelu" if "fastrelu" in results else next(iter(results))
    if reference not in results:
        raise ValueError(f"reference: got {reference!r}, accepted: {', '.join(results)}")
    return reference


@dataclass
class Agreement:
    """Result of the correctness gate for one implementation against the reference.

    Attributes
    ----------
    implementation, reference : str
    final_loss : ndarray
        Full-data float64 loss of this implementation's final parameters, one per network.
    reference_loss : ndarray
    max_rel_diff : float
        Largest ``|loss - reference| / |reference|`` over networks.
    agrees : bool
        True if every network is within ``LOSS_RTOL``/``LOSS_ATOL`` of the reference.
    """

    implementation: str
    reference: str
    final_loss: np.ndarray
    reference_loss: np.ndarray
    max_rel_diff: float
    agrees: bool


def check_agreement(problem: Problem, results: dict[str, RunResult],
                    reference: str | None = None, rtol: float = LOSS_RTOL,
                    atol: float = LOSS_ATOL) -> dict[str, Agreement]:
    """Compare every implementation's final full-data loss to ``reference``'s.

    Parameters
    ----------
    problem : Problem
        The workload instance all results were trained on.
    results : dict of str to RunResult
        One result per implementation name.
    reference : str, optional
        Name of the reference; default ``"fastrelu"`` if present, else the first name.

    Returns
    -------
    dict of str to Agreement
    """
    reference = pick_reference(results, reference)
    ref = full_data_loss(problem, results[reference])
    out = {}
    for name, res in results.items():
        loss = full_data_loss(problem, res)
        both_inf = np.isinf(loss) & np.isinf(ref)
        with np.errstate(all="ignore"):
            diff = np.where(both_inf, 0.0, np.abs(loss - ref))
            rel = np.where(both_inf, 0.0, diff / np.maximum(np.abs(ref), 1e-30))
        ok = bool(np.all(both_inf | (diff <= atol + rtol * np.abs(ref))))
        max_rel = float(np.nanmax(rel)) if rel.size else 0.0
        out[name] = Agreement(name, reference, loss, ref, max_rel, ok)
    return out


class thread_limit:
    """Context setting torch's and numba's thread counts (when loaded) for one run.

    NumPy's BLAS and XLA fix their pools at start-up: limit them with
    ``OPENBLAS_NUM_THREADS`` / ``XLA_FLAGS`` in the environment instead.
    """

    def __init__(self, n: int | None):
        self.n = n
        self.saved: dict[str, int] = {}

    def __enter__(self) -> "thread_limit":
        if self.n is None:
            return self
        import sys

        if "torch" in sys.modules:
            torch = sys.modules["torch"]
            self.saved["torch"] = torch.get_num_threads()
            torch.set_num_threads(self.n)
        import numba  # a core dependency: fastrelu's kernels run on its threads

        self.saved["numba"] = numba.get_num_threads()
        numba.set_num_threads(min(self.n, numba.config.NUMBA_NUM_THREADS))
        return self

    def __exit__(self, *exc: object) -> None:
        import sys

        if "torch" in self.saved:
            sys.modules["torch"].set_num_threads(self.saved["torch"])
        if "numba" in self.saved:
            sys.modules["numba"].set_num_threads(self.saved["numba"])
