"""Sweep rows by column: one typed NumPy array per field, no Python object per row.

A :class:`Batch` holds the rows of one or more chunks. Every field of a row
(:data:`FIELDS`) is one 1-D array, except ``dead_fraction``, whose length is the net's
number of hidden layers: it is stored flat (``dead``, float64) with ``offsets`` (int64, one
more than rows), the layout of an Arrow ``list<float64>`` column. A chunk is one architecture,
so its dead fractions are also a plain 2-D array (:meth:`Batch.dead_matrix`); flat storage
keeps a sweep over depths 4 and 19 from padding every row to 19 layers, and it keeps rows of
different depths in grid order in one array.

Encodings (all exact, so a row rebuilt from its columns equals the row computed, bit for bit):
ints int64, except ``seed``, uint64 (every seed ``sweep`` accepts, 0 to 2**64 - 1); floats
float64; ``None`` of a float metric is NaN (metrics are finite or None);
``diverged_at`` ``None`` is -1; ``init`` and ``optimizer`` are int8 codes into :data:`VOCAB`.

Examples
--------
>>> import numpy as np
>>> from fastrelu.sweeps.columns import Batch
>>> row = {"width": 2, "depth": 1, "init": "he", "lr": 0.01, "seed": 3, "optimizer": "sgd",
...        "residual": False, "batchnorm": False, "bias": 0.0, "collapsed": True,
...        "output_std_ratio": None, "dead_fraction": [1.0], "dead_fraction_max": 1.0,
...        "dead_fraction_mean": 1.0, "dead_layer": True, "final_loss": 0.5,
...        "diverged_at": None, "steps_run": 0}
>>> b = Batch.from_rows([row, {**row, "seed": 4}])
>>> len(b), b.cols["seed"].tolist(), list(b.rows())[0] == row
(2, [3, 4], True)
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from fastrelu import optim
from fastrelu.sweeps.grid import INITS, KEYS
from fastrelu.sweeps.points import column

#: Metric fields of every row, in order, after the grid keys.
METRICS: tuple[str, ...] = (
    "collapsed", "output_std_ratio", "dead_fraction", "dead_fraction_max",
    "dead_fraction_mean", "dead_layer", "final_loss", "diverged_at", "steps_run",
)

#: Every field of a row, in order.
FIELDS: tuple[str, ...] = KEYS + METRICS

INT = ("width", "depth", "steps_run")
#: Fields stored as uint64. Seeds are validated >= 0 and ``np.random.default_rng`` takes any
#: below 2**64, so int64 would wrap the upper half negative (a row whose seed is not the seed
#: its net was drawn with); uint64 holds every accepted seed exactly. A negative int64 seed in a
#: journal is such a wrap (written before seeds were uint64): its two's complement, what a cast
#: to uint64 gives, is the true seed.
UINT = ("seed",)
FLOAT = ("lr", "bias")
OPT_FLOAT = ("output_std_ratio", "dead_fraction_max", "dead_fraction_mean", "final_loss")
BOOL = ("residual", "batchnorm", "collapsed", "dead_layer")
#: String fields and the fixed vocabulary their int8 codes index.
VOCAB: dict[str, tuple[str, ...]] = {"init": INITS, "optimizer": tuple(optim.NAMES)}
#: Fields stored as one 1-D array each (all but the ragged ``dead_fraction``).
FLAT: tuple[str, ...] = tuple(f for f in FIELDS if f != "dead_fraction")

_DTYPES: dict[str, Any] = {
    **{f: np.int64 for f in INT + ("diverged_at",)}, **{f: np.uint64 for f in UINT},
    **{f: np.float64 for f in FLOAT + OPT_FLOAT}, **{f: np.bool_ for f in BOOL},
    **{f: np.int8 for f in VOCAB},
}
_CODES = {f: {name: i for i, name in enumerate(names)} for f, names in VOCAB.items()}
# What encode() accepts: the dtype kinds NumPy infers, and the Python types behind them.
_KINDS = {f: {np.int64: "iu", np.uint64: "iu", np.float64: "fiu", np.bool_: "b"}.get(t, "")
          for f, t in _DTYPES.items()}
_PY = {f: {np.int64: int, np.uint64: int, np.float64: (int, float), np.bool_: bool}.get(t, str)
       for f, t in _DTYPES.items()}
_NOT = {f: (bool,) if t is not np.bool_ else () for f, t in _DTYPES.items()}


def dtype(name: str) -> Any:
    """The NumPy dtype of a flat field's column."""
    return _DTYPES[name]


