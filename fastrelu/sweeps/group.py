"""Train one group of grid points (one architecture) and measure each net: one call, many rows.

:func:`train_group` is the unit of work of every backend (a Dask task runs exactly one call).
By default the group is one ``fr.Ensemble`` (stacked nets trained by one kernel); the reference
engine trains the points one after another with ``fr.MLP`` + ``fr.fit`` and is the oracle the
ensemble's rows must equal bit for bit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu import optim, rules
from fastrelu.ensemble import Ensemble
from fastrelu.kernels.layout import C_OFF, OUT
from fastrelu.network import LOSS_CODES, MLP
from fastrelu.sweeps.columns import METRICS, Batch
from fastrelu.sweeps.points import column
from fastrelu.training import fit

#: Dataset names ``sweep(data=...)`` accepts (``fastrelu.data.make(name)`` with its defaults).
DATASETS: tuple[str, ...] = ("teacher", "abs1d")

@dataclass(frozen=True)
class Dataset:
    """Validated training data of a sweep.

    Attributes
    ----------
    X : ndarray, shape (n, d)
        Inputs (float32).
    y : ndarray
        Targets: float32 ``(n, k)`` for ``"mse"``, int64 ``(n,)`` labels for ``"cross_entropy"``.
    name : str or None
        Dataset name when it came from ``fastrelu.data``.
    digest : str
        SHA-256 of shapes, dtypes and bytes of ``X`` and ``y`` (identifies the data on resume).
    """

    X: np.ndarray
    y: np.ndarray
    name: "str | None"
    digest: str

    @property
    def target_std(self) -> float:
        """Std of the targets across rows, mean over columns (one-hot labels for
        cross-entropy): the yardstick of the collapse rule. Computed once."""
        cached = self.__dict__.get("_target_std")
        if cached is None:
            cached = rules.target_std(self.y, "cross_entropy" if self.y.ndim == 1 else "mse")
            object.__setattr__(self, "_target_std", cached)
        return cached

    @property
    def n_out(self) -> int:
        """Output width of the nets: target columns (mse) or classes (cross-entropy)."""
        return int(self.y.max()) + 1 if self.y.ndim == 1 else int(self.y.shape[1])


def resolve_data(data: Any, loss: str = "mse") -> Dataset:
    """Turn ``sweep(data=...)`` into a validated :class:`Dataset`.

    Parameters
    ----------
    data : str or (X, y)
        A name from :data:`DATASETS` (the function of ``fastrelu.data`` with its default
        arguments) or a pair of arrays.
    loss : {"mse", "cross_entropy"}

    Raises
    ------
    ValueError
        Unknown name, wrong shapes, non-finite values, or a constant target (collapse is
        measured relative to the target's spread).
    """
    loss = v.check("loss", loss, v.Choice(rules.LOSSES))
    accepted = f"a dataset name ({', '.join(map(repr, DATASETS))}) or an (X, y) pair of arrays"
    name = None
    if isinstance(data, str):
        if data not in DATASETS:
            raise v.reject(ValueError, "data", data, accepted)
        from fastrelu.data import make

        name = data
        data = make(data)
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise v.reject(TypeError, "data", data, accepted)
    return _dataset(np.asarray(data[0]), np.asarray(data[1]), name, loss)


def _dataset(X: np.ndarray, y: np.ndarray, name: "str | None", loss: str) -> Dataset:
    """Check the arrays of ``data`` and fingerprint them."""
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"data: X of shape {X.shape} is not accepted; expected 2-D with at least 2 rows")
    if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
        raise ValueError(f"data: X of dtype {X.dtype} with NaN, inf or non-numbers is not accepted; "
                         "expected finite numbers")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"data: y of shape {y.shape} is not accepted; expected {X.shape[0]} rows like X")
    if loss == "mse":
        if y.ndim not in (1, 2) or not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)):
            raise ValueError(f"data: y of shape {y.shape} and dtype {y.dtype} is not accepted; expected "
                             "a finite numeric (n,) or (n, k) array for mse")
        y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float32)
        if rules.target_std(y, "mse") == 0.0:
            raise ValueError("data: a constant y is not accepted; expected targets that vary "
                             "(collapse is measured against the spread of y)")
    else:
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError(f"data: y of shape {y.shape} and dtype {y.dtype} is not accepted; "
                             "expected a 1-D array of integer labels >= 0 for cross_entropy")
        y = np.ascontiguousarray(y, dtype=np.int64)
        if np.unique(y).size < 2:
            raise ValueError("data: y with a single class is not accepted; expected at least two "
                             "(collapse is measured against the spread of the labels)")
    h = hashlib.sha256()
    for a in (X, y):
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return Dataset(X, y, name, h.hexdigest())


def measure(params: np.ndarray, running: np.ndarray, template: MLP, ds: Dataset, loss: str) -> dict:
    """Collapse metrics of stacked networks on all rows of the data, by the rules of
    :mod:`fastrelu.rules` (those of ``fr.diagnose``), one compiled parallel pass for all.

    ``params`` (K, n_params) and ``running`` (K, 2, units) hold K networks laid out like
    ``template``. ``collapsed``: the outputs are not all finite, or their std across rows (mean
    over output columns) is at most ``COLLAPSE_RATIO`` (1e-3) times the target's std (mean
    over columns; one-hot labels for cross-entropy). A unit is dead when its ReLU input is <= 0
    on every row (in a residual layer: its ReLU branch); ``dead_layer`` is True when some
    hidden layer has every unit dead (in a plain net the output is then one value for every
    input: "born dead" at initialization, Lu et al. 2019). Non-finite numbers are reported as
    ``None``. Only the cheap part of ``diagnose`` is computed (no cosines, gradients or
    causes); a test checks that both agree.

    Returns one array per metric, K entries each (``dead_fraction``: shape (K, hidden layers));
    a non-finite number (None in a row) is NaN.
    """
    from fastrelu.kernels import structs
    from fastrelu.kernels.measure import measure_stack, new_measure_workspace

    arch, k = template._arch, params.shape[0]
    if ds.y.ndim == 1:
        targets, labels = np.empty((len(ds.y), 0), params.dtype), ds.y
    else:
        targets, labels = ds.y.astype(params.dtype, copy=False), np.zeros(len(ds.y), np.int64)
    nets = structs.network(params, running, arch, template.residual_scale)
    data = structs.data(ds.X.astype(params.dtype, copy=False), targets, labels, LOSS_CODES[loss])
    ws = new_measure_workspace(arch, params, ds.X.shape[0], template.sizes[-1])
    max_pre = np.empty((k, running.shape[-1]), params.dtype)
    out_std, mean_loss, finite = np.empty(k), np.empty(k), np.empty(k, np.bool_)
    measure_stack(nets, data, ws, max_pre, out_std, mean_loss, finite)
    dead = _dead_fractions(max_pre, arch)
    with np.errstate(all="ignore"):
        ratio = np.where(finite, out_std, np.nan) / ds.target_std
    collapsed = rules.collapsed(np.where(finite, out_std, np.nan), ds.target_std, finite)
    hidden = dead.shape[1] > 0
    return {
        "collapsed": np.asarray(collapsed, dtype=np.bool_),
        "output_std_ratio": np.where(np.isfinite(ratio), ratio, np.nan),
        "dead_fraction": dead,
        "dead_fraction_max": dead.max(axis=1) if hidden else np.full(k, np.nan),
        "dead_fraction_mean": dead.mean(axis=1) if hidden else np.full(k, np.nan),
        "dead_layer": np.asarray(rules.has_dead_layer(dead.T), dtype=np.bool_) if hidden else np.zeros(k, np.bool_),
        "final_loss": np.where(finite & np.isfinite(mean_loss), mean_loss, np.nan),
    }


def _dead_fractions(max_pre: np.ndarray, arch: np.ndarray) -> np.ndarray:
    """(K, hidden layers): the fraction of each hidden layer's units that are dead by
    ``rules.is_dead``, from the largest pre-activations ``max_pre`` (K, units); one rule call
    and one segmented sum for all layers (a count over a width, as a mean of booleans is)."""
    if len(arch) < 2:
        return np.zeros((max_pre.shape[0], 0))
    hidden = arch[:-1]
    units = int(hidden[-1, C_OFF] + hidden[-1, OUT])
    dead = rules.is_dead(max_pre[:, :units]).astype(np.int64)
    counts = np.add.reduceat(dead, hidden[:, C_OFF].astype(np.intp), axis=1)
    return counts / hidden[:, OUT].astype(np.float64)


#: Engines of :func:`train_group`: "ensemble" (fr.Ensemble, one kernel for the whole group)
#: and "reference" (fr.MLP + fr.fit per point; the oracle the ensemble must match bit for bit).
ENGINES: tuple[str, ...] = ("ensemble", "reference")


def measure_group(
    arch: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    data: Dataset,
    steps: int,
    batch_size: int,
    loss: str = "mse",
    engine: str = "ensemble",
) -> dict:
    """Train every point of one architecture and measure each net, by column.

    Parameters
    ----------
    arch : dict
        ``width``, ``depth``, ``residual``, ``batchnorm``, ``optimizer`` shared by the points.
    points : sequence of dict
        Complete grid points (all keys of :data:`~fastrelu.sweeps.grid.KEYS`).
    data : Dataset
        From :func:`resolve_data`.
    steps : int
        Minibatch steps per net; 0 measures the nets at initialization.
    batch_size : int
    loss : {"mse", "cross_entropy"}
    engine : {"ensemble", "reference"}
        ``"ensemble"`` trains the group as one ``fr.Ensemble``; ``"reference"`` trains each
        point alone with ``fr.fit``. Both give the same rows.

    Returns
    -------
    dict of str to ndarray
        One array per metric of :data:`METRICS`, one entry per point, as :func:`measure`
        (``diverged_at`` int64 with -1 for None). Each net uses its point's ``seed`` for both
        its initialization and its batch order, so a row is a pure function of its point.
    """
    engine = v.check("engine", engine, v.Choice(ENGINES))
    if not points:
        empty = {f: c for f, c in Batch.empty().cols.items() if f in METRICS}
        return {**empty, "dead_fraction": np.zeros((0, int(arch["depth"])))}
    sizes = [data.X.shape[1]] + [int(arch["width"])] * int(arch["depth"]) + [data.n_out]
    if engine == "ensemble":
        (params, running, template), hists = _train_ensemble(sizes, arch, points, data, steps, batch_size, loss)
    else:
        nets, hists = _train_each(sizes, arch, points, data, steps, batch_size, loss)
        params, running, template = np.stack([n.params for n in nets]), np.stack([n.running for n in nets]), nets[0]
    metrics = measure(params, running, template, data, loss)
    if steps == 0:   # nothing ran: no per-point history to read
        metrics["diverged_at"] = np.full(len(points), -1, dtype=np.int64)
        metrics["steps_run"] = np.zeros(len(points), dtype=np.int64)
        return metrics
    metrics["diverged_at"] = np.array([-1 if d is None else d for d, _ in hists], dtype=np.int64)
    metrics["steps_run"] = np.array([s for _, s in hists], dtype=np.int64)
    return metrics


def train_group(
    arch: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    data: Dataset,
    steps: int,
    batch_size: int,
    loss: str = "mse",
    engine: str = "ensemble",
) -> list[dict]:
    """:func:`measure_group` as one row per point: grid values followed by :data:`METRICS`
    (None for a non-finite number or a run that did not diverge)."""
    metrics = measure_group(arch, points, data, steps, batch_size, loss, engine)
    return list(Batch.from_chunk(points, metrics).rows()) if points else []


def _train_ensemble(sizes, arch, points, data, steps, batch_size, loss):

    ens = Ensemble(sizes, seeds=column(points, "seed"), init=column(points, "init"),
                      bias=column(points, "bias"), residual=bool(arch["residual"]),
                      batchnorm=bool(arch["batchnorm"]))
    stack = (ens.params, ens.running, ens._template)
    if steps == 0:
        return stack, [(None, 0)] * len(points)
    hist = ens.fit(data.X, data.y, optimizer=[optim.from_name(arch["optimizer"], lr) for lr in column(points, "lr")],
                   loss=loss, steps=steps, batch_size=batch_size)
    return stack, [(None if d is None else int(d), int(s)) for d, s in zip(hist.diverged_at, hist.steps)]


def _train_each(sizes, arch, points, data, steps, batch_size, loss):

    nets, hists = [], []
    for p in points:
        net = MLP(sizes, init=p["init"], bias=p["bias"], seed=p["seed"],
                     residual=bool(arch["residual"]), batchnorm=bool(arch["batchnorm"]))
        diverged_at, steps_run = None, 0
        if steps > 0:
            hist = fit(net, data.X, data.y, optimizer=optim.from_name(arch["optimizer"], p["lr"]),
                          loss=loss, steps=steps, batch_size=batch_size, seed=p["seed"])
            diverged_at = None if hist.diverged_at is None else int(hist.diverged_at)
            steps_run = int(hist.steps)
        nets.append(net)
        hists.append((diverged_at, steps_run))
    return nets, hists
