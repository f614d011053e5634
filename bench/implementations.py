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
           "installed", "availability", "unavailable"]

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
_FR_SINGLE = Implementation("fastrelu", "fastrelu: fr.MLP + fr.fit(SGD)", _P + "impl_fastrelu:prepare_single",
                            ("numba",), _P + "impl_fastrelu:threads")
_NP_SINGLE = Implementation("numpy", "NumPy, hand-written forward/backward", _P + "peers_numpy:prepare_single")
_TORCH_EAGER = Implementation("torch", "PyTorch eager: nn.Sequential + optim.SGD",
                              _P + "peers_torch:prepare_eager", ("torch",), _P + "peers_torch:threads")
_JAX_FUSED = Implementation("jax", "JAX: whole run in one jit (lax.fori_loop)",
                            _P + "peers_jax:prepare_fused", ("jax",), _P + "peers_jax:threads")

IMPLEMENTATIONS: dict[str, tuple[Implementation, ...]] = {
    "W1": (_FR_SINGLE, _NP_SINGLE, _TORCH_EAGER, _JAX_FUSED),
    "W2": (
        Implementation("fastrelu", "fastrelu: fr.Ensemble", _P + "impl_fastrelu:prepare_ensemble",
                       ("numba",), _P + "impl_fastrelu:threads"),
        Implementation("numpy-batched", "NumPy batched matmul over stacked nets",
                       _P + "peers_numpy:prepare_ensemble"),
        Implementation("torch-baddbmm", "PyTorch stacked nets: baddbmm + autograd",
                       _P + "peers_torch:prepare_baddbmm", ("torch",), _P + "peers_torch:threads"),
        Implementation("torch-func", "torch.func: stack_module_state + vmap(grad)",
                       _P + "peers_torch:prepare_func", ("torch",), _P + "peers_torch:threads"),
        Implementation("jax-vmap", "JAX: vmap of the fused run, one jit",
                       _P + "peers_jax:prepare_vmap", ("jax",), _P + "peers_jax:threads"),
    ),
    "W3": (_FR_SINGLE, _NP_SINGLE, _TORCH_EAGER, _JAX_FUSED),
}


def implementations_for(workload: str) -> tuple[Implementation, ...]:
    """Implementations of ``workload`` (``"W1"``, ``"W2"``, ``"W3"``), fastrelu first."""
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

    Over ``workloads`` (``"W1"``, ...), restricted to ``names`` when given; an implementation
    of several workloads appears once.
    """
    out: dict[str, list[str]] = {}
    for workload in workloads:
        for impl in implementations_for(workload):
            missing = [m for m in impl.requires if not installed(m)]
            if missing and (names is None or impl.name in names):
                out[impl.name] = missing
    return out
