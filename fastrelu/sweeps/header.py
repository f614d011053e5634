"""What every sweep journal shares, whatever its format: the header (format version and the
settings every row was computed with), its check on resume, and the exclusive lock."""
from __future__ import annotations

from pathlib import Path
from typing import Any

try:  # POSIX only; elsewhere concurrent sweeps on one file are simply not detected
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

#: Version of the journal layout and row schema.
FORMAT = 1


def make_header(config: dict) -> dict:
    """The header stored at the start of a journal."""
    return {"fastrelu_sweep": FORMAT, "config": config}


def lock(fd: int, path: Path) -> None:
    """Take the exclusive lock of an open journal, or refuse: another sweep writes it."""
    if fcntl is None:  # pragma: no cover
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ValueError(f"out: {str(path)!r} is being written by another running sweep") from None


def check_header(path: Path, stored: Any, header: dict) -> None:
    """Refuse a journal whose stored header is not a sweep's, or holds other settings.

    Raises
    ------
    ValueError
        Naming the file, and the settings that differ.
    """
    if not isinstance(stored, dict) or stored.get("fastrelu_sweep") != FORMAT \
            or not isinstance(stored.get("config"), dict):
        raise ValueError(f"out: {str(path)!r} exists and is not a fastrelu sweep journal")
    if stored != header:
        diff = sorted(k for k in set(stored["config"]) | set(header["config"])
                      if stored["config"].get(k) != header["config"].get(k))
        raise ValueError(
            f"out: {str(path)!r} holds rows computed with other settings "
            f"(differs in: {', '.join(diff)}); use another out path or the same settings"
        )
