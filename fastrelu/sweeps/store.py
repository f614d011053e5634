"""Where a :class:`~fastrelu.sweeps.result.SweepResult` keeps its rows: in memory, by column,
or in its ``.arrows`` journal, read back in windows of rows (memory bounded by the window).

Both stores give the rows in grid order through :meth:`iter_batches`, whatever order the
chunks finished in (Dask, resumed journals); only the grid index of every row is held for
the whole sweep (8 bytes a row, plus the permutation into grid order when the journal is
not already in that order).
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from fastrelu.sweeps.columns import FIELDS, Batch

#: Rows per window when the rows are streamed in grid order.
WINDOW = 1 << 16


def _grid_order(index: np.ndarray) -> "np.ndarray | None":
    """Positions of the rows with ``index >= 0`` sorted by index, or None when that is every
    row in its place already (no copy, no sort: the common case of a fresh local sweep)."""
    if len(index) and index[0] >= 0 and np.all(index[1:] > index[:-1]):
        return None
    keep = np.flatnonzero(index >= 0)
    return keep[np.argsort(index[keep], kind="stable")]


class MemoryStore:
    """Rows of chunks kept as NumPy columns (about 100 bytes a row)."""

    def __init__(self) -> None:
        self._parts: list[Batch] = []
        self._index: list[np.ndarray] = []
        self._sorted: "Batch | None" = Batch.empty()

    def add(self, batch: Batch, index: np.ndarray) -> None:
        """Add rows with their grid indices (-1: not a point of this grid, left out)."""
        index = np.asarray(index, dtype=np.int64)
        keep = index >= 0
        if not keep.all():
            batch, index = batch.take(np.flatnonzero(keep)), index[keep]
        if len(batch):
            self._parts.append(batch)
            self._index.append(index)
            self._sorted = None

    def _rows(self) -> Batch:
        if self._sorted is None:
            if self._sorted_parts():
                merged = Batch.concat(self._parts)
            else:
                index = np.concatenate(self._index)
                merged = Batch.concat(self._parts).take(np.argsort(index, kind="stable"))
                self._index = [np.sort(index)]
            self._parts = [merged]
            self._sorted = merged
        return self._sorted

    def _sorted_parts(self) -> bool:
        last = -1
        for idx in self._index:
            if idx[0] <= last or np.any(idx[1:] <= idx[:-1]):
                return False
            last = idx[-1]
        return True

    def __len__(self) -> int:
        return sum(len(b) for b in self._parts)

    def iter_batches(self, fields: Sequence[str] = FIELDS, window: "int | None" = None) -> Iterator[Batch]:
        """The rows in grid order, ``window`` at a time."""
        rows, window = self._rows(), window or WINDOW
        for start in range(0, len(rows), window):
            yield rows.slice(start, min(start + window, len(rows)), fields)


class JournalStore:
    """Rows in an ``.arrows`` journal: the byte span and row count of every record batch, and
    the grid index of every row (-1: not in this grid, or a repeat of an earlier row)."""

    def __init__(self, path, schema, spans: Sequence[tuple[int, int, int]], index: np.ndarray) -> None:
        from fastrelu.sweeps.arrow_journal import SpanReader

        self._reader = SpanReader(path, schema, spans)
        counts = np.array([s[2] for s in spans], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(counts)])  # first row of every batch
        if self._starts[-1] != len(index):
            raise ValueError(f"{str(path)!r}: {len(index)} row indices for {self._starts[-1]} rows")
        self._order = _grid_order(index)
        self._n = int(np.count_nonzero(index >= 0)) if self._order is not None else len(index)

    def __len__(self) -> int:
        return self._n

    def read(self, rows: np.ndarray, fields: Sequence[str] = FIELDS) -> Batch:
        """The journal rows at positions ``rows`` (in file order), in that order; consecutive
        batches are read together."""
        if not len(rows):
            return Batch.empty()
        which = np.searchsorted(self._starts, rows, side="right") - 1
        needed = np.unique(which)
        runs = np.split(needed, np.flatnonzero(np.diff(needed) != 1) + 1)
        parts = [self._reader.read(int(r[0]), int(r[-1]) + 1, fields) for r in runs]
        merged = Batch.concat(parts)
        # position of each needed batch's first row inside ``merged``
        sizes = self._starts[needed + 1] - self._starts[needed]
        base = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        local = rows - self._starts[which] + base[np.searchsorted(needed, which)]
        first = int(local[0])
        if local[-1] - first == len(local) - 1 and np.all(np.diff(local) == 1):
            return merged.slice(first, first + len(local), fields)  # in file order: no copy
        return merged.take(local)

    def iter_batches(self, fields: Sequence[str] = FIELDS, window: "int | None" = None) -> Iterator[Batch]:
        """The rows in grid order, ``window`` at a time (only ``fields`` decoded)."""
        window = window or WINDOW
        for start in range(0, self._n, window):
            stop = min(start + window, self._n)
            rows = np.arange(start, stop) if self._order is None else self._order[start:stop]
            yield self.read(rows, fields)
