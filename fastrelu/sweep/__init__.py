"""Sweeps: train thousands of small ReLU nets over a grid and map where their outputs collapse.

>>> import fastrelu as fr                                           # doctest: +SKIP
>>> res = fr.sweep({"width": [2, 3, 5], "depth": [4, 9], "init": ["he", "rai"],
...                 "seed": range(100)}, data="abs1d", steps=0)     # doctest: +SKIP
>>> res.pivot("depth", "width", where={"init": "he"}).values        # P(collapsed)  # doctest: +SKIP
"""
from __future__ import annotations

import sys as _sys
import types as _types

from fastrelu.sweep.grid import DEFAULTS, KEYS, Grid
from fastrelu.sweep.group import Dataset, resolve_data, train_group
from fastrelu.sweep.presets import PRESETS, preset
from fastrelu.sweep.result import FIELDS, Pivot, SweepResult
from fastrelu.sweep.runner import sweep

__all__ = [
    "sweep", "SweepResult", "Pivot", "Grid", "KEYS", "DEFAULTS", "FIELDS", "Dataset",
    "resolve_data", "train_group", "PRESETS", "preset",
]


class _CallableModule(_types.ModuleType):
    """Importing the subpackage ``fastrelu.sweep`` makes the import system set the attribute
    ``fastrelu.sweep`` to this module, hiding the function ``fr.sweep`` whenever the
    subpackage was imported first (the CLI, a Dask worker, ``import fastrelu.sweep.grid``).
    Calling the module therefore calls :func:`sweep`, so ``fr.sweep(grid)`` always works."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