def encode(name: str, values: Sequence) -> np.ndarray:
    """Python values of field ``name`` (None allowed where rows allow it) as its column.

    Raises
    ------
    ValueError
        A value the field cannot hold (unknown name, None in a field that never is None).
    """
    if (isinstance(values, list) and len(values) > 1 and values.count(values[0]) == len(values)
            and len(set(map(type, values))) == 1):
        # one value for the whole chunk (a grid key with one value): encode it once
        return np.repeat(encode(name, values[:1]), len(values))
    if name in VOCAB:
        codes = _CODES[name]
        try:
            return np.array([codes[x] for x in values], dtype=np.int8)
        except (KeyError, TypeError):
            bad = next(x for x in values if not isinstance(x, str) or x not in codes)
            raise ValueError(f"a row whose {name} is {bad!r} (not one of {', '.join(VOCAB[name])})") from None
    values = list(values)
    if None in values and name in OPT_FLOAT + ("diverged_at",):
        none = np.nan if name in OPT_FLOAT else -1
        values = [none if x is None else x for x in values]
    if not values:
        return np.empty(0, _DTYPES[name])
    try:
        arr = np.array(values)  # inferred: a None, a string or a list shows in the dtype
    except (TypeError, ValueError, OverflowError):
        arr = np.array(values, dtype=object)
    if name in UINT and arr.dtype.kind not in "iu":
        arr = _wrapped(values, arr)
    if arr.ndim != 1 or arr.dtype.kind not in _KINDS[name]:
        bad = next((x for x in values if not isinstance(x, _PY[name]) or isinstance(x, _NOT[name])), None)
        raise ValueError(f"a row whose {name} is {bad!r}" if bad is not None or None in values
                         else f"a row whose {name} is not a {np.dtype(_DTYPES[name]).name}")
    return arr.astype(_DTYPES[name], copy=False)  # a seed: negative int64 wraps, see UINT


def _wrapped(values: list, arr: np.ndarray) -> np.ndarray:
    """Seeds NumPy infers no integer dtype for, modulo 2**64 when all are integers in
    [-2**63, 2**64): NumPy makes float64 (inexact) of seeds on both sides of 2**63, e.g.
    ``[2**63 - 1, 2**63]``, and of old wrapped seeds (negative) beside seeds >= 2**63 in a
    journal. Anything else is returned as it was inferred."""
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
           and -(1 << 63) <= x < 1 << 64 for x in values):
        return np.array([int(x) % (1 << 64) for x in values], dtype=np.uint64)
    return arr


def decode(name: str, col: np.ndarray) -> list:
    """A column back to Python values: exactly the values of the rows it was built from."""
    if name in VOCAB:
        names = VOCAB[name]
        return [names[c] for c in col.tolist()]
    values = col.tolist()
    if name in OPT_FLOAT:
        return [None if x != x else x for x in values]
    if name == "diverged_at":
        return [None if x < 0 else x for x in values]
    return values


def public(name: str, col: np.ndarray) -> np.ndarray:
    """A column as users see it: strings as an object array, ``diverged_at`` as float with NaN
    for None, every other field as stored (NaN is None)."""
    if name in VOCAB:
        return np.array(VOCAB[name], dtype=object)[col.astype(np.intp)]
    if name == "diverged_at":
        out = col.astype(np.float64)
        out[col < 0] = np.nan
        return out
    return col


