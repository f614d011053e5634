"""Rules that turn a diagnostics :class:`~fastrelu.diagnostics.Report` into ranked causes.

Each rule looks at measured numbers only and, when it fires, returns a
:class:`~fastrelu.diagnostics.Cause` whose evidence quotes those numbers. Scores only order the
causes (1 = certain explanation of a collapse, 0.1 = no explanation found); they are not
probabilities.
"""
from __future__ import annotations

import math

import numpy as np

from fastrelu import theory

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


def _span(layers: list[int]) -> str:
    if not layers:
        return ""
    if len(layers) > 2 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}-{layers[-1]}"
    return ("layer " if len(layers) == 1 else "layers ") + ", ".join(map(str, layers))


def _g(x: float) -> str:
    if x is None or not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


def _history_loss(history):
    if history is None:
        return None
    loss = np.asarray(getattr(history, "loss", []), dtype=np.float64)
    return loss if loss.size else None


def rank_causes(report, net, *, history=None, init=None):
    """Return the fired causes of ``report``, most likely first."""
    from fastrelu.diagnostics import Cause

    causes: list[Cause] = []
    layers = report.layers
    residual = bool(getattr(net, "residual", False))
    batchnorm = bool(getattr(net, "batchnorm", False))
    plain = not (residual or batchnorm)
    loss = _history_loss(history)
    diverged_at = None if history is None else getattr(history, "diverged_at", None)
    spike = None
    if loss is not None:
        fin = loss[np.isfinite(loss)]
        if fin.size and fin[0] > 0:
            spike = float(fin.max() / fin[0])

    # 1. divergence
    if not report.finite or diverged_at is not None:
        bits = []
        if diverged_at is not None:
            bits.append(f"the loss became non-finite at step {diverged_at}")
            if loss is not None and np.isfinite(loss[0]):
                fin = loss[np.isfinite(loss)]
                bits.append(f"after rising from {_g(fin[0])} to {_g(fin.max())}")
        if not report.finite:
            bits.append("parameters or outputs are NaN/inf, so no input is told apart from another")
        causes.append(Cause(
            "divergence",
            "training diverged: " + ", ".join(bits)
            + ": the learning rate is too large for this loss (lower it, use Adam/RMSprop, or clip gradients)",
            1.0,
        ))

    # 2. exactly zero hidden weights
    zero = [s.layer for s in layers if s.weight_norm == 0.0]
    if zero:
        allz = len(zero) == len(layers)
        causes.append(Cause(
            "initialization",
            f"hidden weights are exactly zero in {_span(zero)}"
            + (" (all hidden layers)" if allz and len(zero) > 1 else "")
            + ": every unit of a layer computes the same value and receives the same gradient "
            "(zero through a ReLU at 0), so symmetry is never broken and the weights never move: "
            "initialization (use He init)",
            0.97,
        ))

    # 3. tiny weights and a vanished signal
    tiny = [s.layer for s in layers if 0 < s.weight_rms < TINY_WEIGHT_RATIO * s.he_rms]
    vanished = False
    if tiny and layers:
        last = layers[-1]
        q0 = report.input_mean_sq
        vanished = q0 > 0 and last.mean_sq_activation < VANISHED_RATIO * q0
        t = layers[tiny[0] - 1]
        pred = "" if last.predicted_mean_sq is None else f" (variance recursion: {_g(last.predicted_mean_sq)})"
        evidence = (
            f"hidden weights near zero in {_span(tiny)} (RMS {_g(t.weight_rms)} vs He scale "
            f"{_g(t.he_rms)} in layer {t.layer})"
        )
        if vanished:
            alive = [s for s in layers if s.mean_sq_activation > 0]
            low = min(alive, key=lambda s: s.mean_sq_activation) if alive else last
            tail = "" if low is last else f" (and exactly 0 from layer {low.layer + 1} on)"
            if low.predicted_mean_sq is not None:
                pred = f" (variance recursion at layer {low.layer}: {_g(low.predicted_mean_sq)})"
            causes.append(Cause(
                "initialization",
                evidence + f" and the signal vanishes: mean squared activation falls from "
                f"{_g(q0)} at the input to {_g(low.mean_sq_activation)} at layer {low.layer}{tail}"
                + pred + ": initialization (use He init)",
                0.9,
            ))
        else:
            causes.append(Cause("initialization", evidence + " (the signal still gets through)", 0.3))

    # 4. dead layers (skip the ones explained by zero weights)
    dead = [s for s in layers if s.dead_fraction == 1.0 and s.layer not in zero]
    if dead and not zero:
        f = dead[0]
        prev_q = report.input_mean_sq if f.layer == 1 else layers[f.layer - 2].mean_sq_activation
        pre_sd = f.weight_rms * math.sqrt(max(prev_q, 0.0) * _fan_in(net, f.layer))
        neg_bias = f.bias_mean < 0 and (pre_sd == 0 or -f.bias_mean > 2.0 * pre_sd)
        big_w = f.weight_rms > 5.0 * f.he_rms
        big_spike = spike is not None and spike > 10.0
        widths = [s.width for s in layers]
        where = f"layer {f.layer}: 100% dead (no unit fires for any input)"
        if len(dead) > 1:
            where += f", and {_span([s.layer for s in dead[1:]])} after it"
        if vanished and f.layer > 1 and f.weight_rms < TINY_WEIGHT_RATIO * f.he_rms:
            causes.append(Cause(
                "dead layer",
                where + ": a consequence of the vanished signal (its weighted input is only "
                f"{_g(pre_sd)}, so a bias drift of {_g(f.bias_mean)} switches every unit off)",
                0.5,
            ))
        elif neg_bias or big_w or big_spike or diverged_at is not None:
            bits = []
            if neg_bias:
                bits.append(f"mean bias {_g(f.bias_mean)} against a weighted-input scale of {_g(pre_sd)}")
            if big_w:
                bits.append(f"weight RMS {_g(f.weight_rms)} = {_g(f.weight_rms / f.he_rms)}x He scale")
            if big_spike:
                bits.append(f"the loss peaked at {_g(spike)}x its starting value")
            causes.append(Cause(
                "learning rate",
                where + " after large updates (" + "; ".join(bits) + "): the learning rate "
                "pushed the units into the inactive region, where ReLU passes no gradient back",
                0.92,
            ))
        elif f.width <= NARROW:
            lo, hi = theory.born_dead_bounds(widths)
            if init == "rai":
                advice = ("randomized asymmetric initialization lowers this risk but does not remove it: "
                          "use wider layers")
            else:
                advice = (f"a symmetric initialization leaves a layer dead with probability between "
                          f"{lo:.2f} and {hi:.2f} (Lu et al. 2019): use wider layers or randomized "
                          "asymmetric initialization (init='rai')")
            causes.append(Cause(
                "born dead",
                f"born dead: no unit of layer {f.layer} fires for any input, so the network is a "
                f"constant; {len(widths)} hidden layers this narrow (widths {_widths(widths)}): " + advice,
                0.9,
            ))
        else:
            causes.append(Cause(
                "dead layer",
                where + ": the output is one constant for every input and no gradient reaches the "
                "layers before it",
                0.85,
            ))
    partial = [s for s in layers if 0.5 <= s.dead_fraction < 1.0]
    if partial:
        worst = max(partial, key=lambda s: s.dead_fraction)
        causes.append(Cause(
            "dead units",
            f"{len(partial)} hidden layer(s) have at least half their units dead "
            f"(worst: layer {worst.layer}, {100 * worst.dead_fraction:.0f}% of {worst.width})",
            0.35,
        ))

    # 5. depth: representations converge
    if layers and not dead and not zero and len(layers) >= DEEP and layers[-1].cosine >= SAME_COSINE:
        last, first = layers[-1], layers[0]
        k = next(s.layer for s in layers if s.cosine >= SAME_COSINE)
        pred = "" if last.predicted_cosine is None else f"; arc-cosine theory {last.predicted_cosine:.4f}"
        causes.append(Cause(
            "depth",
            f"representations nearly identical by layer {k} (cosine {last.cosine:.4f} at layer "
            f"{last.layer} vs {first.cosine:.4f} at layer 1{pred})"
            + (": depth without skip connections or normalization" if plain else
               " even with " + ("residual connections" if residual else "batch normalization")),
            0.8 if plain else 0.4,
        ))

    # 6. vanishing gradients
    g = [s.grad_weight_norm for s in layers if s.grad_weight_norm is not None]
    if len(g) >= 3 and plain and max(g) > 0 and g[0] < 1e-3 * max(g):
        causes.append(Cause(
            "vanishing gradients",
            f"gradients vanish toward the input: |dW| {_g(g[0])} at layer 1 vs {_g(max(g))} at "
            f"layer {int(np.argmax(g)) + 1}",
            0.6,
        ))

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


def _fan_in(net, layer: int) -> int:
    return int(net.sizes[layer - 1])


def _widths(widths: list[int]) -> str:
    if len(set(widths)) == 1:
        return f"{widths[0]} x {len(widths)}"
    return ", ".join(map(str, widths))
