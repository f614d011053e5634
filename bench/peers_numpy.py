"""NumPy peers: hand-written forward and backward passes, plain SGD, float32.

Idiomatic NumPy: one BLAS call per matrix product (``W`` kept in ``(out, in)`` layout, BLAS
reads the transpose in place), ReLU and its mask applied in place, parameters updated in
place. The ensemble version stacks all networks and uses batched ``np.matmul``; so does the
born-dead workload S0 (init and forward of a whole cell of nets at once).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from fastrelu_bench.common import RunResult
from fastrelu_bench.s0 import S0Problem, S0Result
from fastrelu_bench.workloads import Problem

__all__ = ["prepare_single", "prepare_ensemble", "prepare_s0"]


def _loss_and_grad(out: np.ndarray, yb: np.ndarray, loss: str) -> tuple[float, np.ndarray]:
    """Mean loss of a batch and its gradient with respect to ``out`` (single network)."""
    if loss == "mse":
        diff = out - yb
        value = float(np.mean(diff * diff))
        diff *= np.float32(2.0 / diff.size)
        return value, diff
    n = out.shape[0]
    z = out - out.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    value = float(np.mean(np.log(s[:, 0]) - z[rows, yb]))
    g = e / s
    g[rows, yb] -= 1.0
    g *= np.float32(1.0 / n)
    return value, g


def prepare_single(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()`` training one network with minibatch SGD (W1, W3)."""
    w = problem.workload
    X, y, batches = problem.X, problem.y, problem.batches
    lr = np.float32(w.lr)
    n_layers = len(w.sizes) - 1

    def run() -> RunResult:
        params = problem.copy_params()
        Ws = [p[0] for p in params]
        bs = [p[1] for p in params]
        value = float("nan")
        for t in range(w.steps):
            rows = batches[t]
            h = X[rows]
            acts = [h]
            for i in range(n_layers):
                h = h @ Ws[i].T
                h += bs[i]
                if i < n_layers - 1:
                    np.maximum(h, 0.0, out=h)
                    acts.append(h)
            value, g = _loss_and_grad(h, y[rows], w.loss)
            for i in range(n_layers - 1, -1, -1):
                a = acts[i]
                dW = g.T @ a
                db = g.sum(axis=0)
                if i > 0:
                    g = g @ Ws[i]
                    g *= a > 0
                dW *= lr
                db *= lr
                Ws[i] -= dW
                bs[i] -= db
        return RunResult(value, params)

    return run


def prepare_ensemble(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()`` training all networks of an ensemble at once with batched matmul (W2)."""
    w = problem.workload
    if w.loss != "mse":
        raise ValueError(f"loss: the NumPy ensemble peer supports 'mse', got {w.loss!r}")
    X, y = problem.X, problem.y
    batches = np.ascontiguousarray(problem.batches.transpose(1, 0, 2))  # (steps, K, B)
    lrs = problem.lrs
    lr_w = lrs[:, None, None]
    lr_b = lrs[:, None]
    n_layers = len(w.sizes) - 1
    scale = np.float32(2.0 / (w.batch_size * w.sizes[-1]))

    def run() -> RunResult:
        params = problem.copy_params()
        Ws = [p[0] for p in params]
        bs = [p[1] for p in params]
        values = np.full(w.n_nets, np.nan, dtype=np.float32)
        for t in range(w.steps):
            rows = batches[t]
            h = X[rows]  # (K, B, in)
            acts = [h]
            for i in range(n_layers):
                h = np.matmul(h, Ws[i].transpose(0, 2, 1))
                h += bs[i][:, None, :]
                if i < n_layers - 1:
                    np.maximum(h, 0.0, out=h)
                    acts.append(h)
            g = h - y[rows]
            values = np.mean(g * g, axis=(1, 2))
            g *= scale
            for i in range(n_layers - 1, -1, -1):
                a = acts[i]
                dW = np.matmul(g.transpose(0, 2, 1), a)
                db = g.sum(axis=1)
                if i > 0:
                    g = np.matmul(g, Ws[i])
                    g *= a > 0
                dW *= lr_w
                db *= lr_b
                Ws[i] -= dW
                bs[i] -= db
        return RunResult(values, params)

    return run


def _s0_dead(rng: np.random.Generator, X_t: np.ndarray, width: int, depth: int, n_nets: int) -> np.ndarray:
    """Dead-layer flags of ``n_nets`` He-normal nets, zero biases, batched over nets.

    Activations are kept as ``(nets, units, rows)``: ``W @ h`` over the stack, rows innermost.
    """
    h = X_t                      # (1, rows): broadcast against the first layer's stack
    fan_in = X_t.shape[0]
    dead = np.zeros(n_nets, dtype=bool)
    for _ in range(depth):
        W = rng.standard_normal((n_nets, width, fan_in), dtype=np.float32)
        W *= np.float32(np.sqrt(2.0 / fan_in))
        z = np.matmul(W, h)      # (nets, width, rows)
        dead |= z.reshape(n_nets, -1).max(axis=1) <= 0
        h = np.maximum(z, 0.0, out=z)
        fan_in = width
    return dead


def prepare_s0(problem: S0Problem) -> Callable[[], S0Result]:
    """Return ``run()``: every S0 cell as one batch of nets, one generator for the whole run.

    Per cell and hidden layer, one ``(nets, fan_out, fan_in)`` draw of standard normals
    (float32) scaled to He's std, one stacked ``np.matmul`` and a vectorized dead test
    (the maximum over units and rows is ``<= 0``). The output layer does not decide whether
    a hidden layer is dead, so it is not drawn.
    """
    w = problem.workload
    X_t = np.ascontiguousarray(problem.X.T)
    shape = (len(w.depths), len(w.widths))

    def run() -> S0Result:
        rng = np.random.default_rng(w.seed)
        dead = np.zeros(shape, dtype=np.int64)
        for i, j, depth, width in problem.cells:
            dead[i, j] = np.count_nonzero(_s0_dead(rng, X_t, width, depth, w.seeds_per_cell))
        return S0Result(dead, np.full(shape, w.seeds_per_cell, dtype=np.int64))

    return run
