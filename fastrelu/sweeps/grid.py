"""Sweep grids: validation, canonical points, lazy expansion grouped by architecture.

A grid is a dict of lists; the sweep is the Cartesian product of its entries. An entry is one
key and its values, or a tuple of keys ("zipped" keys) and a list of tuples: those keys take
the listed combinations together, not their product. Keys that are left out take their
default (:data:`DEFAULTS`), so every point is a complete, canonical assignment of all
:data:`KEYS`. Points are expanded lazily (never as one big list) with the entries holding
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
from fastrelu.sweeps.points import KEYS, Points


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


def normalize_value(key: str, value: Any, name: "str | None" = None) -> Any:
    """Validate one grid value and return it in canonical Python form (``name``: how the
    error calls it, by default ``grid['key']``).

    Raises
    ------
    TypeError, ValueError
        If ``key`` is unknown or ``value`` is not acceptable for it.
    """
    if key not in CONSTRAINTS:
        raise v.reject(ValueError, "grid key", key, "one of " + ", ".join(map(repr, KEYS)))
    constraint, name = CONSTRAINTS[key], name or f"grid[{key!r}]"
    if isinstance(constraint, v.Choice):
        if callable(value):
            raise v.reject(TypeError, name, value, constraint.accepted()
                           + " (callables cannot be swept: a sweep point needs a canonical name)")
        if isinstance(value, str):
            value = value.strip().lower()
    return constraint.check(name, value)


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


def _is_list(values: Any) -> bool:
    return not isinstance(values, (str, bytes, Mapping)) and hasattr(values, "__iter__")


def _distinct(name: str, given: Any, items: list, what: str = "values") -> None:
    seen: set = set()
    for x in items:
        if x in seen:  # values of one key share one canonical type, so == is exact
            raise v.reject(ValueError, name, given, f"distinct {what} ({x!r} is repeated)")
        seen.add(x)


@dataclass(frozen=True)
class Factor:
    """One entry of a grid: ``keys`` (one, or several zipped) and ``columns``, one per key,
    of equal length; entry ``i`` of the factor sets ``keys[j]`` to ``columns[j][i]``."""

    keys: tuple
    columns: tuple

    def __len__(self) -> int:
        return len(self.columns[0])

    @property
    def arch(self) -> bool:
        """Whether the factor sets an architecture key (its entries are then separate chunks)."""
        return any(k in ARCH_KEYS for k in self.keys)

    def rank(self) -> tuple:
        """Sort key of the canonical order: architecture factors first, then by key order."""
        return (not self.arch, min(ORDER.index(k) for k in self.keys))

    def at(self, i: int) -> dict:
        return {k: col[i] for k, col in zip(self.keys, self.columns)}

    def entry(self) -> tuple:
        """The factor as a normalized grid entry ``(key, values)``."""
        if len(self.keys) == 1:
            return self.keys[0], self.columns[0]
        return self.keys, list(zip(*self.columns))


def _single(key: str, values: Any) -> Factor:
    """The factor of a grid entry ``key: values``."""
    if isinstance(values, range) and key in ("width", "depth", "seed"):
        # kept lazily (a million seeds stay a range); only its ends need checking
        if len(values) == 0:
            raise v.reject(ValueError, f"grid[{key!r}]", values, "a non-empty list")
        normalize_value(key, min(values[0], values[-1]))
        return Factor((key,), (values,))
    if not _is_list(values):
        raise v.reject(TypeError, f"grid[{key!r}]", values, f"a list of values (write [{values!r}])")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"grid[{key!r}] of shape {values.shape} is not accepted; expected a 1-D list")
    out = [normalize_value(key, x) for x in values]
    if not out:
        raise v.reject(ValueError, f"grid[{key!r}]", values, "a non-empty list")
    _distinct(f"grid[{key!r}]", values, out)
    return Factor((key,), (out,))


def _zipped(keys: tuple, rows: Any) -> Factor:
    """The factor of a zipped grid entry ``(key, ...): [(value, ...), ...]``."""
    name = f"grid[{keys!r}]"
    if not _is_list(rows):
        raise v.reject(TypeError, name, rows, f"a list of tuples of {len(keys)} values (one per key)")
    if isinstance(rows, np.ndarray) and (rows.ndim != 2 or rows.shape[1] != len(keys)):
        raise ValueError(f"{name} of shape {rows.shape} is not accepted; expected (n, {len(keys)})")
    out = []
    for i, row in enumerate(rows):
        if not _is_list(row) or len(row) != len(keys):
            raise v.reject(ValueError if _is_list(row) else TypeError, f"{name}[{i}]", row,
                           f"a tuple of {len(keys)} values, one per key of {keys!r}")
        out.append(tuple(normalize_value(k, x, f"{name}[{i}][{j}]") for j, (k, x) in enumerate(zip(keys, row))))
    if not out:
        raise v.reject(ValueError, name, rows, "a non-empty list of tuples")
    _distinct(name, rows, out, "tuples")
    return Factor(keys, tuple(list(col) for col in zip(*out)))


def _entry_keys(entry: Any, owner: dict) -> tuple:
    """The keys of one grid entry: a key, or a tuple of distinct keys no other entry holds."""
    accepted = "one of " + ", ".join(map(repr, KEYS)) + ", or a tuple of them (zipped keys)"
    keys = entry if isinstance(entry, tuple) and entry else (entry,)
    for k in keys:
        if not isinstance(k, str):
            raise v.reject(TypeError, "grid key", entry, accepted)
        if k not in KEYS:
            raise v.reject(ValueError, "grid key", k, accepted)
        if k in owner:
            raise v.reject(ValueError, "grid key", entry, f"every key in one entry only ({k!r} is "
                           f"also in {owner[k]!r})" if owner[k] != entry else f"distinct keys ({k!r} is repeated)")
        owner[k] = entry
    return keys


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
        without duplicates, or a tuple of keys to a non-empty list of distinct tuples (one
        value per key; 2-D arrays of shape (n, keys) too): zipped keys, which take the listed
        combinations together instead of their product.
    optimizer : str
        Default for the ``optimizer`` key when the grid leaves it out.

    Attributes
    ----------
    factors : tuple of Factor
        The entries in canonical order (architecture entries outermost).
    values : dict of str to list or range
        Every key's distinct values (a zipped key's in the order first listed).
    size : int
        Number of points.

    Raises
    ------
    ValueError
        Unknown or repeated key, empty list, duplicate or invalid value. Nothing is trained
        before this check passes.
    """

    def __init__(self, grid: Mapping[Any, Any], *, optimizer: str = "sgd") -> None:
        if not isinstance(grid, Mapping):
            raise v.reject(TypeError, "grid", grid, "a dict of lists, keys among " + ", ".join(KEYS))
        owner: dict = {}
        entries = [(_entry_keys(entry, owner), values) for entry, values in grid.items()]
        self.given: tuple[str, ...] = tuple(k for keys, _ in entries for k in keys)
        factors = [_single(keys[0], values) if not isinstance(entry, tuple) else _zipped(keys, values)
                   for entry, (keys, values) in zip(grid, entries)]
        for key in KEYS:
            if key not in owner:
                default = normalize_value("optimizer", optimizer) if key == "optimizer" else DEFAULTS[key]
                factors.append(Factor((key,), ([default],)))
        self.factors: tuple[Factor, ...] = tuple(sorted(factors, key=Factor.rank))
        self.values: dict[str, "list | range"] = {}
        for f in self.factors:
            for key, col in zip(f.keys, f.columns):
                self.values[key] = col if len(f.keys) == 1 else list(dict.fromkeys(col))
        self.values = {k: self.values[k] for k in KEYS}
        self._check_drawn_biases()
        self._pos: dict = {}  # factor -> {value(s): position}, built when index_of needs it
        self.size: int = math.prod(len(f) for f in self.factors)

    def _factor_of(self, key: str) -> Factor:
        return next(f for f in self.factors if key in f.keys)

    def _check_drawn_biases(self) -> None:
        drawn = [i for i in self.values["init"] if i in DRAWS_BIASES]
        if not drawn or all(b == 0.0 for b in self.values["bias"]):
            return
        f = self._factor_of("init")
        if "bias" not in f.keys:
            raise ValueError(
                f"grid['bias']={self.values['bias']!r} with init {drawn[0]!r} is not accepted; "
                f"expected bias [0.0]: that init draws its own biases (sweep it in a separate grid)")
        init, bias = f.columns[f.keys.index("init")], f.columns[f.keys.index("bias")]
        for i, (name, b) in enumerate(zip(init, bias)):
            if name in DRAWS_BIASES and b != 0.0:
                raise v.reject(ValueError, f"grid[{f.keys!r}][{i}]", f.entry()[1][i],
                               f"bias 0.0 with init {name!r}: that init draws its own biases")

    @property
    def varying(self) -> tuple[str, ...]:
        """Keys with more than one value, in the order the grid gave them."""
        return tuple(k for k in self.given if len(self.values[k]) > 1)

    def _arch_factors(self) -> list:
        return [f for f in self.factors if f.arch]

    def _member_factors(self) -> list:
        return [f for f in self.factors if not f.arch]

    def _cells(self) -> Iterator[dict]:
        """The settings of every product of the architecture factors, in canonical order: the
        architecture keys, and member keys zipped with them."""
        archs = self._arch_factors()
        for combo in _product([range(len(f)) for f in archs]):
            cell: dict = {}
            for f, i in zip(archs, combo):
                cell.update(f.at(i))
            yield cell

    def points(self) -> Iterator[tuple[int, dict]]:
        """Yield ``(index, point)`` lazily in canonical order (architecture keys outermost)."""
        members = self._member_factors()
        index = 0
        for cell in self._cells():
            for combo in _product([range(len(f)) for f in members]):
                point = dict(cell)
                for f, i in zip(members, combo):
                    point.update(f.at(i))
                yield index, {k: point[k] for k in KEYS}
                index += 1

    def first_points(self) -> Iterator[tuple[dict, dict]]:
        """Yield ``(arch, point)`` lazily: the first point of every architecture."""
        first: dict = {}
        for f in self._member_factors():
            first.update(f.at(0))
        for cell in self._cells():
            point = {**cell, **first}
            yield {k: cell[k] for k in ARCH_KEYS}, {k: point[k] for k in KEYS}

    def index_of(self, point: Mapping[str, Any]) -> "int | None":
        """Position of a complete point in canonical order, or None if it is not in the grid."""
        index = 0
        for n, f in enumerate(self.factors):
            if len(f.keys) == 1 and isinstance(f.columns[0], range):
                value = point.get(f.keys[0])
                if type(value) is not int or value not in f.columns[0]:
                    return None
                pos = f.columns[0].index(value)
            else:
                if n not in self._pos:
                    self._pos[n] = {x: i for i, x in enumerate(zip(*f.columns))}
                try:
                    pos = self._pos[n][tuple(point.get(k) for k in f.keys)]
                except (KeyError, TypeError):
                    return None
            index = index * len(f) + pos
        return index

    def chunks(self, chunk_size: int, done: "bytearray | None" = None) -> Iterator[Chunk]:
        """Yield lazily :class:`Chunk` objects of at most ``chunk_size`` consecutive points of
        one architecture, leaving out points whose index is marked in ``done`` (one byte per
        point, nonzero = finished). Points are found by index arithmetic over the product
        (finished points cost nothing to skip). Zipped member keys are one factor of the
        product, so all their tuples share the chunks of their architecture."""
        chunk_size = v.check("chunk_size", chunk_size, v.Int(minimum=1))
        members = self._member_factors()
        n_members = math.prod(len(f) for f in members)
        marks = None if done is None else np.frombuffer(done, dtype=np.uint8)
        for a, cell in enumerate(self._cells()):
            start = a * n_members
            todo = None if marks is None else np.flatnonzero(marks[start:start + n_members] == 0)
            n_todo = n_members if todo is None else len(todo)
            for c in range(0, n_todo, chunk_size):
                pos = (np.arange(c, min(c + chunk_size, n_todo), dtype=np.int64) if todo is None
                       else todo[c:c + chunk_size])
                yield self._chunk(cell, start, pos, members)

    @staticmethod
    def _chunk(cell: dict, start: int, pos: np.ndarray, members: list) -> Chunk:
        """The chunk of member positions ``pos`` of the architecture cell whose first point
        has index ``start``."""
        digits = np.unravel_index(pos, [len(f) for f in members]) if members else ()
        cols: dict = {}
        for f, d in zip(members, digits):
            for key, col in zip(f.keys, f.columns):
                if isinstance(col, range) and col and max(abs(col[0]), abs(col[-1])) < 2 ** 62:
                    # seeds: index arithmetic in NumPy, not per point (int64 holds these)
                    cols[key] = (d * col.step + col.start).tolist()
                elif len(col) == 1:
                    cols[key] = [col[0]] * len(d)
                else:
                    cols[key] = [col[i] for i in d.tolist()]
        n = len(pos)
        points = Points({k: cols[k] if k in cols else [cell[k]] * n for k in KEYS})
        return Chunk({k: cell[k] for k in ARCH_KEYS}, tuple((start + pos).tolist()), points)

    def to_dict(self) -> dict:
        """The normalized grid (every key, defaults filled in; integer ranges stay ranges;
        zipped keys as one entry, a tuple of keys to a list of tuples): ``fr.sweep`` of it is
        the same sweep."""
        out = {}
        for f in sorted(self.factors, key=lambda f: min(KEYS.index(k) for k in f.keys)):
            key, values = f.entry()
            out[key] = values
        return out


def key_values(grid: Mapping[Any, Any], key: str) -> list:
    """The distinct values ``key`` takes in a normalized grid (:meth:`Grid.to_dict`), also
    when it is zipped with other keys (then in the order first listed)."""
    if key in grid:
        return list(grid[key])
    for entry, values in grid.items():
        if isinstance(entry, tuple) and key in entry:
            j = entry.index(key)
            return list(dict.fromkeys(row[j] for row in values))
    raise v.reject(ValueError, "key", key, "a key of the grid: " + ", ".join(map(repr, KEYS)))
