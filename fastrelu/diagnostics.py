"""Why are the outputs identical? Measure a network on data and rank the likely causes.

``diagnose(net, X, y)`` measures, per hidden layer, the fraction of dead units, the mean
squared activation next to the variance-recursion prediction for the net's initialization,
the mean pairwise cosine similarity of the rows' representations next to the arc-cosine
prediction, weight/bias norms and (given ``y``) gradient norms; at the output, the standard
deviation across rows and its ratio to the target's. It then ranks likely causes, each with
the measured evidence in plain words.

The collapse rule
-----------------
``collapsed`` is True when the network's outputs are not all finite, or when the standard
deviation of the outputs across the rows of ``X`` (averaged over output columns) is at most
``1e-3`` times the target standard deviation: the std of ``y`` (averaged over columns; for
``loss="cross_entropy"`` the std of the one-hot labels), else ``reference_std``, else the
mean std of the input features. A network that passes the rule varies its output across
inputs by less than a thousandth of what the task asks for: for any purpose it outputs one
value. Non-finite outputs count as collapsed because they distinguish no input either.

Definitions
-----------
* dead unit: a hidden unit whose ReLU input is <= 0 on every row of ``X``, so it outputs 0
  and passes no gradient for any of them (in a residual layer: its ReLU branch is dead).
* cosine: mean over pairs of rows ``(i, j), i != j`` of ``h_i . h_j / (|h_i| |h_j|)`` with
  ``h`` the layer's representation (after ReLU and any residual add); a pair of all-zero rows
  counts as 1 (identical), one zero row against a non-zero one as 0. All pairs when there are
  at most ``max_pairs``, else ``max_pairs`` pairs sampled with ``seed``.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fastrelu import theory

__all__ = ["diagnose", "Report", "LayerStats", "Cause", "COLLAPSE_RATIO"]

#: Output std at or below this fraction of the target std counts as collapsed.
COLLAPSE_RATIO = 1e-3


@dataclass
class LayerStats:
    """Measurements of one hidden layer (``layer`` counts from 1)."""

    layer: int
    width: int
    dead_fraction: float
    mean_sq_activation: float
    predicted_mean_sq: float | None
    cosine: float
    predicted_cosine: float | None
    weight_norm: float
    weight_rms: float
    he_rms: float
    bias_norm: float
    bias_mean: float
    grad_weight_norm: float | None = None
    grad_bias_norm: float | None = None


@dataclass
class Cause:
    """A likely cause of collapse: a short label, the evidence in plain words, a rank score."""

    cause: str
    evidence: str
    score: float


@dataclass
class Report:
    """Result of :func:`diagnose`; ``rich`` renders it as a table, ``to_dict``/``to_json`` export it."""

    layers: list[LayerStats]
    output_std: float
    target_std: float
    target_kind: str
    output_std_ratio: float
    collapsed: bool
    finite: bool
    loss: float | None
    output_weight_norm: float
    output_grad_norm: float | None
    input_mean_sq: float
    theory_basis: str
    n_rows: int
    n_pairs: int
    causes: list[Cause] = field(default_factory=list)

    @property
    def dead_fraction(self) -> list[float]:
        """Dead fraction per hidden layer."""
        return [s.dead_fraction for s in self.layers]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; non-finite floats become ``None``."""
        return _clean(asdict(self))

    def to_json(self, **kwargs: Any) -> str:
        """The dict of :meth:`to_dict` as a JSON string (strict: no NaN)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def to_table(self):
        """A ``rich.table.Table`` with one row per hidden layer and the verdict as caption."""
        from rich.table import Table

        verdict = "[bold red]COLLAPSED[/]" if self.collapsed else "[bold green]not collapsed[/]"
        table = Table(
            title=f"fastrelu diagnosis ({self.n_rows} rows): {verdict}",
            caption=(
                f"output std {_fmt(self.output_std)} / {self.target_kind} std "
                f"{_fmt(self.target_std)} = ratio {_fmt(self.output_std_ratio)} "
                f"(collapsed if <= {COLLAPSE_RATIO:g}); theory: {self.theory_basis}"
            ),
        )
        for col in ("layer", "width", "dead%", "act^2", "act^2 th.", "cosine", "cos th.",
                    "W/He", "mean b", "|dW|"):
            table.add_column(col, justify="right")
        for s in self.layers:
            table.add_row(
                str(s.layer), str(s.width), f"{100 * s.dead_fraction:.0f}",
                _fmt(s.mean_sq_activation), _fmt(s.predicted_mean_sq), _fmt(s.cosine, 4),
                _fmt(s.predicted_cosine, 4), _fmt(s.weight_rms / s.he_rms if s.he_rms else None),
                _fmt(s.bias_mean), _fmt(s.grad_weight_norm),
            )
        return table

    def __rich__(self):
        from rich.console import Group
        from rich.text import Text

        lines = [self.to_table()]
        if self.causes:
            lines.append(Text("Likely causes, most likely first:", style="bold"))
            for i, c in enumerate(self.causes, 1):
                lines.append(Text(f" {i}. [{c.cause}] {c.evidence}"))
        else:
            lines.append(Text("No cause of collapse detected."))
        return Group(*lines)


def _fmt(x: float | None, decimals: int | None = None) -> str:
    """Short human number: ``decimals`` fixed places if given, else 3 significant digits."""
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    if decimals is not None:
        return f"{x:.{decimals}f}"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    return f"{x:.2e}"


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# --------------------------------------------------------------------------------------------
# measurements


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


def _as_2d(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(n, -1) if y.ndim != 2 else y


def _target_std(y, loss: str, n: int) -> float:
    if loss == "cross_entropy":
        labels = np.asarray(y).astype(np.int64).ravel()
        onehot = np.zeros((n, int(labels.max()) + 1))
        onehot[np.arange(n), labels] = 1.0
        return float(onehot.std(axis=0).mean())
    return float(_as_2d(y, n).std(axis=0).mean())


def _net_flags(net) -> tuple[bool, bool]:
    return bool(getattr(net, "residual", False)), bool(getattr(net, "batchnorm", False))


def _theory(net, sizes, init, input_mean_sq, weights, biases):
    """Predicted mean squared activations and the basis of the prediction."""
    residual, batchnorm = _net_flags(net)
    n_hidden = len(sizes) - 2
    if residual or batchnorm:
        kind = "residual" if residual else "batch-normalized"
        return [None] * n_hidden, f"none (the recursion covers plain nets; this one is {kind})", False
    if isinstance(init, str) and init in theory.INIT_VARIANCES:
        bias = float(getattr(net, "bias_init", getattr(net, "bias_value", 0.0)) or 0.0)
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


def diagnose(
    net,
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
        The network (only ``sizes``, ``weights``, ``biases``, ``forward``, ``activations`` and,
        with ``y``, ``gradients`` are used).
    X : array_like, shape (n, sizes[0])
    y : array_like, optional
        Targets; enables the loss, gradient norms and the target std of the collapse rule.
    loss : {"mse", "cross_entropy"}
    reference_std : float, optional
        Target std to use when ``y`` is absent (default: mean std of the input features).
    init : str, optional
        Name of the initialization the net was built with, for the theory column (default:
        ``net.init`` when it is a name).
    history : fastrelu.History, optional
        The training history; its ``diverged_at`` and loss curve become evidence.
    max_pairs : int, default 2048
        Pairs of rows for the cosine similarity (all pairs if there are fewer).
    seed : int, default 0
        Seeds the pair sample.

    Returns
    -------
    Report
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X: expected a 2-D array with at least 2 rows, got shape {X.shape}")
    if loss not in ("mse", "cross_entropy"):
        raise ValueError(f"loss: expected 'mse' or 'cross_entropy', got {loss!r}")
    if int(max_pairs) < 1:
        raise ValueError(f"max_pairs: expected an int >= 1, got {max_pairs!r}")
    n = X.shape[0]
    sizes = tuple(int(s) for s in net.sizes)
    weights = [np.asarray(w) for w in net.weights]
    biases = [np.asarray(b) for b in net.biases]
    n_hidden = len(sizes) - 2
    if init is None and isinstance(getattr(net, "init", None), str):
        init = net.init

    params_finite = all(np.all(np.isfinite(w)) for w in weights) and all(
        np.all(np.isfinite(b)) for b in biases
    )
    with np.errstate(all="ignore"):
        acts = net.activations(X) if n_hidden else []
        # dead = ReLU input <= 0 on every row (for residual layers: the ReLU branch is dead)
        pre = net.preactivations(X) if (n_hidden and hasattr(net, "preactivations")) else acts
        out = np.asarray(net.forward(X), dtype=np.float64)
    finite = bool(params_finite and np.all(np.isfinite(out)))
    with np.errstate(all="ignore"):
        output_std = float(out.std(axis=0).mean()) if finite else float("nan")

    if y is not None:
        target_std, target_kind = _target_std(y, loss, n), "target"
    elif reference_std is not None:
        target_std, target_kind = float(reference_std), "reference"
    else:
        target_std, target_kind = float(np.asarray(X, dtype=np.float64).std(axis=0).mean()), "input"
    ratio = output_std / target_std if target_std > 0 else float("nan")
    collapsed = (not finite) or output_std <= COLLAPSE_RATIO * target_std

    grads = None
    loss_value = None
    if y is not None and finite:
        with np.errstate(all="ignore"):
            grads = net.gradients(X, y, loss=loss)
            loss_value = _loss(out, y, loss, n)

    input_mean_sq = float(np.mean(np.square(X, dtype=np.float64)))
    pred_msq, basis, zero_bias = _theory(net, sizes, init, input_mean_sq, weights, biases)
    pi, pj = _pairs(n, int(max_pairs), seed)
    pred_cos: list[float | None] = [None] * n_hidden
    if zero_bias and n_hidden:
        c0 = _pair_cosines(X, pi, pj)
        pred_cos = [float(v) for v in theory.predict_cosine(c0, n_hidden).mean(axis=1)]

    layers = []
    for k in range(n_hidden):
        h = np.asarray(acts[k], dtype=np.float64)
        fan_in = sizes[k]
        with np.errstate(all="ignore"):
            layers.append(LayerStats(
                layer=k + 1,
                width=sizes[k + 1],
                dead_fraction=float(np.mean(np.max(pre[k], axis=0) <= 0)),
                mean_sq_activation=float(np.mean(np.square(h))),
                predicted_mean_sq=pred_msq[k],
                cosine=float(np.mean(_pair_cosines(h, pi, pj))),
                predicted_cosine=pred_cos[k],
                weight_norm=float(np.linalg.norm(weights[k])),
                weight_rms=float(np.sqrt(np.mean(np.square(weights[k], dtype=np.float64)))),
                he_rms=math.sqrt(2.0 / fan_in),
                bias_norm=float(np.linalg.norm(biases[k])),
                bias_mean=float(np.mean(biases[k])),
                grad_weight_norm=None if grads is None else float(np.linalg.norm(grads[0][k])),
                grad_bias_norm=None if grads is None else float(np.linalg.norm(grads[1][k])),
            ))
    report = Report(
        layers=layers,
        output_std=output_std,
        target_std=target_std,
        target_kind=target_kind,
        output_std_ratio=ratio,
        collapsed=bool(collapsed),
        finite=finite,
        loss=loss_value,
        output_weight_norm=float(np.linalg.norm(weights[-1])),
        output_grad_norm=None if grads is None else float(np.linalg.norm(grads[0][-1])),
        input_mean_sq=input_mean_sq,
        theory_basis=basis,
        n_rows=n,
        n_pairs=int(pi.size),
    )
    from fastrelu._causes import rank_causes

    report.causes = rank_causes(report, net, history=history, init=init)
    return report


def _loss(out: np.ndarray, y, loss: str, n: int) -> float:
    if loss == "mse":
        return float(np.mean(np.square(out - _as_2d(y, n).reshape(out.shape))))
    z = out - out.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    labels = np.asarray(y).astype(np.int64).ravel()
    return float(-np.mean(logp[np.arange(n), labels]))
