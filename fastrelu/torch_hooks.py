"""Forward hooks on a PyTorch model's ReLU modules: the machinery of ``fastrelu.torch``.

Used only through :mod:`fastrelu.torch`, which imports torch and passes it in; this module
never imports torch itself. Each measured forward records, per call of an ``nn.ReLU`` or
``nn.ReLU6`` module, the per-unit maximum of its input (a unit: a feature of ``(n, features)``,
a channel, dimension 1, of ``(n, C, ...)``) and the sum of squares of its output; the dead
rule of :mod:`fastrelu.rules` is applied to those maxima.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from fastrelu import rules

__all__ = ["HookLayer", "HookMeasurement", "CollapseWarning", "Watch", "measure", "as_input", "to_numpy"]


def to_numpy(t) -> np.ndarray:
    """A tensor as a NumPy copy (float16/bfloat16 widened to float32)."""
    t = t.detach().cpu()
    return (t.float() if t.dtype.is_floating_point and t.element_size() < 4 else t).numpy().copy()


def as_float64(t) -> np.ndarray:
    """A tensor's values as float64 NumPy, read-only use (a view when it is float64 already)."""
    return t.detach().double().cpu().numpy()


@dataclass
class _Call:
    name: str
    kind: str
    shape: tuple
    unit_max: Any  # per-unit max of the input over rows and positions: a detached tensor (units,)
    sum_sq: float = 0.0
    count: int = 0


class _Probe:
    """Forward hooks on the ReLU modules of a model; one :class:`_Call` per call of one of them."""

    def __init__(self, model, torch, mean_sq: bool = True):
        kinds = (torch.nn.ReLU, torch.nn.ReLU6)
        self.modules = [(n, m) for n, m in model.named_modules() if isinstance(m, kinds)]
        self._hooks = [(m, partial(self._before, n)) for n, m in self.modules]
        self.mean_sq = mean_sq
        self.handles: list = []
        self.calls: list[_Call] = []

    def attach(self) -> None:
        self.detach()
        self.calls = []
        for m, hook in self._hooks:
            self.handles.append(m.register_forward_pre_hook(hook))
            if self.mean_sq:
                self.handles.append(m.register_forward_hook(self._after))

    def detach(self) -> None:
        while self.handles:
            self.handles.pop().remove()

    def _before(self, name, module, args):
        # Measured before the module runs: an in-place ReLU overwrites its input.
        x = args[0].detach()
        if x.ndim == 2:
            unit_max = x.amax(dim=0)
        else:  # (n,) one unit; (n, C, ...) one unit per channel
            rows = x.reshape(len(x), -1) if x.ndim < 2 else x.movedim(1, -1)
            unit_max = rows.reshape(-1, rows.shape[-1]).amax(dim=0)
        self.calls.append(_Call(name, type(module).__name__, tuple(x.shape[1:]), unit_max))

    def _after(self, module, args, out):
        call = self.calls[-1]
        out = out.detach()
        call.sum_sq = float(out.double().square().sum())
        call.count = out.numel()


def _output(out, torch) -> np.ndarray:
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"the model returned a {type(out).__name__}; fastrelu measures models that return one tensor")
    return as_float64(out).reshape(len(out), -1)


@dataclass
class HookLayer:
    """One call of a ReLU module: ``name`` from ``named_modules()`` (``name#k`` for the k-th call,
    from 0, of a module called several times per forward), the module class, the per-row
    shape of its input, units (features or channels), dead fraction, mean square of its output."""

    name: str
    kind: str
    shape: tuple[int, ...]
    units: int
    dead_fraction: float
    mean_sq: float


@dataclass
class HookMeasurement:
    """Result of :func:`hook_measure`: ReLU calls in forward order and the model's output (n, k)."""

    layers: list[HookLayer]
    output: np.ndarray
    output_std: float
    finite: bool
    n_rows: int

    @property
    def dead_fraction(self) -> list[float]:
        return [layer.dead_fraction for layer in self.layers]


def as_input(X, model, torch):
    """``X`` (array or tensor) as a tensor on the model's device, floats in its parameters' dtype."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"X must be an array or tensor of inputs, got {type(X).__name__}")
    param = next(iter(model.parameters()), None)
    t = X if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X))
    if t.ndim == 0 or len(t) == 0:
        raise ValueError(f"X has shape {tuple(t.shape)}; expected at least one row")
    if param is not None:
        t = t.to(device=param.device, dtype=param.dtype if t.is_floating_point() else t.dtype)
    return t


def unit_maxima(call: _Call) -> np.ndarray:
    """The per-unit maxima of one call as float64 NumPy."""
    return as_float64(call.unit_max)


def call_names(calls: list[_Call]) -> list[str]:
    """Each call's module name; ``name#k`` (k from 0) for a module called several times."""
    total = {c.name: sum(d.name == c.name for d in calls) for c in calls}
    seen: dict[str, int] = {}
    names = []
    for c in calls:
        k = seen[c.name] = seen.get(c.name, -1) + 1
        names.append(c.name if total[c.name] == 1 else f"{c.name}#{k}")
    return names


def _layers(per_chunk: list[list[_Call]]) -> list[HookLayer]:
    layers = []
    for k, (c, name) in enumerate(zip(per_chunk[0], call_names(per_chunk[0]))):
        calls = [chunk[k] for chunk in per_chunk]
        # Each row of this matrix is one chunk's per-unit maximum: the rule over it is the
        # rule over all rows of all chunks.
        maxima = np.stack([unit_maxima(cl) for cl in calls])
        layers.append(HookLayer(name, c.kind, c.shape, maxima.shape[1], rules.dead_fraction(maxima),
                                sum(cl.sum_sq for cl in calls) / max(1, sum(cl.count for cl in calls))))
    return layers


