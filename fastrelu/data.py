"""Small synthetic regression data sets, deterministic for a seed.

Every function returns ``(X, y)``: ``X`` of shape ``(n, d)`` and ``y`` of shape ``(n, 1)``, both
float arrays of the requested dtype, C-contiguous. The same arguments give the same bits.

* :func:`teacher`: targets computed by a random "teacher" ReLU network from Gaussian inputs,
  standardized to mean 0 and standard deviation 1, so a network that outputs one value for
  every input (the mean) has MSE 1 and the collapse threshold is ``1e-3``.
* :func:`abs1d`: ``y = |x|`` on an evenly spaced grid of ``[-sqrt 3, sqrt 3]`` (unit variance
  input), the one-dimensional example of Lu et al. 2019 ("Dying ReLU and Initialization").

>>> import fastrelu as fr
>>> [a.shape for a in fr.data.make("teacher", n=32, d_in=3)]
[(32, 3), (32, 1)]
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from fastrelu import _validation as v

__all__ = ["teacher", "abs1d", "DATASETS", "make"]


@v.validated(n=v.Int(minimum=2), d_in=v.Int(minimum=1), seed=v.Seed(), width=v.Int(minimum=1),
             depth=v.Int(minimum=1), noise=v.Real(nonnegative=True), dtype=v.DType())
def teacher(
    n: int = 256,
    d_in: int = 8,
    *,
    seed: int = 0,
    width: int = 32,
    depth: int = 2,
    noise: float = 0.0,
    dtype="float32",
) -> tuple[np.ndarray, np.ndarray]:
    """Regression targets from a random teacher ReLU network.

    Parameters
    ----------
    n : int, default 256
        Number of rows.
    d_in : int, default 8
        Input features; ``X ~ N(0, 1)`` i.i.d.
    seed : int, default 0
        Seeds inputs, teacher weights and noise.
    width, depth : int, default 32, 2
        Teacher hidden width and number of hidden layers (He-normal weights, biases N(0, 0.1^2)).
    noise : float, default 0.0
        Standard deviation of Gaussian noise added to the standardized targets.
    dtype : {"float32", "float64"}

    Returns
    -------
    X : numpy.ndarray, shape (n, d_in)
    y : numpy.ndarray, shape (n, 1); mean 0 and std 1 before noise.

    Examples
    --------
    >>> X, y = teacher(64, 3, seed=1)
    >>> X.shape, y.shape, round(float(y.std()), 3)
    ((64, 3), (64, 1), 1.0)
    """
    dt = dtype
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d_in))
    h = X
    fan_in = d_in
    for _ in range(depth):
        W = rng.standard_normal((width, fan_in)) * math.sqrt(2.0 / fan_in)
        b = 0.1 * rng.standard_normal(width)
        h = np.maximum(h @ W.T + b, 0.0)
        fan_in = width
    w_out = rng.standard_normal(fan_in) * math.sqrt(1.0 / fan_in)
    y = h @ w_out
    sd = y.std()
    y = (y - y.mean()) / (sd if sd > 0 else 1.0)
    if noise > 0:
        y = y + noise * rng.standard_normal(n)
    return np.ascontiguousarray(X, dtype=dt), np.ascontiguousarray(y.reshape(n, 1), dtype=dt)


@v.validated(n=v.Int(minimum=2), seed=v.Seed(), low=v.Real(), high=v.Real(), noise=v.Real(nonnegative=True),
             dtype=v.DType())
def abs1d(
    n: int = 128,
    *,
    seed: int = 0,
    low: float = -math.sqrt(3.0),
    high: float = math.sqrt(3.0),
    noise: float = 0.0,
    dtype="float32",
) -> tuple[np.ndarray, np.ndarray]:
    """``y = |x|`` on an evenly spaced grid (Lu et al. 2019).

    Parameters
    ----------
    n : int, default 128
        Grid points, endpoints included.
    seed : int, default 0
        Seeds the optional noise (the grid itself does not depend on it).
    low, high : float
        Grid range; the default ``[-sqrt 3, sqrt 3]`` has unit variance.
    noise : float, default 0.0
        Standard deviation of Gaussian noise added to ``y``.
    dtype : {"float32", "float64"}

    Returns
    -------
    X : numpy.ndarray, shape (n, 1)
    y : numpy.ndarray, shape (n, 1)

    Examples
    --------
    >>> X, y = abs1d(5, low=-1.0, high=1.0)
    >>> X.ravel().tolist(), y.ravel().tolist()
    ([-1.0, -0.5, 0.0, 0.5, 1.0], [1.0, 0.5, 0.0, 0.5, 1.0])
    """
    if not low < high:
        raise v.reject(ValueError, "high", high, f"a number > low={low!r}")
    dt = dtype
    x = np.linspace(low, high, n)
    y = np.abs(x)
    if noise > 0:
        y = y + noise * np.random.default_rng(seed).standard_normal(n)
    return np.ascontiguousarray(x.reshape(n, 1), dtype=dt), np.ascontiguousarray(y.reshape(n, 1), dtype=dt)


#: Data sets by name, for scenarios and the CLI.
DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "teacher": teacher,
    "abs1d": abs1d,
}


def make(name: str, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Build the data set ``name`` (see :data:`DATASETS`) with keyword arguments ``kwargs``."""
    return DATASETS[v.check("name", name, v.Choice(DATASETS))](**kwargs)
