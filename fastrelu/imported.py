"""``ImportedModel``: a model brought into fastrelu, and the one path from its layers to an ``fr.MLP``.

Every importer (``fastrelu.torch.from_torch``, the state_dict readers of ``.pt``,
``.safetensors`` and ``.npz``, the ONNX reader) lists the model's layers as
:class:`Linear`, :class:`BatchNorm` and :class:`Activation` records in forward order and
hands them to :func:`assemble`, which checks that they form a fastrelu MLP::

    Linear [BatchNorm] ReLU  ...  Linear [output activation]

(batch norm on every hidden layer or on none, between the Linear and its ReLU, with
``torch.nn.BatchNorm1d``'s eps) and copies the exact weights into an ``fr.MLP``.
A state_dict holds no activations: :func:`from_state_dict` reads its Linear layers in order
with a ReLU between consecutive ones.

Examples
--------
>>> import numpy as np
>>> layers = [Linear("fc1", np.ones((3, 2)), np.zeros(3)), Activation("relu1", "relu"),
...           Linear("fc2", np.ones((1, 3)), None), Activation("out", "sigmoid")]
>>> model = assemble(layers, source="example")
>>> model.net.sizes, model.output_activation, model.layer_names
((2, 3, 1), 'sigmoid', ('fc1', 'fc2'))
>>> model.forward([[1.0, -1.0]])
array([[0.5]])
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu.kernels.batchnorm import EPS as BN_EPS, MOMENTUM as BN_MOMENTUM
from fastrelu.network import MLP

__all__ = ["ImportedModel", "OUTPUT_ACTIVATIONS", "MissingDependencyError", "Linear", "BatchNorm", "Activation",
           "assemble", "from_state_dict", "apply_output_activation", "require"]

#: What may follow a model's last Linear layer (``None``: nothing, a linear output).
OUTPUT_ACTIVATIONS = ("relu", "sigmoid", "softmax", "log_softmax", "tanh")
#: ``net.init`` of an imported network: its weights come from elsewhere, not from a scheme.
IMPORTED_INIT = "imported"


class MissingDependencyError(ImportError):
    """An optional package needed for this model format is not installed (the message says how).

    >>> import fastrelu as fr
    >>> issubclass(fr.MissingDependencyError, ImportError)
    True
    """


def require(package: str, hint: str):
    """Import ``package`` or raise :class:`MissingDependencyError` with the install ``hint``."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(f"{package} is not installed; it is needed here: {hint}") from None


@dataclass(frozen=True)
class Linear:
    """``y = x @ weight.T + bias``, weight of shape (out, in) like ``torch.nn.Linear``."""

    name: str
    weight: Any
    bias: Any = None


@dataclass(frozen=True)
class BatchNorm:
    """Batch norm in evaluation mode; ``gamma``/``beta`` None when it has no affine parameters."""

    name: str
    mean: Any
    var: Any
    gamma: Any = None
    beta: Any = None
    eps: float = BN_EPS
    momentum: float | None = BN_MOMENTUM


@dataclass(frozen=True)
class Activation:
    """An element-wise or row-wise activation: ``"relu"`` or one of :data:`OUTPUT_ACTIVATIONS`."""

    name: str
    kind: str


@dataclass(frozen=True)
class ImportedModel:
    """An imported MLP: the ``fr.MLP`` (linear output), what follows it, where it came from.

    Attributes
    ----------
    net : fastrelu.MLP
        The network with the model's exact weights (``net.init == "imported"``).
    output_activation : str or None
        One of :data:`OUTPUT_ACTIVATIONS` applied after ``net``'s output, or None.
    source : str
        The file path, or ``"torch.nn.Module"``.
    layer_names : tuple of str
        The model's name of each Linear layer (one per layer of ``net``).

    Examples
    --------
    >>> import numpy as np, fastrelu as fr
    >>> net = fr.MLP([2, 4, 1], seed=0)
    >>> model = fr.ImportedModel(net, "sigmoid", "example", ("fc1", "fc2"))
    >>> bool(np.all((model.forward([[0.5, -1.0]]) > 0) & (model.forward([[0.5, -1.0]]) < 1)))
    True
    """

    net: MLP
    output_activation: str | None
    source: str
    layer_names: tuple[str, ...]

    def forward(self, X) -> np.ndarray:
        """The model's output: ``net.forward(X)`` followed by the output activation."""
        return apply_output_activation(self.net.forward(X), self.output_activation)


def apply_output_activation(out, name: str | None) -> np.ndarray:
    """``name`` (one of :data:`OUTPUT_ACTIVATIONS` or None) applied to outputs (rows, k), computed
    in float64 and returned in ``out``'s dtype; softmax and log_softmax act along each row."""
    if name is not None:
        v.check_choice("output_activation", name, OUTPUT_ACTIVATIONS)
    out = np.asarray(out)
    z = out.astype(np.float64)
    if name == "relu":
        z = np.maximum(z, 0.0)
    elif name == "sigmoid":
        z = 0.5 * (1.0 + np.tanh(0.5 * z))
    elif name == "tanh":
        z = np.tanh(z)
    elif name in ("softmax", "log_softmax"):
        z = z - z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1, keepdims=True))
        z = z - log_norm if name == "log_softmax" else np.exp(z - log_norm)
    return z.astype(out.dtype)


