"""Likely causes of collapsed outputs read off the network: one rule per cause.

Each rule looks at the measured layers (and the training history, if any) only and, when it
fires, returns a :class:`~fastrelu.findings.Finding` whose message and evidence quote those
numbers. Scores only order findings (1 = certain explanation of a collapse, 0.1 = no
explanation found); they are not probabilities. The rules on the data, the output activation
and the loss are in :mod:`fastrelu.data_rules`. :class:`Cause` is the scenarios' short view of
a finding (its cause label and message).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np

from fastrelu import theory
from fastrelu._format import fmt as _g
from fastrelu.findings import Finding

__all__ = ["Cause", "Evidence", "RULES", "as_causes"]

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


def as_causes(findings: list[Finding]) -> list[Cause]:
    """The scenarios' view of ranked findings: those with a cause label, errors and warnings."""
    return [Cause(f.cause, f.message, f.score) for f in findings if f.cause and f.severity != "info"]


@dataclass
class Evidence:
    """What the rules read: the report, the net (None for a model measured through hooks), the
    training history if any, and the user's data and settings."""

    report: Any
    net: Any
    history: Any = None
    init: str | None = None
    X: Any = None
    y: Any = None
    loss: str = "mse"
    output_activation: str | None = None
    output: Any = None
    probe: Any = None

    @property
    def layers(self) -> list:
        return self.report.layers

    @property
    def plain(self) -> bool:
        return self.net is not None and not (self.net.residual or self.net.batchnorm)

    @cached_property
    def feature_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per feature of ``X``: root mean square and std over its finite values."""
        with np.errstate(all="ignore"):
            Xf = np.where(np.isfinite(self.X), self.X, np.nan).astype(np.float64)
            return np.sqrt(np.nanmean(Xf * Xf, axis=0)), np.nanstd(Xf, axis=0)

    @cached_property
    def curve(self) -> np.ndarray | None:
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
        if self.curve is None:
            return None
        fin = self.curve[np.isfinite(self.curve)]
        return float(fin.max() / fin[0]) if fin.size and fin[0] > 0 else None

    @cached_property
    def zero_layers(self) -> list[int]:
        """Hidden layers whose weights are exactly zero."""
        return [s.layer for s in self.layers if s.weight_norm == 0.0]

    @cached_property
    def tiny_layers(self) -> list[int]:
        """Hidden layers whose weight RMS is below TINY_WEIGHT_RATIO of He's."""
        return [s.layer for s in self.layers
                if s.weight_rms is not None and 0 < s.weight_rms < TINY_WEIGHT_RATIO * s.he_rms]

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


def _finding(code, severity, message, fix, cause, score, **evidence) -> Finding:
    return Finding(code, severity, message, evidence, fix, cause, score)


def divergence(e: Evidence) -> Finding | None:
    """Training diverged, or the parameters are not finite (NaN/inf inputs are a data rule)."""
    params_finite = e.report.params_finite
    if params_finite and e.diverged_at is None:
        return None
    bits, evidence = [], {"diverged_at": e.diverged_at, "params_finite": params_finite}
    if e.diverged_at is not None:
        bits.append(f"the loss became non-finite at step {e.diverged_at}")
        if e.curve is not None and np.isfinite(e.curve[0]):
            fin = e.curve[np.isfinite(e.curve)]
            bits.append(f"after rising from {_g(fin[0])} to {_g(fin.max())}")
            evidence.update(first_loss=float(fin[0]), peak_loss=float(fin.max()))
    if not params_finite:
        bits.append("parameters are NaN/inf, so no input is told apart from another")
    code = "nonfinite-params" if not params_finite else "learning-rate-high"
    return _finding(code, "error", "training diverged: " + ", ".join(bits)
                    + ": the learning rate is too large for this loss (lower it, use Adam/RMSprop, or clip "
                    "gradients)", "lower the learning rate, use Adam/RMSprop, or clip gradients", "divergence", 1.0,
                    **evidence)


