"""Entry point of the ``fastrelu`` command: one Typer sub-app per command group.

Heavy imports (numba kernels, dask, matplotlib, peers) happen inside the commands so that
``fastrelu --help`` stays fast.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading

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


def run() -> None:
    """The ``fastrelu`` command (and ``python -m fastrelu_cli.app``): the Typer app, then a
    quick exit.

    After a command that ran a compiled kernel, the interpreter's shutdown spent 0.5-0.7 s
    tearing down numba's and llvmlite's objects (0.12 s after importing numba alone; 2-core
    EPYC), once the output was complete. So once the app has returned, and no other thread is
    left, the atexit handlers run (logging, Dask, temporary files), both streams are flushed
    and the process ends with the app's exit code, skipping that teardown. With other threads
    alive the exit is the ordinary one.
    """
    code: "int | str | None" = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    if threading.active_count() > 1:
        sys.exit(code)
    if isinstance(code, str):   # what SystemExit does with a message: print it, status 1
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # a closed pipe (``| head``): Python's own status, 120
            code = code or 120
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    run()
