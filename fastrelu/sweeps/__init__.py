"""Sweeps: train thousands of small ReLU nets over a grid and map where their outputs collapse.

>>> import fastrelu as fr                                           # doctest: +SKIP
>>> res = fr.sweep({"width": [2, 3, 5], "depth": [4, 9], "init": ["he", "rai"],
...                 "seed": range(100)}, data="abs1d", steps=0)     # doctest: +SKIP
>>> res.pivot("depth", "width", where={"init": "he"}).values        # P(collapsed)  # doctest: +SKIP

Rows are columns (one NumPy array per field); with ``out="rows.arrows"`` (an Arrow IPC stream,
needs pyarrow) they go to the journal as chunks finish and the result reads them back from
it, so a sweep of millions of points needs memory for the chunks in flight only.
"""
from __future__ import annotations

from fastrelu.sweeps.grid import DEFAULTS, KEYS, Grid
from fastrelu.sweeps.group import Dataset, resolve_data, train_group
from fastrelu.sweeps.presets import PRESETS, preset
from fastrelu.sweeps.result import FIELDS, Pivot, SweepResult
from fastrelu.sweeps.runner import sweep

__all__ = [
    "sweep", "SweepResult", "Pivot", "Grid", "KEYS", "DEFAULTS", "FIELDS", "Dataset",
    "resolve_data", "train_group", "PRESETS", "preset",
]

