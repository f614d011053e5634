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
import numbers
import operator
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

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

#: Optimizers a sweep can build from a learning rate (torch defaults for everything else).
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "rmsprop")


def _int(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"grid[{key!r}]: expected integers, got the boolean {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise ValueError(
            f"grid[{key!r}]: expected integers >= {minimum}, got {value!r} "
            f"({type(value).__name__})"
        ) from None
    if out < minimum:
        raise ValueError(f"grid[{key!r}]: expected integers >= {minimum}, got {out}")
    return int(out)


def _float(key: str, value: Any, positive: bool) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"grid[{key!r}]: expected numbers, got {value!r} ({type(value).__name__})")
    out = float(value)
    if not math.isfinite(out) or (positive and out <= 0.0):
        need = "finite numbers > 0" if positive else "finite numbers"
        raise ValueError(f"grid[{key!r}]: expected {need}, got {value!r}")
    return out


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        if callable(value):
            raise ValueError(
                f"grid[{key!r}]: callables cannot be swept (a sweep point needs a canonical "
                f"name); accepted: {', '.join(choices)}"
            )
        raise ValueError(f"grid[{key!r}]: expected one of {', '.join(choices)}; got {value!r}")
    low = value.strip().lower()
    if low not in choices:
        raise ValueError(f"grid[{key!r}]: unknown value {value!r}; accepted: {', '.join(choices)}")
    return low


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"grid[{key!r}]: expected True or False, got {value!r}")
    return bool(value)


def normalize_value(key: str, value: Any) -> Any:
    """Validate one grid value and return it in canonical Python form.

    Raises
    ------
    ValueError
        If ``key`` is unknown or ``value`` is not acceptable for it.
    """
    if key in ("width", "depth"):
        return _int(key, value, 1)
    if key == "seed":
        return _int(key, value, 0)
    if key == "lr":
        return _float(key, value, positive=True)
    if key == "bias":
        return _float(key, value, positive=False)
    if key == "init":
        return _choice(key, value, INITS)
    if key == "optimizer":
        return _choice(key, value, OPTIMIZERS)
    if key in ("residual", "batchnorm"):
        return _bool(key, value)
    raise ValueError(f"unknown grid key {key!r}; accepted keys: {', '.join(KEYS)}")


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


@dataclass(frozen=True)
class Chunk:
    """Consecutive grid points sharing one architecture: one ensemble, one task.

    Attributes
    ----------
    arch : dict
        The :data:`ARCH_KEYS` values shared by every point.
    indices : tuple of int
        Position of each point in the grid's canonical order.
    points : tuple of dict
        Complete points (all :data:`KEYS`).
    """

    arch: dict
    indices: tuple
    points: tuple


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
            raise ValueError(f"grid: expected a dict of lists, got {type(grid).__name__}")
        unknown = [k for k in grid if k not in KEYS]
        if unknown:
            raise ValueError(
                f"grid: unknown key {unknown[0]!r}; accepted keys: {', '.join(KEYS)}"
            )
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
                f"grid: init {drawn[0]!r} draws its own biases, so it cannot be combined with a "
                f"nonzero 'bias'; sweep those inits with bias [0.0] in a separate grid"
            )
        self._pos = {k: vals if isinstance(vals, range) else {v: i for i, v in enumerate(vals)}
                     for k, vals in self.values.items()}
        self.size: int = math.prod(len(v) for v in self.values.values())

    @staticmethod
    def _normalize_list(key: str, values: Any) -> "list | range":
        if isinstance(values, range) and key in ("width", "depth", "seed"):
            # kept lazily (a million seeds stay a range); only its ends need checking
            if len(values) == 0:
                raise ValueError(f"grid[{key!r}]: empty list; give at least one value")
            normalize_value(key, min(values[0], values[-1]))
            return values
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise ValueError(
                f"grid[{key!r}]: expected a list of values, got {values!r} (write [{values!r}])"
            )
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise ValueError(f"grid[{key!r}]: expected a 1-D list, got an array of shape {values.shape}")
        out = [normalize_value(key, v) for v in values]
        if not out:
            raise ValueError(f"grid[{key!r}]: empty list; give at least one value")
        seen: set = set()
        for v in out:
            if v in seen:  # values of one key share one canonical type, so == is exact
                raise ValueError(f"grid[{key!r}]: duplicate value {v!r}")
            seen.add(v)
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
        """Yield lazily :class:`Chunk` objects of at most ``chunk_size`` points of one
        architecture, leaving out points whose index is marked in ``done`` (one byte per
        point, nonzero = finished)."""
        if chunk_size < 1:
            raise ValueError(f"chunk_size: expected an integer >= 1, got {chunk_size}")
        arch_key = None
        indices: list[int] = []
        points: list[dict] = []
        for index, point in self.points():
            if done is not None and done[index]:
                continue
            this = tuple(point[k] for k in ARCH_KEYS)
            if points and (this != arch_key or len(points) >= chunk_size):
                yield Chunk(dict(zip(ARCH_KEYS, arch_key)), tuple(indices), tuple(points))
                indices, points = [], []
            arch_key = this
            indices.append(index)
            points.append(point)
        if points:
            yield Chunk(dict(zip(ARCH_KEYS, arch_key)), tuple(indices), tuple(points))

    def to_dict(self) -> dict[str, "list | range"]:
        """The normalized grid (every key, defaults filled in; integer ranges stay ranges)."""
        return dict(self.values)
