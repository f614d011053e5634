"""SweepResult: the rows of a sweep by column (in memory, or read back from its ``.arrows``
journal), with exports and a pivot helper; rows become dicts only when asked for."""
from __future__ import annotations

import csv
import io
import json
import os
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu.sweeps.columns import FIELDS, Batch, decode, public
from fastrelu.sweeps.pivot import Pivot, pivot
from fastrelu.sweeps.storage import replace_atomic, write_atomic
from fastrelu.sweeps.store import MemoryStore

__all__ = ["SweepResult", "Pivot", "FIELDS"]


class SweepResult:
    """Rows of a finished (or resumed) sweep, one per grid point, in canonical grid order.

    Rows are kept by column: one NumPy array per field, in memory, or (with an ``.arrows``
    journal) in the journal, read back a window of rows at a time, so memory does not grow
    with the grid. :meth:`iter_rows` and :attr:`rows` build dicts on demand.

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
    journal : str or None
        The ``.arrows`` journal the rows are read from, when they are not in memory.

    Examples
    --------
    >>> import fastrelu as fr
    >>> res = fr.sweep({"width": [2, 16], "depth": [8], "seed": range(20)}, data="abs1d", steps=0)
    >>> len(res), res.varying
    (40, ('width', 'seed'))
    >>> res.pivot("depth", "width", "dead_layer").values.round(2).tolist()
    [[0.95, 0.0]]
    >>> res.column("dead_fraction").shape     # one column per hidden layer
    (40, 8)
    """

    def __init__(self, grid: dict, config: dict, varying: Sequence[str], store: Any = None,
                 journal: "str | None" = None) -> None:
        self.grid = grid
        self.config = config
        self.varying = tuple(varying)
        self.n_resumed = 0
        self.elapsed = 0.0
        self.journal = journal
        self._store = MemoryStore() if store is None else store

    def _add(self, batch: Batch, index: np.ndarray) -> None:
        """Add rows (by column) with their grid indices (in-memory results only)."""
        self._store.add(batch, index)

    def __len__(self) -> int:
        return len(self._store)

    def batches(self, fields: Sequence[str] = FIELDS) -> Iterator[Batch]:
        """The rows in grid order as :class:`~fastrelu.sweeps.columns.Batch` windows (only
        ``fields`` filled in): the way to read a huge result without dicts."""
        return self._store.iter_batches(tuple(fields))

    def iter_rows(self) -> Iterator[dict]:
        """Yield the rows one at a time in grid order (no list of dicts in memory)."""
        for b in self.batches():
            yield from b.rows()

    @property
    def rows(self) -> list[dict]:
        """All rows as a list of dicts, in grid order."""
        return list(self.iter_rows())

    def column(self, name: str) -> np.ndarray:
        """One field as an array in grid order: None is NaN (``diverged_at`` is float), strings
        give objects, ``dead_fraction`` a 2-D array (rows, most hidden layers) padded with NaN.

        Raises
        ------
        ValueError
            For an unknown field.
        """
        name = v.check("column", name, v.Choice(FIELDS))
        merged = Batch.concat(self.batches((name,)), (name,))
        return merged.dead_matrix() if name == "dead_fraction" else public(name, merged.cols[name])

    # ------------------------------------------------------------------ exports
    def to_csv(self, path: "str | os.PathLike | None" = None) -> "str | None":
        """Write the rows as CSV (atomically) to ``path``, or return the text when ``path`` is
        None. ``dead_fraction`` is a JSON list in one cell; None is an empty cell."""

        def write(fh: Any) -> None:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(FIELDS)
            for b in self.batches():
                cells = [[json.dumps(x) for x in b.dead_lists()] if f == "dead_fraction" else
                         ["" if x is None else x for x in decode(f, b.cols[f])] for f in FIELDS]
                writer.writerows(zip(*cells))

        if path is None:
            buf = io.StringIO()
            write(buf)
            return buf.getvalue()
        write_atomic(path, write)
        return None

    def _json_parts(self, indent: "int | None") -> Iterator[str]:
        """Pieces of ``json.dumps(self.rows, indent=indent)``, a window of rows at a time."""
        sep, lead = (", ", "") if indent is None else (",\n", "\n")
        pad = "" if indent is None else " " * indent
        yield "["
        first = True
        for b in self.batches():
            items = [pad + json.dumps(r, indent=indent, allow_nan=False).replace("\n", "\n" + pad)
                     for r in b.rows()]
            if items:
                yield (lead if first else sep) + sep.join(items)
                first = False
        yield "]" if first or indent is None else "\n]"

    def to_json(self, path: "str | os.PathLike | None" = None, indent: "int | None" = None) -> "str | None":
        """The rows as a JSON array (NaN-free; the text of ``json.dumps(rows, indent=indent)``);
        written atomically, a window of rows at a time, when ``path`` is given."""
        indent = v.check("indent", indent, v.Int(minimum=0, none=True))
        if path is None:
            return "".join(self._json_parts(indent))

        def write(fh: Any) -> None:
            for part in self._json_parts(indent):
                fh.write(part)
            fh.write("\n")

        write_atomic(path, write)
        return None

    def to_pandas(self, fields: "Sequence[str] | None" = None) -> Any:
        """The rows as a ``pandas.DataFrame`` (requires pandas): one column per field (or per
        name in ``fields``), None as NaN (``diverged_at`` float), ``dead_fraction`` as lists."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is installed in the dev venv
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        names = list(FIELDS) if fields is None else [v.check("fields", f, v.Choice(FIELDS)) for f in fields]
        merged = Batch.concat(self.batches(names), names)
        data = {f: merged.dead_lists() if f == "dead_fraction" else public(f, merged.cols[f])
                for f in names}
        return pd.DataFrame(data, columns=names)

    def to_arrow(self) -> Any:
        """The rows as a ``pyarrow.Table`` in grid order, with the schema of the ``.arrows``
        journal (None as null). Needs pyarrow."""
        from fastrelu.sweeps.arrow_journal import require_pyarrow, schema, to_record_batch

        pa = require_pyarrow()
        sch = schema(pa)
        return pa.Table.from_batches([to_record_batch(pa, b, sch) for b in self.batches()], schema=sch)

    def to_parquet(self, path: "str | os.PathLike") -> None:
        """Write the rows to a Parquet file (atomically), a window of rows at a time, with the
        columns of :meth:`to_arrow`. Needs pyarrow.

        Raises
        ------
        ValueError
            When the folder of ``path`` does not exist.
        """
        from fastrelu.sweeps.arrow_journal import require_pyarrow, schema, to_record_batch

        pa = require_pyarrow()
        import pyarrow.parquet as pq

        folder = os.path.dirname(os.fspath(path)) or "."
        if not os.path.isdir(folder):
            raise v.reject(ValueError, "path", str(path), f"a path in an existing folder ({folder!r} does not exist)")
        sch = schema(pa)

        def write(tmp: str) -> None:
            with pq.ParquetWriter(tmp, sch) as writer:
                for b in self.batches():
                    writer.write_batch(to_record_batch(pa, b, sch))

        replace_atomic(path, write)

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
            Any numeric or boolean field; the mean of a boolean is a probability
            (``dead_fraction`` means ``dead_fraction_mean``).
        agg : {"mean", "sum", "median", "min", "max", "std", "count"}
        where : dict, optional
            Keep only rows whose fields equal these values, e.g. ``{"init": "he"}``.

        Raises
        ------
        ValueError
            Unknown key, metric or aggregate.
        """
        return pivot(self.batches, self.grid, index, columns, metric, agg, where)

    def __repr__(self) -> str:
        return (f"SweepResult({len(self)} rows, varying={list(self.varying)}, "
                f"resumed={self.n_resumed})")

