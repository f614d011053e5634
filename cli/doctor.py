"""`fastrelu doctor MODEL --data DATA`: diagnose the user's own saved model.

MODEL is a model file (``.pt``/``.pth`` state_dict read with ``weights_only=True``,
``.safetensors``, ``.npz``, ``.onnx``); DATA an ``.npz`` with arrays ``X`` and ``y`` or a
``.csv`` with a header (``--target`` names the target column). Human output (verdict, per-layer
table, findings, measured fixes) goes to stdout; `--json` writes ``Report.to_dict()`` as one
JSON document on stdout, and everything else on stderr. Exit 0 when the diagnosis ran, whatever
it found; 2 on a user error (bad file, bad option, missing optional package).
"""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from fastrelu_cli._common import (err_console, fail, first_run_hint, out_console, print_json,
                                  require_matplotlib, user_errors)

app = typer.Typer(help="Diagnose your own saved model: why are its outputs identical, and which fix works.",
                  no_args_is_help=True, add_completion=False,
                  context_settings={"allow_interspersed_args": True})

LOSSES = ("mse", "cross_entropy")


@app.callback(invoke_without_command=True)
@user_errors
def doctor(
    model: Annotated[str, typer.Argument(help="Model file: .pt/.pth (state_dict), .safetensors, .npz or .onnx.")],
    data: Annotated[str, typer.Option("--data", help="Data: .npz with arrays X and y, or .csv with a header.")],
    loss: Annotated[Optional[str], typer.Option("--loss", help="mse or cross_entropy (default: cross_entropy "
                                                "for integer labels, else mse).")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="CSV column holding the targets "
                                                  "(default: a column named y or target).")] = None,
    output_activation: Annotated[Optional[str], typer.Option(
        "--output-activation", help="What follows the last Linear layer of a state_dict: relu, sigmoid, "
        "softmax, log_softmax or tanh (default: nothing).")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="The learning rate you train with (enables the "
                                                "learning-rate probe; used by --fix).")] = None,
    optimizer: Annotated[Optional[str], typer.Option("--optimizer", help="sgd, adam or rmsprop "
                                                     "(default: sgd).")] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Train fresh nets per candidate fix and measure them.")] = False,
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="Fresh nets per candidate (--fix).")] = 16,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Steps per net (--fix).")] = 300,
    json_out: Annotated[bool, typer.Option("--json", help="Write one JSON document to stdout.")] = False,
    plot: Annotated[Optional[str], typer.Option("--plot", help="Save a PNG of dead fraction and mean square "
                                                "per layer against theory (and P(collapse) per fix).")] = None,
) -> None:
    """Diagnose MODEL on DATA: the verdict, the per-layer table and the findings, most likely first."""
    if loss is not None and loss not in LOSSES:
        raise fail(f"--loss={loss!r} is not accepted; expected one of {', '.join(LOSSES)}")
    if plot is not None:
        if not plot.lower().endswith(".png"):
            raise fail(f"--plot: expected a file name ending in .png, got {plot!r}")
        require_matplotlib()
    import fastrelu as fr

    X, y = fr.load_data(data, target=target)
    if fix and y is None:
        raise fail(f"--fix trains on the targets, and {data} has none (name the column with --target)")
    first_run_hint("fit")
    if fix:
        err_console.print(f"measuring fixes: {seeds} fresh nets x {steps} steps per candidate", style="dim",
                          highlight=False)
    try:
        report = fr.diagnose(model, X, y, loss=loss, lr=lr, optimizer=optimizer, fix=fix, seeds=seeds,
                             steps=steps, output_activation=output_activation)
    except fr.MissingDependencyError as exc:
        raise fail(str(exc)) from None
    if json_out:
        print_json(report.to_dict())
    else:
        out_console.print(report)
    if plot is not None:
        from fastrelu_cli._doctor_plot import save_plot
        save_plot(report, plot)
        err_console.print(f"plot saved to {plot}", highlight=False)
