"""Ready-made sweeps for the three ways ReLU outputs collapse, and their summary tables.

* ``born-dead``: P(born dead) and P(collapsed) at initialization over width x depth, He vs randomized
  asymmetric initialization (Lu et al. 2019, "Dying ReLU and Initialization"), on |x|.
* ``lr-death``: collapse, dead units and divergence over learning rate x optimizer.
* ``depth``: collapse and output spread over depth, plain vs residual vs batch norm.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

from fastrelu import _validation as v
from fastrelu.sweeps.grid import KEYS, key_values
from fastrelu.sweeps.result import Pivot, SweepResult


@dataclass(frozen=True)
class TableSpec:
    """One summary table: ``metric`` aggregated by ``agg`` over ``index`` x ``columns``, one
    table per value combination of the ``split`` keys."""

    title: str
    index: str
    columns: str
    metric: str = "collapsed"
    agg: str = "mean"
    split: tuple = ()


@dataclass(frozen=True)
class Preset:
    """A named sweep: its grid (a function of the number of seeds), settings and tables."""

    name: str
    help: str
    make_grid: Callable[[int], dict]
    seeds: int
    settings: dict
    tables: tuple = field(default_factory=tuple)

    def grid(self, seeds: "int | None" = None) -> dict:
        """The grid with ``seeds`` seeds (default: the preset's)."""
        return self.make_grid(self.seeds if seeds is None else seeds)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "born-dead",
            "P(collapsed at initialization) by depth x width, He vs randomized asymmetric "
            "init (Lu et al. 2019), on |x|",
            lambda s: {"width": [2, 3, 5, 10], "depth": [4, 9, 19], "init": ["he", "rai"],
                       "seed": range(s)},
            10_000,   # standard error of every cell at most 0.005 (sqrt(0.25 / 10,000))
            {"data": "abs1d", "steps": 0},
            (TableSpec("P(born dead: a layer with every unit dead)", "depth", "width",
                       "dead_layer", split=("init",)),
             TableSpec("P(collapsed: output std <= 1e-3 x target std)", "depth", "width",
                       split=("init",))),
        ),
        Preset(
            "lr-death",
            "collapse, dead units and divergence by learning rate x optimizer (width 32, "
            "depth 3, teacher data, 200 steps)",
            lambda s: {"width": [32], "depth": [3], "lr": [0.001, 0.01, 0.1, 1.0, 10.0],
                       "optimizer": ["sgd", "adam", "rmsprop"], "seed": range(s)},
            20,
            {"data": "teacher", "steps": 200, "batch_size": 64},
            (TableSpec("P(collapsed)", "lr", "optimizer"),
             TableSpec("mean dead fraction", "lr", "optimizer", "dead_fraction_mean"),
             TableSpec("runs diverged", "lr", "optimizer", "diverged_at", "count")),
        ),
        Preset(
            "depth",
            "collapse and output spread by depth, plain vs residual vs batch norm (width 16, "
            "teacher data, 200 steps)",
            lambda s: {"width": [16], "depth": [2, 5, 10, 20, 40], "residual": [False, True],
                       "batchnorm": [False, True], "seed": range(s)},
            10,
            {"data": "teacher", "steps": 200, "batch_size": 64},
            (TableSpec("P(collapsed)", "depth", "residual", split=("batchnorm",)),
             TableSpec("median output std / target std", "depth", "residual",
                       "output_std_ratio", "median", split=("batchnorm",)),
             TableSpec("runs diverged", "depth", "residual", "diverged_at", "count",
                       split=("batchnorm",))),
        ),
    )
}


def preset(name: str) -> Preset:
    """Look up a preset by name.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the real ones).
    """
    return PRESETS[v.check("preset", name, v.Choice(PRESETS))]


#: Above this many split combinations the default summary aggregates over them instead.
MAX_SPLITS = 12


def default_tables(result: SweepResult, metric: str = "collapsed") -> tuple:
    """Table specs for an arbitrary sweep: ``metric`` by the two leading varying keys (seed
    excluded), one table per combination of the other varying keys."""
    keys = [k for k in result.varying if k != "seed"]
    if len(keys) < 2:
        fixed = [k for k in KEYS if k not in keys and k != "seed"]
        keys = (keys + fixed)[:2] if keys else ["depth", "width"]
    split = tuple(keys[2:])
    n_splits = 1
    for k in split:
        n_splits *= len(key_values(result.grid, k))
    if n_splits > MAX_SPLITS:
        split = ()
    title = "P(collapsed)" if metric == "collapsed" else f"mean {metric}"
    return (TableSpec(title, keys[0], keys[1], metric, "mean", split),)


def summarize(result: SweepResult, specs: tuple) -> list[tuple[str, Pivot]]:
    """Compute every table of ``specs``: a list of ``(title, Pivot)``."""
    out = []
    for spec in specs:
        values = [key_values(result.grid, k) for k in spec.split]
        for combo in itertools.product(*values):
            where = dict(zip(spec.split, combo))
            label = ", ".join(f"{k}={v}" for k, v in where.items())
            title = f"{spec.title} -- {label}" if label else spec.title
            out.append((title, result.pivot(spec.index, spec.columns, spec.metric, spec.agg,
                                            where=where)))
    return out
