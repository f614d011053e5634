"""Optimizers as pure ``init`` / ``update`` pairs over one flat parameter buffer.

The formulas and defaults are PyTorch's (``torch.optim.SGD``, ``Adam``, ``RMSprop``); the
arithmetic runs in the kernels of :mod:`fastrelu.kernels.optim`, which ``fit`` calls inside its
fused loop. ``update`` is the same kernel called on copies, for use outside ``fit``.

Examples
--------
>>> import numpy as np, fastrelu as fr
>>> opt = fr.SGD(0.1, momentum=0.9)
>>> params = np.array([1.0, 2.0]); state = opt.init(params)
>>> params, state = opt.update(params, np.array([0.5, -0.5]), state)
>>> params
array([0.95, 2.05])
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fastrelu import _validation as v
from fastrelu.kernels import layout as K


@dataclass(frozen=True)
class OptState:
    """Optimizer state: ``buffers`` (2, n_params) and the number of steps taken."""

    buffers: np.ndarray
    step: int = 0


class Optimizer:
    """Base class: subclasses set ``kind`` and fill ``hyper`` in ``__post_init__``."""

    kind: int
    hyper: np.ndarray

    def _hyper(self, **values: float) -> None:
        h = np.zeros(K.NHYPER)
        for name, value in values.items():
            h[getattr(K, "H_" + name.upper())] = value
        object.__setattr__(self, "hyper", h)

    def init(self, params: np.ndarray) -> OptState:
        """Fresh state for ``params`` (a 1-D float array)."""
        params = np.asarray(params)
        return OptState(np.zeros((2, params.size), dtype=params.dtype), 0)

    def update(self, params: np.ndarray, grads: np.ndarray, state: OptState,
               clip_norm: float | None = None) -> tuple[np.ndarray, OptState]:
        """One step: returns ``(new_params, new_state)``; the inputs are not modified."""
        from fastrelu.kernels.optim import apply_update

        params = np.array(params, dtype=state.buffers.dtype, copy=True).ravel()
        grads = np.array(grads, dtype=params.dtype, copy=True).ravel()
        if grads.shape != params.shape or state.buffers.shape != (2, params.size):
            raise ValueError(f"grads has {grads.size} values and state {state.buffers.shape[1]}; "
                             f"expected {params.size} each, like params")
        hyper = self.hyper.copy()
        hyper[K.H_CLIP] = v.check_float("clip_norm", clip_norm, positive=True, allow_none=True) or 0.0
        buffers = state.buffers.copy()
        apply_update(self.kind, params, grads, buffers, hyper, state.step + 1)
        return params, OptState(buffers, state.step + 1)


@dataclass(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (no dampening, no Nesterov).

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float, default 0
        In [0, 1).
    weight_decay : float, default 0
        L2 penalty added to the gradient, >= 0.

    Examples
    --------
    >>> import numpy as np, fastrelu as fr
    >>> params, _ = fr.SGD(0.5).update(np.array([1.0]), np.array([2.0]), fr.SGD(0.5).init(np.zeros(1)))
    >>> params
    array([0.])
    """

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    kind: int = field(default=K.SGD, init=False, repr=False)

    def __post_init__(self) -> None:
        self._hyper(lr=v.check_float("lr", self.lr, positive=True),
                    momentum=v.check_float("momentum", self.momentum, nonnegative=True, below=1.0),
                    weight_decay=v.check_float("weight_decay", self.weight_decay, nonnegative=True))


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (L2 ``weight_decay`` added to the gradient, no AMSGrad).

    The first step moves every parameter by about ``lr`` against the sign of its gradient:

    >>> import numpy as np, fastrelu as fr
    >>> opt = fr.Adam(0.1)
    >>> params, state = opt.update(np.array([1.0, 1.0]), np.array([3.0, -0.01]), opt.init(np.zeros(2)))
    >>> params.round(6), state.step
    (array([0.9, 1.1]), 1)
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    kind: int = field(default=K.ADAM, init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            b1, b2 = self.betas
        except (TypeError, ValueError):
            raise v.reject(TypeError, "betas", self.betas, "a pair of numbers in [0, 1)") from None
        self._hyper(lr=v.check_float("lr", self.lr, positive=True),
                    beta1=v.check_float("betas[0]", b1, nonnegative=True, below=1.0),
                    beta2=v.check_float("betas[1]", b2, nonnegative=True, below=1.0),
                    eps=v.check_float("eps", self.eps, positive=True),
                    weight_decay=v.check_float("weight_decay", self.weight_decay, nonnegative=True))


@dataclass(frozen=True)
class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (not centered).

    >>> import numpy as np, fastrelu as fr
    >>> opt = fr.RMSprop(0.01, alpha=0.0)      # alpha 0: divide by |g| itself
    >>> params, _ = opt.update(np.array([1.0]), np.array([4.0]), opt.init(np.zeros(1)))
    >>> params.round(6)
    array([0.99])
    """

    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    weight_decay: float = 0.0
    kind: int = field(default=K.RMSPROP, init=False, repr=False)

    def __post_init__(self) -> None:
        self._hyper(lr=v.check_float("lr", self.lr, positive=True),
                    alpha=v.check_float("alpha", self.alpha, nonnegative=True, below=1.0),
                    eps=v.check_float("eps", self.eps, positive=True),
                    momentum=v.check_float("momentum", self.momentum, nonnegative=True, below=1.0),
                    weight_decay=v.check_float("weight_decay", self.weight_decay, nonnegative=True))


#: Optimizers by the names the sweeps, the CLI and the doctor use.
BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}
#: Their names, the one list every front end accepts.
NAMES = tuple(BY_NAME)


def from_name(name: str, lr: float) -> Optimizer:
    """The optimizer called ``name`` with learning rate ``lr`` and PyTorch's other defaults.

    >>> from_name("adam", 0.01)
    Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)
    """
    return BY_NAME[v.check_choice("optimizer", name, NAMES)](lr=lr)
