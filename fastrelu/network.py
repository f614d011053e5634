"""``MLP``: a dense ReLU network whose parameters live in one contiguous buffer."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fastrelu import _validation as v
from fastrelu.init import DRAWS_BIASES, SCHEMES
from fastrelu.kernels import layout as K   # K: the kernels' layout constants (arch columns, codes)

LOSS_CODES = {"mse": K.MSE, "cross_entropy": K.CROSS_ENTROPY}
#: ``loss_and_gradient`` on at least this many rows computes its chunks on all threads.
THREADED_GRADIENT_MIN_ROWS = 16384


def check_init(init: "str | Callable", bias: float, where: str = "") -> tuple[Callable, str, float]:
    """``(scheme, name, bias)`` of an ``init`` argument and its ``bias``, checked together
    (``where`` such as ``"[3]"`` names a member of an ensemble in the messages)."""
    if callable(init):
        scheme, init_name = init, getattr(init, "__name__", "callable")
    else:
        init_name = v.check_choice("init" + where, init, SCHEMES)
        scheme = SCHEMES[init_name]
    bias = v.check_float("bias" + where, bias)
    if init_name in DRAWS_BIASES and bias != 0.0:
        raise v.reject(ValueError, "bias" + where, bias,
                       f"0.0 with init={init_name!r}, which draws the biases itself")
    return scheme, init_name, bias


class MLP:
    """A dense ReLU network ``sizes[0] -> ... -> sizes[-1]`` with a linear output layer.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, at least two entries, each >= 1.
    init : str or callable, default "he"
        "zeros", "small" (normal, std 0.01), "xavier", "xavier_uniform", "he", "he_uniform",
        "torch_default", "sklearn", "rai", or a callable ``(rng, fan_in, fan_out) -> array``
        of shape ``(fan_out, fan_in)``.
    bias : float, default 0.0
        Initial value of every bias. Schemes that draw their own biases ("torch_default",
        "sklearn", "rai") accept only 0.0 here.
    seed : int or None
        Seed of the ``numpy.random.Generator`` that draws the weights.
    dtype : {"float32", "float64"}
    residual : bool
        Hidden layers (other than the first) whose input and output widths match compute
        ``h + s * relu(W h + b)``.
    residual_scale : float or None
        ``s``; default ``1 / sqrt(number of residual blocks)``.
    batchnorm : bool
        Hidden layers compute ``relu(BN(W h + b))`` with ``torch.nn.BatchNorm1d`` semantics.

    Examples
    --------
    >>> import fastrelu as fr
    >>> net = fr.MLP([2, 8, 8, 1], init="he", seed=0)
    >>> net.sizes, net.n_params
    ((2, 8, 8, 1), 105)
    >>> [w.shape for w in net.weights]
    [(8, 2), (8, 8), (1, 8)]
    """

    def __init__(self, sizes, *, init: str | Callable = "he", bias: float = 0.0, seed: int | None = None,
                 dtype: Any = "float32", residual: bool = False, residual_scale: float | None = None,
                 batchnorm: bool = False) -> None:
        sizes = v.check_sizes(sizes)
        scheme, init_name, bias = check_init(init, bias)
        seed = v.check_seed("seed", seed)
        self._setup(sizes, v.check_dtype("dtype", dtype), v.check_bool("residual", residual),
                    v.check_float("residual_scale", residual_scale, positive=True, allow_none=True),
                    v.check_bool("batchnorm", batchnorm))
        self.init = init_name
        self.bias_init = bias
        rng = np.random.default_rng(seed)
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            drawn = scheme(rng, fan_in, fan_out)
            w, b = drawn if isinstance(drawn, tuple) else (drawn, None)
            w = np.asarray(w, dtype=np.float64)
            if w.shape != (fan_out, fan_in):
                raise ValueError(f"init returned weights of shape {w.shape} for layer {i}; expected "
                                 f"(fan_out, fan_in) = ({fan_out}, {fan_in})")
            if not np.isfinite(w).all():
                raise ValueError(f"init returned non-finite weights for layer {i}")
            self.weights[i][...] = w
            self.biases[i][...] = bias if b is None else b

    # ------------------------------------------------------------------ structure
    def _setup(self, sizes, dtype, residual, residual_scale, batchnorm):
        L = len(sizes) - 1
        arch = np.full((L, K.NCOLS), -1, dtype=np.int64)
        off = coff = 0
        n_blocks = 0
        for l in range(L):
            fan_in, fan_out = sizes[l], sizes[l + 1]
            hidden = l < L - 1
            arch[l, K.IN], arch[l, K.OUT] = fan_in, fan_out
            arch[l, K.W_OFF] = off
            off += fan_in * fan_out
            arch[l, K.B_OFF] = off
            off += fan_out
            arch[l, K.BN] = int(batchnorm and hidden)
            if arch[l, K.BN]:
                arch[l, K.G_OFF] = off
                arch[l, K.BE_OFF] = off + fan_out
                off += 2 * fan_out
            if not hidden:
                arch[l, K.KIND] = K.OUTPUT
            elif residual and l > 0 and fan_in == fan_out:
                arch[l, K.KIND] = K.RESIDUAL
                n_blocks += 1
            else:
                arch[l, K.KIND] = K.PLAIN
            arch[l, K.C_OFF] = coff
            coff += fan_out
        self.sizes = sizes
        self.dtype = dtype
        self.residual = residual
        self.batchnorm = batchnorm
        self.n_residual_blocks = n_blocks
        if residual_scale is None:
            residual_scale = 1.0 / np.sqrt(n_blocks) if n_blocks else 1.0
        self.residual_scale = float(residual_scale)
        self._arch = arch
        self.params = np.zeros(off, dtype=dtype)
        self.running = np.zeros((2, coff), dtype=dtype)
        self.running[1] = 1.0
        self._make_views()
        for g in self.gammas:
            g[...] = 1.0

    def _make_views(self):
        a, p = self._arch, self.params
        self.weights = [p[r[K.W_OFF]:r[K.W_OFF] + r[K.IN] * r[K.OUT]].reshape(r[K.OUT], r[K.IN]) for r in a]
        self.biases = [p[r[K.B_OFF]:r[K.B_OFF] + r[K.OUT]] for r in a]
        bn = [r for r in a if r[K.BN]]
        self.gammas = [p[r[K.G_OFF]:r[K.G_OFF] + r[K.OUT]] for r in bn]
        self.betas = [p[r[K.BE_OFF]:r[K.BE_OFF] + r[K.OUT]] for r in bn]
        self.running_means = [self.running[0, r[K.C_OFF]:r[K.C_OFF] + r[K.OUT]] for r in bn]
        self.running_vars = [self.running[1, r[K.C_OFF]:r[K.C_OFF] + r[K.OUT]] for r in bn]

    @property
    def n_params(self) -> int:
        """Number of trainable parameters (weights, biases, batch-norm scales and shifts)."""
        return int(self.params.size)

    @property
    def n_hidden(self) -> int:
        """Number of hidden layers."""
        return len(self.sizes) - 2

    @property
    def layer_kinds(self) -> list[str]:
        """"plain", "residual" or "output" for each layer."""
        names = {K.PLAIN: "plain", K.RESIDUAL: "residual", K.OUTPUT: "output"}
        return [names[int(k)] for k in self._arch[:, K.KIND]]

    def copy(self) -> "MLP":
        """An independent copy (parameters and running statistics)."""
        new = object.__new__(MLP)
        new.__dict__.update(self.__dict__)
        new.params = self.params.copy()
        new.running = self.running.copy()
        new._make_views()
        return new

    def __repr__(self) -> str:
        extra = "".join([", residual=True" if self.residual else "", ", batchnorm=True" if self.batchnorm else ""])
        return f"MLP({list(self.sizes)}, init={self.init!r}, dtype={self.dtype.name!r}{extra})"

    # ------------------------------------------------------------------ passes
    def _check_X(self, X) -> np.ndarray:
        return v.as_matrix("X", X, self.dtype, self.sizes[0])

    def check_finite(self) -> None:
        """Raise ValueError if any parameter or running statistic is NaN or inf."""
        if not (np.isfinite(self.params).all() and np.isfinite(self.running).all()):
            raise ValueError("the network has non-finite parameters (it diverged); re-initialize it")

    def _predict(self, X, record: int):
        """Output and hidden values of ``X``; ``record``: ``K.NO_HIDDEN``, ``K.HIDDEN_OUTPUTS``
        or ``K.HIDDEN_PREACTIVATIONS`` (see ``kernels.evaluate.predict``)."""
        from fastrelu.kernels import structs
        from fastrelu.kernels.evaluate import predict

        X = self._check_X(X)
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        width = int(self._arch[-1, K.C_OFF] + self.sizes[-1]) if record != K.NO_HIDDEN else 0
        hidden = np.zeros((X.shape[0], width), dtype=self.dtype)
        net = structs.network(self.params, self.running, self._arch, self.residual_scale)
        predict(net, X, out, hidden, record)
        return out, hidden

    def forward(self, X) -> np.ndarray:
        """Network output for every row of ``X``, shape ``(n, sizes[-1])`` (evaluation mode)."""
        return self._predict(X, K.NO_HIDDEN)[0]

    __call__ = forward

    def _split_hidden(self, hidden) -> list[np.ndarray]:
        return [hidden[:, r[K.C_OFF]:r[K.C_OFF] + r[K.OUT]] for r in self._arch[:-1]]

    def activations(self, X) -> list[np.ndarray]:
        """Each hidden layer's output (after ReLU and residual add), one ``(n, width)`` array each."""
        return self._split_hidden(self._predict(X, K.HIDDEN_OUTPUTS)[1])

    def preactivations(self, X) -> list[np.ndarray]:
        """Each hidden layer's ReLU input (after batch norm), one ``(n, width)`` array each.

        A unit whose pre-activation is <= 0 on every row is dead on that data.
        """
        return self._split_hidden(self._predict(X, K.HIDDEN_PREACTIVATIONS)[1])

    def loss_and_gradient(self, X, y, loss: str = "mse") -> tuple[float, np.ndarray]:
        """Mean loss over ``X`` and its gradient as one flat array laid out like ``params``.

        Batch norm uses the statistics of ``X`` as one batch (training mode); running
        statistics are not changed.
        """
        from fastrelu.kernels.train import batch_loss_grad, use_chunks

        loss = v.check_choice("loss", loss, LOSS_CODES)
        X = self._check_X(X)
        yf, yi = v.as_targets(y, loss, X.shape[0], self.sizes[-1], self.dtype)
        grad = np.empty_like(self.params)
        running = self.running.copy()
        # One gradient of a few thousand rows takes milliseconds serially; compiling the
        # parallel kernel takes seconds. Same bits either way.
        parallel = X.shape[0] >= THREADED_GRADIENT_MIN_ROWS and use_chunks(self._arch, X.shape[0])
        value = batch_loss_grad(self.params, self._arch, self.residual_scale, X, yf, yi, LOSS_CODES[loss],
                                running, grad, parallel)
        return float(value), grad

    def gradients(self, X, y, loss: str = "mse") -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradient of the mean loss over ``X``: ``(list of dW, list of db)``, shaped like the parameters.

        Examples
        --------
        >>> import fastrelu as fr
        >>> net = fr.MLP([2, 4, 1], seed=0, dtype="float64")
        >>> dW, db = net.gradients([[1.0, 2.0], [3.0, 4.0]], [0.5, -0.5])
        >>> [d.shape for d in dW], [d.shape for d in db]
        ([(4, 2), (1, 4)], [(4,), (1,)])
        """
        _, grad = self.loss_and_gradient(X, y, loss)
        a = self._arch
        dW = [grad[r[K.W_OFF]:r[K.W_OFF] + r[K.IN] * r[K.OUT]].reshape(r[K.OUT], r[K.IN]) for r in a]
        db = [grad[r[K.B_OFF]:r[K.B_OFF] + r[K.OUT]] for r in a]
        return dW, db