def zero_weights(e: Evidence) -> Finding | None:
    """Hidden weights exactly zero: symmetry is never broken."""
    zero = e.zero_layers
    if not zero:
        return None
    allz = len(zero) == len(e.layers)
    return _finding(
        "zero-init", "error",
        f"hidden weights are exactly zero in {_span(zero)}"
        + (" (all hidden layers)" if allz and len(zero) > 1 else "")
        + ": every unit of a layer computes the same value and receives the same gradient "
        "(zero through a ReLU at 0), so symmetry is never broken and the weights never move: "
        "initialization (use He init)",
        "initialize the weights randomly at He's scale (fastrelu: init='he'; PyTorch: "
        "torch.nn.init.kaiming_normal_(w, nonlinearity='relu'))",
        "initialization", 0.97, zero_layers=zero)


def tiny_weights(e: Evidence) -> Finding | None:
    """Hidden weights far below He's scale, and whether the signal vanished because of them."""
    if not (e.tiny_layers and e.layers):
        return None
    last, q0 = e.layers[-1], e.report.input_mean_sq
    t = e.layers[e.tiny_layers[0] - 1]
    evidence = (f"hidden weights near zero in {_span(e.tiny_layers)} (RMS {_g(t.weight_rms)} vs He scale "
                f"{_g(t.he_rms)} in layer {t.layer})")
    numbers = {"tiny_layers": e.tiny_layers, "weight_rms": t.weight_rms, "he_rms": t.he_rms,
               "input_mean_sq": q0, "last_mean_sq": last.mean_sq_activation}
    fix = ("initialize at He's scale, weight std sqrt(2 / fan_in) (fastrelu: init='he'; PyTorch: "
           "torch.nn.init.kaiming_normal_(w, nonlinearity='relu'))")
    if not e.vanished:
        return _finding("vanishing-init", "info", evidence + " (the signal still gets through)", fix,
                        "initialization", 0.3, **numbers)
    pred = "" if last.predicted_mean_sq is None else f" (variance recursion: {_g(last.predicted_mean_sq)})"
    alive = [s for s in e.layers if s.mean_sq_activation > 0]
    low = min(alive, key=lambda s: s.mean_sq_activation) if alive else last
    tail = "" if low is last else f" (and exactly 0 from layer {low.layer + 1} on)"
    if low.predicted_mean_sq is not None:
        pred = f" (variance recursion at layer {low.layer}: {_g(low.predicted_mean_sq)})"
    return _finding("vanishing-init", "error",
                    evidence + f" and the signal vanishes: mean squared activation falls from "
                    f"{_g(q0)} at the input to {_g(low.mean_sq_activation)} at layer {low.layer}{tail}"
                    + pred + ": initialization (use He init)", fix, "initialization", 0.9,
                    lowest_layer=low.layer, lowest_mean_sq=low.mean_sq_activation,
                    predicted_mean_sq=low.predicted_mean_sq, **numbers)


def dead_layer(e: Evidence) -> Finding | None:
    """A fully dead hidden layer, and what killed it: vanished signal, large updates, narrowness."""
    dead = e.dead_layers
    if not dead or e.zero_layers:
        return None
    f = dead[0]
    where = f"layer {f.layer}{'' if not f.name else f' ({f.name})'}: 100% dead (no unit fires for any input)"
    if len(dead) > 1:
        where += f", and {_span([s.layer for s in dead[1:]])} after it"
    numbers = {"dead_layers": [s.layer for s in dead], "width": f.width}
    if f.weight_rms is None:   # measured through hooks: no weights to explain it with
        return _finding("dead-layer", "error", where + ": the output is one constant for every input and no "
                        "gradient reaches the layers before it", _DEAD_FIX, "dead layer", 0.85, **numbers)
    prev_q = e.report.input_mean_sq if f.layer == 1 else e.layers[f.layer - 2].mean_sq_activation
    pre_sd = f.weight_rms * math.sqrt(max(prev_q, 0.0) * int(e.net.sizes[f.layer - 1]))
    numbers.update(bias_mean=f.bias_mean, weighted_input_sd=pre_sd, weight_rms=f.weight_rms, he_rms=f.he_rms)
    if e.vanished and f.layer > 1 and f.weight_rms < TINY_WEIGHT_RATIO * f.he_rms:
        return _finding("dead-layer", "error", where + ": a consequence of the vanished signal (its weighted "
                        f"input is only {_g(pre_sd)}, so a bias drift of {_g(f.bias_mean)} switches every unit "
                        "off)", "initialize at He's scale (init='he')", "dead layer", 0.5, **numbers)
    bits = []
    if f.bias_mean < 0 and (pre_sd == 0 or -f.bias_mean > 2.0 * pre_sd):
        bits.append(f"mean bias {_g(f.bias_mean)} against a weighted-input scale of {_g(pre_sd)}")
    if f.weight_rms > 5.0 * f.he_rms:
        bits.append(f"weight RMS {_g(f.weight_rms)} = {_g(f.weight_rms / f.he_rms)}x He scale")
    if e.spike is not None and e.spike > 10.0:
        bits.append(f"the loss peaked at {_g(e.spike)}x its starting value")
    if bits or e.diverged_at is not None:
        return _finding("learning-rate-high", "error", where + " after large updates (" + "; ".join(bits)
                        + "): the learning rate pushed the units into the inactive region, where ReLU passes "
                        "no gradient back", "lower the learning rate (or use Adam, or clip gradients) and "
                        "retrain from a fresh initialization", "learning rate", 0.92, loss_spike=e.spike, **numbers)
    if f.width <= NARROW:
        return _born_dead(e, f, numbers)
    return _finding("dead-layer", "error", where + ": the output is one constant for every input and no "
                    "gradient reaches the layers before it", _DEAD_FIX, "dead layer", 0.85, **numbers)


