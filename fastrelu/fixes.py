"""Measured fixes: train the user's architecture from fresh seeds, as-is and with each fix.

:func:`measure_fixes` is what ``fr.diagnose(..., fix=True)`` runs. For every candidate it
trains ``seeds`` networks of the user's architecture on the user's data for ``steps``
minibatch steps and measures each by the rules of :mod:`fastrelu.rules` (the sweep
engine's units: ``fr.Ensemble`` trains, :func:`fastrelu.sweeps.group.measure` measures), so a
candidate's row is evidence, not advice: P(collapsed), P(diverged) and the median final loss.

All candidates use the same seeds (common random numbers: a difference between two rows is
the change, not the luck of the draw), and every candidate that shares the user's
architecture and inputs is trained in one stacked ensemble.

Examples
--------
>>> import fastrelu as fr
>>> X, y = fr.data.teacher(256, 4, seed=0)
>>> net = fr.MLP([4, 16, 16, 1], init="zeros")
>>> rows = measure_fixes(net, X, y, loss="mse", seeds=4, steps=50)
>>> sorted(r.name for r in rows)
['adam', 'as-is', 'batchnorm', 'he-init', 'lower-lr', 'residual']
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu import optim, rules
from fastrelu._format import json_clean
from fastrelu.ensemble import Ensemble
from fastrelu.imported import IMPORTED_INIT, OUTPUT_ACTIVATIONS
from fastrelu.init import SCHEMES
from fastrelu.kernels.layout import B_OFF, IN, OUT, W_OFF
from fastrelu.network import MLP
from fastrelu.sweeps.grid import DEFAULTS
from fastrelu.sweeps.group import Dataset, measure

__all__ = ["Candidate", "measure_fixes", "FIX_NAMES", "DEFAULT_LR", "NARROW_WIDTH"]

#: Every candidate name, in the order they are built (rows are returned best first).
FIX_NAMES: tuple[str, ...] = ("as-is", "he-init", "lower-lr", "higher-lr", "adam", "batchnorm", "residual",
                              "wider", "no-output-activation", "standardize-inputs")
#: Learning rate when none is given: fastrelu's default (that of ``fr.sweep``).
DEFAULT_LR: float = DEFAULTS["lr"]
#: Hidden layers narrower than this get the "wider" candidate; it widens to at least this.
NARROW_WIDTH = 16
#: Inputs whose largest column RMS is above this, or below its inverse, get "standardize-inputs".
INPUT_SCALE_LIMIT = 10.0


@dataclass(frozen=True)
class Candidate:
    """One measured candidate: ``seeds`` fresh networks trained ``steps`` steps with one change.

    Attributes
    ----------
    name : str
        Stable short code, one of :data:`FIX_NAMES` ("as-is" is the baseline).
    change : str
        The change, in plain words.
    p_collapsed, p_diverged : float or None
        Fraction of the nets whose outputs collapsed (``fastrelu.rules``; a diverged net's
        non-finite outputs count as collapsed) / whose training diverged. None: not measured.
    median_loss : float or None
        Median over the nets that did not diverge of the mean loss on all rows after training
        (None if none is left or it was not measured).
    p_dead_layer : float or None
        Fraction of the nets with a hidden layer whose units are all dead after training.
    median_output_std_ratio : float or None
        Median of output std / target std after training.
    seeds, steps : int
    exact : bool
        True when the nets trained are the model with exactly this change; False when
        something else differs or is estimated (``note`` says what).
    note : str
    settings : dict
        What was trained: sizes, init, optimizer, lr, residual, batchnorm, standardized inputs.
    """

    name: str
    change: str
    p_collapsed: float | None
    p_diverged: float | None
    median_loss: float | None
    p_dead_layer: float | None
    median_output_std_ratio: float | None
    seeds: int
    steps: int
    exact: bool = True
    note: str = ""
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        return json_clean(asdict(self))


@dataclass
class _Plan:
    """A candidate before training: its change and what to train (None: cannot be measured)."""

    name: str
    change: str
    init: str            # a scheme name, or IMPORTED_INIT for draws at the model's scale
    bias: float          # every bias, for a named scheme that does not draw its own
    optimizer: str
    lr: float
    hidden: tuple[int, ...]
    residual: bool
    batchnorm: bool
    standardize: bool
    notes: list = field(default_factory=list)
    trainable: bool = True

    def arch_key(self) -> tuple:
        return self.hidden, self.residual, self.batchnorm, self.standardize


def _check_codes(codes: Any) -> tuple[str, ...]:
    accepted = "a sequence of finding codes (strings) such as ('zero-init', 'dead-layer')"
    if isinstance(codes, (str, bytes)) or not isinstance(codes, (list, tuple, set, frozenset)):
        raise v.reject(TypeError, "codes", codes, accepted)
    for j, c in enumerate(codes):
        if not isinstance(c, str):
            raise v.reject(TypeError, f"codes[{j}]", c, accepted)
    return tuple(codes)


def _as_is_init(net: MLP) -> str:
    """The as-is init: the net's named scheme, else draws at the model's measured scale."""
    return net.init if isinstance(net.init, str) and net.init in SCHEMES else IMPORTED_INIT


def _input_scale(X: np.ndarray) -> float:
    """Largest root-mean-square of a column of ``X``."""
    return float(np.sqrt(np.mean(np.square(X, dtype=np.float64), axis=0)).max())


def _plans(net: MLP, X: np.ndarray, codes: tuple[str, ...], lr: float, optimizer: str,
           output_activation: str | None, batch_size: int) -> list[_Plan]:
    """The as-is plan and one plan per applicable fix, each changing one thing."""
    hidden = tuple(net.sizes[1:-1])
    init = _as_is_init(net)
    base = _Plan("as-is", "nothing: the model's architecture, initialization and training settings",
                 init, float(net.bias_init), optimizer, lr, hidden, net.residual, net.batchnorm, False)
    if init == IMPORTED_INIT:
        base.notes.append("initialization estimated: fresh weights drawn at the model's per-layer weight RMS "
                          "and mean bias")
    if output_activation is not None:
        base.trainable = False
        base.notes.append(f"not measured: fastrelu's kernels train linear outputs and cannot train through "
                          f"output_activation={output_activation!r}; the other rows are trained without it")

    def fix(name, change, **changes):
        kept = [n for n in base.notes if n.startswith("initialization")]
        plan = replace(base, name=name, change=change, trainable=True, **{"notes": kept, **changes})
        if output_activation is not None and name != "no-output-activation":
            plan.notes.append(f"trained with a linear output (without {output_activation!r})")
        return plan

    plans = [base]
    if init != "he" or net.bias_init != 0.0:
        plans.append(fix("he-init", "He (Kaiming normal) initialization: weights N(0, 2/fan_in), biases 0",
                         init="he", bias=0.0, notes=[]))
    if "learning-rate-low" in codes:
        plans.append(fix("higher-lr", f"a 10x larger learning rate ({lr * 10:g} instead of {lr:g})", lr=lr * 10))
    else:
        plans.append(fix("lower-lr", f"a 10x smaller learning rate ({lr / 10:g} instead of {lr:g})", lr=lr / 10))
    if optimizer != "adam":
        adam_lr = optim.Adam().lr
        plans.append(fix("adam", f"Adam with learning rate {adam_lr:g} instead of {optimizer}", optimizer="adam",
                         lr=adam_lr))
    bn_ok = X.shape[0] > 1 and batch_size > 1 and X.shape[0] % batch_size != 1
    if not net.batchnorm and bn_ok and hidden:
        plans.append(fix("batchnorm", "batch normalization on every hidden layer (before its ReLU)", batchnorm=True))
    if not net.residual and len(hidden) >= 2 and len(set(hidden)) == 1:
        plans.append(fix("residual", "scaled residual connections h + relu(W h + b) / sqrt(blocks) "
                                     "between the equal-width hidden layers", residual=True))
    narrow = hidden and min(hidden) < NARROW_WIDTH
    if hidden and (narrow or {"narrow", "dead-layer", "dead-units"} & set(codes)):
        wide = tuple(max(2 * w, NARROW_WIDTH) for w in hidden)
        plans.append(fix("wider", f"wider hidden layers: {list(wide)} instead of {list(hidden)}", hidden=wide))
    if output_activation is not None:
        plans.append(fix("no-output-activation", f"remove the output activation {output_activation!r}: a linear "
                         "output (for classification, let the loss apply the softmax)"))
    scale = _input_scale(X)
    if "unscaled-input" in codes or not (1 / INPUT_SCALE_LIMIT <= scale <= INPUT_SCALE_LIMIT):
        plans.append(fix("standardize-inputs", f"standardized inputs: each feature minus its mean, divided by its "
                         f"std (the largest feature RMS is {scale:.3g}); apply the same transform at prediction",
                         standardize=True))
    return plans


def _seeds(seed: int, n: int) -> list[int]:
    """``n`` network seeds derived from ``seed`` (the same for every candidate)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