class Batch:
    """Rows by column.

    Attributes
    ----------
    cols : dict of str to ndarray
        One array of length ``n`` per field of :data:`FLAT`.
    dead : ndarray of float64
        Every row's dead fraction per hidden layer, one row after another.
    offsets : ndarray of int64, shape (n + 1,)
        Row ``i``'s dead fractions are ``dead[offsets[i]:offsets[i + 1]]``.
    """

    __slots__ = ("cols", "dead", "offsets")

    def __init__(self, cols: Mapping[str, np.ndarray], dead: np.ndarray, offsets: np.ndarray) -> None:
        self.cols = dict(cols)
        self.dead = dead
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def empty(cls) -> "Batch":
        return cls({f: np.empty(0, _DTYPES[f]) for f in FLAT}, np.empty(0), np.zeros(1, np.int64))

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> "Batch":
        """Columns of row dicts (each with every field of :data:`FIELDS`).

        Raises
        ------
        ValueError
            A row misses a field or holds a value its field cannot.
        """
        for row in rows:
            if not isinstance(row, Mapping) or any(f not in row for f in FIELDS):
                raise ValueError(f"a row without the fields {', '.join(FIELDS)}")
        cols = {f: encode(f, [r[f] for r in rows]) for f in FLAT}
        for r in rows:
            d = r["dead_fraction"]
            if not isinstance(d, list) or any(type(x) not in (float, int) for x in d):
                raise ValueError(f"a row whose dead_fraction is {d!r} (expected a list of numbers)")
        flat = [x for r in rows for x in r["dead_fraction"]]
        lengths = [len(r["dead_fraction"]) for r in rows]
        return cls(cols, np.array(flat, dtype=np.float64),
                   np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]))

    @classmethod
    def from_chunk(cls, points: Sequence[Mapping[str, Any]], metrics: Mapping[str, np.ndarray]) -> "Batch":
        """Columns of one chunk: its grid points and the metric columns of
        :func:`fastrelu.sweeps.group.measure_group` (``dead_fraction`` of shape (n, layers))."""
        n = len(points)
        cols = {k: encode(k, column(points, k)) for k in KEYS}
        for f in METRICS:
            if f != "dead_fraction":
                cols[f] = np.ascontiguousarray(metrics[f], dtype=_DTYPES[f]).reshape(n)
        dead = np.ascontiguousarray(metrics["dead_fraction"], dtype=np.float64).reshape(n, -1)
        return cls(cols, dead.reshape(-1), np.arange(n + 1, dtype=np.int64) * dead.shape[1])

    def dead_lists(self) -> list:
        """``dead_fraction`` of every row as a list of floats."""
        flat, off = self.dead.tolist(), self.offsets.tolist()
        return [flat[a:b] for a, b in zip(off[:-1], off[1:])]

    def dead_matrix(self, fill: float = np.nan) -> np.ndarray:
        """Dead fractions as a 2-D array (rows, most hidden layers), shorter rows padded."""
        lengths = np.diff(self.offsets)
        width = int(lengths.max()) if len(lengths) else 0
        out = np.full((len(self), width), fill)
        if len(self) and np.all(lengths == width):
            return self.dead.reshape(len(self), width).copy()
        rows = np.repeat(np.arange(len(self)), lengths)
        out[rows, np.arange(len(self.dead)) - np.repeat(self.offsets[:-1], lengths)] = self.dead
        return out

    def rows(self, fields: Sequence[str] = FIELDS) -> Iterator[dict]:
        """Yield the rows as dicts of Python values (``fields`` in order)."""
        values = [self.dead_lists() if f == "dead_fraction" else decode(f, self.cols[f])
                  for f in fields]
        for row in zip(*values):
            yield dict(zip(fields, row))

    def take(self, idx: np.ndarray) -> "Batch":
        """The rows at positions ``idx``, in that order."""
        idx = np.asarray(idx, dtype=np.intp)
        lengths = np.diff(self.offsets)[idx]
        offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        if len(idx) and np.all(np.diff(idx) == 1):
            dead = self.dead[self.offsets[idx[0]]:self.offsets[idx[-1] + 1]]
        else:
            starts = np.repeat(self.offsets[:-1][idx] - offsets[:-1], lengths)
            dead = self.dead[np.arange(offsets[-1], dtype=np.int64) + starts]
        return Batch({f: c[idx] for f, c in self.cols.items()}, dead, offsets)

    def slice(self, start: int, stop: int, fields: Sequence[str] = FIELDS) -> "Batch":
        """Rows ``start:stop`` without copying, only ``fields`` kept."""
        cols = {f: self.cols[f][start:stop] for f in fields if f != "dead_fraction"}
        if "dead_fraction" not in fields:
            return Batch(cols, np.empty(0), np.zeros(stop - start + 1, np.int64))
        offsets = self.offsets[start:stop + 1]
        return Batch(cols, self.dead[offsets[0]:offsets[-1]], offsets - offsets[0])

    @staticmethod
    def concat(batches: Iterable["Batch"], fields: Sequence[str] = FIELDS) -> "Batch":
        """One batch of the rows of ``batches``, in order (an empty batch with ``fields`` when
        there are none)."""
        batches = [b for b in batches if len(b)]
        if not batches:
            empty = Batch.empty()
            return empty.slice(0, 0, fields)
        if len(batches) == 1:
            return batches[0]
        shift = np.cumsum([0] + [len(b.dead) for b in batches[:-1]], dtype=np.int64)
        offsets = np.concatenate([[0]] + [b.offsets[1:] + s for b, s in zip(batches, shift)])
        return Batch({f: np.concatenate([b.cols[f] for b in batches]) for f in batches[0].cols},
                     np.concatenate([b.dead for b in batches]), offsets)


