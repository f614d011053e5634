"""Training workloads W1, W2, W3: data, initial weights and batch sequences (float32).

Every implementation of a workload (fastrelu and each peer) starts from the same arrays
returned by :func:`make_problem`: the same data, the same initial weights (torch ``Linear``
layout, ``W.shape == (out, in)``) and the same sequence of minibatch row indices, which is
produced by :func:`fastrelu.minibatches` so that it is exactly what :func:`fastrelu.fit`
uses with the same seed. For the same reason the initial weights of an ensemble workload (W2)
are the ones ``fastrelu.MLP(sizes, init=w.init, seed=seed_k)`` draws, so that
:func:`fastrelu.sweep`, which takes a seed rather than weights, trains exactly W2's nets.

The born-dead workload S0 (no training) is defined in :mod:`fastrelu_bench.s0`.

The workloads are defined in issue 3:

- **W1** tiny net: MLP 10-64-64-1, ReLU, MSE, 4096 regression rows, batch 32, SGD lr 0.01,
  2000 steps. Metric: steps/s.
- **W2** sweep: 512 independent nets 10-32-32-32-1, each with its own seed (initial weights
  and batch order) and learning rate (log-spaced 1e-3..1e-1), same data (2048 rows),
  batch 64, 200 SGD steps each. Metric: net-steps/s.
- **W3** wide net: MLP 784-1024-1024-10, softmax cross-entropy, batch 256, 50 SGD steps.
  Metrics: samples/s and GFLOP/s with the exact count ``2*B*(3*sum(weights) - 784*1024)``
  per step.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Workload", "Problem", "WORKLOADS", "get_workload", "make_problem",
    "initial_params", "ensemble_initial_params", "flops_per_step",
]


@dataclass(frozen=True)
class Workload:
    """Definition of one benchmark workload.

    Parameters
    ----------
    name : str
        ``"W1"``, ``"W2"`` or ``"W3"``.
    sizes : tuple of int
        Layer sizes, input first.
    loss : {"mse", "cross_entropy"}
        Training loss (torch ``MSELoss`` / ``CrossEntropyLoss`` means).
    n_rows : int
        Rows of training data.
    batch_size : int
        Minibatch size; must divide ``n_rows`` so every batch has the same size.
    steps : int
        SGD steps per network.
    lr : float
        Learning rate (single-net workloads); for ensembles, the lower end of the range.
    lr_max : float or None
        Ensembles only: upper end of the log-spaced learning-rate range.
    n_nets : int
        Number of independent networks (1 for single-net workloads).
    seed : int
        Seed of the data, of the initial weights and of the batch order (for network ``k``
        of an ensemble, ``seed + k`` is its weight and batch-order seed).
    metric : str
        What the throughput counts: ``"steps/s"``, ``"net-steps/s"`` or ``"samples/s"``.
    init : {"he_uniform", "torch_default"}
        Scheme of the initial weights (see :func:`initial_params`; ensembles:
        :func:`ensemble_initial_params`).
    """

    name: str
    sizes: tuple[int, ...]
    loss: str
    n_rows: int
    batch_size: int
    steps: int
    lr: float
    lr_max: float | None = None
    n_nets: int = 1
    seed: int = 0
    metric: str = "steps/s"
    init: str = "he_uniform"

    def replace(self, **changes: Any) -> "Workload":
        """Return a copy with some fields changed (used for reduced-size test runs)."""
        out = dataclasses.replace(self, **changes)
        _check(out)
        return out

    @property
    def units(self) -> int:
        """Units of :attr:`metric` done by one complete run."""
        if self.metric == "net-steps/s":
            return self.n_nets * self.steps
        if self.metric == "samples/s":
            return self.steps * self.batch_size
        return self.steps

    @property
    def learning_rates(self) -> np.ndarray:
        """Per-network learning rates, float32 array of shape ``(n_nets,)``."""
        if self.lr_max is None:
            return np.full(self.n_nets, self.lr, dtype=np.float32)
        return np.logspace(np.log10(self.lr), np.log10(self.lr_max), self.n_nets).astype(np.float32)


WORKLOADS: dict[str, Workload] = {
    "W1": Workload("W1", (10, 64, 64, 1), "mse", n_rows=4096, batch_size=32, steps=2000,
                   lr=0.01, seed=1, metric="steps/s"),
    "W2": Workload("W2", (10, 32, 32, 32, 1), "mse", n_rows=2048, batch_size=64, steps=200,
                   lr=1e-3, lr_max=1e-1, n_nets=512, seed=2, metric="net-steps/s",
                   init="torch_default"),
    "W3": Workload("W3", (784, 1024, 1024, 10), "cross_entropy", n_rows=4096, batch_size=256,
                   steps=50, lr=0.01, seed=3, metric="samples/s"),
}


def _check(w: Workload) -> None:
    if w.name not in WORKLOADS:
        raise ValueError(f"workload name: got {w.name!r}, accepted: {', '.join(WORKLOADS)}")
    if len(w.sizes) < 2 or any(int(s) < 1 for s in w.sizes):
        raise ValueError(f"sizes: need at least two positive sizes, got {w.sizes!r}")
    for field in ("n_rows", "batch_size", "steps", "n_nets"):
        if int(getattr(w, field)) < 1:
            raise ValueError(f"{field}: must be a positive integer, got {getattr(w, field)!r}")
    if w.n_rows % w.batch_size:
        raise ValueError(
            f"batch_size: must divide n_rows so all batches have one size "
            f"(got batch_size={w.batch_size}, n_rows={w.n_rows})")
    if w.init not in ("he_uniform", "torch_default"):
        raise ValueError(f"init: got {w.init!r}, accepted: 'he_uniform', 'torch_default'")
    if w.loss not in ("mse", "cross_entropy"):
        raise ValueError(f"loss: got {w.loss!r}, accepted: 'mse', 'cross_entropy'")


def get_workload(name: str, **overrides: Any) -> Workload:
    """Return workload ``name`` (case-insensitive), optionally with fields overridden.

    Raises
    ------
    ValueError
        If ``name`` is not one of ``W1``, ``W2``, ``W3``.
    """
    key = str(name).upper()
    if key not in WORKLOADS:
        raise ValueError(f"workload: got {name!r}, accepted: {', '.join(WORKLOADS)}")
    w = WORKLOADS[key]
    return w.replace(**overrides) if overrides else w


def flops_per_step(w: Workload) -> int:
    """Exact FLOPs of one training step of one network: ``2*B*(3*sum(weights) - in*hidden1)``.

    Forward, input-gradient and weight-gradient products each cost ``2*B*weights``; the
    first layer needs no input gradient.
    """
    n_weights = sum(a * b for a, b in zip(w.sizes[:-1], w.sizes[1:]))
    return 2 * w.batch_size * (3 * n_weights - w.sizes[0] * w.sizes[1])


def initial_params(sizes: tuple[int, ...], seed: int,
                   init: str = "he_uniform") -> list[tuple[np.ndarray, np.ndarray]]:
    """Deterministic float32 initial weights, ``[(W, b), ...]`` with ``W.shape == (out, in)``.

    Biases are ``U(-1/sqrt(fan_in), +1/sqrt(fan_in))`` as torch's ``Linear`` default;
    weights are He-uniform (``U(-sqrt(6/fan_in), +sqrt(6/fan_in))``) for
    ``init="he_uniform"`` or torch's default ``U(-1/sqrt(fan_in), +1/sqrt(fan_in))`` for
    ``init="torch_default"`` (smaller, so that every W2 network stays finite at lr 0.1).
    """
    rng = np.random.default_rng([seed, 7919])
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w_bound = np.sqrt(6.0 / fan_in) if init == "he_uniform" else 1.0 / np.sqrt(fan_in)
        b_bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-w_bound, w_bound, size=(fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-b_bound, b_bound, size=fan_out).astype(np.float32)
        params.append((W, b))
    return params


def ensemble_initial_params(sizes: tuple[int, ...], seeds: np.ndarray,
                            init: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stacked float32 initial weights of one net per seed, ``[(W (K, out, in), b (K, out)), ...]``:
    the bits ``fastrelu.MLP(sizes, init=init, seed=seed, dtype="float32")`` draws.

    ``init="torch_default"`` is the distribution of :func:`initial_params` (weights and biases
    ``U(-1/sqrt(fan_in), +1/sqrt(fan_in))``) drawn by fastrelu's generator.
    """
    import fastrelu as fr

    ens = fr.Ensemble(sizes, seeds=[int(s) for s in seeds], init=init, dtype="float32")
    members = ens.members
    return [(np.stack([np.array(m.weights[i], dtype=np.float32) for m in members]),
             np.stack([np.array(m.biases[i], dtype=np.float32) for m in members]))
            for i in range(len(sizes) - 1)]


