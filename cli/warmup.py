"""`fastrelu warmup`: compile every kernel ahead of time (CI images, Docker layers, Dask workers).

Prints one row per part with the seconds it took (stdout; `--json`: one JSON document), a
progress line per part on stderr.
"""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from fastrelu_cli._common import err_console, out_console, parse_list, print_json, user_errors

app = typer.Typer(help="Compile fastrelu's kernels ahead of time, so that later runs start in about a second.",
                  no_args_is_help=False, add_completion=False)


@app.callback(invoke_without_command=True)
@user_errors
def warmup(
    parts: Annotated[Optional[str], typer.Option("--parts", help="Comma list of parts (default: all): fit, "
                                                 "fit-float64, parallel, wide, ensemble.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Write one JSON document to stdout.")] = False,
) -> None:
    """Compile (or load from the cache) the kernels of every part and say how long each took."""
    import fastrelu as fr

    chosen = None if parts is None else parse_list(parts, str, "--parts")

    def progress(name: str, done: int, total: int) -> None:
        err_console.print(f"[{done + 1}/{total}] {name} ...", style="dim", highlight=False)

    done = fr.warmup(chosen, progress=progress)
    total = sum(p.seconds for p in done)
    if json_out:
        print_json({"parts": [{"name": p.name, "seconds": p.seconds, "cached_before": p.cached} for p in done],
                    "seconds": total})
        return
    from rich.table import Table

    table = Table(title="fastrelu warmup", caption="cached: the part's kernels were in the cache before")
    for col in ("part", "seconds", "cached"):
        table.add_column(col, justify="left" if col == "part" else "right")
    for p in done:
        table.add_row(p.name, f"{p.seconds:.2f}", "yes" if p.cached else "no")
    table.add_row("total", f"{total:.2f}", "")
    out_console.print(table)
