"""``fit``: minibatch training in one fused kernel call (no Python per step)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from fastrelu import _validation as v
from fastrelu import rules
from fastrelu.kernels import layout
from fastrelu.network import LOSS_CODES, MLP
from fastrelu.optim import Optimizer

#: Rows of X used to record diagnostics during ``fit(record_every=...)``.
RECORD_ROWS = 1024


class DivergedError(ArithmeticError):
    """Raised by ``fit(on_diverge="raise")`` when loss or parameters become non-finite.

    ``step`` is the step at which it happened (``History.diverged_at`` with ``"stop"``).

    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> try:
    ...     fr.fit(fr.MLP([4, 16, 1], seed=0), X, y * 1e4, optimizer=fr.SGD(10.0), steps=20, on_diverge="raise")
    ... except fr.DivergedError as exc:
    ...     print(exc.step)
    2
    """

    def __init__(self, step: int) -> None:
        super().__init__(f"training diverged at step {step}: loss or parameters became non-finite")
        self.step = step


@dataclass
class History:
    """What ``fit`` measured.

    Attributes
    ----------
    loss : ndarray of float64
        Minibatch training loss of each step run, before that step's update.
    diverged_at : int or None
        The step at which the loss or the parameters became non-finite (training stopped there).
    steps : int
        Number of steps run.
    records : list of dict
        With ``record_every=k``: ``{"step", "loss", "dead_fraction", "output_std"}`` measured on
        up to 1024 rows of X at step 0, every k steps and at the end.

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> hist = fr.fit(fr.MLP([4, 16, 1], seed=0), X, y, optimizer=fr.SGD(0.01), steps=6, record_every=3)
    >>> hist.steps, hist.loss.shape, [r["step"] for r in hist.records]
    (6, (6,), [0, 3, 6])
    """

    loss: np.ndarray
    diverged_at: int | None = None
    steps: int = 0
    records: list = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        """Loss of the last step run (NaN if none ran)."""
        return float(self.loss[-1]) if self.loss.size else float("nan")


def _schedule(n: int, batch_size: int, epochs: int, steps: int | None, shuffle: bool,
              seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated row order and step boundaries of fit's minibatch sequence."""
    rng = np.random.default_rng(seed)
    per_epoch = -(-n // batch_size)
    total = epochs * per_epoch if steps is None else steps
    n_epochs = -(-total // per_epoch) if total else 0
    order = np.empty(n_epochs * n, dtype=np.int64)
    for e in range(n_epochs):
        order[e * n:(e + 1) * n] = rng.permutation(n) if shuffle else np.arange(n)
    within = np.minimum(np.arange(per_epoch + 1) * batch_size, n)
    base = np.arange(n_epochs)[:, None] * n
    begins = (base + within[None, :-1]).ravel()[:total]
    ends = (base + within[None, 1:]).ravel()[:total]
    return order, np.append(begins, ends[-1] if total else 0).astype(np.int64)


#: Constraints of the schedule arguments shared by ``minibatches``, ``fit`` and ``Ensemble.fit``.
SCHEDULE = dict(batch_size=v.Int(minimum=1), epochs=v.Int(minimum=1), steps=v.Int(minimum=0, none=True),
                shuffle=v.Bool())
#: Constraints of the training arguments shared by ``fit`` and ``Ensemble.fit``.
TRAINING = dict(loss=v.Choice(rules.LOSSES), **SCHEDULE, clip_norm=v.Real(positive=True, none=True))


@v.validated(n=v.Int(minimum=1), **SCHEDULE, seed=v.Seed())
def minibatches(n: int, batch_size: int, *, epochs: int = 1, steps: int | None = None,
                shuffle: bool = True, seed: int | None = None) -> Iterator[np.ndarray]:
    """The exact sequence of row-index batches that ``fit`` trains on.

    Each epoch draws one permutation from ``np.random.default_rng(seed)`` (or keeps the row
    order without ``shuffle``) and cuts it into consecutive batches; the last may be shorter.
    ``steps`` overrides ``epochs`` and cycles through as many epochs as it needs.

    Examples
    --------
    >>> import fastrelu as fr
    >>> [b.tolist() for b in fr.minibatches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    order, starts = _schedule(n, batch_size, epochs, steps, shuffle, seed)
    for a, b in zip(starts[:-1], starts[1:]):
        yield order[a:b]


def check_optimizer(name: str, optimizer) -> Optimizer:
    """``optimizer`` if it is one of fastrelu's optimizers."""
    if not isinstance(optimizer, Optimizer):
        raise v.reject(TypeError, name, optimizer, "fr.SGD, fr.Adam or fr.RMSprop")
    return optimizer


@v.validated(**TRAINING, seed=v.Seed(), on_diverge=v.Choice(("stop", "raise")),
             record_every=v.Int(minimum=1, none=True))
def fit(net: MLP, X, y, *, optimizer: Optimizer, loss: str = "mse", epochs: int = 1,
        steps: int | None = None, batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
        clip_norm: float | None = None, on_diverge: str = "stop", record_every: int | None = None) -> History:
    """Train ``net`` in place by minibatch gradient descent.

    Parameters
    ----------
    net : MLP
    X : array (n, sizes[0])
    y : array
        (n, sizes[-1]) float targets for "mse" (1-D accepted for one output); (n,) integer
        labels for "cross_entropy".
    optimizer : SGD, Adam or RMSprop
    loss : {"mse", "cross_entropy"}
    epochs : int
        Passes over the data (ignored when ``steps`` is given).
    steps : int, optional
        Exact number of minibatch steps, cycling through epochs.
    batch_size : int
    shuffle : bool
        Reshuffle the rows every epoch (``np.random.default_rng(seed)``).
    seed : int, optional
    clip_norm : float, optional
        Clip the gradient's global norm, as ``torch.nn.utils.clip_grad_norm_``.
    on_diverge : {"stop", "raise"}
        When the loss or the parameters become non-finite, stop and record the step in
        ``History.diverged_at`` ("stop"), or raise :class:`DivergedError` ("raise").
    record_every : int, optional
        Record loss, dead fraction per hidden layer and output std every this many steps.

    Returns
    -------
    History

    Examples
    --------
    >>> import numpy as np, fastrelu as fr
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(256, 3)); y = X.sum(axis=1, keepdims=True)
    >>> net = fr.MLP([3, 16, 1], seed=0)
    >>> hist = fr.fit(net, X, y, optimizer=fr.SGD(0.05), epochs=20, seed=0)
    >>> bool(hist.loss[-1] < hist.loss[0]), hist.diverged_at
    (True, None)
    """
    from fastrelu.kernels import structs
    from fastrelu.kernels.train import parallel_worthwhile, train

    if not isinstance(net, MLP):
        raise v.reject(TypeError, "net", net, "a fastrelu.MLP")
    check_optimizer("optimizer", optimizer)
    clip = clip_norm
    X = v.as_matrix("X", X, net.dtype, net.sizes[0])
    yf, yi = v.as_targets(y, loss, X.shape[0], net.sizes[-1], net.dtype)
    net.check_finite()
    n = X.shape[0]
    v.check_batchnorm_batches(net.batchnorm, n, batch_size)

    order, starts = _schedule(n, batch_size, epochs, steps, shuffle, seed)
    total = starts.size - 1
    hyper = optimizer.hyper.copy()
    hyper[layout.H_CLIP] = clip or 0.0
    opt_state = optimizer.init(net.params).buffers
    losses = np.full(total, np.nan)
    probe = X[:RECORD_ROWS]
    hist = History(loss=losses)
    done, diverged = 0, False
    chunk = record_every or max(total, 1)
    if record_every:
        hist.records.append(_record(net, probe, yf[:RECORD_ROWS], yi[:RECORD_ROWS], loss, 0))
    parallel = parallel_worthwhile(net._arch, starts)
    kernel_net = structs.network(net.params, net.running, net._arch, net.residual_scale)
    kernel_data = structs.data(X, yf, yi, LOSS_CODES[loss])
    while done < total and not diverged:
        stop = min(total, done + chunk)
        ran, diverged = train(kernel_net, kernel_data, structs.schedule(order, starts[done:stop + 1]),
                              structs.optimizer(optimizer.kind, hyper, opt_state, done),
                              losses[done:stop], parallel)
        done += ran
        if record_every and (done % record_every == 0 or done == total or diverged):
            hist.records.append(_record(net, probe, yf[:RECORD_ROWS], yi[:RECORD_ROWS], loss, done))
    hist.loss = losses[:done]
    hist.steps = done
    if diverged:
        hist.diverged_at = hist.steps - 1
        if on_diverge == "raise":
            raise DivergedError(hist.diverged_at)
    return hist


def _record(net: MLP, X: np.ndarray, yf: np.ndarray, yi: np.ndarray, loss: str, step: int) -> dict:
    """Loss (evaluation mode), dead fraction per hidden layer and output std on ``X``."""
    if not np.isfinite(net.params).all():
        return {"step": step, "loss": float("nan"), "dead_fraction": [float("nan")] * net.n_hidden,
                "output_std": float("nan")}
    out = net.forward(X)
    return {"step": step, "loss": rules.mean_loss(out, yf if loss == "mse" else yi, loss),
            "dead_fraction": rules.dead_fractions(net.preactivations(X)),
            "output_std": rules.output_std(out)}
