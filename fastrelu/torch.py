"""The PyTorch bridge: models and state_dict files into fastrelu, and measurements through hooks.

The only module of fastrelu that imports PyTorch (its hook machinery,
:mod:`fastrelu.torch_hooks`, is handed ``torch`` from here). It imports ``torch`` when one of
its functions is called (``import fastrelu`` never does), and raises
:class:`fastrelu.imported.MissingDependencyError` with the install hint without it.

* :func:`from_torch`: an MLP-shaped ``torch.nn.Module`` as an ``fr.MLP`` with its exact weights.
* :func:`load_state_dict_file`: a ``.pt``/``.pth`` state_dict, read with
  ``torch.load(weights_only=True)`` only: a pickled object is refused, never executed.
* :func:`hook_measure`: any module (a CNN too), measured through forward hooks on its ReLU
  modules: dead fraction and mean square per ReLU call, and the output.
* :func:`watch`: the same hooks during the user's own training loop, every ``every``-th step.

Hooks see modules only: a functional ``F.relu``/``torch.relu`` inside a ``forward`` is
invisible to :func:`hook_measure` and :func:`watch` (use ``nn.ReLU`` modules to have it
measured). The dead-unit and collapse rules are those of :mod:`fastrelu.rules`; a unit is a
feature of an ``(n, features)`` input, a channel (dimension 1) of a feature map such as
``(n, C, H, W)``, dead when its input is <= 0 at every row and position.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np

from fastrelu import _validation as v
from fastrelu.imported import Activation, BatchNorm, ImportedModel, Linear, assemble, from_state_dict, require
from fastrelu.measure_net import hooks_report
from fastrelu.torch_hooks import (CollapseWarning, HookLayer, HookMeasurement, Watch, as_input, measure,
                                  to_numpy)

__all__ = ["from_torch", "load_state_dict_file", "hook_measure", "HookMeasurement", "HookLayer", "watch",
           "Watch", "CollapseWarning", "module_report"]

TORCH_HINT = 'pip install "fastrelu[torch]"'
SOURCE = "torch.nn.Module"
_HOOKS_HINT = "measure it through forward hooks instead (fastrelu.torch.hook_measure)"
#: Keys under which checkpoint dicts commonly keep the state_dict.
STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model")


def _torch():
    return require("torch", TORCH_HINT)


# ---------------------------------------------------------------- from_torch
def _dim_ok(dim) -> bool:
    return dim in (None, 1, -1)


def _module_layers(name: str, m, torch) -> list:
    nn = torch.nn

    def plain(cls):
        return isinstance(m, cls) and type(m).forward is cls.forward

    if plain(nn.Linear):
        return [Linear(name, to_numpy(m.weight), None if m.bias is None else to_numpy(m.bias))]
    if plain(nn.BatchNorm1d):
        if m.running_mean is None or not m.track_running_stats:
            raise ValueError(f"{SOURCE}: BatchNorm1d {name!r} keeps no running statistics; fastrelu's batch "
                             "norm evaluates with running statistics")
        affine = m.weight is not None
        return [BatchNorm(name, to_numpy(m.running_mean), to_numpy(m.running_var), to_numpy(m.weight) if affine else None,
                          to_numpy(m.bias) if affine else None, float(m.eps), m.momentum)]
    simple = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
    for cls, kind in simple.items():
        if plain(cls):
            return [Activation(name, kind)]
    for cls, kind in ((nn.Softmax, "softmax"), (nn.LogSoftmax, "log_softmax")):
        if plain(cls) and _dim_ok(m.dim):
            return [Activation(name, kind)]
    noop = plain(nn.Identity) or isinstance(m, nn.modules.dropout._DropoutNd)
    if noop or (plain(nn.Flatten) and m.start_dim == 1 and m.end_dim == -1):
        return []
    raise ValueError(f"{SOURCE}: layer {name!r} is a {type(m).__name__}, not one of Linear, BatchNorm1d, ReLU, "
                     f"Sigmoid, Tanh, Softmax(dim=1), LogSoftmax(dim=1), Flatten, Dropout, Identity; the model is "
                     f"not MLP-shaped: {_HOOKS_HINT}")


def _function_layers(node, torch) -> list:
    F = torch.nn.functional
    kinds = {F.relu: "relu", torch.relu: "relu", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
             torch.tanh: "tanh", F.tanh: "tanh", F.softmax: "softmax", torch.softmax: "softmax",
             F.log_softmax: "log_softmax", torch.log_softmax: "log_softmax"}
    methods = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
               "log_softmax": "log_softmax"}
    target, args, kwargs = node.target, node.args, node.kwargs
    kind = kinds.get(target) if node.op == "call_function" else methods.get(target)
    if kind in ("softmax", "log_softmax"):
        kind = kind if _dim_ok(args[1] if len(args) > 1 else kwargs.get("dim")) else None
    if kind is not None:
        return [Activation(node.name, kind)]
    if target in (torch.flatten, "flatten"):
        if (args[1] if len(args) > 1 else kwargs.get("start_dim", 0)) == 1:
            return []
    if target in (F.dropout, "contiguous"):
        return []
    raise ValueError(f"{SOURCE}: its forward calls {getattr(target, '__name__', target)!r} (node {node.name!r}), "
                     f"which is not part of an MLP of Linear, BatchNorm1d and ReLU layers: {_HOOKS_HINT}")


def _chain(module, torch) -> list:
    """The layers of ``module``'s forward, traced with torch.fx, if it is a plain stack."""
    import torch.fx

    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception as exc:  # data-dependent control flow and the like
        raise ValueError(f"{SOURCE}: its forward could not be traced as a plain stack of layers "
                         f"({type(exc).__name__}: {exc}); {_HOOKS_HINT}") from None
    nodes = list(graph.nodes)
    inputs = [n for n in nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        raise ValueError(f"{SOURCE}: its forward takes {len(inputs)} inputs; an MLP takes one: {_HOOKS_HINT}")
    prev, layers = inputs[0], []
    for node in nodes:
        if node.op == "placeholder":
            continue
        if node.all_input_nodes != [prev] or len(prev.users) != 1 or node.op == "get_attr":
            how = (f"the output of {prev.name!r} feeds {sorted(u.name for u in prev.users)}" if len(prev.users) > 1
                   else f"{node.name!r} takes {[n.name for n in node.all_input_nodes]}")
            raise ValueError(f"{SOURCE}: the model is not MLP-shaped: {how}, not a plain chain of layers "
                             f"(a residual connection or other structure); {_HOOKS_HINT}")
        if node.op == "output":
            if node.args[0] is not prev:
                raise ValueError(f"{SOURCE}: its forward returns {type(node.args[0]).__name__}; expected one "
                                 f"tensor: {_HOOKS_HINT}")
            return layers
        if node.op == "call_module":
            layers += _module_layers(node.target, module.get_submodule(node.target), torch)
        else:
            layers += _function_layers(node, torch)
        prev = node
    raise ValueError(f"{SOURCE}: its traced graph has no output")


def from_torch(module) -> ImportedModel:
    """An MLP-shaped ``torch.nn.Module`` as an :class:`~fastrelu.imported.ImportedModel`.

    Accepted: a stack (``nn.Sequential`` or any module whose ``forward`` traces, with
    ``torch.fx``, to a chain) of ``Linear [BatchNorm1d] ReLU ... Linear`` with optionally one
    output activation (ReLU, Sigmoid, Tanh, Softmax/LogSoftmax over dim 1), and Flatten,
    Dropout and Identity, which do nothing to rows of features in evaluation mode. The network
    reproduces the module in evaluation mode (batch norm with its running statistics), with
    its exact float32 or float64 weights (float16/bfloat16 weights are widened to float32).
    Anything else (a residual connection, convolutions, other activations) raises a ValueError
    saying the model is not MLP-shaped; measure such models with :func:`hook_measure`. The
    module is not modified.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return assemble(_chain(module, torch), source=SOURCE)


# ---------------------------------------------------------------- state_dict files
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _refusal(path: Path, exc: BaseException) -> str:
    found = re.search(r"GLOBAL ([\w.]+)", str(exc))
    what = f" (it needs {found.group(1)})" if found else ""
    return (f"{path} holds a pickled Python object{what}, not only tensors; fastrelu reads model files as "
            "data with torch.load(weights_only=True), which refused it, so nothing in it was executed. "
            "Save the weights with torch.save(model.state_dict(), path) and load that file")


def _state_dict(obj, path: Path, torch) -> dict:
    if isinstance(obj, dict):
        for key in STATE_DICT_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
        others = [k for k, t in obj.items() if not isinstance(t, torch.Tensor)]
        if not others:
            return obj
        raise ValueError(f"{path}: entries {others[:5]} are not tensors; expected a state_dict (a dict of tensors) "
                         f"or a checkpoint dict holding one under {', '.join(map(repr, STATE_DICT_KEYS))}")
    raise ValueError(f"{path} holds a {type(obj).__name__}, not a state_dict; save it with "
                     "torch.save(model.state_dict(), path)")


def load_state_dict_file(path, output_activation: str | None = None) -> ImportedModel:
    """Read a ``.pt``/``.pth`` state_dict as an MLP (see :func:`fastrelu.imported.from_state_dict`).

    The file is read with ``torch.load(path, map_location="cpu", weights_only=True)`` only:
    a pickled model (``torch.save(model)``) or any other pickled object is refused with a
    ValueError naming the file, without executing anything. A state_dict holds no activations:
    ``output_activation`` names what follows the last Linear layer (default: nothing).
    """
    torch = _torch()
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty; expected a PyTorch state_dict file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):  # it names a class or function to load: code, not data
            raise ValueError(_refusal(path, exc)) from None
        found = re.search(r"WeightsUnpickler error: (.+)", str(exc))
        raise ValueError(f"{path} is not a readable PyTorch file (malformed pickle data: "
                         f"{found.group(1).strip() if found else _first_line(exc)}); expected a state_dict saved "
                         "with torch.save(model.state_dict(), path)") from None
    except Exception as exc:  # truncated or foreign files: torch raises RuntimeError, EOFError, ...
        raise ValueError(f"{path} is not a readable PyTorch file ({type(exc).__name__}: {_first_line(exc)}); "
                         "expected a state_dict saved with torch.save(model.state_dict(), path)") from None
    arrays = {k: to_numpy(t) for k, t in _state_dict(obj, path, torch).items()}
    return from_state_dict(arrays, source=str(path), output_activation=output_activation)


# ---------------------------------------------------------------- hooks
def hook_measure(module, X, *, batch_size: int | None = None) -> HookMeasurement:
    """Measure any ``torch.nn.Module`` on inputs ``X`` through hooks on its ReLU modules.

    ``X`` (array or tensor, whatever shape the model takes) runs through the model in
    evaluation mode under ``torch.no_grad()``, in chunks of ``batch_size`` rows (default:
    all at once). Per call of an ``nn.ReLU``/``nn.ReLU6`` module: the fraction of dead units
    (:func:`fastrelu.rules.dead_units` over all rows and positions) and the mean square of the
    module's output; at the output, the std across rows (:func:`fastrelu.rules.output_std`).
    The previous training mode of every submodule is restored and all hooks removed
    afterwards, also on error; nothing else is changed.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    batch_size = v.check_int("batch_size", batch_size, minimum=1, allow_none=True)
    return measure(module, as_input(X, module, torch), batch_size, torch)


def watch(model, every: int = 10, warn: bool = True, target_std: float | None = None) -> Watch:
    """Watch a model during your own training loop (a context manager; nothing is printed).

    Every forward call of ``model`` is a step, counted from 0 (evaluation forwards in the loop
    count too); on every ``every``-th step the ReLU modules are hooked for that one forward
    and the watch records
    ``{"step", "dead_fraction" (per ReLU call, dead on that batch), "output_std" (std across
    the batch rows, mean over columns), "finite", "collapsed"}`` in ``.records``. Other steps
    cost one Python call that returns at once.

    Collapse (:func:`fastrelu.rules.is_collapsed`): outputs not all finite, or output std at
    most ``1e-3`` times the yardstick: ``target_std`` when given (the std of your targets,
    one-hot for classification), else the output std of the first recorded step. Without
    ``target_std`` a net that starts collapsed is caught only when its outputs are exactly
    constant or non-finite: pass ``target_std`` to catch a collapse present from the start.
    ``.collapsed_at`` is the first recorded collapsed step (or None); with ``warn`` one
    :class:`CollapseWarning` is emitted then. All hooks are removed on exit, also after an
    exception.

    Examples
    --------
    >>> import torch
    >>> import fastrelu.torch as frt
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    >>> with frt.watch(model, every=2) as w:
    ...     for _ in range(4):
    ...         _ = model(torch.randn(16, 3))
    >>> [r["step"] for r in w.records], w.collapsed_at, len(model[1]._forward_hooks)
    ([0, 2], None, 0)
    """
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    every = v.check_int("every", every, minimum=1)
    warn = v.check_bool("warn", warn)
    target_std = v.check_float("target_std", target_std, nonnegative=True, allow_none=True)
    return Watch(model, every, warn, target_std, torch)


def _weight_stats(module, torch) -> list[dict]:
    """Per weight tensor (2-D or more) of ``module``: name, shape, RMS, He's RMS, finiteness."""
    stats = []
    for name, p in module.named_parameters():
        if p.ndim < 2:
            continue
        w = to_numpy(p.detach())
        fan_in = int(np.prod(w.shape[1:]))
        with np.errstate(all="ignore"):
            rms = float(np.sqrt(np.mean(np.square(w, dtype=np.float64))))
        stats.append({"name": name, "shape": list(w.shape), "rms": rms, "he_rms": float(np.sqrt(2.0 / fan_in)),
                      "finite": bool(np.isfinite(w).all())})
    return stats


def module_report(module, X, y=None, *, loss: str | None = None, reference_std: float | None = None):
    """The measurement half of :func:`fastrelu.diagnose` for a module that is not MLP-shaped:
    ``(report, output, X as rows)`` with the report's layers one per ReLU call (findings not
    yet made). The module is not modified."""
    torch = _torch()
    measured = measure(module, as_input(X, module, torch), None, torch)
    params_finite = all(bool(torch.isfinite(p.detach()).all()) for p in module.parameters())
    rows = np.asarray(to_numpy(X.detach()) if isinstance(X, torch.Tensor) else np.asarray(X))
    rows = rows.reshape(len(rows), -1)
    report = hooks_report(measured, _weight_stats(module, torch), rows, y, loss=loss, reference_std=reference_std,
                          params_finite=params_finite, source=f"{SOURCE} {type(module).__name__}")
    return report, measured.output, rows