_DEAD_FIX = "retrain from a fresh He initialization with a smaller learning rate, or use LeakyReLU"


def _born_dead(e: Evidence, f, numbers: dict) -> Finding:
    widths = [s.width for s in e.layers]
    lo, hi = theory.born_dead_bounds(widths)
    if e.init == "rai":
        advice = "randomized asymmetric initialization lowers this risk but does not remove it: use wider layers"
    else:
        advice = (f"a symmetric initialization leaves a layer dead with probability between "
                  f"{lo:.2f} and {hi:.2f} (Lu et al. 2019): use wider layers or randomized "
                  "asymmetric initialization (init='rai')")
    return _finding("narrow", "error", f"born dead: no unit of layer {f.layer} fires for any input, so the "
                    f"network is a constant; {len(widths)} hidden layers this narrow (widths {_widths(widths)}): "
                    + advice, "use wider hidden layers (or init='rai')", "born dead", 0.9,
                    widths=widths, p_born_dead_low=lo, p_born_dead_high=hi, **numbers)


def narrow_risk(e: Evidence) -> Finding | None:
    """Alive, but so narrow and deep that a fresh initialization is often born dead."""
    if e.net is None or e.dead_layers or not e.layers or min(s.width for s in e.layers) > NARROW:
        return None
    widths = [s.width for s in e.layers]
    lo, hi = theory.born_dead_bounds(widths)
    if hi < 0.1:
        return None
    return _finding("narrow", "warning", f"hidden layers this narrow (widths {_widths(widths)}) are born dead "
                    f"with probability between {lo:.2f} and {hi:.2f} at a symmetric initialization (Lu et al. "
                    "2019): this one is alive, a retrained one may not be", "use wider hidden layers "
                    "(or init='rai')", "born dead", 0.4, widths=widths, p_born_dead_low=lo, p_born_dead_high=hi)


def dead_units(e: Evidence) -> Finding | None:
    """Hidden layers with at least half, but not all, of their units dead."""
    partial = [s for s in e.layers if 0.5 <= s.dead_fraction < 1.0]
    if not partial:
        return None
    worst = max(partial, key=lambda s: s.dead_fraction)
    return _finding("dead-units", "warning", f"{len(partial)} hidden layer(s) have at least half their units "
                    f"dead (worst: layer {worst.layer}, {100 * worst.dead_fraction:.0f}% of {worst.width})",
                    "a smaller learning rate, He initialization, or LeakyReLU keeps more units alive",
                    "dead units", 0.35, layers=[s.layer for s in partial],
                    dead_fraction={s.layer: s.dead_fraction for s in partial})


