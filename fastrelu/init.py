"""Weight initialization schemes, drawn from an explicit ``numpy.random.Generator``.

Every scheme maps ``(rng, fan_in, fan_out)`` to a weight matrix of shape ``(fan_out, fan_in)``
(the ``torch.nn.Linear`` layout). Schemes that also define the biases return
``(weights, biases)``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Scheme = Callable[[np.random.Generator, int, int], "np.ndarray | tuple[np.ndarray, np.ndarray]"]


def zeros(rng, fan_in, fan_out):
    """All-zero weights: every unit computes the same thing (the article's first cause)."""
    return np.zeros((fan_out, fan_in))


def small(rng, fan_in, fan_out):
    """Normal with std 0.01, independent of the layer width (the classic "small random")."""
    return rng.normal(0.0, 0.01, (fan_out, fan_in))


def xavier(rng, fan_in, fan_out):
    """Glorot normal: std sqrt(2 / (fan_in + fan_out)) (``torch.nn.init.xavier_normal_``)."""
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), (fan_out, fan_in))


def xavier_uniform(rng, fan_in, fan_out):
    """Glorot uniform: U(+-sqrt(6 / (fan_in + fan_out)))."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, (fan_out, fan_in))


def he(rng, fan_in, fan_out):
    """Kaiming normal, fan-in mode, gain sqrt(2): std sqrt(2 / fan_in) (He et al. 2015)."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_out, fan_in))


def he_uniform(rng, fan_in, fan_out):
    """Kaiming uniform, fan-in mode, gain sqrt(2): U(+-sqrt(6 / fan_in))."""
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, (fan_out, fan_in))


def torch_default(rng, fan_in, fan_out):
    """What ``torch.nn.Linear`` does: weights and biases U(+-1/sqrt(fan_in))."""
    a = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-a, a, (fan_out, fan_in)), rng.uniform(-a, a, fan_out)


def sklearn(rng, fan_in, fan_out):
    """What scikit-learn's MLP does for ReLU: weights and biases U(+-sqrt(6 / (fan_in + fan_out)))."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, (fan_out, fan_in)), rng.uniform(-a, a, fan_out)


RAI_SIGMA = 0.6007


def rai(rng, fan_in, fan_out):
    """Randomized asymmetric initialization (Lu, Shin, Su & Karniadakis 2019).

    Each unit's ``fan_in + 1`` parameters (weights and bias) are drawn from
    N(0, sigma^2 / fan_in) with sigma = 0.6007; then one of them, chosen uniformly, is replaced
    by a draw from Beta(2, 1), which is positive. The positive entry makes a unit unlikely to be
    dead for every input, which is what kills deep narrow ReLU nets at initialization.
    """
    v = rng.normal(0.0, 1.0, (fan_out, fan_in + 1)) * (RAI_SIGMA / np.sqrt(fan_in))
    k = rng.integers(0, fan_in + 1, fan_out)
    v[np.arange(fan_out), k] = rng.beta(2.0, 1.0, fan_out)
    return v[:, :fan_in].copy(), v[:, fan_in].copy()


SCHEMES: dict[str, Scheme] = {
    "zeros": zeros,
    "small": small,
    "xavier": xavier,
    "xavier_uniform": xavier_uniform,
    "he": he,
    "he_uniform": he_uniform,
    "torch_default": torch_default,
    "sklearn": sklearn,
    "rai": rai,
}

#: Schemes that draw the biases themselves (the ``bias`` argument of ``MLP`` must stay 0).
DRAWS_BIASES = frozenset({"torch_default", "sklearn", "rai"})


# --------------------------------------------------------------------------------------------
# many networks at once: the same draws, fused per network


#: Schemes whose draws for a whole network can be made in one call of the generator: each
#: layer is ``loc + scale * z`` of standard normals (``rng.normal``) or ``low + range * u`` of
#: uniforms (``rng.uniform``), in the order the per-layer functions above draw them. NumPy's
#: generators give the same numbers for one draw of the total size as for successive draws,
#: and ``rng.normal``/``rng.uniform`` compute exactly these expressions, so the bits are those
#: of the per-layer functions (tests/test_init.py checks every scheme). ``rai`` draws integers
#: and Beta variates in between and stays per layer.
FUSED_KIND = {"small": "normal", "xavier": "normal", "he": "normal", "xavier_uniform": "uniform",
              "he_uniform": "uniform", "torch_default": "uniform", "sklearn": "uniform"}


def _draw_plan(init: str, sizes: tuple[int, ...]) -> list[tuple[str, int, float, float]]:
    """``(target, count, a, b)`` per draw, in drawing order: ``target`` "W<l>" or "b<l>";
    values are ``a + b * z`` (normal: a = 0, b = std; uniform: a = low, b = high - low)."""
    plan = []
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if init == "small":
            plan.append((f"W{l}", fan_out * fan_in, 0.0, 0.01))
        elif init == "xavier":
            plan.append((f"W{l}", fan_out * fan_in, 0.0, float(np.sqrt(2.0 / (fan_in + fan_out)))))
        elif init == "he":
            plan.append((f"W{l}", fan_out * fan_in, 0.0, float(np.sqrt(2.0 / fan_in))))
        else:
            a = {"xavier_uniform": np.sqrt(6.0 / (fan_in + fan_out)), "he_uniform": np.sqrt(6.0 / fan_in),
                 "torch_default": 1.0 / np.sqrt(fan_in), "sklearn": np.sqrt(6.0 / (fan_in + fan_out))}[init]
            a = float(a)
            plan.append((f"W{l}", fan_out * fan_in, -a, a - (-a)))
            if init in DRAWS_BIASES:
                plan.append((f"b{l}", fan_out, -a, a - (-a)))
    return plan


class FusedInit:
    """Where one network's fused draws go in its flat parameter buffer.

    Built once per ``(init, layer offsets)``; :meth:`apply` turns one generator's draw of
    :attr:`total` numbers into the weights (and drawn biases) of that buffer.
    """

    def __init__(self, init: str, sizes: tuple[int, ...], w_offsets, b_offsets) -> None:
        self.kind = FUSED_KIND[init]
        plan = _draw_plan(init, tuple(sizes))
        self.total = sum(n for _, n, _, _ in plan)
        dest, loc, scale = [], [], []
        for target, n, a, b in plan:
            start = (w_offsets if target[0] == "W" else b_offsets)[int(target[1:])]
            dest.append(np.arange(start, start + n))
            loc.append(np.full(n, a))
            scale.append(np.full(n, b))
        self.dest = np.concatenate(dest) if dest else np.zeros(0, np.int64)
        self.loc = np.concatenate(loc) if loc else np.zeros(0)
        self.scale = np.concatenate(scale) if scale else np.zeros(0)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The ``total`` raw numbers of one network, from its generator."""
        return rng.standard_normal(self.total) if self.kind == "normal" else rng.random(self.total)

    def apply(self, raw: np.ndarray, params: np.ndarray) -> None:
        """Write ``loc + scale * raw`` into ``params[..., dest]`` (``raw``: (..., total))."""
        params[..., self.dest] = self.loc + self.scale * raw
