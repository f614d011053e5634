"""SweepResult: the rows of a sweep, stored by column, with exports and a pivot helper."""
from __future__ import annotations

import csv
import io
import json
import math
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu.sweeps.grid import KEYS
from fastrelu.sweeps.group import METRICS
from fastrelu.sweeps.storage import write_atomic

#: Every field of a row, in order.
FIELDS: tuple[str, ...] = KEYS + METRICS

_INT = ("width", "depth", "seed", "steps_run")
_FLOAT = ("lr", "bias")
_OPT_FLOAT = ("output_std_ratio", "dead_fraction_max", "dead_fraction_mean", "final_loss")
_BOOL = ("residual", "batchnorm", "collapsed", "dead_layer")
_STR = ("init", "optimizer")
_AGGS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": np.mean, "sum": np.sum, "median": np.median, "min": np.min, "max": np.max,
    "std": np.std, "count": lambda a: float(a.size),
}


class _Columns:
    """Compact typed columns (about 120 bytes per row plus 8 per hidden layer)."""

    def __init__(self) -> None:
        self.index = array("q")
        self.cols: dict[str, Any] = {}
        for name in _INT + ("diverged_at",):
            self.cols[name] = array("q")
        for name in _FLOAT + _OPT_FLOAT:
            self.cols[name] = array("d")
        for name in _BOOL:
            self.cols[name] = array("b")
        self.codes: dict[str, list[str]] = {name: [] for name in _STR}
        for name in _STR:
            self.cols[name] = array("h")
        self.dead = array("d")
        self.dead_start = array("q", [0])

    def append(self, index: int, row: Mapping[str, Any]) -> None:
        self.index.append(index)
        for name in _INT + _FLOAT + _BOOL:
            self.cols[name].append(row[name])
        for name in _OPT_FLOAT:
            v = row[name]
            self.cols[name].append(math.nan if v is None else v)
        d = row["diverged_at"]
        self.cols["diverged_at"].append(-1 if d is None else d)
        for name in _STR:
            codes = self.codes[name]
            v = row[name]
            if v not in codes:
                codes.append(v)
            self.cols[name].append(codes.index(v))
        self.dead.extend(row["dead_fraction"])
        self.dead_start.append(len(self.dead))

    def row(self, i: int) -> dict:
        out: dict[str, Any] = {}
        for name in FIELDS:
            if name == "dead_fraction":
                out[name] = self.dead[self.dead_start[i]:self.dead_start[i + 1]].tolist()
            elif name in _STR:
                out[name] = self.codes[name][self.cols[name][i]]
            elif name in _BOOL:
                out[name] = bool(self.cols[name][i])
            elif name in _OPT_FLOAT:
                v = self.cols[name][i]
                out[name] = None if math.isnan(v) else v
            elif name == "diverged_at":
                v = self.cols[name][i]
                out[name] = None if v < 0 else v
            else:
                out[name] = self.cols[name][i]
        return out


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