@dataclass
class Problem:
    """Concrete arrays of one workload, shared by every implementation.

    Attributes
    ----------
    workload : Workload
    X : ndarray, float32, shape (n_rows, sizes[0])
    y : ndarray
        ``mse``: float32, shape ``(n_rows, sizes[-1])``; ``cross_entropy``: int64 labels, ``(n_rows,)``.
    params : list of (W, b)
        Single net: float32 arrays ``W (out, in)``, ``b (out,)``. Ensembles: stacked,
        ``W (n_nets, out, in)``, ``b (n_nets, out)``.
    batches : ndarray, int64
        Single net: ``(steps, batch_size)`` row indices; ensembles ``(n_nets, steps, batch_size)``.
    lrs : ndarray, float32, shape (n_nets,)
    seeds : ndarray, int64, shape (n_nets,)
        Seed of each network (weights and batch order).
    """

    workload: Workload
    X: np.ndarray
    y: np.ndarray
    params: list[tuple[np.ndarray, np.ndarray]]
    batches: np.ndarray
    lrs: np.ndarray
    seeds: np.ndarray

    @property
    def ensemble(self) -> bool:
        """True for multi-network workloads (W2)."""
        return self.workload.n_nets > 1

    def copy_params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Fresh copies of the initial parameters (implementations train copies in place)."""
        return [(W.copy(), b.copy()) for W, b in self.params]


def _data(w: Workload) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([w.seed, 104729])
    n_in, n_out = w.sizes[0], w.sizes[-1]
    if w.loss == "cross_entropy":
        # Images-like inputs in [0, 1); labels from a random linear teacher.
        X = rng.random((w.n_rows, n_in), dtype=np.float32)
        teacher = rng.standard_normal((n_in, n_out)).astype(np.float32)
        scores = (X - 0.5) @ teacher
        y = np.argmax(scores, axis=1).astype(np.int64)
        return X, y
    X = rng.standard_normal((w.n_rows, n_in), dtype=np.float32)
    a = rng.standard_normal((n_in, n_out)).astype(np.float32) / np.sqrt(n_in)
    y = np.sin(2.0 * (X @ a)) + 0.1 * rng.standard_normal((w.n_rows, n_out)).astype(np.float32)
    return X, y.astype(np.float32)


def _batch_sequence(w: Workload, seed: int) -> np.ndarray:
    """The exact batch sequence ``fastrelu.fit(..., steps=w.steps, seed=seed)`` uses."""
    import fastrelu as fr

    batches = list(fr.minibatches(w.n_rows, w.batch_size, steps=w.steps, shuffle=True, seed=seed))
    out = np.asarray(batches, dtype=np.int64)
    if out.shape != (w.steps, w.batch_size):
        raise RuntimeError(
            f"fastrelu.minibatches returned batches of shape {out.shape}, expected "
            f"{(w.steps, w.batch_size)}")
    return out


def make_problem(w: Workload | str) -> Problem:
    """Build the data, initial weights and batch sequence of workload ``w``.

    Deterministic: the same workload gives bit-identical arrays.
    """
    if isinstance(w, str):
        w = get_workload(w)
    X, y = _data(w)
    seeds = np.arange(w.seed, w.seed + w.n_nets, dtype=np.int64)
    if w.n_nets == 1:
        params = initial_params(w.sizes, w.seed, w.init)
        batches = _batch_sequence(w, w.seed)
    else:
        params = ensemble_initial_params(w.sizes, seeds, w.init)
        batches = np.stack([_batch_sequence(w, int(s)) for s in seeds])
    return Problem(w, X, y, params, batches, w.learning_rates, seeds)
