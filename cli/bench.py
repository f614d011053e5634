"""`fastrelu bench [W1|W2|W3|S0|all]`: fastrelu against NumPy, PyTorch and JAX, side by side.

All numerics live in :mod:`fastrelu_bench`; this module parses options, draws the
progress bar on stderr and renders the report (a rich table, or one JSON document on stdout).
"""
from __future__ import annotations

import shlex
from typing import Any, Optional

import typer

from fastrelu_cli._common import err_console, fail, out_console, parse_list, print_json, user_errors

app = typer.Typer(
    help="Benchmark fastrelu against NumPy, PyTorch and JAX on workloads W1, W2, W3, S0.",
    no_args_is_help=False,
    # A sub-app with no subcommands: let options follow the workload argument.
    context_settings={"allow_interspersed_args": True},
)

VALID = ("W1", "W2", "W3", "S0", "all")


@app.callback(invoke_without_command=True)
@user_errors
def bench(
    workload: str = typer.Argument("all", help="Workload: W1 (tiny net), W2 (512-net sweep), "
                                   "W3 (wide net), S0 (born-dead nets at initialization) or all.",
                                   show_default=True),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    repeat: int = typer.Option(5, "--repeat", min=1, help="Timed runs per implementation (median)."),
    impl: Optional[str] = typer.Option(None, "--impl", help="Comma list of implementations "
                                       "to run (default: all installed)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Threads for torch and "
                                          "numba during runs (default: one per core)."),
    settle: float = typer.Option(0.2, "--settle", min=0.0, max=60.0, help="Seconds to pause before "
                                 "each timed run, so that thread pools the previous implementation "
                                 "left busy-waiting (OpenBLAS: about 0.1 s) go idle."),
    ceiling: bool = typer.Option(True, "--ceiling/--no-ceiling", help="Measure the sgemm ceiling."),
    cold: bool = typer.Option(True, "--cold-start/--no-cold-start",
                              help="Measure cold start with an empty and a warm numba cache."),
    cold_cmd: Optional[str] = typer.Option(None, "--cold-start-cmd", help="Command timed for "
                                           "cold start (default: fastrelu scenario lr-explosion)."),
    save: Optional[str] = typer.Option(None, "--save", help="Also write the JSON document to "
                                       "this file."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, hidden=True,
                                        help="Override steps per workload (quick runs, tests)."),
    nets: Optional[int] = typer.Option(None, "--nets", min=1, hidden=True,
                                       help="Override the number of W2 networks."),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="Nets per S0 cell "
                                        "(width x depth), default 1000."),
    ceiling_n: int = typer.Option(4096, "--ceiling-n", min=1, hidden=True,
                                  help="Matrix size of the sgemm ceiling."),
) -> None:
    """Run workloads x implementations interleaved and report medians and ratios to fastrelu."""
    if workload.upper() not in {v.upper() for v in VALID}:
        raise fail(f"unknown workload {workload!r}; valid names: {', '.join(VALID)}")
    impls = parse_list(impl, str, "--impl") if impl else None

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fastrelu_bench.runner import resolve_workloads, run_benchmarks

    _check_peers(resolve_workloads(workload), impls)
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def progress(done: int, total: int, description: str) -> None:
            bar.update(task, completed=done, total=total, description=description)

        report = run_benchmarks(workload, implementations=impls, repeat=repeat, steps=steps,
                                n_nets=nets, seeds=seeds, ceiling=ceiling, ceiling_n=ceiling_n, cold=cold,
                                cold_command=shlex.split(cold_cmd) if cold_cmd else None,
                                threads=threads, settle=settle,
                                progress=progress)
    doc = report.to_dict()
    doc["ok"] = report.ok
    if save:
        import json
        from pathlib import Path

        Path(save).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    if json_out:
        print_json(doc)
    else:
        _render(doc)
    if not report.ok:
        err_console.print("[bold red]some implementations failed the correctness gate or raised "
                          "(see the status column and the notes below each table)[/]")
        raise typer.Exit(code=1)


def _check_peers(workloads: list[str], impls: Optional[list[str]]) -> None:
    """Peers missing here: exit 2 if ``--impl`` asked for one, else say on stderr which are skipped."""
    from fastrelu_bench.implementations import INSTALL_HINT, unavailable

    missing = unavailable(workloads, impls)
    if not missing:
        return
    modules = sorted({m for ms in missing.values() for m in ms})
    what = f"{', '.join(missing)} need{'s' if len(missing) == 1 else ''} {' and '.join(modules)}, not installed"
    if impls is not None:
        raise fail(f"--impl: {what}; install the peers with: {INSTALL_HINT}")
    err_console.print(f"skipping {what} (install the peers with: {INSTALL_HINT})",
                      markup=False, highlight=False)


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ratio(value: float) -> str:
    """``2.31x``; two significant digits below 0.1 (``0.014x``, not ``0.01x``)."""
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


#: Headers of the per-workload table (explained in its legend), and the colour of a status.
_COLUMNS = ("impl", "rate", "vs fr", "GF/s", "%ceil", "loss", "thr", "status")
_STYLE = {"ok": "green", "skipped": "yellow"}


