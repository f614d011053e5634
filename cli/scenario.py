"""`fastrelu scenario NAME`: reproduce a failure mode next to its fixes, measured.

NAME is a scenario (see `fastrelu scenario list`), `list`, or `all`. Human output is a rich
table per scenario on stdout (progress on stderr); `--json` writes exactly one JSON document.
"""
from __future__ import annotations

import math
from typing import Optional

import typer
from rich.markup import escape

from fastrelu_cli._common import (err_console, fail, first_run_hint, out_console, print_json,
                                  require_matplotlib, user_errors)

app = typer.Typer(
    help="Reproduce why a ReLU net outputs the same value for every input, next to the fixes.",
    no_args_is_help=False,
    add_completion=False,
    # options may follow NAME (`fastrelu scenario lr-explosion --json`)
    context_settings={"allow_interspersed_args": True},
)

@app.callback(invoke_without_command=True)
@user_errors
def scenario(
    name: str = typer.Argument(..., help="Scenario name, 'list' to list them, or 'all' to run every one."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed for data, initialization and batch order."),
    json_out: bool = typer.Option(False, "--json", help="Write one JSON document to stdout."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Save a PNG of loss, dead fraction and "
                                       "output std over steps (needs matplotlib)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Minibatch steps per arm "
                                        "(default: the scenario's own)."),
) -> None:
    """Run scenario NAME (or `list`, or `all`) and show broken and fixed arms side by side."""
    from fastrelu import scenarios  # the registry is light; numba loads when an arm trains

    if name == "list":
        _list(scenarios, json_out)
        return
    if name != "all" and name not in scenarios.names():
        real = ", ".join(scenarios.closest(name))
        raise fail(f"unknown scenario {name!r}; choose one of: {real} (or 'list', 'all')")
    if plot is not None and not plot.lower().endswith(".png"):
        raise fail(f"--plot: expected a file name ending in .png, got {plot!r}")
    if plot is not None:
        require_matplotlib()
    todo = scenarios.names() if name == "all" else [name]
    first_run_hint("fit")
    results = _run_all(scenarios, todo, seed, steps, record=plot is not None)
    if json_out:
        docs = [r.to_dict() for r in results]
        print_json(docs[0] if name != "all" else {"seed": seed, "scenarios": docs})
    else:
        for r in results:
            out_console.print(_table(r))
            _print_notes(r)
    if plot is not None:
        from fastrelu_cli._scenario_plot import save_plot

        save_plot(results, plot)
        err_console.print(f"plot saved to {plot}")


def _list(scenarios, json_out: bool) -> None:
    items = scenarios.summaries()
    if json_out:
        print_json({"scenarios": [{"name": k, "summary": v} for k, v in items.items()]})
        return
    from rich.table import Table

    table = Table(title="fastrelu scenarios", show_lines=False)
    table.add_column("name", style="bold")
    table.add_column("what breaks, and the fixes")
    for k, v in items.items():
        table.add_row(k, v)
    out_console.print(table)
    out_console.print("Run one with: fastrelu scenario NAME [--seed N] [--json] [--plot FILE.png]")


def _run_all(scenarios, todo, seed, steps, record: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    results = []
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=not err_console.is_terminal)
    with progress:
        total = sum(len(scenarios.get(n).arms()) for n in todo)
        task = progress.add_task("training", total=total)

        def tick(arm_name: str, i: int, n: int, _scenario: str = "") -> None:
            if i:
                progress.advance(task)
            progress.update(task, description=f"{_scenario}: {arm_name}")

        for n in todo:
            res = scenarios.run(n, seed=seed, steps=steps, record=record,
                                progress=lambda a, i, k, _n=n: tick(a, i, k, _n))
            progress.advance(task)
            results.append(res)
    return results


def _num(x, fmt: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "nan/inf"
    if x == 0:
        return "0"
    return format(x, fmt)


def _table(result):
    """One row per arm, in the scenario's order: any number of arms fits 80 columns."""
    from rich.table import Table

    table = Table(title=f"[bold]{result.scenario}[/] (seed {result.seed}, {result.steps} steps): "
                  f"{result.summary}", title_justify="left", show_lines=True,
                  caption=(f"data: {result.data}. dead % per hidden layer; std ratio = output std / "
                           "target std across inputs. COLLAPSED = std ratio <= 1e-3 or outputs "
                           "non-finite; DIVERGED = the loss or the weights overflowed at that step "
                           "(training stopped there)."), caption_justify="left")
    # Text columns wrap at spaces (fold a word only if it is wider than the column); numbers and
    # the cause label never wrap, so the narrowing falls on the text columns.
    table.add_column("arm (role)", style="bold", overflow="fold")
    table.add_column("outcome", overflow="fold")
    table.add_column("loss", justify="right", no_wrap=True)
    table.add_column("dead %", justify="right", overflow="fold")
    table.add_column("std ratio", justify="right", no_wrap=True)
    table.add_column("cause", no_wrap=True)
    style = {"broken": "red", "fix": "green", "partial": "yellow"}
    for a in result.arms:
        table.add_row(f"{escape(a.name)} [{style[a.role]}]({a.role})[/]", _outcome(a),
                      _num(a.final_loss), _dead(a.dead_fraction), _num(a.output_std_ratio, ".2g"),
                      escape(a.causes[0]["cause"]) if a.causes else "-")
    return table


def _outcome(arm) -> str:
    if arm.collapsed:
        return "[bold red]COLLAPSED[/]"
    if arm.diverged_at is not None:
        return f"[bold red]DIVERGED[/] at step {arm.diverged_at}"
    return "[green]trains[/]"


def _dead(fractions) -> str:
    vals = [f"{100 * d:.0f}" if d is not None and math.isfinite(d) else "nan" for d in fractions]
    if len(vals) > 6:
        worst = max((d for d in fractions if d is not None and math.isfinite(d)), default=float("nan"))
        return f"{vals[0]}, {vals[1]}, ..., {vals[-1]} (max {100 * worst:.0f})"
    return ", ".join(vals)


def _print_notes(result) -> None:
    for a in result.arms:
        if a.causes and (a.role != "fix" or a.collapsed):
            out_console.print(f"[bold]{a.name}[/]: {a.causes[0]['evidence']}", highlight=False)
    bd = result.measurements.get("born_dead_probability")
    if bd:
        parts = [f"{k.replace('_', ' ')}: {100 * v:.1f}%" for k, v in bd.items()
                 if isinstance(v, float) and not k.startswith("theory")]
        th = next((v for k, v in bd.items() if k.startswith("theory")), None)
        line = f"Born dead at initialization over {bd['seeds']} seeds: " + "; ".join(parts)
        if th:
            line += f" (theory for He width 2: between {100 * th['lower']:.1f}% and {100 * th['upper']:.1f}%)"
        out_console.print(line, highlight=False)
    out_console.print()