def _standardize(X: np.ndarray) -> np.ndarray:
    X64 = X.astype(np.float64)
    std = X64.std(axis=0)
    return ((X64 - X64.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(X.dtype)


def _dataset(X: np.ndarray, y: np.ndarray) -> Dataset:
    h = hashlib.sha256()
    for a in (X, y):
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return Dataset(X, y, None, h.hexdigest())


def _draw_at_scale(ens: Ensemble, rows: list[int], net: MLP) -> None:
    """Members ``rows`` of ``ens``: weights N(0, rms^2) with each layer's weight RMS in ``net``,
    biases the layer's mean bias (zeros stay zeros). Layers wider than the model's take the
    scale of the model's layer at the same depth."""
    arch = ens._template._arch
    rms = [float(np.sqrt(np.mean(np.square(w, dtype=np.float64)))) for w in net.weights]
    mean_b = [float(np.mean(b, dtype=np.float64)) for b in net.biases]
    n_w = int(sum(r[IN] * r[OUT] for r in arch))
    for j in rows:
        z = np.random.default_rng(ens.seeds[j]).standard_normal(n_w)
        pos = 0
        for l, r in enumerate(arch):
            size = int(r[IN] * r[OUT])
            ens.params[j, r[W_OFF]:r[W_OFF] + size] = rms[l] * z[pos:pos + size]
            ens.params[j, r[B_OFF]:r[B_OFF] + r[OUT]] = mean_b[l]
            pos += size


def _train_group(plans: list[_Plan], net: MLP, ds: Dataset, seeds: list[int], *, loss: str, steps: int,
                 batch_size: int) -> dict:
    """Train the plans sharing one architecture as one ensemble; the measured columns (one entry
    per net, :func:`fastrelu.sweeps.group.measure`, NaN where not finite) and ``diverged``."""
    p0, k = plans[0], len(seeds)
    sizes = [net.sizes[0], *p0.hidden, net.sizes[-1]]
    inits = [("zeros" if p.init == IMPORTED_INIT else p.init) for p in plans for _ in seeds]
    biases = [(0.0 if p.init == IMPORTED_INIT else p.bias) for p in plans for _ in seeds]
    ens = Ensemble(sizes, seeds=seeds * len(plans), init=inits, bias=biases, dtype=net.dtype,
                   residual=p0.residual, batchnorm=p0.batchnorm)
    for i, p in enumerate(plans):
        if p.init == IMPORTED_INIT:
            _draw_at_scale(ens, list(range(i * k, (i + 1) * k)), net)
    diverged = [False] * len(ens)
    if steps > 0:
        opts = [optim.from_name(p.optimizer, p.lr) for p in plans for _ in seeds]
        hist = ens.fit(ds.X, ds.y, optimizer=opts, loss=loss, steps=steps, batch_size=batch_size)
        diverged = [d is not None for d in hist.diverged_at]
    metrics = measure(ens.params, ens.running, ens._template, ds, loss)
    metrics["diverged"] = np.asarray(diverged, dtype=np.bool_)
    return metrics


def _summarize(plan: _Plan, rows: dict | None, net: MLP, seeds: int, steps: int) -> Candidate:
    settings = {"sizes": [net.sizes[0], *plan.hidden, net.sizes[-1]], "init": plan.init,
                "bias": None if plan.init == IMPORTED_INIT else plan.bias,
                "optimizer": plan.optimizer, "lr": plan.lr, "residual": plan.residual,
                "batchnorm": plan.batchnorm, "standardize_inputs": plan.standardize}
    common = dict(name=plan.name, change=plan.change, seeds=seeds, steps=steps, exact=not plan.notes,
                  note="; ".join(plan.notes), settings=settings)
    if rows is None:
        return Candidate(p_collapsed=None, p_diverged=None, median_loss=None, p_dead_layer=None,
                         median_output_std_ratio=None, **common)
    loss = rows["final_loss"][~rows["diverged"]]
    losses, ratios = loss[np.isfinite(loss)], rows["output_std_ratio"][np.isfinite(rows["output_std_ratio"])]
    return Candidate(p_collapsed=float(np.mean(rows["collapsed"])),
                     p_diverged=float(np.mean(rows["diverged"])),
                     median_loss=float(np.median(losses)) if losses.size else None,
                     p_dead_layer=float(np.mean(rows["dead_layer"])),
                     median_output_std_ratio=float(np.median(ratios)) if ratios.size else None, **common)


def _rank_key(c: Candidate) -> tuple:
    inf = float("inf")
    return (inf if c.p_collapsed is None else c.p_collapsed, inf if c.p_diverged is None else c.p_diverged,
            inf if c.median_loss is None else c.median_loss)


@v.validated(loss=v.Choice(rules.LOSSES), lr=v.Real(positive=True, none=True),
             optimizer=v.Choice(optim.NAMES, none=True), output_activation=v.Choice(OUTPUT_ACTIVATIONS, none=True),
             seeds=v.Int(minimum=1), steps=v.Int(minimum=0), batch_size=v.Int(minimum=1), seed=v.Int(minimum=0))
def measure_fixes(net: MLP, X, y, *, loss: str, lr: float | None = None, optimizer: str | None = None,
                  output_activation: str | None = None, codes: Sequence[str] = (), seeds: int = 16,
                  steps: int = 300, batch_size: int = 64, seed: int = 0) -> list[Candidate]:
    """Train ``seeds`` fresh copies of ``net``'s architecture as-is and with each applicable fix.

    Parameters
    ----------
    net : fastrelu.MLP
        The user's model. "As-is" draws fresh networks with its init and bias; for a model whose
        weights came from elsewhere (``net.init == "imported"``, or a callable init) it draws each
        layer's weights from N(0, rms^2) at the layer's measured weight RMS and sets its biases
        to the layer's mean bias (zeros stay zeros, tiny stays tiny): an estimate of how the
        model was initialized, marked ``exact=False``.
    X : array (n, sizes[0])
    y : array
        Float targets for ``"mse"``, integer labels for ``"cross_entropy"``.
    loss : {"mse", "cross_entropy"}
    lr : float, optional
        The user's learning rate (default :data:`DEFAULT_LR`).
    optimizer : {"sgd", "adam", "rmsprop"}, optional
        The user's optimizer (default "sgd").
    output_activation : str, optional
        What follows the model's last layer. fastrelu trains linear outputs: the as-is row is
        then not measured (its numbers are None) and the other rows are trained without it.
    codes : sequence of str
        Finding codes of the diagnosis ("zero-init", "narrow", "learning-rate-low",
        "unscaled-input", ...); they decide, with the model and data, which fixes apply.
    seeds, steps, batch_size : int
        Networks per candidate, minibatch steps per network, rows per step.
    seed : int
        Derives the networks' seeds (weights and batch order; the same for every candidate).

    Returns
    -------
    list of Candidate
        Best first: lowest P(collapsed), then P(diverged), then median loss; the "as-is" row
        is included. Same arguments, same numbers (bit for bit).

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(256, 4, seed=0)
    >>> rows = measure_fixes(fr.MLP([4, 8, 8, 1], init="zeros"), X, y, loss="mse", seeds=4, steps=50)
    >>> best, as_is = rows[0], next(r for r in rows if r.name == "as-is")
    >>> best.name, best.p_collapsed, as_is.p_collapsed, as_is.seeds, as_is.steps
    ('he-init', 0.0, 1.0, 4, 50)
    """
    if not isinstance(net, MLP):
        raise v.reject(TypeError, "net", net, "a fastrelu.MLP")
    codes = _check_codes(codes)
    X = v.as_matrix("X", X, net.dtype, net.sizes[0])
    yf, yi = v.as_targets(y, loss, X.shape[0], net.sizes[-1], net.dtype)
    y = yf if loss == "mse" else yi
    if rules.target_std(y, loss) == 0.0:
        raise ValueError(f"y with one value on every row ({y.flat[0]:g}) is not accepted; expected targets "
                         "that vary across rows (collapse is measured against their spread)")
    net.check_finite()
    lr = DEFAULT_LR if lr is None else lr
    plans = _plans(net, X, codes, lr, optimizer or "sgd", output_activation, batch_size)
    data = {False: _dataset(X, y)}
    if any(p.standardize for p in plans):
        data[True] = _dataset(_standardize(X), y)
    seed_list = _seeds(seed, seeds)
    groups: dict[tuple, list[_Plan]] = {}
    for p in plans:
        if p.trainable:
            groups.setdefault(p.arch_key(), []).append(p)
    measured: dict[str, list[dict]] = {}
    for key, group in groups.items():
        rows = _train_group(group, net, data[group[0].standardize], seed_list, loss=loss, steps=steps,
                            batch_size=batch_size)
        for i, p in enumerate(group):
            measured[p.name] = {name: col[i * seeds:(i + 1) * seeds] for name, col in rows.items()}
    out = [_summarize(p, measured.get(p.name), net, seeds, steps) for p in plans]
    return sorted(out, key=_rank_key)
