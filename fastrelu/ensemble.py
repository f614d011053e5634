"""``Ensemble``: K networks of one architecture, stacked, trained at once by one kernel."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu.kernels import layout
from fastrelu.network import LOSS_CODES, MLP
from fastrelu.optim import Optimizer
from fastrelu.training import _schedule


def _per_member(name: str, value: Any, k: int) -> list:
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != k:
            raise ValueError(f"{name} has {len(value)} entries; expected one per member ({k})")
        return list(value)
    return [value] * k


@dataclass
class EnsembleHistory:
    """What ``Ensemble.fit`` measured, one row per member.

    Attributes
    ----------
    loss : ndarray (K, steps)
        Minibatch loss of each step; NaN after a member diverged.
    diverged_at : list of (int or None)
        Step at which each member diverged (it was frozen there), or None.
    steps : ndarray of int (K,)
        Steps each member ran.
    """

    loss: np.ndarray
    diverged_at: list
    steps: np.ndarray

    @property
    def final_loss(self) -> np.ndarray:
        """Each member's last computed loss."""
        idx = np.maximum(self.steps - 1, 0)
        out = self.loss[np.arange(len(idx)), idx] if self.loss.shape[1] else np.full(len(idx), np.nan)
        return np.where(self.steps > 0, out, np.nan)


class Ensemble:
    """K networks with the same ``sizes``, each with its own init, seed and bias.

    Parameters live in one ``(K, n_params)`` array; ``members[k]`` is an :class:`MLP` whose
    parameters are a view of row ``k``, so everything an ``MLP`` does works on a member.

    Parameters
    ----------
    sizes : sequence of int
    seeds : sequence of int
        One weight seed per member; ``len(seeds)`` is K.
    init, bias : value or sequence of K values
    dtype, residual, residual_scale, batchnorm : as :class:`MLP`

    Examples
    --------
    >>> import numpy as np, fastrelu as fr
    >>> ens = fr.Ensemble([2, 8, 1], seeds=[0, 1, 2], init=["he", "he", "zeros"])
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); y = X[:, :1] * 2
    >>> hist = ens.fit(X, y, optimizer=[fr.SGD(0.01), fr.SGD(0.1), fr.SGD(0.1)], epochs=5)
    >>> hist.loss.shape, hist.diverged_at
    ((3, 10), [None, None, None])
    """

    def __init__(self, sizes, seeds: Sequence[int], *, init: Any = "he", bias: Any = 0.0,
                 dtype: Any = "float32", residual: bool = False, residual_scale: float | None = None,
                 batchnorm: bool = False) -> None:
        if isinstance(seeds, (int, np.integer)) or not isinstance(seeds, (list, tuple, np.ndarray, range)):
            raise TypeError(f"seeds must be a sequence of ints, one per member, got {seeds!r}")
        k = len(seeds)
        if k < 1:
            raise ValueError("seeds is empty; expected at least one member")
        inits = _per_member("init", init, k)
        biases = _per_member("bias", bias, k)
        nets = [MLP(sizes, init=i, bias=b, seed=s, dtype=dtype, residual=residual,
                    residual_scale=residual_scale, batchnorm=batchnorm)
                for i, b, s in zip(inits, biases, seeds)]
        self.params = np.stack([n.params for n in nets])
        self.running = np.stack([n.running for n in nets])
        for j, net in enumerate(nets):
            net.params = self.params[j]
            net.running = self.running[j]
            net._make_views()
        self.members = nets
        self.seeds = [int(s) for s in seeds]

    def __len__(self) -> int:
        return len(self.members)

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.members[0].sizes

    def forward(self, X) -> np.ndarray:
        """Every member's output, shape ``(K, n, sizes[-1])``."""
        return np.stack([m.forward(X) for m in self.members])

    def fit(self, X, y, *, optimizer: Optimizer | Sequence[Optimizer], loss: str = "mse", epochs: int = 1,
            steps: int | None = None, batch_size: int = 32, shuffle: bool = True,
            batch_seeds: Sequence[int] | None = None, clip_norm: float | None = None) -> EnsembleHistory:
        """Train every member in place, as ``fr.fit`` would train each alone.

        Member ``k`` sees the batches of ``fr.minibatches(n, batch_size, seed=batch_seeds[k])``
        (default: its weight seed). Members that diverge are frozen and flagged; they never
        affect the others.
        """
        from fastrelu.kernels import structs
        from fastrelu.kernels.ensemble import stack_workspaces, train_ensemble

        k = len(self)
        opts = _per_member("optimizer", optimizer, k)
        for o in opts:
            if not isinstance(o, Optimizer):
                raise TypeError(f"optimizer must be fr.SGD, fr.Adam or fr.RMSprop, got {o!r}")
        loss = v.check_choice("loss", loss, LOSS_CODES)
        epochs = v.check_int("epochs", epochs, minimum=1)
        steps = v.check_int("steps", steps, minimum=0, allow_none=True)
        batch_size = v.check_int("batch_size", batch_size, minimum=1)
        shuffle = v.check_bool("shuffle", shuffle)
        clip = v.check_float("clip_norm", clip_norm, positive=True, allow_none=True)
        bseeds = [v.check_seed("batch_seeds", s) for s in _per_member("batch_seeds", batch_seeds or self.seeds, k)]
        first = self.members[0]
        X = v.as_matrix("X", X, first.dtype, first.sizes[0])
        yf, yi = v.as_targets(y, loss, X.shape[0], first.sizes[-1], first.dtype)
        n = X.shape[0]
        if first.batchnorm and (batch_size == 1 or n == 1 or n % batch_size == 1):
            raise ValueError(f"batch_size={batch_size} with {n} rows gives a batch of one row, which batch "
                             "normalization cannot normalize; choose a batch_size that leaves no single-row batch")
        if not (np.isfinite(self.params).all() and np.isfinite(self.running).all()):
            raise ValueError("some members have non-finite parameters (they diverged); re-initialize them")
        scheds = [_schedule(n, batch_size, epochs, steps, shuffle, s) for s in bseeds]
        starts = scheds[0][1]
        orders = np.stack([o for o, _ in scheds]) if scheds[0][0].size else np.zeros((k, 0), np.int64)
        total = starts.size - 1
        hypers = np.stack([o.hyper for o in opts])
        hypers[:, layout.H_CLIP] = clip or 0.0
        kinds = np.array([o.kind for o in opts], dtype=np.int64)
        states = np.zeros((k, 2, first.n_params), dtype=first.dtype)
        losses = np.full((k, total), np.nan)
        ran = np.zeros(k, np.int64)
        div = np.zeros(k, np.bool_)
        nets = structs.network(self.params, self.running, first._arch, first.residual_scale)
        kernel_data = structs.data(X, yf, yi, LOSS_CODES[loss])
        ws = stack_workspaces(nets, kernel_data, starts)
        train_ensemble(nets, kernel_data, structs.schedule(orders, starts), structs.optimizer(kinds, hypers, states, 0),
                       losses, ran, div, ws)
        return EnsembleHistory(loss=losses, diverged_at=[int(r) - 1 if d else None for r, d in zip(ran, div)],
                               steps=ran)
