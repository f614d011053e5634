"""Closed-form predictions for random ReLU networks at initialization.

Three results, each a few lines of arithmetic, that the diagnostics and scenarios put next to
measurements:

* **Variance recursion** (He et al. 2015, Glorot & Bengio 2010): with weights drawn i.i.d. with
  mean 0 and variance ``s2`` and biases with mean ``mu_b`` and variance ``v_b``, the
  pre-activation of a unit of layer ``l`` is approximately ``N(mu_b, s2 * fan_in * q[l-1] + v_b)``
  where ``q[l-1]`` is the mean squared activation of the previous layer. The mean squared ReLU
  output of a ``N(mu, v)`` variable is ``(mu^2 + v) Phi(mu/sqrt v) + mu sqrt(v) phi(mu/sqrt v)``,
  which is ``v / 2`` for ``mu = 0``. He init (``s2 = 2/fan_in``) keeps ``q`` constant; Glorot
  (``s2 = 2/(fan_in+fan_out)``) halves it per layer of equal width; ``N(0, 0.01^2)`` multiplies
  it by ``fan_in * 1e-4 / 2`` per layer.
* **Arc-cosine correlation map** (Cho & Saul 2009, degree-1 kernel): for zero biases and i.i.d.
  zero-mean Gaussian weights, two inputs whose representations have cosine similarity ``c`` at
  one layer have, in the wide limit, cosine ``(sqrt(1 - c^2) + (pi - arccos c) c) / pi`` after
  the next ReLU layer. The map has the single fixed point ``c = 1``: with depth, every pair of
  inputs looks alike, whatever the weight scale.
* **Born-dead probability** (after Lu, Shin, Su & Karniadakis 2019, "Dying ReLU and
  Initialization"): with zero (or symmetric random) biases and weights from any symmetric
  continuous distribution, a layer whose input is not all zero has every unit inactive at a
  given input with probability ``2^-width``, independently of the layers before. Hence the
  probability that a fixed input meets a completely dead layer is
  ``1 - prod_l (1 - 2^-N_l)``, an upper bound on the probability that the network is born dead
  (constant on a whole data set). Since hidden activations are non-negative, a layer ``l >= 2``
  whose incoming weights (and biases, if random) are all negative is dead on every input, which
  gives a lower bound ``1 - prod_{l>=2} (1 - 2^-(N_l N_{l-1}))`` (zero biases) or
  ``1 - prod_{l>=2} (1 - 2^-(N_l (N_{l-1} + 1)))`` (symmetric random biases).

>>> import fastrelu as fr
>>> fr.theory.arccos_map(0.0).round(4)            # orthogonal inputs after one ReLU layer
np.float64(0.3183)
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from fastrelu import _validation as v

__all__ = [
    "INIT_VARIANCES",
    "weight_variance",
    "bias_moments",
    "relu_mean_sq",
    "mean_sq_recursion",
    "predict_mean_sq",
    "arccos_map",
    "predict_cosine",
    "born_dead_bounds",
]

#: Weight variance of each named initialization as a function of (fan_in, fan_out).
INIT_VARIANCES = {
    "zeros": lambda fi, fo: 0.0,
    "small": lambda fi, fo: 1e-4,  # N(0, 0.01^2)
    "xavier": lambda fi, fo: 2.0 / (fi + fo),
    "xavier_uniform": lambda fi, fo: 2.0 / (fi + fo),  # U(-a, a), a = sqrt(6/(fi+fo))
    "he": lambda fi, fo: 2.0 / fi,
    "he_uniform": lambda fi, fo: 2.0 / fi,  # U(-a, a), a = sqrt(6/fi)
    "torch_default": lambda fi, fo: 1.0 / (3.0 * fi),  # kaiming_uniform(a=sqrt 5): a = 1/sqrt(fi)
    "sklearn": lambda fi, fo: 2.0 / (fi + fo),  # U(-a, a), a = sqrt(6/(fi+fo)) for ReLU
}

#: Named inits whose biases are random rather than the constant ``bias`` argument:
#: variance as a function of (fan_in, fan_out). (torch: U(+-1/sqrt(fan_in)); sklearn: same
#: uniform as its weights.)
RANDOM_BIAS_VARIANCES = {
    "torch_default": lambda fi, fo: 1.0 / (3.0 * fi),
    "sklearn": lambda fi, fo: 2.0 / (fi + fo),
}


def weight_variance(init: str, fan_in: int, fan_out: int) -> float:
    """Variance of one weight under the named initialization.

    Parameters
    ----------
    init : str
        One of :data:`INIT_VARIANCES` (``"rai"`` and callables have no closed form here).
    fan_in, fan_out : int
        Layer fan-in and fan-out.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``init`` has no known variance.
    """
    rule = INIT_VARIANCES[v.check("init", init, v.Choice(sorted(INIT_VARIANCES)))]
    return float(rule(int(fan_in), int(fan_out)))


def bias_moments(init: str, fan_in: int, fan_out: int, bias: float = 0.0) -> tuple[float, float]:
    """Mean and variance of one bias: random for ``torch_default``/``sklearn``, else constant."""
    rule = RANDOM_BIAS_VARIANCES.get(init)
    if rule is not None:
        return 0.0, float(rule(int(fan_in), int(fan_out)))
    return float(bias), 0.0


def relu_mean_sq(mean: np.ndarray | float, var: np.ndarray | float) -> np.ndarray:
    """``E[relu(z)^2]`` for ``z ~ N(mean, var)`` (elementwise; ``var = 0`` allowed).

    Examples
    --------
    >>> float(relu_mean_sq(0.0, 2.0))
    1.0
    >>> float(relu_mean_sq(-1.0, 0.0))
    0.0
    """
    mu, v = np.broadcast_arrays(np.asarray(mean, dtype=np.float64), np.asarray(var, dtype=np.float64))
    out = np.array(np.square(np.maximum(mu, 0.0)), dtype=np.float64)  # the var == 0 limit
    pos = v > 0
    if np.any(pos):
        m, s2 = mu[pos], v[pos]
        sd = np.sqrt(s2)
        t = m / sd
        cdf = 0.5 * (1.0 + np.array([math.erf(x / math.sqrt(2.0)) for x in t.ravel()]).reshape(t.shape))
        pdf = np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
        out = out.copy()
        out[pos] = (m * m + s2) * cdf + m * sd * pdf
    return out


def mean_sq_recursion(
    fan_ins: Sequence[int],
    weight_vars: Sequence[float],
    bias_means: Sequence[float],
    bias_vars: Sequence[float],
    input_mean_sq: float,
) -> np.ndarray:
    """Propagate the mean squared activation through ReLU layers (mean-field recursion).

    Parameters
    ----------
    fan_ins : sequence of int
        Fan-in of each hidden layer.
    weight_vars, bias_means, bias_vars : sequence of float
        Per hidden layer: weight variance, bias mean, bias variance.
    input_mean_sq : float
        Mean over features of ``E[x_i^2]`` of the network input.

    Returns
    -------
    numpy.ndarray
        float64, one predicted mean squared activation per hidden layer.
    """
    q = float(input_mean_sq)
    out = []
    for fi, s2, mb, vb in zip(fan_ins, weight_vars, bias_means, bias_vars):
        pre_var = s2 * fi * q + vb
        q = float(relu_mean_sq(mb, pre_var))
        out.append(q)
    return np.asarray(out, dtype=np.float64)


def predict_mean_sq(
    sizes: Sequence[int], init: str, *, input_mean_sq: float = 1.0, bias: float = 0.0
) -> np.ndarray:
    """Mean squared activation of each hidden layer of a plain ReLU MLP at initialization.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, input first, output last (as ``fr.MLP``).
    init : str
        Named initialization (see :data:`INIT_VARIANCES`).
    input_mean_sq : float, default 1.0
        Mean squared input feature (1 for standardized data).
    bias : float, default 0.0
        Constant bias (ignored for inits with random biases).

    Returns
    -------
    numpy.ndarray
        One value per hidden layer.

    Examples
    --------
    >>> predict_mean_sq([10, 64, 64, 64, 1], "he").round(3).tolist()
    [1.0, 1.0, 1.0]
    >>> predict_mean_sq([64, 64, 64, 64, 1], "xavier").round(3).tolist()
    [0.5, 0.25, 0.125]
    """
    sizes = list(v.check_sizes(sizes))
    hidden = range(1, len(sizes) - 1)
    fan_ins = [sizes[i - 1] for i in hidden]
    wv = [weight_variance(init, sizes[i - 1], sizes[i]) for i in hidden]
    bm, bv = zip(*[bias_moments(init, sizes[i - 1], sizes[i], bias) for i in hidden]) if fan_ins else ((), ())
    return mean_sq_recursion(fan_ins, wv, bm, bv, input_mean_sq)


def arccos_map(c: np.ndarray | float) -> np.ndarray:
    """One ReLU layer of the normalized degree-1 arc-cosine kernel (Cho & Saul 2009).

    ``f(c) = (sqrt(1 - c^2) + (pi - arccos c) c) / pi``; ``f(1) = 1``, ``f(0) = 1/pi``,
    ``f(-1) = 0``, and ``f(c) > c`` for ``c < 1``.
    """
    c = np.clip(np.asarray(c, dtype=np.float64), -1.0, 1.0)
    return (np.sqrt(1.0 - c * c) + (math.pi - np.arccos(c)) * c) / math.pi


def predict_cosine(c0: np.ndarray | float, depth: int) -> np.ndarray:
    """Cosine similarity after each of ``depth`` ReLU layers, starting from input cosine ``c0``.

    Parameters
    ----------
    c0 : float or array
        Cosine similarity of the inputs (one value or one per pair).
    depth : int
        Number of hidden ReLU layers.

    Returns
    -------
    numpy.ndarray
        Shape ``(depth,) + shape(c0)``; row ``l`` is the prediction after hidden layer ``l+1``.

    Examples
    --------
    >>> predict_cosine(0.0, 3).round(3).tolist()
    [0.318, 0.494, 0.605]
    """
    depth = v.check("depth", depth, v.Int(minimum=0))
    c = np.asarray(c0, dtype=np.float64)
    out = []
    for _ in range(int(depth)):
        c = arccos_map(c)
        out.append(c)
    return np.asarray(out, dtype=np.float64).reshape((int(depth),) + np.shape(c0))


def born_dead_bounds(widths: Sequence[int], *, random_bias: bool = False) -> tuple[float, float]:
    """Lower and upper bound on the probability that a ReLU net is born dead.

    Born dead: some hidden layer has no active unit on any input, so the network computes a
    constant. Valid for weights (and, with ``random_bias``, biases) drawn from symmetric
    continuous distributions (He, Xavier, ...) and for zero biases otherwise; see the module
    docstring for the derivation.

    Parameters
    ----------
    widths : sequence of int
        Hidden layer widths ``N_1 .. N_L``.
    random_bias : bool, default False
        True if biases are drawn from a symmetric distribution, False if they are zero.

    Returns
    -------
    (float, float)
        ``(lower, upper)``. ``upper`` is the exact probability that one fixed input meets a
        completely inactive layer.

    Examples
    --------
    >>> lo, hi = born_dead_bounds([2] * 10)
    >>> round(lo, 3), round(hi, 3)
    (0.441, 0.944)
    """
    w = list(widths) if not isinstance(widths, (str, bytes)) and hasattr(widths, "__iter__") else None
    if not w:
        raise v.reject(ValueError, "widths", widths, "one or more hidden widths >= 1")
    w = [v.check(f"widths[{i}]", x, v.Int(minimum=1)) for i, x in enumerate(w)]
    alive = 1.0
    for n in w:
        alive *= 1.0 - 0.5**n
    upper = 1.0 - alive
    extra = 1 if random_bias else 0
    alive_lo = 1.0
    for prev, n in zip(w[:-1], w[1:]):
        alive_lo *= 1.0 - 0.5 ** (n * (prev + extra))
    lower = 1.0 - alive_lo
    return float(lower), float(upper)
