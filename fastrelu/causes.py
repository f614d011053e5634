"""Likely causes of collapsed outputs: one rule per cause, over a diagnosis' measured numbers.

Each rule looks at measured numbers only and, when it fires, returns a :class:`Cause` whose
evidence quotes those numbers. Scores only order the causes (1 = certain explanation of a
collapse, 0.1 = no explanation found); they are not probabilities. :func:`rank_causes` runs
every rule of :data:`RULES` and sorts what fired, most likely first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np

from fastrelu import theory
from fastrelu._format import fmt as _g

__all__ = ["Cause", "rank_causes", "RULES"]

#: A layer whose weight RMS is below this fraction of He's sqrt(2/fan_in) has "tiny" weights.
TINY_WEIGHT_RATIO = 0.1
#: Mean squared activation of the last hidden layer below this fraction of the input's: vanished.
VANISHED_RATIO = 1e-4
#: Cosine similarity at or above which representations count as nearly identical.
SAME_COSINE = 0.99
#: Plain nets with at least this many hidden layers are "deep".
DEEP = 8
#: Hidden widths at or below this are "narrow" (born-dead territory).
NARROW = 4


@dataclass
class Cause:
    """A likely cause of collapse: a short label, the evidence in plain words, a rank score."""

    cause: str
    evidence: str
    score: float


@dataclass
class Evidence:
    """What the rules read: the report, the net, and the training history if any."""

    report: Any
    net: Any
    history: Any = None
    init: str | None = None

    @property
    def layers(self) -> list:
        return self.report.layers

    @property
    def plain(self) -> bool:
        return not (self.net.residual or self.net.batchnorm)

    @cached_property
    def loss(self) -> np.ndarray | None:
        """The history's loss curve, or None."""
        if self.history is None or not np.asarray(self.history.loss).size:
            return None
        return np.asarray(self.history.loss, dtype=np.float64)

    @property
    def diverged_at(self) -> int | None:
        return None if self.history is None else self.history.diverged_at

    @cached_property
    def spike(self) -> float | None:
        """Largest finite loss over the first one, when the first is positive."""
        if self.loss is None:
            return None
        fin = self.loss[np.isfinite(self.loss)]
        return float(fin.max() / fin[0]) if fin.size and fin[0] > 0 else None

    @cached_property
    def zero_layers(self) -> list[int]:
        """Hidden layers whose weights are exactly zero."""
        return [s.layer for s in self.layers if s.weight_norm == 0.0]

    @cached_property
    def tiny_layers(self) -> list[int]:
        """Hidden layers whose weight RMS is below TINY_WEIGHT_RATIO of He's."""
        return [s.layer for s in self.layers if 0 < s.weight_rms < TINY_WEIGHT_RATIO * s.he_rms]

    @cached_property
    def vanished(self) -> bool:
        """Tiny weights and a last-layer mean square below VANISHED_RATIO of the input's."""
        q0 = self.report.input_mean_sq
        return bool(self.tiny_layers and self.layers and q0 > 0
                    and self.layers[-1].mean_sq_activation < VANISHED_RATIO * q0)

    @cached_property
    def dead_layers(self) -> list:
        """Fully dead hidden layers not explained by zero weights."""
        return [s for s in self.layers if s.dead_fraction == 1.0 and s.layer not in self.zero_layers]


def _span(layers: list[int]) -> str:
    if not layers:
        return ""
    if len(layers) > 2 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}-{layers[-1]}"
    return ("layer " if len(layers) == 1 else "layers ") + ", ".join(map(str, layers))


def _widths(widths: list[int]) -> str:
    if len(set(widths)) == 1:
        return f"{widths[0]} x {len(widths)}"
    return ", ".join(map(str, widths))


