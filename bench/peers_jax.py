"""JAX peers (CPU, float32): the whole training run inside one ``jit`` (``lax.fori_loop``),
and ``vmap`` of that run over networks for ensembles; for the born-dead workload S0, ``vmap``
over seeds of init + forward + dead test, one ``jit`` per cell.

jax is optional: it is imported inside the functions.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from fastrelu_bench.common import RunResult
from fastrelu_bench.s0 import S0Problem, S0Result
from fastrelu_bench.workloads import Problem

__all__ = ["prepare_fused", "prepare_vmap", "prepare_s0", "threads"]


def threads() -> int:
    """XLA's CPU backend uses one intra-op thread per core."""
    return os.cpu_count() or 1


def _train_fn(sizes: tuple[int, ...], loss: str, steps: int) -> Callable[..., Any]:
    """Pure function ``(params, lr, X, y, batches) -> (params, last_loss)`` for one network."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    n_layers = len(sizes) - 1

    def forward(params: Any, x: Any) -> Any:
        h = x
        for i, (W, b) in enumerate(params):
            h = h @ W.T + b
            if i < n_layers - 1:
                h = jax.nn.relu(h)
        return h

    def loss_fn(params: Any, xb: Any, yb: Any) -> Any:
        out = forward(params, xb)
        if loss == "mse":
            return jnp.mean((out - yb) ** 2)
        logp = jax.nn.log_softmax(out, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    value_and_grad = jax.value_and_grad(loss_fn)

    def train(params: Any, lr: Any, X: Any, y: Any, batches: Any) -> Any:
        def body(t: Any, carry: Any) -> Any:
            params, _ = carry
            rows = batches[t]
            value, grads = value_and_grad(params, X[rows], y[rows])
            params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
            return params, value

        return lax.fori_loop(0, steps, body, (params, jnp.zeros((), jnp.float32)))

    return train


def _to_numpy(params: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.array(W, dtype=np.float32), np.array(b, dtype=np.float32)) for W, b in params]


def prepare_fused(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()``: one network, all steps in one jitted ``fori_loop`` (W1, W3)."""
    import jax
    import jax.numpy as jnp

    w = problem.workload
    train = jax.jit(_train_fn(w.sizes, w.loss, w.steps))
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y.astype(np.int32) if w.loss != "mse" else problem.y)
    batches = jnp.asarray(problem.batches.astype(np.int32))
    init = [(jnp.asarray(W), jnp.asarray(b)) for W, b in problem.params]
    lr = jnp.float32(w.lr)

    def run() -> RunResult:
        params, value = train(init, lr, X, y, batches)
        jax.block_until_ready(params)
        return RunResult(float(value), _to_numpy(params))

    return run


def prepare_vmap(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()``: ``vmap`` of the fused run over networks, inside one ``jit`` (W2)."""
    import jax
    import jax.numpy as jnp

    w = problem.workload
    single = _train_fn(w.sizes, w.loss, w.steps)
    train = jax.jit(jax.vmap(single, in_axes=(0, 0, None, None, 0)))
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y.astype(np.int32) if w.loss != "mse" else problem.y)
    batches = jnp.asarray(problem.batches.astype(np.int32))  # (K, steps, B)
    init = [(jnp.asarray(W), jnp.asarray(b)) for W, b in problem.params]
    lrs = jnp.asarray(problem.lrs)

    def run() -> RunResult:
        params, values = train(init, lrs, X, y, batches)
        jax.block_until_ready(params)
        return RunResult(np.asarray(values, dtype=np.float32), _to_numpy(params))

    return run


def _s0_cell(X: Any, width: int, depth: int, n_nets: int) -> Callable[[Any], Any]:
    """Jitted ``key -> number of dead-layer nets`` of one S0 cell (``vmap`` over seeds).

    A net's hidden weights are one ``jax.random.normal`` draw split into layers (a draw per
    layer compiled about 3x slower and ran slower); layers 2.. run in a ``lax.scan``.
    """
    import jax
    import jax.numpy as jnp
    from jax import lax

    n_in = X.shape[1]
    first, std = np.float32(np.sqrt(2.0 / n_in)), np.float32(np.sqrt(2.0 / width))

    def layer(carry: Any, W: Any) -> Any:
        h, dead = carry
        z = h @ W.T                           # (rows, width)
        return (jax.nn.relu(z), dead | jnp.all(z <= 0)), None

    def one(key: Any) -> Any:
        flat = jax.random.normal(key, (width * n_in + (depth - 1) * width * width,), jnp.float32)
        W0 = flat[:width * n_in].reshape(width, n_in) * first
        Ws = flat[width * n_in:].reshape(depth - 1, width, width) * std
        carry, _ = layer((X, jnp.zeros((), bool)), W0)
        (_, dead), _ = lax.scan(layer, carry, Ws)
        return dead

    def cell(key: Any) -> Any:
        return jnp.sum(jax.vmap(one)(jax.random.split(key, n_nets)), dtype=jnp.int32)

    return jax.jit(cell)


def prepare_s0(problem: S0Problem) -> Callable[[], S0Result]:
    """Return ``run()``: per cell, one ``jit`` of ``vmap`` over seeds (keys from
    ``jax.random.split``) of He-normal init, forward and dead test; float32, CPU.
    Cell ``c`` (in :attr:`S0Problem.cells` order) uses ``fold_in(PRNGKey(seed), c)``.

    The functions are traced and compiled here (one call each), outside any timed run. The
    output layer does not decide whether a hidden layer is dead, so it is not drawn.
    """
    import jax
    import jax.numpy as jnp

    w = problem.workload
    X = jnp.asarray(problem.X)
    root = jax.random.PRNGKey(w.seed)
    cells = [(i, j, _s0_cell(X, width, depth, w.seeds_per_cell), jax.random.fold_in(root, c))
             for c, (i, j, depth, width) in enumerate(problem.cells)]
    for _, _, fn, key in cells:
        jax.block_until_ready(fn(key))        # compile outside the timed region
    shape = (len(w.depths), len(w.widths))

    def run() -> S0Result:
        counts = [(i, j, fn(key)) for i, j, fn, key in cells]
        dead = np.zeros(shape, dtype=np.int64)
        for i, j, count in counts:
            dead[i, j] = int(count)           # blocks until the cell's result is ready
        return S0Result(dead, np.full(shape, w.seeds_per_cell, dtype=np.int64))

    return run
