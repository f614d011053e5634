"""``load_model``: a saved model file as an :class:`~fastrelu.imported.ImportedModel`, read as data.

============  ==================================================================================
suffix        read with
============  ==================================================================================
``.npz``      ``np.load(allow_pickle=False)``: fastrelu's own format (``fr.save``), or
              state_dict-style keys ``0.weight``, ``0.bias``, ... in the file's order
``.safetensors``  ``safetensors.numpy.load_file``: state_dict keys, layers ordered by key prefix
              with numbers compared as numbers (the format does not keep the order)
``.onnx``     the ``onnx`` package (no external data): an MLP graph of Gemm, MatMul, Add, Relu,
              Sigmoid, Tanh, Softmax, LogSoftmax, BatchNormalization, Flatten, Identity, Dropout
``.pt/.pth``  ``torch.load(weights_only=True)`` (:func:`fastrelu.torch.load_state_dict_file`)
============  ==================================================================================

A state_dict holds no activations: its Linear layers are read with a ReLU between them, and
``output_activation`` names what follows the last one; an ONNX graph carries its own. A file
that cannot be read as what its suffix says gets one ValueError naming it and what was
expected; a missing optional package raises
:class:`~fastrelu.imported.MissingDependencyError` (an ImportError) with the install hint.
Files are only read, never written.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.npz"
>>> np.savez(path, **{"0.weight": np.ones((4, 2)), "0.bias": np.zeros(4),
...                   "2.weight": np.ones((1, 4)), "2.bias": np.zeros(1)})
>>> model = load_model(path, output_activation="sigmoid")
>>> model.net.sizes, model.layer_names, model.output_activation
((2, 4, 1), ('0', '2'), 'sigmoid')
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fastrelu import _validation as v
from fastrelu.imported import (OUTPUT_ACTIVATIONS, Activation, BatchNorm, ImportedModel, Linear, assemble,
                               from_state_dict, require)

__all__ = ["load_model", "ImportedModel", "OUTPUT_ACTIVATIONS"]

ONNX_HINT = 'pip install "fastrelu[onnx]"'
SAFETENSORS_HINT = 'pip install "fastrelu[torch]" (or just: pip install safetensors)'
_FORMATS = {".npz": "a .npz archive of arrays", ".safetensors": "a safetensors file of tensors",
            ".onnx": "an ONNX model", ".pt": "a PyTorch state_dict file", ".pth": "a PyTorch state_dict file"}
_FASTRELU_KEYS = {"format", "sizes", "params", "running"}


def load_model(path, output_activation: str | None = None) -> ImportedModel:
    """Read the model file ``path`` (``.npz``, ``.safetensors``, ``.onnx``, ``.pt``, ``.pth``).

    ``output_activation`` (None or one of "relu", "sigmoid", "softmax", "log_softmax",
    "tanh") names what follows the last Linear layer of a file that holds only weights; a
    model that carries its own (an ONNX graph) must agree with it. Raises FileNotFoundError
    for a missing file, ValueError naming the file for anything else it cannot read.

    Examples
    --------
    A state_dict saved as ``.npz`` (keys ``0.weight``, ``0.bias``, ...) is read as Linear
    layers with ReLU between them:

    >>> import os, tempfile, numpy as np, fastrelu as fr
    >>> rng = np.random.default_rng(0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> np.savez(path, **{"0.weight": rng.normal(size=(8, 3)), "0.bias": np.zeros(8),
    ...                   "2.weight": rng.normal(size=(1, 8)), "2.bias": np.zeros(1)})
    >>> model = fr.load_model(path, output_activation="sigmoid")
    >>> model.net.sizes, model.output_activation, model.layer_names
    ((3, 8, 1), 'sigmoid', ('0', '2'))
    """
    if output_activation is not None:
        v.check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"{path}: unknown model file suffix {suffix!r}; expected one of "
                         f"{', '.join(sorted(_FORMATS))}")
    if not path.exists():
        raise FileNotFoundError(f"path={str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"{path} is not a file; expected {_FORMATS[suffix]}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty; expected {_FORMATS[suffix]}")
    if suffix in (".pt", ".pth"):
        from fastrelu.torch import load_state_dict_file

        return load_state_dict_file(path, output_activation)
    reader = {".npz": _read_npz, ".safetensors": _read_safetensors, ".onnx": _read_onnx}[suffix]
    return reader(path, output_activation)


def _unreadable(path: Path, suffix: str, exc: BaseException) -> ValueError:
    lines = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__
    if "pickle" in reason.lower():  # numpy's message would suggest loading it unsafely
        reason = "it holds pickled Python data, which fastrelu never unpickles (allow_pickle=False)"
    return ValueError(f"{path} is not {_FORMATS[suffix]} ({reason})")


def _read_npz(path: Path, output_activation) -> ImportedModel:
    try:
        with open(path, "rb") as fh:
            f = np.load(fh, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not an archive of named arrays")
            with f:
                if _FASTRELU_KEYS <= set(f.files):
                    arrays = None
                else:
                    arrays = {name: f[name] for name in f.files}
    except Exception as exc:  # truncated zips, pickled or object arrays, foreign bytes, ...
        raise _unreadable(path, ".npz", exc) from None
    if arrays is None:
        from fastrelu.serialization import load

        net = load(path)
        return ImportedModel(net=net, output_activation=output_activation, source=str(path),
                             layer_names=tuple(str(i) for i in range(len(net.sizes) - 1)))
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise ValueError(f"{path}: member {name!r} is not a .npy array; expected {_FORMATS['.npz']}")
    return from_state_dict(arrays, source=str(path), output_activation=output_activation)


def _read_safetensors(path: Path, output_activation) -> ImportedModel:
    st = require("safetensors.numpy", SAFETENSORS_HINT)
    try:
        arrays = st.load_file(str(path))
    except Exception as exc:  # safetensors raises its own SafetensorError, or others for foreign bytes
        raise _unreadable(path, ".safetensors", exc) from None
    return from_state_dict(arrays, source=str(path), output_activation=output_activation, natural_order=True)


# ---------------------------------------------------------------- ONNX
def _read_onnx(path: Path, output_activation) -> ImportedModel:
    onnx = require("onnx", ONNX_HINT)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and the like
        raise _unreadable(path, ".onnx", exc) from None
    if not model.graph.node:
        raise ValueError(f"{path} is not {_FORMATS['.onnx']}: it has no graph nodes")
    return assemble(_onnx_layers(model.graph, str(path), onnx), source=str(path),
                    output_activation=output_activation)


def _onnx_constants(graph, source: str, onnx) -> dict:
    consts = {}
    for init in graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise ValueError(f"{source}: initializer {init.name!r} keeps its data in an external file; "
                             "fastrelu reads self-contained ONNX files only")
        consts[init.name] = onnx.numpy_helper.to_array(init)
    return consts


def _onnx_attrs(node, onnx) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _linear(name: str, weight, bias) -> Linear:
    weight = np.asarray(weight)
    if bias is not None and weight.ndim == 2:
        try:
            bias = np.broadcast_to(np.asarray(bias), (1, weight.shape[0])).reshape(-1)
        except ValueError:
            bias = np.asarray(bias)  # wrong shape: assemble names it
    return Linear(name.removesuffix(".weight"), weight, bias)


def _onnx_layer(node, attrs: dict, consts: dict, layers: list, source: str):
    """The layer record of one node of a chain (None: a no-op), given the layers so far."""
    op, args = node.op_type, [consts.get(i) for i in node.input[1:]]
    name = node.name or f"{op}_{len(layers)}"
    needed = {"Gemm": 2, "MatMul": 2, "BatchNormalization": 5}.get(op, 1)
    if len(node.input) < needed:
        raise ValueError(f"{source}: ONNX node {name!r} ({op}) has {len(node.input)} inputs; expected {needed}")
    if op == "Gemm":
        if attrs.get("transA", 0):
            raise ValueError(f"{source}: Gemm node {name!r} transposes its input (transA=1); not an MLP layer")
        w = args[0] if attrs.get("transB", 0) else np.asarray(args[0]).T
        c = args[1] if len(args) > 1 else None
        w = w * attrs.get("alpha", 1.0) if attrs.get("alpha", 1.0) != 1.0 else w
        c = c * attrs.get("beta", 1.0) if c is not None and attrs.get("beta", 1.0) != 1.0 else c
        return _linear(node.input[1], w, c)
    if op == "MatMul":
        return _linear(node.input[1], np.asarray(args[0]).T, None)
    if op == "Add" and layers and isinstance(layers[-1], Linear) and layers[-1].bias is None:
        bias = next(consts[i] for i in node.input if i in consts)
        layers[-1] = _linear(layers[-1].name, layers[-1].weight, bias)
        return None
    if op == "BatchNormalization":
        if attrs.get("training_mode", 0):
            raise ValueError(f"{source}: BatchNormalization node {name!r} is in training mode")
        scale, bias, mean, var = args[:4]
        return BatchNorm(name, mean, var, scale, bias, float(attrs.get("epsilon", 1e-5)),
                         1.0 - float(attrs.get("momentum", 0.9)))
    kinds = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax",
             "LogSoftmax": "log_softmax"}
    if op in kinds and attrs.get("axis", 1) in (1, -1):
        return Activation(name, kinds[op])
    if op in ("Identity", "Dropout") or (op == "Flatten" and attrs.get("axis", 1) == 1):
        return None
    raise ValueError(f"{source}: ONNX node {name!r} ({op}) is not part of an MLP graph; fastrelu reads Gemm, "
                     "MatMul + Add, Relu, Sigmoid, Tanh, Softmax/LogSoftmax (axis 1), BatchNormalization, "
                     "Flatten (axis 1), Identity and Dropout")


def _onnx_layers(graph, source: str, onnx) -> list:
    consts = _onnx_constants(graph, source, onnx)
    inputs = [i.name for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise ValueError(f"{source}: the graph has inputs {inputs}; an MLP graph has one (the rows of X)")
    cur, layers = inputs[0], []
    for node in graph.node:
        attrs = _onnx_attrs(node, onnx)
        if node.op_type == "Constant" and "value" in attrs:
            consts[node.output[0]] = onnx.numpy_helper.to_array(attrs["value"])
            continue
        data = [i for i in node.input if i and i not in consts]
        if node.op_type == "Identity" and not data:
            consts[node.output[0]] = consts[node.input[0]]
            continue
        if data != [cur] or node.input[0] != cur:
            raise ValueError(f"{source}: ONNX node {node.name or node.op_type!r} ({node.op_type}) takes "
                             f"{list(node.input)}, not just the output of the layer before ({cur!r}); the graph "
                             "is not a plain MLP chain (residual or other structure)")
        layer = _onnx_layer(node, attrs, consts, layers, source)
        if layer is not None:
            layers.append(layer)
        cur = node.output[0]
    outputs = [o.name for o in graph.output]
    if outputs != [cur]:
        raise ValueError(f"{source}: the graph's outputs are {outputs}; expected the chain's last tensor {cur!r}")
    return layers

