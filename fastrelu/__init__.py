"""fastrelu: reproduce, diagnose and sweep ReLU networks whose outputs collapse.

>>> import fastrelu as fr
>>> net = fr.MLP([3, 16, 1], seed=0)
>>> net.forward([[0.0, 1.0, 2.0]]).shape
(1, 1)
"""
from __future__ import annotations

import importlib
from typing import Any

from fastrelu.network import MLP
from fastrelu.optim import SGD, Adam, RMSprop
from fastrelu.training import History, fit, minibatches
from fastrelu.serialization import load, save

__version__ = "0.1.0"

# Heavier or optional parts load on first use, so `import fastrelu` stays quick.
_LAZY = {
    "diagnose": ("fastrelu.diagnostics", "diagnose"),
    "Report": ("fastrelu.diagnostics", "Report"),
    "Ensemble": ("fastrelu.ensemble", "Ensemble"),
    "sweep": ("fastrelu.sweep", "sweep"),
    "SweepResult": ("fastrelu.sweep", "SweepResult"),
    "scenarios": ("fastrelu.scenarios", None),
    "data": ("fastrelu.data", None),
    "theory": ("fastrelu.theory", None),
    "kernels_cached": ("fastrelu.runtime", "kernels_cached"),
}

__all__ = [
    "MLP", "SGD", "Adam", "RMSprop", "History", "fit", "minibatches", "save", "load",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'fastrelu' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
