"""Measuring an ``fr.MLP`` on data: per-layer statistics next to theory, and the output's spread.

:func:`measure_mlp` is the measurement half of :func:`fastrelu.diagnose` for MLP-shaped
models (an ``fr.MLP``, or a model imported as one); the findings are made elsewhere.

Definitions
-----------
* cosine: mean over pairs of rows ``(i, j), i != j`` of ``h_i . h_j / (|h_i| |h_j|)`` with
  ``h`` the layer's representation (after ReLU and any residual add); a pair of all-zero rows
  counts as 1 (identical), one zero row against a non-zero one as 0. All pairs when there are
  at most ``max_pairs``, else ``max_pairs`` pairs sampled with ``seed``.
* output: the network's output followed by the model's output activation (if any); the
  collapse rule and the loss are measured on it, as the user's own loop would.
"""
from __future__ import annotations

import math

import numpy as np

from fastrelu import _validation as v
from fastrelu import rules, theory
from fastrelu.imported import apply_output_activation
from fastrelu.network import MLP
from fastrelu.report import LayerStats, Report

__all__ = ["measure_mlp", "hooks_report", "target_yardstick"]


def _pairs(n: int, max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    total = n * (n - 1) // 2
    if total <= max_pairs:
        i, j = np.triu_indices(n, k=1)
        return i.astype(np.int64), j.astype(np.int64)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, max_pairs)
    j = (i + rng.integers(1, n, max_pairs)) % n  # j != i, uniform over the others
    return i, j


