"""Shared CLI plumbing: user errors become a message on stderr and exit code 2."""
from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

F = TypeVar("F", bound=Callable[..., Any])

#: Everything human-readable goes to stderr when --json owns stdout.
err_console = Console(stderr=True)
out_console = Console()


def fail(message: str) -> "typer.Exit":
    """Print ``message`` as a user error on stderr and return an Exit(2) to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code=2)


def user_errors(func: F) -> F:
    """Turn ValueError/TypeError raised by the library into exit code 2, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError, FileNotFoundError) as exc:
            raise fail(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def print_json(doc: Any) -> None:
    """Write exactly one JSON document to stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False, default=_jsonable) + "\n")
    sys.stdout.flush()


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def parse_list(value: str, cast: Callable[[str], Any], option: str) -> list:
    """Parse a comma list such as ``2,3,5`` for ``option``; raise a user error if malformed."""
    items = [v.strip() for v in value.split(",")]
    if not items or any(v == "" for v in items):
        raise fail(f"{option}: expected a comma-separated list, got {value!r}")
    try:
        return [cast(v) for v in items]
    except ValueError:
        raise fail(f"{option}: could not read {value!r} as a list of {cast.__name__}") from None


def first_run_hint(work: str) -> None:
    """On stderr, before a long silent first run: the kernels compile once."""
    import fastrelu as fr

    if not fr.kernels_cached(work):
        seconds = fr.runtime.FIRST_RUN_SECONDS[work]
        err_console.print(f"first run: compiling fastrelu's kernels for this ({seconds:.0f} s on a "
                          "2-core machine in our measurement, once; later runs load them from the "
                          "cache)", style="dim", highlight=False)


def require_matplotlib(option: str = "--plot") -> None:
    """Exit 2 with an install hint, before any work, when ``option`` needs matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise fail(f"{option} needs matplotlib, which is not installed: "
                   "pip install 'fastrelu[plot]'") from None
