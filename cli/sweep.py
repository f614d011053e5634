"""`fastrelu sweep`: map where ReLU outputs collapse over a grid, locally or on Dask.

``fastrelu sweep --width 2,3,5,10 --depth 4,9,19 --init he,rai --seeds 1000 --steps 0
--data abs1d`` runs the product of the lists; ``fastrelu sweep born-dead|lr-death|depth`` run
presets. Every command prints a summary table (collapse probability by the two leading grid
keys), can write the rows (``--out``, resumable), plot the table (``--plot``) and emit one
JSON document (``--json``). The numerics live in ``fastrelu.sweeps``; this module only parses,
shows progress and renders.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import typer

from fastrelu_cli._common import (err_console, fail, first_run_hint, out_console, parse_list,
                                  print_json, require_matplotlib, user_errors)

#: Preset names and one-line help (kept here so `--help` does not import the numerics;
#: tests check they match fastrelu.sweeps.PRESETS).
PRESET_HELP = {
    "born-dead": "P(born dead) and P(collapsed) at init by depth x width, He vs randomized "
                 "asymmetric init (1000 seeds each, |x| data).",
    "lr-death": "Collapse, dead units and divergence by learning rate x optimizer.",
    "depth": "Collapse and output spread by depth: plain vs residual vs batch norm.",
}

app = typer.Typer(
    help="Sweep a grid of small ReLU nets and map where their outputs collapse. "
    "Options run a custom grid; subcommands run presets.",
    no_args_is_help=False,
)

_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False,
          "on": True, "off": False}


def _bool(text: str) -> bool:
    try:
        return _BOOLS[text.lower()]
    except KeyError:
        raise ValueError(text) from None


_bool.__name__ = "booleans (true/false)"

# Shared options (presets and the custom grid take the same run options).
OUT = typer.Option(None, "--out", help="Rows file: .csv (journal beside it as .jsonl), .jsonl, or "
                   ".arrows (Arrow IPC stream, for large sweeps; needs pyarrow). "
                   "Rows are appended as they finish; rerunning skips finished points.")
PLOT = typer.Option(None, "--plot", help="Write a heatmap PNG of the summary table(s).")
DASK = typer.Option(None, "--dask", help="Run on the Dask scheduler at ADDRESS (tcp://host:8786).")
WORKERS = typer.Option(None, "--workers", help="Run on an embedded Dask cluster of N worker processes.")
JSON = typer.Option(False, "--json", help="Print one JSON document on stdout (progress stays on stderr).")
CHUNK = typer.Option(None, "--chunk-size", help="Grid points per task (default: automatic).")


def _run(grid: dict, settings: dict, specs: Any, *, out: Optional[Path], plot: Optional[Path],
         dask: Optional[str], workers: Optional[int], json_out: bool, chunk_size: Optional[int],
         title: str) -> None:
    if dask is not None and workers is not None:
        raise fail("--dask and --workers exclude each other (--workers starts a local cluster)")
    if plot is not None and plot.suffix.lower() != ".png":
        raise fail(f"--plot: expected a .png path, got {str(plot)!r}")
    if plot is not None and not plot.parent.is_dir():
        raise fail(f"--plot: folder {str(plot.parent)!r} does not exist")
    if plot is not None:
        require_matplotlib()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from fastrelu import MissingDependencyError
    from fastrelu.sweeps import sweep
    from fastrelu.sweeps.presets import default_tables, summarize

    backend = "dask" if (dask is not None or workers is not None) else "local"
    if backend == "local":
        first_run_hint("init" if settings.get("steps") == 0 else "ensemble")
    with Progress(TextColumn("[bold]sweep[/]"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("sweep", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            res = sweep(grid, **settings, backend=backend, address=dask, workers=workers,
                        out=str(out) if out is not None else None, progress=progress,
                        chunk_size=chunk_size)
        except MissingDependencyError as exc:
            raise fail(str(exc)) from None
    tables = summarize(res, specs if specs is not None else default_tables(res))
    computed = len(res) - res.n_resumed
    rate = computed / res.elapsed if res.elapsed > 0 else math.inf
    if plot is not None:
        _plot(tables, plot, title)
    if json_out:
        print_json({
            "title": title, "n_points": len(res), "n_resumed": res.n_resumed,
            "n_computed": computed, "elapsed_s": res.elapsed, "points_per_s": rate, "backend": backend,
            "config": res.config, "out": str(out) if out is not None else None,
            "plot": str(plot) if plot is not None else None,
            "tables": [{"title": t, **p.to_dict()} for t, p in tables],
            "rows": res.rows,
        })
        return
    for t, p in tables:
        for table in _tables(t, p, out_console.width):
            out_console.print(table)
    resumed = f", {res.n_resumed} resumed from {out}" if res.n_resumed else ""
    out_console.print(f"{len(res)} points{resumed}; {computed} computed in {res.elapsed:.2f} s "
                      f"({rate:,.0f} points/s, backend {backend})", highlight=False)
    if out is not None:
        out_console.print(f"rows: {out}", highlight=False)
    if plot is not None:
        out_console.print(f"plot: {plot}", highlight=False)


#: Boolean metrics: their mean is a probability in [0, 1].
_PROBS = ("collapsed", "dead_layer", "residual", "batchnorm")


def _fmt(v: float, metric: str) -> str:
    if v != v:  # NaN: no finite value in the cell
        return "-"
    if metric in _PROBS:
        return f"{v:.3f}"
    return f"{v:.3g}"


def _tables(title: str, p: Any, width: int) -> list:
    """The summary table, split by columns into as many tables as it takes to fit ``width``
    (each repeats the row labels; the title says which columns it holds)."""
    cells = [[_fmt(v, p.metric) for v in row] for row in p.values]
    corner = f"{p.index} \\ {p.columns}"
    first = 1 + 3 + max([len(corner)] + [len(str(r)) for r in p.row_labels])  # border, padding
    widths = [3 + max([len(str(c))] + [len(row[j]) for row in cells]) for j, c in enumerate(p.col_labels)]
    parts, start, used = [], 0, first
    for j, w in enumerate(widths):
        if j > start and used + w > width:
            parts.append((start, j))
            start, used = j, first
        used += w
    parts.append((start, len(widths)))
    labels = p.col_labels
    return [_table(title if len(parts) == 1 else f"{title} ({p.columns} {labels[a]} to {labels[b - 1]})",
                   p, corner, cells, a, b) for a, b in parts]


def _table(title: str, p: Any, corner: str, cells: list, start: int, stop: int) -> Any:
    from rich.table import Table

    caption = f"{p.agg} of {p.metric} over seeds and the other keys"
    t = Table(title=title, title_justify="left", min_width=max(len(title), len(caption)) + 2,
              caption=caption, caption_justify="left")
    t.add_column(corner, justify="right", style="bold", no_wrap=True)
    for c in p.col_labels[start:stop]:
        t.add_column(str(c), justify="right", no_wrap=True)
    for label, row in zip(p.row_labels, cells):
        t.add_row(str(label), *row[start:stop])
    return t


def _plot(tables: list, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n = len(tables)
    cols = n if n <= 3 else (2 if n == 4 else 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (t, p) in zip(axes.flat, tables):
        vals = np.asarray(p.values, dtype=float)
        is_prob = p.metric in _PROBS and p.agg == "mean"
        im = ax.imshow(np.ma.masked_invalid(vals), cmap="viridis", aspect="auto",
                       vmin=0.0 if is_prob else None, vmax=1.0 if is_prob else None)
        ax.set_xticks(range(len(p.col_labels)), [str(c) for c in p.col_labels])
        ax.set_yticks(range(len(p.row_labels)), [str(r) for r in p.row_labels])
        ax.set_xlabel(p.columns)
        ax.set_ylabel(p.index)
        ax.set_title(t.replace(" -- ", "\n"), fontsize=9)
        finite = vals[np.isfinite(vals)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), v in np.ndenumerate(vals):
            ax.text(j, i, _fmt(v, p.metric), ha="center", va="center", fontsize=8,
                    color="black" if np.isfinite(v) and v > mid else "white")
        fig.colorbar(im, ax=ax, shrink=0.85)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@app.callback(invoke_without_command=True)
@user_errors
def main(
    ctx: typer.Context,
    width: Optional[str] = typer.Option(None, help="Hidden widths, e.g. 2,3,5,10."),
    depth: Optional[str] = typer.Option(None, help="Numbers of hidden layers, e.g. 4,9,19."),
    init: Optional[str] = typer.Option(None, help="Initializations, e.g. he,rai (zeros, small, "
                                       "xavier, xavier_uniform, he, he_uniform, torch_default, sklearn, rai)."),
    lr: Optional[str] = typer.Option(None, help="Learning rates, e.g. 0.001,0.01,0.1."),
    optimizer: Optional[str] = typer.Option(None, help="Optimizers: sgd, adam, rmsprop."),
    residual: Optional[str] = typer.Option(None, help="Residual connections: false,true."),
    batchnorm: Optional[str] = typer.Option(None, help="Batch normalization: false,true."),
    bias: Optional[str] = typer.Option(None, help="Initial bias values, e.g. 0,0.1."),
    seeds: Optional[int] = typer.Option(None, help="Number of seeds: N means seeds 0..N-1."),
    steps: int = typer.Option(200, help="Training steps per net; 0 measures at initialization."),
    batch_size: int = typer.Option(64, help="Minibatch size."),
    data: str = typer.Option("teacher", help="teacher, abs1d, or an .npz file with arrays X and y."),
    loss: str = typer.Option("mse", help="mse or cross_entropy."),
    out: Optional[Path] = OUT,
    plot: Optional[Path] = PLOT,
    dask: Optional[str] = DASK,
    workers: Optional[int] = WORKERS,
    json_out: bool = JSON,
    chunk_size: Optional[int] = CHUNK,
) -> None:
    """Sweep the product of the given lists (comma-separated) and summarize collapse."""
    grid_given = [width, depth, init, lr, optimizer, residual, batchnorm, bias, seeds]
    if ctx.invoked_subcommand is not None:
        if any(v is not None for v in grid_given):
            raise fail("grid options apply to a custom sweep, not to a preset; "
                       f"run 'fastrelu sweep {ctx.invoked_subcommand} --help'")
        return
    grid: dict[str, Any] = {}
    for key, text, cast in (("width", width, int), ("depth", depth, int), ("init", init, str),
                            ("lr", lr, float), ("optimizer", optimizer, str),
                            ("residual", residual, _bool), ("batchnorm", batchnorm, _bool),
                            ("bias", bias, float)):
        if text is not None:
            grid[key] = parse_list(text, cast, f"--{key}")
    if seeds is not None:
        grid["seed"] = range(_check_seeds(seeds))
    settings = {"data": _data(data), "steps": steps, "batch_size": batch_size, "loss": loss}
    _run(grid, settings, None, out=out, plot=plot, dask=dask, workers=workers,
         json_out=json_out, chunk_size=chunk_size, title="fastrelu sweep")


def _check_seeds(seeds: int) -> int:
    if seeds < 1:
        raise fail(f"--seeds: expected a number of seeds >= 1, got {seeds}")
    return seeds


def _data(text: str) -> Any:
    if not text.lower().endswith(".npz"):
        return text
    import numpy as np

    path = Path(text)
    if not path.is_file():
        raise fail(f"--data: no such file {text!r}")
    with np.load(path, allow_pickle=False) as z:
        if "X" not in z or "y" not in z:
            raise fail(f"--data: {text!r} must hold arrays named X and y, found {', '.join(z.files)}")
        return z["X"], z["y"]


def _preset_command(name: str) -> None:
    @user_errors
    def command(
        seeds: Optional[int] = typer.Option(None, help="Seeds per grid cell (default: the preset's)."),
        steps: Optional[int] = typer.Option(None, help="Override the preset's training steps."),
        out: Optional[Path] = OUT,
        plot: Optional[Path] = PLOT,
        dask: Optional[str] = DASK,
        workers: Optional[int] = WORKERS,
        json_out: bool = JSON,
        chunk_size: Optional[int] = CHUNK,
    ) -> None:
        from fastrelu.sweeps.presets import preset

        p = preset(name)
        if seeds is not None:
            _check_seeds(seeds)
        settings = dict(p.settings)
        if steps is not None:
            settings["steps"] = steps
        _run(p.grid(seeds), settings, p.tables, out=out, plot=plot, dask=dask,
             workers=workers, json_out=json_out, chunk_size=chunk_size,
             title=f"fastrelu sweep {name}")

    command.__doc__ = PRESET_HELP[name]
    app.command(name, help=PRESET_HELP[name])(command)


for _name in PRESET_HELP:
    _preset_command(_name)
