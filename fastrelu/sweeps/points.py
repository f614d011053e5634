"""The points of one sweep chunk, held as columns."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

#: Every grid key, in canonical order (rows and CSV columns follow it).
KEYS: tuple[str, ...] = (
    "width", "depth", "init", "lr", "seed", "optimizer", "residual", "batchnorm", "bias",
)


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
