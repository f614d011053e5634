"""`fastrelu sweep`: not implemented yet (see the open issue)."""
from __future__ import annotations

import typer

from fastrelu_cli._common import fail

app = typer.Typer(help="(not implemented yet)", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def sweep() -> None:
    """Not implemented yet."""
    raise fail("'fastrelu sweep' is not implemented yet")
