"""Crash-safe sweep journals: where finished rows go, appended atomically, resumable.

Two formats, chosen by the suffix of ``out`` (:func:`open_journal`):

* ``.arrows``: an Arrow IPC stream, one record batch per chunk, read back by column without
  per-row Python (:mod:`fastrelu.sweeps.arrow_journal` says why this format). For large sweeps;
  needs pyarrow.
* ``.jsonl`` / ``.ndjson`` (and ``.csv``, whose journal is the ``.jsonl`` beside it): JSON
  Lines, readable by anything, for small sweeps (every row is parsed in Python on resume, and
  the result is kept in memory).

Both share the header (format version and settings, refusing mismatched resumes), the lock
and the crash-safety rule. Layout of a JSON Lines journal:

* line 1: ``{"fastrelu_sweep": 1, "config": {...}}`` -- the settings every row was computed
  with (data digest, steps, batch size, loss, row schema). Resuming with other settings is
  refused rather than silently mixing incomparable rows.
* every other line: one row (grid values and metrics).

Each finished chunk is written with a single ``os.write`` on an ``O_APPEND`` descriptor
followed by ``fsync``. A process killed at any moment leaves at most one partial last line,
which the next open cuts off; every complete line is a finished point that is not redone.
The journal is locked (``flock``) while a sweep writes it, so two sweeps cannot interleave.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from fastrelu import _validation as v
from fastrelu.sweeps.columns import Batch
from fastrelu.sweeps.header import FORMAT, check_header, lock, make_header

#: Suffixes ``sweep(out=...)`` accepts.
SUFFIXES = (".arrows", ".jsonl", ".ndjson", ".csv")

#: Rows parsed per block when a JSON Lines journal is read back by column.
JSONL_BLOCK = 4096


def journal_path(out: "str | os.PathLike") -> Path:
    """The journal file behind ``out``: ``out`` itself for ``.arrows``/``.jsonl``/``.ndjson``,
    the same name with suffix ``.jsonl`` for ``.csv`` (the CSV is exported when the sweep ends).

    Raises
    ------
    ValueError
        For any other suffix, or when the folder does not exist.
    fastrelu.MissingDependencyError
        For ``.arrows`` without pyarrow.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise v.reject(ValueError, "out", str(out), "a path ending in " + ", ".join(SUFFIXES))
    if not path.parent.is_dir():
        raise v.reject(ValueError, "out", str(out), f"a path in an existing folder ({str(path.parent)!r} does not exist)")
    if suffix == ".arrows":
        from fastrelu.sweeps.arrow_journal import require_pyarrow

        require_pyarrow()  # before any work: the hint, not a failure after the first chunk
    return path.with_suffix(".jsonl") if suffix == ".csv" else path


def open_journal(path: "str | os.PathLike", config: dict) -> "Journal | Any":
    """Open (or create) the journal at ``path`` (a :func:`journal_path`): an
    :class:`~fastrelu.sweeps.arrow_journal.ArrowJournal` for ``.arrows``, else a
    :class:`Journal`."""
    if Path(path).suffix.lower() == ".arrows":
        from fastrelu.sweeps.arrow_journal import ArrowJournal

        return ArrowJournal(path, config)
    return Journal(path, config)


def dumps_row(row: dict) -> str:
    """One row as a JSON line (no NaN: non-finite numbers are stored as null)."""
    return json.dumps(row, separators=(",", ":"), allow_nan=False) + "\n"


class Journal:
    """An open, locked journal.

    Parameters
    ----------
    path : path-like
        The journal file (created when missing).
    config : dict
        JSON-able settings every row depends on; must equal the stored header when the file
        already has one.

    Raises
    ------
    ValueError
        The file belongs to a sweep with different settings, is not a sweep journal, or is
        being written by another running sweep.
    """

    def __init__(self, path: "str | os.PathLike", config: dict) -> None:
        self.path = Path(path)
        self.header = make_header(config)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            lock(self._fd, self.path)
            self._check_header()
        except BaseException:
            os.close(self._fd)
            raise

    def _check_header(self) -> None:
        size = os.fstat(self._fd).st_size
        if size == 0:
            self._write(json.dumps(self.header, separators=(",", ":")) + "\n")
            return
        with open(self.path, "rb") as fh:
            first = fh.readline()
            fh.seek(max(0, size - 1))
            last_byte = fh.read(1)
        if not first.endswith(b"\n") and first.startswith(b'{"fastrelu_sweep"'):
            os.ftruncate(self._fd, 0)  # killed while writing the header: start afresh
            self._write(json.dumps(self.header, separators=(",", ":")) + "\n")
            return
        try:
            stored = json.loads(first)
        except ValueError:
            stored = None
        check_header(self.path, stored, self.header)
        if last_byte != b"\n":  # a kill during the last write: cut the partial line
            os.ftruncate(self._fd, _end_of_last_line(self.path, size))

    def rows(self) -> Iterable[dict]:
        """Iterate over the rows already in the journal (lazily, line by line)."""
        with open(self.path, "rb") as fh:
            fh.readline()
            for lineno, line in enumerate(fh, start=2):
                if not line.endswith(b"\n"):
                    break
                try:
                    yield json.loads(line)
                except ValueError:
                    raise ValueError(f"out: {str(self.path)!r} line {lineno} is corrupt") from None

    def batches(self) -> Iterator[Batch]:
        """The rows already in the journal, by column, in blocks of :data:`JSONL_BLOCK`.

        Raises
        ------
        ValueError
            A corrupt line, or a row without every field.
        """
        block: list = []
        for row in self.rows():
            block.append(row)
            if len(block) == JSONL_BLOCK:
                yield self._batch(block)
                block = []
        if block:
            yield self._batch(block)

    def _batch(self, rows: list) -> Batch:
        try:
            return Batch.from_rows(rows)
        except ValueError as exc:
            raise ValueError(f"out: {str(self.path)!r} has {exc}") from None

    def append_batch(self, batch: Batch) -> None:
        """Append a chunk's rows (by column) as JSON lines: one write, one fsync."""
        self.append(batch.rows())

    def _write(self, text: str) -> None:
        data = text.encode()
        view = memoryview(data)
        while view:  # a regular file takes it in one call; loop only for robustness
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    def append(self, rows: Iterable[dict]) -> None:
        """Append rows with one write and one fsync."""
        text = "".join(dumps_row(r) for r in rows)
        if text:
            self._write(text)

    def close(self) -> None:
        """Release the lock and close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _end_of_last_line(path: Path, size: int, block: int = 1 << 16) -> int:
    """Offset just after the last newline of the file (0 when there is none)."""
    with open(path, "rb") as fh:
        end = size
        while end > 0:
            start = max(0, end - block)
            fh.seek(start)
            pos = fh.read(end - start).rfind(b"\n")
            if pos >= 0:
                return start + pos + 1
            end = start
    return 0


def replace_atomic(path: "str | os.PathLike", write: Callable[[str], None]) -> None:
    """Write a file atomically by name: ``write(tmp)`` creates the temporary file ``tmp``
    beside ``path`` (e.g. a Parquet writer), which is then synced and replaces ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomic(path: "str | os.PathLike", write: Callable[[Any], None]) -> None:
    """Write a text file atomically: ``write(fh)`` fills a temporary file beside ``path``,
    which then replaces ``path`` (readers see the old file or the complete new one)."""

    def write_text(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            write(fh)

    replace_atomic(path, write_text)
