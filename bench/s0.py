"""Workload S0: the born-dead question at initialization (Lu, Shin, Su & Karniadakis 2019).

A plain ReLU MLP (1 input, ``depth`` hidden layers of ``width`` units, 1 output), He-normal
weights (std ``sqrt(2 / fan_in)``), zero biases, no training, on the ``abs1d`` data
(:func:`fastrelu.data.abs1d`: 128 evenly spaced points of ``[-sqrt 3, sqrt 3]``). For every
net: is some hidden layer dead, every unit's pre-activation ``<= 0`` on every row? The grid is
width {2, 3, 5} x depth {4, 9, 19} x ``seeds_per_cell`` nets per cell; the answer is
P(dead layer) per cell. Metric: nets/s (``9 * seeds_per_cell`` nets per run).

Every implementation draws its own random nets (its idiomatic generator), so the gate is
statistical: :func:`check_s0_agreement` requires every cell's estimate to agree with the
reference's within Monte Carlo error (a two-sample test at :data:`Z` standard errors) and with
the closed-form bounds of :func:`fastrelu.theory.born_dead_bounds`. Those bounds are for a net
"born dead" on a whole data set: the upper one is the exact probability that one fixed input
meets a completely inactive layer (a net dead on every row is dead on that row too), the lower
one the probability that some layer ``l >= 2`` has only negative incoming weights (then it is
dead on every input). They hold for zero biases and any symmetric continuous weight law, so
they are a sanity check of every implementation, the reference included.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastrelu_bench.common import pick_reference

__all__ = ["S0Workload", "S0", "S0Problem", "S0Result", "S0Agreement", "make_s0_problem",
           "check_s0_agreement", "bounds_table", "grid_summary", "Z"]

#: Standard errors of the Monte Carlo tolerance (two-sample and bound tests).
Z = 4.0


@dataclass(frozen=True)
class S0Workload:
    """Definition of the born-dead workload.

    Parameters
    ----------
    widths, depths : tuple of int
        Hidden widths (table columns) and numbers of hidden layers (table rows).
    seeds_per_cell : int
        Nets per (width, depth) cell.
    n_rows : int
        Rows of the ``abs1d`` data (its default, 128).
    seed : int
        Seed of the peers' generators (fastrelu uses seeds ``0 .. seeds_per_cell - 1``).
    """

    name: str = "S0"
    widths: tuple[int, ...] = (2, 3, 5)
    depths: tuple[int, ...] = (4, 9, 19)
    seeds_per_cell: int = 1000
    n_rows: int = 128
    seed: int = 2019
    metric: str = "nets/s"

    def replace(self, **changes: Any) -> "S0Workload":
        """Return a copy with some fields changed (reduced-size test runs)."""
        out = dataclasses.replace(self, **changes)
        if int(out.seeds_per_cell) < 1:
            raise ValueError(f"seeds_per_cell: must be a positive integer, got {out.seeds_per_cell!r}")
        if not out.widths or not out.depths or min(out.widths + out.depths) < 1:
            raise ValueError(f"widths, depths: need positive integers, got {out.widths!r}, {out.depths!r}")
        return out

    @property
    def n_nets(self) -> int:
        """Nets per run: cells times seeds per cell."""
        return len(self.widths) * len(self.depths) * self.seeds_per_cell

    @property
    def units(self) -> int:
        """Units of :attr:`metric` done by one run (nets)."""
        return self.n_nets


S0 = S0Workload()


@dataclass
class S0Problem:
    """The data every S0 implementation measures its nets on.

    Attributes
    ----------
    workload : S0Workload
    X : ndarray, float32, shape (n_rows, 1)
        The inputs of :func:`fastrelu.data.abs1d`.
    """

    workload: S0Workload
    X: np.ndarray

    @property
    def cells(self) -> list[tuple[int, int, int, int]]:
        """``(row, column, depth, width)`` of every cell, rows = depths, columns = widths."""
        w = self.workload
        return [(i, j, d, n) for i, d in enumerate(w.depths) for j, n in enumerate(w.widths)]


def make_s0_problem(w: S0Workload | None = None) -> S0Problem:
    """The ``abs1d`` inputs of workload ``w`` (default :data:`S0`)."""
    import fastrelu as fr

    w = S0 if w is None else w
    X, _ = fr.data.abs1d(w.n_rows)
    return S0Problem(w, np.ascontiguousarray(X, dtype=np.float32))


@dataclass
class S0Result:
    """Outcome of one S0 run: dead-layer counts per cell.

    Attributes
    ----------
    dead : ndarray of int, shape (len(depths), len(widths))
        Nets with a dead hidden layer.
    n : ndarray of int, same shape
        Nets measured.
    """

    dead: np.ndarray
    n: np.ndarray

    @property
    def p(self) -> np.ndarray:
        """P(dead layer) per cell."""
        return self.dead / np.maximum(self.n, 1)


def bounds_table(w: S0Workload) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` of :func:`fastrelu.theory.born_dead_bounds` per cell (zero biases)."""
    import fastrelu as fr

    lo = np.empty((len(w.depths), len(w.widths)))
    hi = np.empty_like(lo)
    for i, d in enumerate(w.depths):
        for j, n in enumerate(w.widths):
            lo[i, j], hi[i, j] = fr.theory.born_dead_bounds([n] * d)
    return lo, hi


