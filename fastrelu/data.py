"""Small synthetic regression data sets, deterministic for a seed.

Every function returns ``(X, y)``: ``X`` of shape ``(n, d)`` and ``y`` of shape ``(n, 1)``, both
float arrays of the requested dtype, C-contiguous. The same arguments give the same bits.

* :func:`teacher`: targets computed by a random "teacher" ReLU network from Gaussian inputs,
  standardized to mean 0 and standard deviation 1, so a network that outputs one value for
  every input (the mean) has MSE 1 and the collapse threshold is ``1e-3``.
* :func:`abs1d`: ``y = |x|`` on an evenly spaced grid of ``[-sqrt 3, sqrt 3]`` (unit variance
  input), the one-dimensional example of Lu et al. 2019 ("Dying ReLU and Initialization").
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["teacher", "abs1d", "DATASETS", "make"]


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def _check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype: expected float32 or float64, got {dt}")
    return dt


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
    n = _check_int("n", n, 2)
    d_in = _check_int("d_in", d_in, 1)
    width = _check_int("width", width, 1)
    depth = _check_int("depth", depth, 1)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise: expected a finite float >= 0, got {noise!r}")
    dt = _check_dtype(dtype)
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
    n = _check_int("n", n, 2)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"low, high: expected finite low < high, got {low!r}, {high!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise: expected a finite float >= 0, got {noise!r}")
    dt = _check_dtype(dtype)
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
    try:
        fn = DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"name: unknown data set {name!r}; known: {sorted(DATASETS)}") from None
    return fn(**kwargs)