def _lookup(table: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of every value of ``col`` in the sorted distinct values ``table``, and
    whether it is there."""
    j = np.minimum(np.searchsorted(table, col), len(table) - 1)
    return j, table[j] == col


def _factor_positions(factor: Any, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Position of every row among the entries of one grid factor, and whether it is one."""
    if len(factor.keys) == 1 and isinstance(factor.columns[0], range):
        values, col = factor.columns[0], batch.cols[factor.keys[0]]
        # distance from the range's start in the column's own dtype (uint64 seeds: no value
        # may go negative), computed only inside the range's ends
        inside = (col >= min(values[0], values[-1])) & (col <= max(values[0], values[-1]))
        col = np.where(inside, col, col.dtype.type(values.start))
        rel = col - values.start if values.step > 0 else values.start - col
        step = abs(values.step)
        return (rel // step).astype(np.int64), inside & (rel % step == 0)
    # Codes of the factor's entries and of the rows, key by key: the code of the keys so far
    # is re-numbered densely after every key (below len(factor)**2, no overflow).
    n = len(factor)
    entry, row, ok = np.zeros(n, np.int64), np.zeros(len(batch), np.int64), np.ones(len(batch), np.bool_)
    for key, values in zip(factor.keys, factor.columns):
        table = encode(key, values)
        distinct = np.unique(table)
        j, found = _lookup(distinct, batch.cols[key])
        entry = entry * len(distinct) + np.searchsorted(distinct, table)
        row = row * len(distinct) + j
        codes = np.unique(entry)
        j, found2 = _lookup(codes, row)
        ok &= found & found2
        entry, row = np.searchsorted(codes, entry), j
    position = np.empty(n, np.int64)
    position[entry] = np.arange(n)  # entries are distinct: their codes are a permutation
    return position[row], ok


def grid_indices(grid: Any, batch: Batch) -> np.ndarray:
    """Position of every row's point in ``grid``'s canonical order (int64), -1 for a point the
    grid does not hold: :meth:`~fastrelu.sweeps.grid.Grid.index_of` by index arithmetic over
    whole columns (a range of seeds stays a range; zipped keys are matched together)."""
    n = len(batch)
    index = np.zeros(n, np.int64)
    ok = np.ones(n, np.bool_)
    for factor in grid.factors:
        pos, found = _factor_positions(factor, batch)
        ok &= found
        index = index * len(factor) + np.where(ok, pos, 0)
    return np.where(ok, index, -1)