def grid_summary(w: S0Workload) -> dict:
    """JSON-ready definition of the grid with the bounds per cell (rows = depths)."""
    lower, upper = bounds_table(w)
    return {"widths": list(w.widths), "depths": list(w.depths), "seeds_per_cell": w.seeds_per_cell,
            "n_rows": w.n_rows, "lower_bound": lower.tolist(), "upper_bound": upper.tolist()}


@dataclass
class S0Agreement:
    """The gate's verdict on one implementation.

    Attributes
    ----------
    implementation, reference : str
    p, reference_p : ndarray
        P(dead layer) per cell of this implementation and of the reference.
    score : float
        Largest ``|p - p_ref| / tolerance`` over cells (0 for the reference itself); at most 1
        passes.
    agrees : bool
        Every cell within tolerance of the reference and within the bounds.
    reason : str
        Empty if it agrees, else the first failing cell and why.
    """

    implementation: str
    reference: str
    p: np.ndarray
    reference_p: np.ndarray
    score: float
    agrees: bool
    reason: str = ""


def _tolerance(k_a: np.ndarray, n_a: np.ndarray, k_b: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """``Z * sqrt(p (1 - p) (1/n_a + 1/n_b)) + 1e-9`` with ``p`` the pooled estimate."""
    pooled = (k_a + k_b) / (n_a + n_b)
    return Z * np.sqrt(pooled * (1 - pooled) * (1.0 / n_a + 1.0 / n_b)) + 1e-9


def _bound_violation(w: S0Workload, res: S0Result) -> str:
    lo, hi = bounds_table(w)
    p = res.p
    with np.errstate(invalid="ignore"):
        tol_lo = Z * np.sqrt(lo * (1 - lo) / res.n) + 1e-9
        tol_hi = Z * np.sqrt(hi * (1 - hi) / res.n) + 1e-9
    for i, d in enumerate(w.depths):
        for j, n in enumerate(w.widths):
            if p[i, j] < lo[i, j] - tol_lo[i, j] or p[i, j] > hi[i, j] + tol_hi[i, j]:
                return (f"P(dead layer) {p[i, j]:.4f} at width {n}, depth {d} is outside the "
                        f"closed-form bounds [{lo[i, j]:.4f}, {hi[i, j]:.4f}] by more than "
                        f"{Z:g} standard errors ({int(res.n[i, j])} nets)")
    return ""


def check_s0_agreement(problem: S0Problem, results: dict[str, S0Result],
                       reference: str | None = None) -> dict[str, S0Agreement]:
    """Compare every implementation's P(dead layer) per cell to ``reference``'s and the bounds.

    Parameters
    ----------
    problem : S0Problem
    results : dict of str to S0Result
    reference : str, optional
        Default ``"fastrelu"`` if present, else the first name.

    Returns
    -------
    dict of str to S0Agreement
    """
    reference = pick_reference(results, reference)
    w = problem.workload
    shape = (len(w.depths), len(w.widths))
    ref = results[reference]
    out = {}
    for name, res in results.items():
        if res.dead.shape != shape or res.n.shape != shape:
            out[name] = S0Agreement(name, reference, np.full(shape, np.nan), ref.p, np.inf, False,
                                    f"returned a table of shape {res.dead.shape}, expected {shape}")
            continue
        tol = _tolerance(res.dead, res.n, ref.dead, ref.n)
        ratio = np.abs(res.p - ref.p) / tol
        reason = ""
        if np.any(res.n < 1) or np.any(res.dead < 0) or np.any(res.dead > res.n):
            reason = f"counts out of range: dead {res.dead.tolist()} of {res.n.tolist()} nets"
        elif np.any(ratio > 1):
            i, j = np.unravel_index(int(np.argmax(ratio)), shape)
            reason = (f"P(dead layer) {res.p[i, j]:.4f} at width {w.widths[j]}, depth {w.depths[i]} "
                      f"differs from {reference}'s {ref.p[i, j]:.4f} by more than the Monte Carlo "
                      f"tolerance {tol[i, j]:.4f} ({Z:g} standard errors)")
        else:
            reason = _bound_violation(w, res)
        out[name] = S0Agreement(name, reference, res.p, ref.p, float(ratio.max()), not reason, reason)
    return out
