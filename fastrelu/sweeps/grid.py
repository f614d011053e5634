"""Sweep grids: validation, canonical points, lazy expansion grouped by architecture.

A grid is a dict of lists; the sweep is the Cartesian product of the lists. Keys that are
left out take their default (:data:`DEFAULTS`), so every point is a complete, canonical
assignment of all :data:`KEYS`. Points are expanded lazily (never as one big list) with the
architecture keys outermost, so consecutive points share an architecture and can be trained
together as one ensemble.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu import optim
from fastrelu.init import DRAWS_BIASES, SCHEMES

#: Every grid key, in canonical order (rows and CSV columns follow it).
KEYS: tuple[str, ...] = (
    "width", "depth", "init", "lr", "seed", "optimizer", "residual", "batchnorm", "bias",
)

#: Keys that must be equal for points trained together as one ensemble.
ARCH_KEYS: tuple[str, ...] = ("width", "depth", "residual", "batchnorm", "optimizer")

#: Keys that may differ between members of one ensemble.
MEMBER_KEYS: tuple[str, ...] = ("init", "bias", "lr", "seed")

#: Nesting order of the expansion (first key varies slowest).
ORDER: tuple[str, ...] = ARCH_KEYS + MEMBER_KEYS

#: Value a key takes when the grid leaves it out (``optimizer`` comes from ``sweep(optimizer=)``).
DEFAULTS: dict[str, Any] = {
    "width": 16, "depth": 3, "init": "he", "lr": 0.01, "seed": 0, "optimizer": "sgd",
    "residual": False, "batchnorm": False, "bias": 0.0,
}

#: Named initializations accepted by ``fr.MLP`` (callables cannot be swept: no canonical key).
#: Those in ``DRAWS_BIASES`` draw their own biases (``fr.MLP`` then requires ``bias=0``).
INITS: tuple[str, ...] = tuple(SCHEMES)

#: What each key accepts (one constraint per key; strings are matched case-insensitively).
CONSTRAINTS: dict[str, v.Constraint] = {
    "width": v.Int(minimum=1), "depth": v.Int(minimum=1), "seed": v.Int(minimum=0),
    "lr": v.Real(positive=True), "bias": v.Real(), "init": v.Choice(INITS),
    "optimizer": v.Choice(optim.NAMES), "residual": v.Bool(), "batchnorm": v.Bool(),
}


def normalize_value(key: str, value: Any) -> Any:
    """Validate one grid value and return it in canonical Python form.

    Raises
    ------
    TypeError, ValueError
        If ``key`` is unknown or ``value`` is not acceptable for it.
    """
    if key not in CONSTRAINTS:
        raise v.reject(ValueError, "grid key", key, "one of " + ", ".join(map(repr, KEYS)))
    constraint = CONSTRAINTS[key]
    if isinstance(constraint, v.Choice):
        if callable(value):
            raise v.reject(TypeError, f"grid[{key!r}]", value, constraint.accepted()
                           + " (callables cannot be swept: a sweep point needs a canonical name)")
        if isinstance(value, str):
            value = value.strip().lower()
    return constraint.check(f"grid[{key!r}]", value)


def canonical_key(point: Mapping[str, Any]) -> str:
    """The canonical text identity of a grid point (all :data:`KEYS`, canonical order)."""
    return json.dumps([point[k] for k in KEYS], separators=(",", ":"))


def _product(seqs: list) -> Iterator[tuple]:
    """``itertools.product`` without copying its inputs (which may be huge ranges)."""
    if not seqs:
        yield ()
        return
    head, rest = seqs[0], seqs[1:]
    for value in head:
        for tail in _product(rest):
            yield (value,) + tail


class Points(Sequence):
    """Complete grid points (all :data:`KEYS`) held as columns, one list per key: a sequence
    of dicts whose dicts are built only when indexed. The sweep engine reads whole columns
    (:func:`column`), so a chunk of 10,000 points costs no 10,000 dicts."""

    __slots__ = ("columns", "_n")

    def __init__(self, columns: Mapping[str, list]) -> None:
        self.columns = {k: list(columns[k]) for k in KEYS}
        self._n = len(self.columns[KEYS[0]])
        if any(len(c) != self._n for c in self.columns.values()):
            raise ValueError("Points: columns of different lengths")

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Points({k: c[i] for k, c in self.columns.items()})
        return {k: self.columns[k][i] for k in KEYS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __reduce__(self):
        return Points, (self.columns,)


def column(points: Sequence[Mapping[str, Any]], key: str) -> list:
    """The values of ``key`` over ``points`` (a :class:`Points` or any sequence of dicts)."""
    if isinstance(points, Points):
        return points.columns[key]
    return [p[key] for p in points]


@dataclass(frozen=True)
class Chunk:
    """Consecutive grid points sharing one architecture: one ensemble, one task.

    Attributes
    ----------
    arch : dict
        The :data:`ARCH_KEYS` values shared by every point.
    indices : tuple of int
        Position of each point in the grid's canonical order.
    points : Points
        Complete points (all :data:`KEYS`), as columns.
    """

    arch: dict
    indices: tuple
    points: Points


class Grid:
    """A validated sweep grid.

    Parameters
    ----------
    grid : dict
        Maps keys from :data:`KEYS` to non-empty lists (tuples, ranges, 1-D arrays) of values
        without duplicates.
    optimizer : str
        Default for the ``optimizer`` key when the grid leaves it out.

    Raises
    ------
    ValueError
        Unknown key, empty list, duplicate or invalid value. Nothing is trained before this
        check passes.
    """

    def __init__(self, grid: Mapping[str, Any], *, optimizer: str = "sgd") -> None:
        if not isinstance(grid, Mapping):
            raise v.reject(TypeError, "grid", grid, "a dict of lists, keys among " + ", ".join(KEYS))
        unknown = [k for k in grid if k not in KEYS]
        if unknown:
            raise v.reject(ValueError, "grid key", unknown[0], "one of " + ", ".join(map(repr, KEYS)))
        self.given: tuple[str, ...] = tuple(k for k in grid)
        self.values: dict[str, list] = {}
        for key in KEYS:
            if key in grid:
                self.values[key] = self._normalize_list(key, grid[key])
            elif key == "optimizer":
                self.values[key] = [normalize_value("optimizer", optimizer)]
            else:
                self.values[key] = [DEFAULTS[key]]
        drawn = [i for i in self.values["init"] if i in DRAWS_BIASES]
        if drawn and any(b != 0.0 for b in self.values["bias"]):
            raise ValueError(
                f"grid['bias']={self.values['bias']!r} with init {drawn[0]!r} is not accepted; "
                f"expected bias [0.0]: that init draws its own biases (sweep it in a separate grid)"
            )
        self._pos = {k: vals if isinstance(vals, range) else {v: i for i, v in enumerate(vals)}
                     for k, vals in self.values.items()}
        self.size: int = math.prod(len(v) for v in self.values.values())

    @staticmethod
    def _normalize_list(key: str, values: Any) -> "list | range":
        if isinstance(values, range) and key in ("width", "depth", "seed"):
            # kept lazily (a million seeds stay a range); only its ends need checking
            if len(values) == 0:
                raise v.reject(ValueError, f"grid[{key!r}]", values, "a non-empty list")
            normalize_value(key, min(values[0], values[-1]))
            return values
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise v.reject(TypeError, f"grid[{key!r}]", values, f"a list of values (write [{values!r}])")
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise ValueError(f"grid[{key!r}] of shape {values.shape} is not accepted; expected a 1-D list")
        out = [normalize_value(key, x) for x in values]
        if not out:
            raise v.reject(ValueError, f"grid[{key!r}]", values, "a non-empty list")
        seen: set = set()
        for x in out:
            if x in seen:  # values of one key share one canonical type, so == is exact
                raise v.reject(ValueError, f"grid[{key!r}]", values, f"distinct values ({x!r} is repeated)")
            seen.add(x)
        return out

    @property
    def varying(self) -> tuple[str, ...]:
        """Keys with more than one value, in the order the grid gave them."""
        return tuple(k for k in self.given if len(self.values[k]) > 1)

    def points(self) -> Iterator[tuple[int, dict]]:
        """Yield ``(index, point)`` lazily in canonical order (architecture keys outermost)."""
        index = 0
        for arch in self._archs():
            for member in _product([self.values[k] for k in MEMBER_KEYS]):
                point = {**arch, **dict(zip(MEMBER_KEYS, member))}
                yield index, {k: point[k] for k in KEYS}
                index += 1

    def first_points(self) -> Iterator[tuple[dict, dict]]:
        """Yield ``(arch, point)`` lazily: the first point of every architecture."""
        first = {k: self.values[k][0] for k in MEMBER_KEYS}
        for arch in self._archs():
            point = {**arch, **first}
            yield arch, {k: point[k] for k in KEYS}

    def _archs(self) -> Iterator[dict]:
        for combo in _product([self.values[k] for k in ARCH_KEYS]):
            yield dict(zip(ARCH_KEYS, combo))

    def index_of(self, point: Mapping[str, Any]) -> "int | None":
        """Position of a complete point in canonical order, or None if it is not in the grid."""
        index = 0
        for key in ORDER:
            table = self._pos[key]
            value = point.get(key)
            if isinstance(table, range):
                if type(value) is not int or value not in table:
                    return None
                pos = table.index(value)
            else:
                try:
                    pos = table[value]
                except (KeyError, TypeError):
                    return None
            index = index * len(self.values[key]) + pos
        return index

    def chunks(self, chunk_size: int, done: "bytearray | None" = None) -> Iterator[Chunk]:
        """Yield lazily :class:`Chunk` objects of at most ``chunk_size`` consecutive points of
        one architecture, leaving out points whose index is marked in ``done`` (one byte per
        point, nonzero = finished). Points are found by index arithmetic over the product
        (finished points cost nothing to skip)."""
        chunk_size = v.check("chunk_size", chunk_size, v.Int(minimum=1))
        members = [self.values[k] for k in MEMBER_KEYS]
        sizes = [len(m) for m in members]
        n_members = math.prod(sizes)
        marks = None if done is None else np.frombuffer(done, dtype=np.uint8)
        for a, arch in enumerate(self._archs()):
            start = a * n_members
            todo = None if marks is None else np.flatnonzero(marks[start:start + n_members] == 0)
            n_todo = n_members if todo is None else len(todo)
            for c in range(0, n_todo, chunk_size):
                pos = (np.arange(c, min(c + chunk_size, n_todo), dtype=np.int64) if todo is None
                       else todo[c:c + chunk_size])
                yield self._chunk(arch, start, pos, members, sizes)

    @staticmethod
    def _chunk(arch: dict, start: int, pos: np.ndarray, members: list, sizes: list) -> Chunk:
        """The chunk of member positions ``pos`` of the architecture whose first point has
        index ``start``."""
        digits = np.unravel_index(pos, sizes)
        cols = {k: [vals[i] for i in d.tolist()] for k, vals, d in zip(MEMBER_KEYS, members, digits)}
        n = len(pos)
        points = Points({k: cols[k] if k in cols else [arch[k]] * n for k in KEYS})
        return Chunk(dict(arch), tuple((start + pos).tolist()), points)

    def to_dict(self) -> dict[str, "list | range"]:
        """The normalized grid (every key, defaults filled in; integer ranges stay ranges)."""
        return dict(self.values)
