"""Why are the outputs identical? Measure a network on data and rank the likely causes.

``diagnose(net, X, y)`` measures, per hidden layer, the fraction of dead units, the mean
squared activation next to the variance-recursion prediction for the net's initialization,
the mean pairwise cosine similarity of the rows' representations next to the arc-cosine
prediction, weight/bias norms and (given ``y``) gradient norms; at the output, the standard
deviation across rows and its ratio to the target's. It then ranks likely causes, each with
the measured evidence in plain words.

The collapse rule and the dead-unit rule are those of :mod:`fastrelu.rules`; the target
standard deviation is that of ``y``, else ``reference_std``, else the mean std of the input
features.

Definitions
-----------
* cosine: mean over pairs of rows ``(i, j), i != j`` of ``h_i . h_j / (|h_i| |h_j|)`` with
  ``h`` the layer's representation (after ReLU and any residual add); a pair of all-zero rows
  counts as 1 (identical), one zero row against a non-zero one as 0. All pairs when there are
  at most ``max_pairs``, else ``max_pairs`` pairs sampled with ``seed``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from fastrelu import _validation as v
from fastrelu import rules, theory
from fastrelu.causes import Cause, rank_causes
from fastrelu.network import MLP
from fastrelu.report import LayerStats, Report
from fastrelu.rules import COLLAPSE_RATIO

__all__ = ["diagnose", "Report", "LayerStats", "Cause", "COLLAPSE_RATIO"]


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


def _check_rows(X: Any) -> np.ndarray:
    """X as an array of at least 2 rows (the network's passes check the rest)."""
    accepted = "a 2-D array (rows, features) with at least 2 rows"
    if isinstance(X, (str, bytes)) or X is None:
        raise v.reject(TypeError, "X", X, accepted)
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X of dtype {X.dtype} is not accepted; expected {accepted} of real numbers")
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X of shape {X.shape} is not accepted; expected {accepted}")
    return X


@v.validated(loss=v.Choice(rules.LOSSES), reference_std=v.Real(positive=True, none=True),
             max_pairs=v.Int(minimum=1), seed=v.Int(minimum=0))
def diagnose(
    net: MLP,
    X,
    y=None,
    *,
    loss: str = "mse",
    reference_std: float | None = None,
    init: str | None = None,
    history=None,
    max_pairs: int = 2048,
    seed: int = 0,
) -> Report:
    """Measure ``net`` on ``X`` (and ``y``) and rank likely causes of collapsed outputs.

    Parameters
    ----------
    net : fastrelu.MLP
    X : array_like, shape (n, sizes[0])
        At least 2 rows.
    y : array_like, optional
        Targets; enables the loss, gradient norms and the target std of the collapse rule.
    loss : {"mse", "cross_entropy"}
    reference_std : float, optional
        Target std to use when ``y`` is absent (default: mean std of the input features).
    init : str, optional
        Name of the initialization the net was built with, for the theory column (default:
        ``net.init``).
    history : fastrelu.History, optional
        The training history; its ``diverged_at`` and loss curve become evidence.
    max_pairs : int, default 2048
        Pairs of rows for the cosine similarity (all pairs if there are fewer).
    seed : int, default 0
        Seeds the pair sample.

    Returns
    -------
    Report

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> report = fr.diagnose(fr.MLP([4, 8, 1], init="zeros", seed=0), X, y)
    >>> report.collapsed, report.causes[0].cause
    (True, 'initialization')
    """
    if not isinstance(net, MLP):
        raise v.reject(TypeError, "net", net, "a fastrelu.MLP")
    X = _check_rows(X)
    n = X.shape[0]
    init = net.init if init is None else init
    weights, biases = net.weights, net.biases
    with np.errstate(all="ignore"):
        pre = net.preactivations(X)
        acts = net.activations(X)
        out = np.asarray(net.forward(X), dtype=np.float64)
        finite = bool(np.isfinite(net.params).all() and np.isfinite(out).all())
        output_std = rules.output_std(out) if finite else float("nan")
    if y is not None:
        target_std, target_kind = rules.target_std(y, loss), "target"
    elif reference_std is not None:
        target_std, target_kind = reference_std, "reference"
    else:
        target_std, target_kind = rules.output_std(X), "input"
    ratio = output_std / target_std if target_std > 0 else float("nan")

    grads = loss_value = None
    if y is not None and finite:
        with np.errstate(all="ignore"):
            grads = net.gradients(X, y, loss=loss)
            loss_value = rules.mean_loss(out, y, loss)

    input_mean_sq = float(np.mean(np.square(X, dtype=np.float64)))
    pred_msq, basis, zero_bias = _theory(net, init, input_mean_sq, weights, biases)
    pi, pj = _pairs(n, max_pairs, seed)
    pred_cos: list[float | None] = [None] * net.n_hidden
    if zero_bias and net.n_hidden:
        c0 = _pair_cosines(X, pi, pj)
        pred_cos = [float(c) for c in theory.predict_cosine(c0, net.n_hidden).mean(axis=1)]
    with np.errstate(all="ignore"):
        layers = [_layer_stats(net, k, pre[k], acts[k], pred_msq[k], pred_cos[k], pi, pj, grads)
                  for k in range(net.n_hidden)]
    report = Report(
        layers=layers, output_std=output_std, target_std=target_std, target_kind=target_kind,
        output_std_ratio=ratio, collapsed=rules.is_collapsed(output_std, target_std, finite),
        finite=finite, loss=loss_value, output_weight_norm=float(np.linalg.norm(weights[-1])),
        output_grad_norm=None if grads is None else float(np.linalg.norm(grads[0][-1])),
        input_mean_sq=input_mean_sq, theory_basis=basis, n_rows=n, n_pairs=int(pi.size),
    )
    report.causes = rank_causes(report, net, history=history, init=init)
    return report


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