def divergence(e: Evidence) -> Cause | None:
    """Training diverged, or the parameters or outputs are not finite."""
    if e.report.finite and e.diverged_at is None:
        return None
    bits = []
    if e.diverged_at is not None:
        bits.append(f"the loss became non-finite at step {e.diverged_at}")
        if e.loss is not None and np.isfinite(e.loss[0]):
            fin = e.loss[np.isfinite(e.loss)]
            bits.append(f"after rising from {_g(fin[0])} to {_g(fin.max())}")
    if not e.report.finite:
        bits.append("parameters or outputs are NaN/inf, so no input is told apart from another")
    return Cause("divergence", "training diverged: " + ", ".join(bits)
                 + ": the learning rate is too large for this loss (lower it, use Adam/RMSprop, or clip gradients)",
                 1.0)


def zero_weights(e: Evidence) -> Cause | None:
    """Hidden weights exactly zero: symmetry is never broken."""
    zero = e.zero_layers
    if not zero:
        return None
    allz = len(zero) == len(e.layers)
    return Cause(
        "initialization",
        f"hidden weights are exactly zero in {_span(zero)}"
        + (" (all hidden layers)" if allz and len(zero) > 1 else "")
        + ": every unit of a layer computes the same value and receives the same gradient "
        "(zero through a ReLU at 0), so symmetry is never broken and the weights never move: "
        "initialization (use He init)",
        0.97,
    )


def tiny_weights(e: Evidence) -> Cause | None:
    """Hidden weights far below He's scale, and whether the signal vanished because of them."""
    if not (e.tiny_layers and e.layers):
        return None
    last, q0 = e.layers[-1], e.report.input_mean_sq
    t = e.layers[e.tiny_layers[0] - 1]
    evidence = (f"hidden weights near zero in {_span(e.tiny_layers)} (RMS {_g(t.weight_rms)} vs He scale "
                f"{_g(t.he_rms)} in layer {t.layer})")
    if not e.vanished:
        return Cause("initialization", evidence + " (the signal still gets through)", 0.3)
    pred = "" if last.predicted_mean_sq is None else f" (variance recursion: {_g(last.predicted_mean_sq)})"
    alive = [s for s in e.layers if s.mean_sq_activation > 0]
    low = min(alive, key=lambda s: s.mean_sq_activation) if alive else last
    tail = "" if low is last else f" (and exactly 0 from layer {low.layer + 1} on)"
    if low.predicted_mean_sq is not None:
        pred = f" (variance recursion at layer {low.layer}: {_g(low.predicted_mean_sq)})"
    return Cause("initialization",
                 evidence + f" and the signal vanishes: mean squared activation falls from "
                 f"{_g(q0)} at the input to {_g(low.mean_sq_activation)} at layer {low.layer}{tail}"
                 + pred + ": initialization (use He init)", 0.9)


def dead_layer(e: Evidence) -> Cause | None:
    """A fully dead hidden layer, and what killed it: vanished signal, large updates, narrowness."""
    dead = e.dead_layers
    if not dead or e.zero_layers:
        return None
    f = dead[0]
    prev_q = e.report.input_mean_sq if f.layer == 1 else e.layers[f.layer - 2].mean_sq_activation
    pre_sd = f.weight_rms * math.sqrt(max(prev_q, 0.0) * int(e.net.sizes[f.layer - 1]))
    where = f"layer {f.layer}: 100% dead (no unit fires for any input)"
    if len(dead) > 1:
        where += f", and {_span([s.layer for s in dead[1:]])} after it"
    if e.vanished and f.layer > 1 and f.weight_rms < TINY_WEIGHT_RATIO * f.he_rms:
        return Cause("dead layer", where + ": a consequence of the vanished signal (its weighted input is only "
                     f"{_g(pre_sd)}, so a bias drift of {_g(f.bias_mean)} switches every unit off)", 0.5)
    bits = []
    if f.bias_mean < 0 and (pre_sd == 0 or -f.bias_mean > 2.0 * pre_sd):
        bits.append(f"mean bias {_g(f.bias_mean)} against a weighted-input scale of {_g(pre_sd)}")
    if f.weight_rms > 5.0 * f.he_rms:
        bits.append(f"weight RMS {_g(f.weight_rms)} = {_g(f.weight_rms / f.he_rms)}x He scale")
    if e.spike is not None and e.spike > 10.0:
        bits.append(f"the loss peaked at {_g(e.spike)}x its starting value")
    if bits or e.diverged_at is not None:
        return Cause("learning rate", where + " after large updates (" + "; ".join(bits) + "): the learning rate "
                     "pushed the units into the inactive region, where ReLU passes no gradient back", 0.92)
    if f.width <= NARROW:
        return _born_dead(e, f)
    return Cause("dead layer", where + ": the output is one constant for every input and no gradient reaches the "
                 "layers before it", 0.85)