def measure(module, X, batch_size: int | None, torch) -> HookMeasurement:
    """The measurement of :func:`fastrelu.torch.hook_measure` (arguments already checked)."""
    probe, modes = _Probe(module, torch), [(m, m.training) for m in module.modules()]
    step = batch_size or len(X)
    per_chunk, outputs = [], []
    try:
        module.eval()
        with torch.no_grad():
            for start in range(0, len(X), step):
                probe.attach()
                outputs.append(_output(module(X[start:start + step]), torch))
                per_chunk.append(probe.calls)
                if [c.name for c in probe.calls] != [c.name for c in per_chunk[0]]:
                    raise ValueError("the model called its ReLU modules differently for different chunks of X")
    finally:
        probe.detach()
        for m, mode in modes:
            m.training = mode
    out = np.concatenate(outputs)
    return HookMeasurement(_layers(per_chunk), out, rules.output_std(out), bool(np.isfinite(out).all()), len(out))


class CollapseWarning(UserWarning):
    """Emitted once by :func:`watch` when the watched model's outputs collapse."""


class Watch:
    """The context manager of :func:`fastrelu.torch.watch`; see there.

    A recorded step keeps its ReLU modules' per-unit maxima as tensors; the dead fractions
    are worked out from them when ``records`` is read, on exit, every ``_PENDING`` records
    (bounded memory), and at a collapse (for the warning), not inside the training step.
    """

    _PENDING = 256

    def __init__(self, model, every: int, warn: bool, target_std: float | None, torch):
        self.model, self.every, self.warn, self.target_std = model, every, warn, target_std
        self.collapsed_at: int | None = None
        self.layer_names: list[str] = []
        self.steps = 0
        self._torch = torch
        self._probe = _Probe(model, torch, mean_sq=False)
        self._records: list[dict] = []
        self._pending: list[tuple[dict, list]] = []
        self._handles: list = []
        self._recording: int | None = None

    @property
    def records(self) -> list[dict]:
        """One dict per recorded step: step, dead_fraction, output_std, finite, collapsed."""
        self._settle()
        return self._records

    @property
    def reference_std(self) -> float | None:
        """The collapse yardstick: ``target_std``, else the first recorded output std."""
        if self.target_std is not None:
            return self.target_std
        return self._records[0]["output_std"] if self._records else None

    def _settle(self) -> None:
        # One transfer per ReLU call position for all pending records (records whose calls
        # differ in number or width from the first are worked out one by one).
        pending, self._pending = self._pending, []
        if not pending:
            return
        shape = [c.unit_max.shape for c in pending[0][1]]
        same = [(r, m) for r, m in pending if [c.unit_max.shape for c in m] == shape]
        if same:
            torch = self._torch
            per_call = [as_float64(torch.stack([m[k].unit_max for _, m in same])) for k in range(len(shape))]
            fractions = [rules.is_dead(maxima).mean(axis=1).tolist() for maxima in per_call]
            for i, (record, _) in enumerate(same):
                record["dead_fraction"] = [float(f[i]) for f in fractions]
        for record, maxima in pending:
            if record["dead_fraction"] is None:
                record["dead_fraction"] = [rules.dead_fraction(unit_maxima(c)[None, :]) for c in maxima]

    def __enter__(self) -> "Watch":
        # Only this pre-hook stays between recorded steps; the ReLU hooks and the output hook
        # are added for a recorded forward and removed after it.
        self._handles = [self.model.register_forward_pre_hook(self._before)]
        return self

    def __exit__(self, *exc) -> bool:
        self._drop_step_hooks()
        while self._handles:
            self._handles.pop().remove()
        self._settle()
        return False

    def _drop_step_hooks(self) -> None:
        self._probe.detach()
        while len(self._handles) > 1:
            self._handles.pop().remove()

    def _before(self, module, args):
        step, self.steps = self.steps, self.steps + 1
        if len(self._handles) > 1:  # a recorded forward raised before its output hook ran
            self._drop_step_hooks()
        if step % self.every:
            return None
        self._recording = step
        self._probe.attach()
        self._handles.append(module.register_forward_hook(self._after))
        return None

    def _after(self, module, args, out):
        step = self._recording
        self._drop_step_hooks()
        values = _output(out, self._torch)
        std, finite = rules.output_std(values), bool(np.isfinite(values).all())
        if not self._records:
            self.layer_names = call_names(self._probe.calls)
        reference = self.target_std if self.target_std is not None else (
            self._records[0]["output_std"] if self._records else std)
        collapsed = rules.is_collapsed(std, reference, finite)
        record = {"step": step, "dead_fraction": None, "output_std": std, "finite": finite, "collapsed": collapsed}
        self._records.append(record)
        self._pending.append((record, self._probe.calls))
        if len(self._pending) >= self._PENDING or (collapsed and self.collapsed_at is None):
            self._settle()
        if collapsed and self.collapsed_at is None:
            self.collapsed_at = step
            if self.warn:
                self._warn(record, reference)
        return None

    @staticmethod
    def _warn(record: dict, reference: float) -> None:
        why = (f"output std {record['output_std']:.3g} across the batch is at most {rules.COLLAPSE_RATIO:g} x "
               f"the reference {reference:.3g}" if record["finite"] else "the outputs are not all finite (NaN or inf)")
        dead = ", ".join(f"{f:.0%}" for f in record["dead_fraction"])
        warnings.warn(CollapseWarning(f"the model's outputs collapsed at step {record['step']}: {why}; dead units "
                                      f"per ReLU module: [{dead}]"), stacklevel=3)