def _describe(layer) -> str:
    if isinstance(layer, Activation):
        return f"activation {layer.kind!r} ({layer.name})"
    return f"{type(layer).__name__} {layer.name!r}"


def _split_layers(layers: Sequence, source: str):
    """Check the layer grammar; return (linears, batch norms per hidden layer, output activation)."""
    if not any(isinstance(layer, Linear) for layer in layers):
        raise ValueError(f"{source}: no Linear-like layers found (expected weight matrices of Linear/Gemm "
                         "layers); fastrelu reads MLPs of Linear, BatchNorm1d and ReLU layers")
    linears, bns, out_act, pos, n = [], [], None, 0, len(layers)
    while pos < n:
        if not isinstance(layers[pos], Linear):
            raise ValueError(f"{source}: {_describe(layers[pos])} where a Linear layer was expected; "
                             "fastrelu reads Linear [BatchNorm1d] ReLU ... Linear [output activation]")
        linears.append(layers[pos])
        pos += 1
        bn = layers[pos] if pos < n and isinstance(layers[pos], BatchNorm) else None
        pos += bn is not None
        if any(isinstance(layer, Linear) for layer in layers[pos:]):
            nxt = layers[pos] if pos < n else None
            if not (isinstance(nxt, Activation) and nxt.kind == "relu"):
                raise ValueError(f"{source}: after {_describe(linears[-1])} comes {_describe(nxt)}; "
                                 "fastrelu's MLP needs a ReLU after every hidden Linear layer (a BatchNorm1d "
                                 "may sit between the Linear and its ReLU)")
            bns.append(bn)
            pos += 1
            continue
        if bn is not None:
            raise ValueError(f"{source}: {_describe(bn)} follows the last Linear layer; fastrelu's MLP has "
                             "batch norm on hidden layers only")
        rest = layers[pos:]
        if len(rest) > 1 or (rest and not isinstance(rest[0], Activation)):
            raise ValueError(f"{source}: after the last Linear layer come {[_describe(r) for r in rest]}; "
                             f"expected at most one output activation ({', '.join(OUTPUT_ACTIVATIONS)})")
        out_act = rest[0].kind if rest else None
        pos = n
    return linears, bns, out_act


def _as_float(name: str, value, source: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        raise ValueError(f"{source}: {name} has dtype {arr.dtype}; expected floating-point weights")
    return arr


def _check_shapes(linears, bns, source: str) -> tuple[list[int], np.dtype]:
    sizes, dtypes = [], []
    for i, lin in enumerate(linears):
        w = _as_float(f"{lin.name} weight", lin.weight, source)
        if w.ndim != 2 or 0 in w.shape:
            raise ValueError(f"{source}: layer {lin.name!r} has weight shape {w.shape}; expected a non-empty "
                             "2-D (out, in) matrix")
        if not sizes:
            sizes.append(w.shape[1])
        elif w.shape[1] != sizes[-1]:
            raise ValueError(f"{source}: layer {lin.name!r} takes {w.shape[1]} inputs but the layer before it "
                             f"({linears[i - 1].name!r}) has {sizes[-1]} outputs (weight shapes "
                             f"{np.shape(linears[i - 1].weight)} then {w.shape})")
        sizes.append(w.shape[0])
        vectors = [(f"{lin.name} bias", lin.bias)]
        if i < len(bns) and bns[i] is not None:
            b = bns[i]
            vectors += [(f"{b.name} {k}", getattr(b, k)) for k in ("mean", "var", "gamma", "beta")]
        for name, vec in vectors:
            if vec is not None and np.shape(vec) != (w.shape[0],):
                raise ValueError(f"{source}: {name} has shape {np.shape(vec)}; expected ({w.shape[0]},) "
                                 f"like the outputs of layer {lin.name!r}")
        dtypes += [w.dtype] + [_as_float(name, vec, source).dtype for name, vec in vectors if vec is not None]
    dtype = np.result_type(*dtypes)
    return sizes, np.dtype(np.float32) if dtype.itemsize < 4 else v.check_dtype(f"{source} weights", dtype)


def _check_batchnorm(bns, source: str) -> bool:
    if not any(b is not None for b in bns):
        return False
    if not all(b is not None for b in bns):
        plain = [i + 1 for i, b in enumerate(bns) if b is None]
        raise ValueError(f"{source}: hidden layers {plain} have no batch norm while others do; fastrelu's MLP "
                         "has batch norm on every hidden layer or on none")
    for b in bns:
        if not np.isclose(b.eps, BN_EPS, rtol=1e-6, atol=0.0):
            raise ValueError(f"{source}: batch norm {b.name!r} has eps={b.eps:g}; fastrelu's batch norm uses "
                             f"eps={BN_EPS:g} (torch.nn.BatchNorm1d's default)")
        if b.momentum is None or not np.isclose(b.momentum, BN_MOMENTUM, rtol=1e-6, atol=0.0):
            raise ValueError(f"{source}: batch norm {b.name!r} has momentum={b.momentum}; fastrelu's batch norm "
                             f"uses momentum={BN_MOMENTUM:g} (torch.nn.BatchNorm1d's default)")
    return True


def assemble(layers: Sequence, *, source: str, output_activation: str | None = None) -> ImportedModel:
    """Check ``layers`` (:class:`Linear`/:class:`BatchNorm`/:class:`Activation`, forward order) and
    build the :class:`ImportedModel` with their exact weights.

    ``output_activation`` names what follows the last Linear when the layers carry none; when
    they end with an activation it must agree. A ValueError names ``source`` and what is wrong.
    """
    if output_activation is not None:
        v.check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    linears, bns, found = _split_layers(list(layers), source)
    if found is not None and found not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"{source}: output activation {found!r} is not accepted; expected one of "
                         f"{', '.join(map(repr, OUTPUT_ACTIVATIONS))}")
    if found is not None and output_activation is not None and found != output_activation:
        raise ValueError(f"{source}: the model ends with {found!r} but output_activation={output_activation!r} "
                         "was given; leave output_activation out for models that carry their own")
    sizes, dtype = _check_shapes(linears, bns, source)
    batchnorm = _check_batchnorm(bns, source)
    net = MLP(sizes, init="zeros", dtype=dtype, batchnorm=batchnorm)
    net.init = IMPORTED_INIT
    for i, lin in enumerate(linears):
        net.weights[i][...] = lin.weight
        net.biases[i][...] = 0.0 if lin.bias is None else lin.bias
    for i, b in enumerate(bns if batchnorm else []):
        net.running_means[i][...] = b.mean
        net.running_vars[i][...] = b.var
        net.gammas[i][...] = 1.0 if b.gamma is None else b.gamma
        net.betas[i][...] = 0.0 if b.beta is None else b.beta
    return ImportedModel(net=net, output_activation=found or output_activation, source=source,
                         layer_names=tuple(lin.name for lin in linears))