def _born_dead(e: Evidence, f) -> Cause:
    widths = [s.width for s in e.layers]
    lo, hi = theory.born_dead_bounds(widths)
    if e.init == "rai":
        advice = "randomized asymmetric initialization lowers this risk but does not remove it: use wider layers"
    else:
        advice = (f"a symmetric initialization leaves a layer dead with probability between "
                  f"{lo:.2f} and {hi:.2f} (Lu et al. 2019): use wider layers or randomized "
                  "asymmetric initialization (init='rai')")
    return Cause("born dead", f"born dead: no unit of layer {f.layer} fires for any input, so the network is a "
                 f"constant; {len(widths)} hidden layers this narrow (widths {_widths(widths)}): " + advice, 0.9)


def dead_units(e: Evidence) -> Cause | None:
    """Hidden layers with at least half, but not all, of their units dead."""
    partial = [s for s in e.layers if 0.5 <= s.dead_fraction < 1.0]
    if not partial:
        return None
    worst = max(partial, key=lambda s: s.dead_fraction)
    return Cause("dead units", f"{len(partial)} hidden layer(s) have at least half their units dead "
                 f"(worst: layer {worst.layer}, {100 * worst.dead_fraction:.0f}% of {worst.width})", 0.35)


def depth(e: Evidence) -> Cause | None:
    """Representations converge with depth (arc-cosine map) in a deep net."""
    layers = e.layers
    if not layers or e.dead_layers or e.zero_layers or len(layers) < DEEP or layers[-1].cosine < SAME_COSINE:
        return None
    last, first = layers[-1], layers[0]
    k = next(s.layer for s in layers if s.cosine >= SAME_COSINE)
    pred = "" if last.predicted_cosine is None else f"; arc-cosine theory {last.predicted_cosine:.4f}"
    tail = (": depth without skip connections or normalization" if e.plain else
            " even with " + ("residual connections" if e.net.residual else "batch normalization"))
    return Cause("depth", f"representations nearly identical by layer {k} (cosine {last.cosine:.4f} at layer "
                 f"{last.layer} vs {first.cosine:.4f} at layer 1{pred})" + tail, 0.8 if e.plain else 0.4)


def vanishing_gradients(e: Evidence) -> Cause | None:
    """Weight gradients of a plain net fall by 1000x toward the input."""
    g = [s.grad_weight_norm for s in e.layers if s.grad_weight_norm is not None]
    if len(g) < 3 or not e.plain or max(g) <= 0 or g[0] >= 1e-3 * max(g):
        return None
    return Cause("vanishing gradients", f"gradients vanish toward the input: |dW| {_g(g[0])} at layer 1 vs "
                 f"{_g(max(g))} at layer {int(np.argmax(g)) + 1}", 0.6)


#: Every rule, in the order their causes are listed at equal score.
RULES: tuple[Callable[[Evidence], Cause | None], ...] = (
    divergence, zero_weights, tiny_weights, dead_layer, dead_units, depth, vanishing_gradients,
)


def rank_causes(report, net, *, history=None, init=None) -> list[Cause]:
    """The causes that fire on ``report`` of ``net``, most likely first."""
    e = Evidence(report, net, history, init)
    causes = [c for c in (rule(e) for rule in RULES) if c is not None]
    if report.collapsed and not causes:
        causes.append(Cause(
            "unexplained",
            f"outputs are nearly constant (std ratio {_g(report.output_std_ratio)}) but no hidden "
            "layer is dead and the weights are in range: check the output layer, the data "
            "(is the target constant?) and the loss",
            0.1,
        ))
    causes.sort(key=lambda c: -c.score)
    return causes