class SweepResult:
    """Rows of a finished (or resumed) sweep, one per grid point, in canonical grid order.

    Rows are kept as compact columns; :attr:`rows` builds the list of dicts on demand.

    Attributes
    ----------
    grid : dict
        The normalized grid (every key, defaults filled in).
    config : dict
        Settings shared by every row (data, steps, batch size, loss).
    varying : tuple of str
        Grid keys with more than one value, in the order given.
    n_resumed : int
        Rows loaded from an existing ``out`` journal instead of being recomputed.
    elapsed : float
        Wall seconds of the sweep call.

    Examples
    --------
    >>> import fastrelu as fr
    >>> res = fr.sweep({"width": [2, 16], "depth": [8], "seed": range(20)}, data="abs1d", steps=0)
    >>> len(res), res.varying
    (40, ('width', 'seed'))
    >>> res.pivot("depth", "width", "dead_layer").values.round(2).tolist()
    [[0.95, 0.0]]
    """

    def __init__(self, grid: dict, config: dict, varying: Sequence[str]) -> None:
        self.grid = grid
        self.config = config
        self.varying = tuple(varying)
        self.n_resumed = 0
        self.elapsed = 0.0
        self._cols = _Columns()
        self._order: "np.ndarray | None" = None

    def _add(self, index: int, row: Mapping[str, Any]) -> None:
        self._cols.append(index, row)
        self._order = None

    def __len__(self) -> int:
        return len(self._cols.index)

    def _perm(self) -> np.ndarray:
        if self._order is None:
            self._order = np.argsort(np.frombuffer(self._cols.index, dtype=np.int64), kind="stable")
        return self._order

    def iter_rows(self) -> Iterator[dict]:
        """Yield the rows one at a time in grid order (no list of dicts in memory)."""
        for i in self._perm():
            yield self._cols.row(int(i))

    @property
    def rows(self) -> list[dict]:
        """All rows as a list of dicts, in grid order."""
        return list(self.iter_rows())

    def column(self, name: str) -> np.ndarray:
        """One field as a 1-D array in grid order (None becomes NaN; strings give objects).

        Raises
        ------
        ValueError
            For ``dead_fraction`` (ragged; use ``dead_fraction_max``/``_mean``) or an unknown
            field.
        """
        if name not in FIELDS or name == "dead_fraction":
            raise v.reject(ValueError, "column", name, "one of " + ", ".join(
                f for f in FIELDS if f != "dead_fraction") + " (dead_fraction is ragged: use "
                "dead_fraction_max or dead_fraction_mean)")
        raw = self._cols.cols[name]
        if name in _STR:
            codes = np.array(self._cols.codes[name] or [""], dtype=object)
            arr = codes[np.frombuffer(raw, dtype=np.int16)] if len(raw) else np.array([], object)
        elif name in _BOOL:
            arr = np.frombuffer(raw, dtype=np.int8).astype(bool)
        elif name == "diverged_at":
            arr = np.frombuffer(raw, dtype=np.int64).astype(np.float64)
            arr[arr < 0] = np.nan
        else:
            arr = np.frombuffer(raw, dtype=np.float64 if raw.typecode == "d" else np.int64).copy()
        return arr[self._perm()]

    # ------------------------------------------------------------------ exports
    def to_csv(self, path: "str | None" = None) -> "str | None":
        """Write the rows as CSV (atomically) to ``path``, or return the text when ``path`` is
        None. ``dead_fraction`` is a JSON list in one cell; None is an empty cell."""

        def write(fh: Any) -> None:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(FIELDS)
            for row in self.iter_rows():
                writer.writerow(["" if row[f] is None else
                                 json.dumps(row[f]) if f == "dead_fraction" else row[f]
                                 for f in FIELDS])

        if path is None:
            buf = io.StringIO()
            write(buf)
            return buf.getvalue()
        write_atomic(path, write)
        return None

    def to_json(self, path: "str | None" = None, indent: "int | None" = None) -> "str | None":
        """The rows as a JSON array (NaN-free); written atomically when ``path`` is given."""
        text = json.dumps(self.rows, indent=indent, allow_nan=False)
        if path is None:
            return text
        write_atomic(path, lambda fh: fh.write(text + "\n"))
        return None

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (requires pandas)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is installed in the dev venv
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return pd.DataFrame(self.rows, columns=list(FIELDS))

    # ------------------------------------------------------------------ analysis
    def pivot(self, index: str, columns: str, metric: str = "collapsed", agg: str = "mean",
              where: "Mapping[str, Any] | None" = None) -> Pivot:
        """Aggregate ``metric`` over every other key (seeds, ...) into an ``index`` x
        ``columns`` table, e.g. ``res.pivot("depth", "width")`` is P(collapsed) by depth and
        width. Non-finite values (None, NaN) are left out of the aggregate.

        Parameters
        ----------
        index, columns : str
            Grid keys for the table's rows and columns (they must differ).
        metric : str
            Any numeric or boolean field; the mean of a boolean is a probability.
        agg : {"mean", "sum", "median", "min", "max", "std", "count"}
        where : dict, optional
            Keep only rows whose fields equal these values, e.g. ``{"init": "he"}``.

        Raises
        ------
        ValueError
            Unknown key, metric or aggregate.
        """
        index = v.check("index", index, v.Choice(KEYS))
        columns = v.check("columns", columns, v.Choice(KEYS))
        if index == columns:
            raise v.reject(ValueError, "columns", columns, f"a grid key other than index={index!r}")
        agg = v.check("agg", agg, v.Choice(_AGGS))
        metric = v.check("metric", metric, v.Choice(f for f in FIELDS if f not in _STR))
        where = dict(where or {})
        keep = np.ones(len(self), dtype=bool)
        for key, value in where.items():
            v.check("where key", key, v.Choice(FIELDS))
            keep &= self.column(key) == value
        if metric == "dead_fraction":
            metric = "dead_fraction_mean"
        vals = self.column(metric).astype(np.float64)[keep]
        rkey = self.column(index)[keep]
        ckey = self.column(columns)[keep]
        row_labels = sorted(self.grid[index]) if index in self.grid else sorted(set(rkey))
        col_labels = sorted(self.grid[columns]) if columns in self.grid else sorted(set(ckey))
        out = np.full((len(row_labels), len(col_labels)), np.nan)
        counts = np.zeros(out.shape, dtype=np.int64)
        for i, r in enumerate(row_labels):
            rmask = rkey == r
            for j, c in enumerate(col_labels):
                cell = vals[rmask & (ckey == c)]
                cell = cell[np.isfinite(cell)]
                counts[i, j] = cell.size
                if cell.size or agg == "count":
                    out[i, j] = float(_AGGS[agg](cell))
        return Pivot(index, columns, [_py(v) for v in row_labels], [_py(v) for v in col_labels],
                     out, counts, metric, agg, where)

    def __repr__(self) -> str:
        return (f"SweepResult({len(self)} rows, varying={list(self.varying)}, "
                f"resumed={self.n_resumed})")


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