_BN_KEYS = {"running_mean", "running_var", "num_batches_tracked"}


def _natural_key(prefix: str):
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prefix.split("."))


def _state_dict_layer(prefix: str, group: dict, source: str):
    keys = set(group)
    if {"running_mean", "running_var"} <= keys:
        extra = keys - _BN_KEYS - {"weight", "bias"}
        if not extra:
            return BatchNorm(prefix, group["running_mean"], group["running_var"], group.get("weight"),
                             group.get("bias"), BN_EPS, BN_MOMENTUM)
    elif "weight" in keys and keys <= {"weight", "bias"}:
        ndim = np.ndim(group["weight"])
        if ndim == 2:
            return Linear(prefix, group["weight"], group.get("bias"))
        kind = "a convolution" if ndim > 2 else "a normalization layer without running statistics (LayerNorm?)"
        raise ValueError(f"{source}: {prefix}.weight has shape {np.shape(group['weight'])}, {kind}; fastrelu "
                         "reads MLPs of Linear and BatchNorm1d layers (measure other models in PyTorch with "
                         "fastrelu.torch.hook_measure)")
    names = ", ".join(f"{prefix}.{k}" if prefix else k for k in sorted(keys))
    raise ValueError(f"{source}: keys {names} are neither a Linear layer (weight, bias) nor a BatchNorm1d "
                     "(weight, bias, running_mean, running_var, num_batches_tracked)")


def from_state_dict(arrays: Mapping[str, Any], *, source: str, output_activation: str | None = None,
                    natural_order: bool = False) -> ImportedModel:
    """Read ``<prefix>.weight``/``<prefix>.bias`` (2-D weights: Linear) and ``running_mean``/
    ``running_var`` groups (BatchNorm1d) as an MLP, with a ReLU between consecutive Linear layers.

    Layers come in the mapping's order (a PyTorch state_dict's module order), or with
    ``natural_order`` sorted by prefix with numbers compared as numbers (for formats that do not
    keep the order, such as safetensors). Batch norm takes torch's defaults (eps 1e-5).
    """
    groups: dict[str, dict] = {}
    for key, value in arrays.items():
        if not isinstance(key, str):
            raise ValueError(f"{source}: key {key!r} is not a string; expected state_dict keys such as '0.weight'")
        prefix, _, leaf = key.rpartition(".")
        groups.setdefault(prefix, {})[leaf] = value
    prefixes = sorted(groups, key=_natural_key) if natural_order else list(groups)
    layers = []
    for prefix in prefixes:
        layer = _state_dict_layer(prefix, groups[prefix], source)
        if isinstance(layer, Linear) and layers:
            layers.append(Activation(f"relu before {prefix}", "relu"))
        layers.append(layer)
    return assemble(layers, source=source, output_activation=output_activation)