def _pair_cosines(h: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    h = np.asarray(h, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", h, h))
    dots = np.einsum("ij,ij->i", h[i], h[j])
    ni, nj = norms[i], norms[j]
    both_zero = (ni == 0) & (nj == 0)
    one_zero = (ni == 0) ^ (nj == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = dots / (ni * nj)
    c = np.where(both_zero, 1.0, np.where(one_zero, 0.0, c))
    return np.clip(c, -1.0, 1.0)


def _theory(net: MLP, init, input_mean_sq, weights, biases):
    """Predicted mean squared activations, the basis of the prediction, and whether the
    arc-cosine prediction applies (symmetric init, zero biases)."""
    sizes, n_hidden = net.sizes, net.n_hidden
    if net.residual or net.batchnorm:
        kind = "residual" if net.residual else "batch-normalized"
        return [None] * n_hidden, f"none (the recursion covers plain nets; this one is {kind})", False
    if isinstance(init, str) and init in theory.INIT_VARIANCES:
        bias = float(net.bias_init)
        pred = theory.predict_mean_sq(sizes, init, input_mean_sq=input_mean_sq, bias=bias)
        zero_bias = init not in theory.RANDOM_BIAS_VARIANCES and bias == 0.0
        return [float(p) for p in pred], f"variance recursion for init {init!r}", zero_bias
    # unknown or asymmetric init: the same recursion with each layer's current weight moments
    fan_ins = [sizes[i] for i in range(n_hidden)]
    wv = [float(np.mean(np.square(weights[i], dtype=np.float64))) for i in range(n_hidden)]
    bm = [float(np.mean(biases[i])) for i in range(n_hidden)]
    bv = [float(np.var(biases[i])) for i in range(n_hidden)]
    pred = theory.mean_sq_recursion(fan_ins, wv, bm, bv, input_mean_sq)
    return [float(p) for p in pred], "variance recursion with the current weight moments", False


def target_yardstick(X, y, loss: str, reference_std: float | None) -> tuple[float, str]:
    """The collapse rule's target std and where it came from: ``y``, ``reference_std``, else ``X``."""
    if y is not None:
        return rules.target_std(y, loss), "target"
    if reference_std is not None:
        return float(reference_std), "reference"
    with np.errstate(all="ignore"):
        return rules.output_std(np.where(np.isfinite(X), X, 0.0)), "input"


def measure_mlp(net: MLP, X: np.ndarray, y, *, loss: str, output_activation: str | None,
                reference_std: float | None, init: str, max_pairs: int, seed: int) -> tuple[Report, np.ndarray]:
    """The report of ``net`` on ``X`` (findings not yet made) and the model's output (n, k) in float64."""
    n = X.shape[0]
    weights, biases = net.weights, net.biases
    with np.errstate(all="ignore"):
        pre = net.preactivations(X)
        acts = net.activations(X)
        out = apply_output_activation(np.asarray(net.forward(X), dtype=np.float64), output_activation)
        params_finite = bool(np.isfinite(net.params).all())
        finite = bool(params_finite and np.isfinite(out).all())
        output_std = rules.output_std(out) if finite else float("nan")
    target_std, target_kind = target_yardstick(X, y, loss, reference_std)
    ratio = output_std / target_std if target_std > 0 else float("nan")

    grads = loss_value = None
    if y is not None and finite:
        with np.errstate(all="ignore"):
            if output_activation is None:
                grads = net.gradients(X, y, loss=loss)
            loss_value = rules.mean_loss(out, y, loss)

    with np.errstate(all="ignore"):
        input_mean_sq = float(np.mean(np.square(X, dtype=np.float64)))
    pred_msq, basis, zero_bias = _theory(net, init, input_mean_sq, weights, biases)
    pi, pj = _pairs(n, max_pairs, seed)
    pred_cos: list[float | None] = [None] * net.n_hidden
    if zero_bias and net.n_hidden and np.isfinite(input_mean_sq):
        c0 = _pair_cosines(X, pi, pj)
        pred_cos = [float(c) for c in theory.predict_cosine(c0, net.n_hidden).mean(axis=1)]
    with np.errstate(all="ignore"):
        layers = [_layer_stats(net, k, pre[k], acts[k], pred_msq[k], pred_cos[k], pi, pj, grads)
                  for k in range(net.n_hidden)]
        output_weight_norm = float(np.linalg.norm(weights[-1]))
    report = Report(
        layers=layers, output_std=output_std, target_std=target_std, target_kind=target_kind,
        output_std_ratio=ratio, collapsed=rules.is_collapsed(output_std, target_std, finite),
        finite=finite, loss=loss_value, output_weight_norm=output_weight_norm,
        output_grad_norm=None if grads is None else float(np.linalg.norm(grads[0][-1])),
        input_mean_sq=input_mean_sq, theory_basis=basis, n_rows=n, n_pairs=int(pi.size),
        params_finite=params_finite, loss_name=loss, output_activation=output_activation,
    )
    return report, out


def _layer_stats(net: MLP, k: int, pre, act, pred_msq, pred_cos, pi, pj, grads) -> LayerStats:
    """Measurements of hidden layer ``k`` (from 0)."""
    h = np.asarray(act, dtype=np.float64)
    w, b = net.weights[k], net.biases[k]
    return LayerStats(
        layer=k + 1,
        width=net.sizes[k + 1],
        dead_fraction=rules.dead_fraction(pre),
        mean_sq_activation=float(np.mean(np.square(h))),
        predicted_mean_sq=pred_msq,
        cosine=float(np.mean(_pair_cosines(h, pi, pj))),
        predicted_cosine=pred_cos,
        weight_norm=float(np.linalg.norm(w)),
        weight_rms=float(np.sqrt(np.mean(np.square(w, dtype=np.float64)))),
        he_rms=math.sqrt(2.0 / net.sizes[k]),
        bias_norm=float(np.linalg.norm(b)),
        bias_mean=float(np.mean(b)),
        grad_weight_norm=None if grads is None else float(np.linalg.norm(grads[0][k])),
        grad_bias_norm=None if grads is None else float(np.linalg.norm(grads[1][k])),
    )


def hooks_report(measured, weights: list[dict], X: np.ndarray, y, *, loss: str | None,
                 reference_std: float | None, params_finite: bool, source: str) -> Report:
    """The report of a model measured through hooks (``measured``: a
    :class:`fastrelu.torch_hooks.HookMeasurement`; ``weights``: per weight tensor its name, shape,
    RMS, He's RMS and finiteness; ``X``: the inputs as rows). One layer per ReLU call."""
    out = measured.output
    loss = rules.infer_loss(y, out.shape[1]) if loss is None else loss
    y = v.check_targets(y, loss, len(out), out.shape[1])
    finite = bool(params_finite and measured.finite)
    output_std = measured.output_std if finite else float("nan")
    target_std, target_kind = target_yardstick(X, y, loss, reference_std)
    loss_value = None
    if y is not None and finite:
        with np.errstate(all="ignore"):
            loss_value = rules.mean_loss(out, y, loss)
    layers = [LayerStats(layer=k + 1, width=h.units, dead_fraction=h.dead_fraction, mean_sq_activation=h.mean_sq,
                         name=h.name) for k, h in enumerate(measured.layers)]
    with np.errstate(all="ignore"):
        input_mean_sq = float(np.mean(np.square(X, dtype=np.float64)))
    return Report(
        layers=layers, output_std=output_std, target_std=target_std, target_kind=target_kind,
        output_std_ratio=output_std / target_std if target_std > 0 else float("nan"),
        collapsed=rules.is_collapsed(output_std, target_std, finite), finite=finite, loss=loss_value,
        output_weight_norm=float("nan"), output_grad_norm=None, input_mean_sq=input_mean_sq,
        theory_basis="none (measured through hooks)", n_rows=measured.n_rows, n_pairs=0,
        params_finite=params_finite, loss_name=loss, model=source, weights=weights,
    )