def depth(e: Evidence) -> Finding | None:
    """Representations converge with depth (arc-cosine map) in a deep net."""
    layers = e.layers
    if (e.net is None or not layers or e.dead_layers or e.zero_layers or len(layers) < DEEP
            or layers[-1].cosine is None or layers[-1].cosine < SAME_COSINE):
        return None
    last, first = layers[-1], layers[0]
    k = next(s.layer for s in layers if s.cosine >= SAME_COSINE)
    pred = "" if last.predicted_cosine is None else f"; arc-cosine theory {last.predicted_cosine:.4f}"
    tail = (": depth without skip connections or normalization" if e.plain else
            " even with " + ("residual connections" if e.net.residual else "batch normalization"))
    severity = "error" if e.report.collapsed else "warning"
    return _finding("deep-plain", severity, f"representations nearly identical by layer {k} (cosine "
                    f"{last.cosine:.4f} at layer {last.layer} vs {first.cosine:.4f} at layer 1{pred})" + tail,
                    "add scaled residual connections or batch normalization, or use fewer layers", "depth",
                    0.8 if e.plain else 0.4, depth=len(layers), first_cosine=first.cosine,
                    last_cosine=last.cosine, predicted_cosine=last.predicted_cosine, identical_from=k)


def vanishing_gradients(e: Evidence) -> Finding | None:
    """Weight gradients of a plain net fall by 1000x toward the input."""
    g = [s.grad_weight_norm for s in e.layers if s.grad_weight_norm is not None]
    if len(g) < 3 or not e.plain or max(g) <= 0 or g[0] >= 1e-3 * max(g):
        return None
    return _finding("vanishing-gradients", "warning", f"gradients vanish toward the input: |dW| {_g(g[0])} at "
                    f"layer 1 vs {_g(max(g))} at layer {int(np.argmax(g)) + 1}", "He initialization, residual "
                    "connections or batch normalization", "vanishing gradients", 0.6, grad_weight_norms=g)


def module_weights(e: Evidence) -> Finding | None:
    """A model measured through hooks: weight tensors exactly zero, or far below He's scale."""
    weights = e.report.weights or []
    if e.net is not None or not weights:
        return None
    zero = [w["name"] for w in weights if w["rms"] == 0.0]
    if zero:
        return _finding("zero-init", "error", f"weights exactly zero in {', '.join(zero[:6])}"
                        f"{' ...' if len(zero) > 6 else ''}: every unit of such a layer computes the same value "
                        "and gets the same gradient, so symmetry is never broken", "initialize the weights "
                        "randomly at He's scale (torch.nn.init.kaiming_normal_)", "initialization", 0.97,
                        zero_weights=zero)
    tiny = [w for w in weights if 0 < w["rms"] < TINY_WEIGHT_RATIO * w["he_rms"]]
    if not tiny:
        return None
    last = e.layers[-1].mean_sq_activation if e.layers else None
    q0 = e.report.input_mean_sq
    vanished = last is not None and q0 > 0 and last < VANISHED_RATIO * q0
    t = tiny[0]
    message = (f"weights far below He's scale in {len(tiny)} of {len(weights)} weight tensors ({t['name']}: RMS "
               f"{_g(t['rms'])} vs {_g(t['he_rms'])})")
    if vanished:
        message += f" and the signal vanishes: mean square {_g(q0)} at the input, {_g(last)} at the last ReLU"
    return _finding("vanishing-init", "error" if vanished else "info", message, "initialize at He's scale "
                    "(torch.nn.init.kaiming_normal_)", "initialization", 0.9 if vanished else 0.3,
                    tiny_weights=[w["name"] for w in tiny], weight_rms=t["rms"], he_rms=t["he_rms"],
                    input_mean_sq=q0, last_mean_sq=last)


def unexplained(e: Evidence, fired: list) -> Finding | None:
    """Collapsed, and no error explains it."""
    if not e.report.collapsed or any(f.severity == "error" for f in fired):
        return None
    return _finding("unexplained-collapse", "warning", f"outputs are nearly constant (std ratio "
                    f"{_g(e.report.output_std_ratio)}) but no hidden layer is dead and the weights are in "
                    "range: check the output layer, the data (is the target constant?) and the loss",
                    "check the output layer, the targets and the loss", "unexplained", 0.1,
                    output_std_ratio=e.report.output_std_ratio)


#: Every network rule, in the order their findings are listed at equal severity and score.
RULES: tuple[Callable[[Evidence], Finding | None], ...] = (
    divergence, zero_weights, tiny_weights, module_weights, dead_layer, narrow_risk, dead_units, depth,
    vanishing_gradients,
)