def _render(doc: dict) -> None:
    """One 80-column table per workload (short headers, legend below), then the machine."""
    for w in doc["workloads"]:
        if w["grid"] is not None:
            out_console.print(_s0_table(w))
            out_console.print(_s0_cells(w))
        else:
            out_console.print(_workload_table(w))
        for r in w["implementations"]:
            if r["vs_best_peer"] is not None:
                out_console.print(f"{r['name']}: {_ratio(r['vs_best_peer'])} the best peer "
                                  f"({w['best_peer']})", markup=False, highlight=False)
        for r in w["implementations"]:
            if r["reason"]:
                out_console.print(f"{r['name']}: {r['status']}: {r['reason']}", markup=False,
                                  highlight=False, style=_STYLE.get(r["status"], "red"))
        out_console.print()
    _print_machine(doc)


def _workload_table(w: dict) -> Any:
    from rich import box
    from rich.table import Table

    nets = f", {w['n_nets']} nets" if w["n_nets"] > 1 else ""
    legend = [f"rate: {w['metric']}", "vs fr: median(impl) / median(fastrelu)", "GF/s: GFLOP/s"]
    if w.get("ceiling"):
        legend.append(f"%ceil: share of sgemm {w['ceiling']['n']}^3 measured in the same rounds "
                      f"({w['ceiling']['gflops']:.1f} GFLOP/s)")
    legend += [f"loss: full-data loss after training (the gate; reference {w['reference']})",
               "thr: threads"]
    table = Table(title=f"{w['workload']}: MLP {'-'.join(map(str, w['sizes']))}, batch "
                  f"{w['batch_size']}, {w['steps']} steps{nets}", title_justify="left",
                  caption="; ".join(legend), caption_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, collapse_padding=True)
    for header in _COLUMNS:
        table.add_column(header, justify="left" if header in ("impl", "status") else "right",
                         no_wrap=True)
    for r in w["implementations"]:
        share = None if r["ceiling_share"] is None else 100 * r["ceiling_share"]
        speedup = r["fastrelu_speedup"]
        table.add_row(r["name"], _fmt(r["throughput"], ",.0f"),
                      "-" if speedup is None else f"{speedup:.2f}x", _fmt(r["gflops"], ".1f"),
                      _fmt(share, ".1f"), _fmt(r["final_loss"], ".5g"), _fmt(r["threads"], "d"),
                      f"[{_STYLE.get(r['status'], 'red')}]{r['status']}[/]")
    return table


def _table(title: str, caption: str) -> Any:
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", caption=caption, caption_justify="left",
                 box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)


def _s0_table(w: dict) -> Any:
    """S0's implementations: rate, ratio to fastrelu, the gate's score, threads, status."""
    g = w["grid"]
    table = _table(f"S0: born dead at init, {g['seeds_per_cell']} nets per cell, {g['n_rows']} rows",
                   f"rate: {w['metric']}; vs fr: median(impl) / median(fastrelu); gate: largest "
                   f"|P - P({w['reference']})| over cells in Monte Carlo tolerances (4 standard "
                   "errors; <= 1 agrees; bounds checked too); thr: threads")
    for header in ("impl", "rate", "vs fr", "gate", "thr", "status"):
        table.add_column(header, justify="left" if header in ("impl", "status") else "right",
                         no_wrap=True)
    for r in w["implementations"]:
        speedup = r["fastrelu_speedup"]
        table.add_row(r["name"], _fmt(r["throughput"], ",.0f"),
                      "-" if speedup is None else _ratio(speedup), _fmt(r["gate_score"], ".2f"),
                      _fmt(r["threads"], "d"), f"[{_STYLE.get(r['status'], 'red')}]{r['status']}[/]")
    return table


def _s0_cells(w: dict) -> Any:
    """P(dead layer) per cell for every implementation the gate saw, with the bounds."""
    g = w["grid"]
    rows = [r for r in w["implementations"] if r["p_dead_layer"] is not None]
    table = _table("S0: P(dead layer) per cell", "lower, upper: fastrelu.theory.born_dead_bounds "
                   "(upper: one fixed input meets a dead layer)")
    for header in ("width", "depth", "lower", "upper", *(r["name"] for r in rows)):
        table.add_column(header, justify="right", no_wrap=True)
    for i, depth in enumerate(g["depths"]):
        for j, width in enumerate(g["widths"]):
            table.add_row(str(width), str(depth), f"{g['lower_bound'][i][j]:.3f}",
                          f"{g['upper_bound'][i][j]:.3f}",
                          *(f"{r['p_dead_layer'][i][j]:.3f}" for r in rows))
    return table


def _print_machine(doc: dict) -> None:
    ceiling = doc.get("ceiling")
    if ceiling:
        out_console.print(f"machine ceiling: sgemm {ceiling['n']}^3 through NumPy: "
                          f"{ceiling['gflops']:.1f} GFLOP/s (median of all rounds; best "
                          f"{ceiling['best_gflops']:.1f})")
    cold = doc.get("cold_start")
    if cold:
        if cold["ok"]:
            out_console.print(f"cold start ({shlex.join(cold['command'])}): empty numba cache "
                              f"{cold['cold_s']:.2f} s, warm cache {cold['warm_s']:.2f} s",
                              markup=False, highlight=False)
        else:
            out_console.print(f"cold start failed: {cold.get('error')}", style="red", markup=False)
    m = doc["machine"]
    blas = ", ".join(f"{k} {v}" for k, v in (m.get("openblas_core") or {}).items()) or "unknown"
    out_console.print(f"{doc['date']}, {m.get('cpu_model', m.get('processor'))}, {m['cpu_count']} cores, "
                      f"OpenBLAS kernels: {blas}; repeat {doc['repeat']} (medians), "
                      f"{doc.get('settle_s', 0):g} s pause before each run; seconds per run "
                      "and every timing in --json", markup=False, highlight=False)
