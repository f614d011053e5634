"""Registry of the implementations benchmarked on each workload, and their availability.

Peers need optional packages (the ``peers`` extra: torch, jax); a missing package makes the
implementation *unavailable* with a reason and the install hint (:data:`INSTALL_HINT`), never
an error.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable, Sequence

from fastrelu_bench.common import Prepare

__all__ = ["Implementation", "IMPLEMENTATIONS", "INSTALL_HINT", "implementations_for",
           "installed", "availability", "unavailable", "is_peer"]

#: How to install every peer (torch pinned to its CPU build, jax).
INSTALL_HINT = 'pip install "fastrelu[peers]"'


@dataclass(frozen=True)
class Implementation:
    """One way of running a workload.

    Attributes
    ----------
    name : str
        Short name used in tables, JSON and ``extra_info`` (``"fastrelu"``, ``"numpy"``, ...).
    label : str
        Human description of the idiom.
    target : str
        ``"module:function"`` of the ``prepare(problem) -> run`` function.
    requires : tuple of str
        Importable modules it needs.
    threads_fn : str
        ``"module:function"`` returning the number of threads it computes with.
    """

    name: str
    label: str
    target: str
    requires: tuple[str, ...] = ()
    threads_fn: str = "fastrelu_bench.implementations:cpu_threads"

    def load(self) -> Prepare:
        """Import and return the ``prepare`` function."""
        return _resolve(self.target)

    def threads(self) -> int:
        """Threads this implementation computes with (for tagging results)."""
        return int(_resolve(self.threads_fn)())


def _resolve(target: str) -> Callable:
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def cpu_threads() -> int:
    """Cores visible to this process (NumPy's BLAS uses one thread per core by default)."""
    import os

    return os.cpu_count() or 1


_P = "fastrelu_bench."
#: Module of each family's ``prepare`` functions, the modules it needs, its ``threads`` function.
_FAMILIES = {
    "fastrelu": ("impl_fastrelu", ("numba",), _P + "impl_fastrelu:threads"),
    "numpy": ("peers_numpy", (), _P + "implementations:cpu_threads"),
    "torch": ("peers_torch", ("torch",), _P + "peers_torch:threads"),
    "jax": ("peers_jax", ("jax",), _P + "peers_jax:threads"),
}


def _impl(name: str, label: str, prepare: str) -> Implementation:
    module, requires, threads_fn = _FAMILIES[name.split("-")[0]]
    return Implementation(name, label, f"{_P}{module}:{prepare}", requires, threads_fn)


_SINGLE = (
    _impl("fastrelu", "fastrelu: fr.MLP + fr.fit(SGD)", "prepare_single"),
    _impl("numpy", "NumPy, hand-written forward/backward", "prepare_single"),
    _impl("torch", "PyTorch eager: nn.Sequential + optim.SGD", "prepare_eager"),
    _impl("jax", "JAX: whole run in one jit (lax.fori_loop)", "prepare_fused"),
)

IMPLEMENTATIONS: dict[str, tuple[Implementation, ...]] = {
    "W1": _SINGLE,
    "W2": (
        _impl("fastrelu", "fastrelu: fr.Ensemble", "prepare_ensemble"),
        _impl("fastrelu-sweep", "fastrelu: one fr.sweep of zipped (lr, seed) pairs", "prepare_sweep"),
        _impl("numpy-batched", "NumPy batched matmul over stacked nets", "prepare_ensemble"),
        _impl("torch-baddbmm", "PyTorch stacked nets: baddbmm + autograd", "prepare_baddbmm"),
        _impl("torch-func", "torch.func: stack_module_state + vmap(grad)", "prepare_func"),
        _impl("jax-vmap", "JAX: vmap of the fused run, one jit", "prepare_vmap"),
    ),
    "W3": _SINGLE,
    "S0": (
        _impl("fastrelu", "fastrelu: fr.sweep(steps=0) + pivot", "prepare_s0"),
        _impl("numpy-batched", "NumPy: one generator, stacked matmul per cell", "prepare_s0"),
        _impl("torch-batched", "PyTorch: one generator, stacked matmul per cell", "prepare_s0"),
        _impl("jax-vmap", "JAX: vmap over seeds of init+forward+test, one jit per cell", "prepare_s0"),
    ),
}


def is_peer(name: str) -> bool:
    """True for a peer, False for one of fastrelu's own implementations (``fastrelu*``)."""
    return not name.startswith("fastrelu")


def implementations_for(workload: str) -> tuple[Implementation, ...]:
    """Implementations of ``workload`` (``"W1"``, ``"W2"``, ``"W3"``, ``"S0"``), fastrelu first."""
    key = str(workload).upper()
    if key not in IMPLEMENTATIONS:
        raise ValueError(f"workload: got {workload!r}, accepted: {', '.join(IMPLEMENTATIONS)}")
    return IMPLEMENTATIONS[key]


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (found without importing it)."""
    return importlib.util.find_spec(module) is not None


def availability(impl: Implementation) -> tuple[bool, str]:
    """Whether ``impl`` can run here, and if not, why (a skip reason with the install hint)."""
    missing = [m for m in impl.requires if not installed(m)]
    if missing:
        return False, f"{', '.join(missing)} not installed ({INSTALL_HINT})"
    return True, ""


def unavailable(workloads: Sequence[str], names: Sequence[str] | None = None) -> dict[str, list[str]]:
    """``{implementation name: modules it needs that are not installed}``, for those that cannot run.

    Over ``workloads`` (``"W1"``, ..., ``"S0"``), restricted to ``names`` when given; an implementation
    of several workloads appears once.
    """
    out: dict[str, list[str]] = {}
    for workload in workloads:
        for impl in implementations_for(workload):
            missing = [m for m in impl.requires if not installed(m)]
            if missing and (names is None or impl.name in names):
                out[impl.name] = missing
    return out
