"""Entry point of the ``fastrelu`` command: one Typer sub-app per command group.

Heavy imports (numba kernels, dask, matplotlib, peers) happen inside the commands so that
``fastrelu --help`` stays fast.
"""
from __future__ import annotations

import typer

from fastrelu_cli import bench, doctor, scenario, sweep, warmup

app = typer.Typer(
    name="fastrelu",
    help="Why does my ReLU network output the same value for every input? "
    "Reproduce each failure mode next to its fixes, sweep where outputs collapse, benchmark, "
    "diagnose your own model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(scenario.app, name="scenario")
app.add_typer(sweep.app, name="sweep")
app.add_typer(bench.app, name="bench")
app.add_typer(doctor.app, name="doctor")
app.add_typer(warmup.app, name="warmup")


@app.callback()
def main() -> None:
    """fastrelu: reproduce, diagnose and sweep collapsed ReLU networks."""


if __name__ == "__main__":  # pragma: no cover
    app()
