"""Pivot tables of sweep rows: one metric aggregated over the other keys, by column.

The rows are streamed once (only the columns the table needs are decoded); each cell's
finite values are gathered in grid order and aggregated by the same NumPy function on the
same values in the same order as a row-by-row loop would, so the numbers do not depend on
how the rows are stored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from fastrelu import _validation as v
from fastrelu.sweeps.columns import FIELDS, VOCAB, Batch, encode, public
from fastrelu.sweeps.grid import KEYS, key_values

AGGS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": np.mean, "sum": np.sum, "median": np.median, "min": np.min, "max": np.max,
    "std": np.std, "count": lambda a: float(a.size),
}


@dataclass
class Pivot:
    """A metric aggregated over the other keys (e.g. seeds) into a 2-D table.

    Attributes
    ----------
    index, columns : str
        Grid keys of the rows and columns.
    row_labels, col_labels : list
        Their values, sorted.
    values : ndarray, shape (len(row_labels), len(col_labels))
        The aggregate (NaN where no finite value exists, except for ``agg="count"``).
    counts : ndarray of int
        Number of finite values aggregated per cell.
    metric, agg : str
    where : dict
        The filter applied before aggregating.
    """

    index: str
    columns: str
    row_labels: list
    col_labels: list
    values: np.ndarray
    counts: np.ndarray
    metric: str
    agg: str
    where: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able form (NaN becomes None)."""
        vals = [[None if math.isnan(v) else float(v) for v in r] for r in self.values]
        return {"index": self.index, "columns": self.columns, "metric": self.metric,
                "agg": self.agg, "where": dict(self.where), "row_labels": list(self.row_labels),
                "col_labels": list(self.col_labels), "values": vals,
                "counts": self.counts.tolist()}


def check_args(index: str, columns: str, metric: str, agg: str,
               where: "Mapping[str, Any] | None") -> tuple[str, str, str, str, dict]:
    """Validate the arguments of :meth:`SweepResult.pivot` (before any row is read)."""
    index = v.check("index", index, v.Choice(KEYS))
    columns = v.check("columns", columns, v.Choice(KEYS))
    if index == columns:
        raise v.reject(ValueError, "columns", columns, f"a grid key other than index={index!r}")
    agg = v.check("agg", agg, v.Choice(AGGS))
    metric = v.check("metric", metric, v.Choice(f for f in FIELDS if f not in VOCAB))
    where = dict(where or {})
    for key in where:
        v.check("where key", key, v.Choice(FIELDS))
        if key == "dead_fraction":
            raise v.reject(ValueError, "where key", key, "a field with one value per row")
    return index, columns, ("dead_fraction_mean" if metric == "dead_fraction" else metric), agg, where


def _positions(key: str, labels: list, col: np.ndarray) -> np.ndarray:
    """Position of each stored value of ``key`` among ``labels`` (-1 when absent)."""
    if not len(col):
        return np.empty(0, np.int64)
    table = encode(key, labels)
    sorter = np.argsort(table, kind="stable")
    j = np.minimum(np.searchsorted(table[sorter], col), len(table) - 1)
    return np.where(table[sorter][j] == col, sorter[j], -1)


def pivot(batches: Callable[[tuple], Iterable[Batch]], grid: Mapping[str, Any], index: str,
          columns: str, metric: str = "collapsed", agg: str = "mean",
          where: "Mapping[str, Any] | None" = None) -> Pivot:
    """The :class:`Pivot` of the rows ``batches(fields)`` yields in grid order (see
    :meth:`~fastrelu.sweeps.result.SweepResult.pivot`)."""
    index, columns, metric, agg, where = check_args(index, columns, metric, agg, where)
    row_labels, col_labels = sorted(key_values(grid, index)), sorted(key_values(grid, columns))
    fields = tuple(dict.fromkeys((index, columns, metric, *where)))
    n_cells = len(row_labels) * len(col_labels)
    cell_type = np.int16 if n_cells < 1 << 15 else np.int64  # small: a radix sort below
    cells, vals = [], []
    for b in batches(fields):
        keep = np.ones(len(b), np.bool_)
        for key, value in where.items():
            keep &= public(key, b.cols[key]) == value
        r = _positions(index, row_labels, b.cols[index][keep])
        c = _positions(columns, col_labels, b.cols[columns][keep])
        x = public(metric, b.cols[metric][keep]).astype(np.float64)
        ok = (r >= 0) & (c >= 0) & np.isfinite(x)
        cells.append((r * len(col_labels) + c)[ok].astype(cell_type))
        vals.append(x[ok])
    cell = np.concatenate(cells) if cells else np.empty(0, cell_type)
    x = np.concatenate(vals) if vals else np.empty(0)
    counts = np.bincount(cell, minlength=n_cells)
    order = np.argsort(cell, kind="stable")  # grid order inside every cell
    x = x[order]
    ends = np.cumsum(counts)
    out = np.full(n_cells, np.nan)
    for k in np.flatnonzero(counts) if agg != "count" else range(n_cells):
        out[k] = float(AGGS[agg](x[ends[k] - counts[k]:ends[k]]))
    shape = (len(row_labels), len(col_labels))
    return Pivot(index, columns, [_py(v) for v in row_labels], [_py(v) for v in col_labels],
                 out.reshape(shape), counts.reshape(shape).astype(np.int64), metric, agg, where)


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
