"""``fr.sweep``: validate everything, resume from the journal, run a backend, collect rows."""
from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from fastrelu import _validation as v
from fastrelu import optim, rules
from fastrelu.sweeps import backends
from fastrelu.sweeps.grid import Grid
from fastrelu.sweeps.group import ENGINES, Dataset, resolve_data, train_group
from fastrelu.sweeps.result import FIELDS, SweepResult
from fastrelu.sweeps.storage import Journal, journal_path

log = logging.getLogger("fastrelu.sweeps")

BACKENDS = ("local", "dask")

#: Points per chunk of the local backend (one ensemble per chunk).
LOCAL_CHUNK = 256


def _progress_fn(progress: Any) -> Callable[[int, int], None]:
    if progress is None or progress is False:
        return lambda done, total: None
    if progress is True:
        last = [0.0]

        def log_progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done == total or now - last[0] >= 1.0:
                last[0] = now
                log.info("sweep: %d/%d points", done, total)

        return log_progress
    if callable(progress):
        return progress
    raise v.reject(TypeError, "progress", progress, "True, False, None or a callable(done, total)")


@v.validated(steps=v.Int(minimum=0), batch_size=v.Int(minimum=1), optimizer=v.Choice(optim.NAMES),
             loss=v.Choice(rules.LOSSES), backend=v.Choice(BACKENDS), workers=v.Int(minimum=1, none=True),
             chunk_size=v.Int(minimum=1, none=True), engine=v.Choice(ENGINES))
def sweep(
    grid: Mapping[str, Any],
    *,
    data: Any = "teacher",
    steps: int = 200,
    batch_size: int = 64,
    optimizer: str = "sgd",
    loss: str = "mse",
    backend: str = "local",
    address: Any = None,
    workers: "int | None" = None,
    out: Any = None,
    progress: Any = False,
    chunk_size: "int | None" = None,
    engine: str = "ensemble",
) -> SweepResult:
    """Train one small ReLU MLP per grid point and measure whether its outputs collapsed.

    Parameters
    ----------
    grid : dict of lists
        The sweep is the product of the lists. Keys: ``width``, ``depth`` (hidden layers),
        ``init``, ``lr``, ``seed``, ``optimizer``, ``residual``, ``batchnorm``, ``bias`` (the
        initial bias value). Left-out keys take defaults (width 16, depth 3, init "he", lr
        0.01, seed 0, optimizer from ``optimizer=``, no residual, no batchnorm, bias 0).
        Points of one architecture are trained together as one ensemble (one task).
    data : {"teacher", "abs1d"} or (X, y)
        A dataset of ``fastrelu.data`` or arrays. Every point trains on the same data.
    steps : int
        Minibatch steps per net; 0 measures the nets at initialization.
    batch_size : int
    optimizer : {"sgd", "adam", "rmsprop"}
        Default of the ``optimizer`` grid key (torch defaults apart from the learning rate).
    loss : {"mse", "cross_entropy"}
    backend : {"local", "dask"}
    address : str or distributed.Client, optional
        Dask scheduler (``"tcp://host:8786"``); without it ``backend="dask"`` starts an
        embedded LocalCluster of ``workers`` processes with one thread each.
    workers : int, optional
        Worker processes of the embedded cluster (default: one per core).
    out : path, optional
        ``.jsonl`` journal, or ``.csv`` (journal beside it with suffix ``.jsonl``, CSV written
        at the end). Rows are appended atomically as chunks finish; running again with the
        same ``out`` skips the points already there (also when the grid grew).
    progress : bool or callable
        ``callable(done, total)`` after every chunk; True logs to the ``fastrelu.sweeps``
        logger. The library never prints.
    chunk_size : int, optional
        Points per task (default 256 locally, about four chunks per Dask worker).
    engine : {"ensemble", "reference"}
        How a chunk is trained: one ``fr.Ensemble``, or ``fr.fit`` per point (the slow
        oracle). Rows are identical either way.

    Returns
    -------
    SweepResult
        One row per grid point, in grid order, identical for every backend.

    Raises
    ------
    ValueError
        Invalid grid or argument, unreachable scheduler, or an ``out`` file written with other
        settings: all checked before any net is trained.
    fastrelu.sweeps.backends.MainGuardError
        ``backend="dask"`` without ``address`` called from a script's top level without an
        ``if __name__ == "__main__":`` guard (its worker processes would re-run the script).

    Examples
    --------
    SGD at lr 10 collapses every net of a 3-layer width-16 MLP on the teacher data; lr 0.01 none:

    >>> import fastrelu as fr
    >>> res = fr.sweep({"lr": [0.01, 10.0], "seed": range(4)}, steps=50)
    >>> res.pivot("seed", "lr", "collapsed").values.mean(axis=0).tolist()
    [0.0, 1.0]
    """
    t0 = time.perf_counter()
    g = Grid(grid, optimizer=optimizer)
    if backend == "local" and (address is not None or workers is not None):
        raise ValueError("address and workers are not accepted with backend='local'; expected "
                         "backend='dask' (they choose or size its cluster)")
    if workers is not None and address is not None:
        raise ValueError("workers together with address is not accepted; expected one of them "
                         "(workers sizes an embedded cluster, address names a running one)")
    if backend == "dask" and address is None:
        backends.check_main_guard()
    report = _progress_fn(progress)
    jpath = journal_path(out) if out is not None else None
    ds = resolve_data(data, loss)
    settings = {"steps": steps, "batch_size": batch_size, "loss": loss}
    config = {"data": ds.name, "data_sha256": ds.digest, "dtype": "float32", **settings}
    settings["engine"] = engine  # not part of config: every engine gives the same rows
    result = SweepResult(g.to_dict(), config, g.varying)
    _preflight(g, ds, settings)

    journal = Journal(jpath, config) if jpath is not None else None
    try:
        done = _resume(journal, g, result) if journal is not None else None
        n_done = result.n_resumed
        report(n_done, g.size)

        def on_done(chunk: Any, rows: list) -> None:
            nonlocal n_done
            if journal is not None:
                journal.append(rows)
            for index, row in zip(chunk.indices, rows):
                result._add(index, row)
            n_done += len(rows)
            report(n_done, g.size)

        def make_chunks(size: int) -> Any:
            return g.chunks(size, done)

        if n_done < g.size:
            if backend == "local":
                backends.run_local(make_chunks(chunk_size or LOCAL_CHUNK), ds, settings, on_done)
            else:
                backends.run_dask(make_chunks, g.size - n_done, ds, settings, on_done,
                                  address=address, workers=workers, chunk_size=chunk_size)
    finally:
        if journal is not None:
            journal.close()
    if out is not None and Path(out).suffix.lower() == ".csv":
        result.to_csv(out)
    result.elapsed = time.perf_counter() - t0
    return result


def _resume(journal: Journal, g: Grid, result: SweepResult) -> "bytearray | None":
    """Load the journal's rows that belong to this grid; mark their points done."""
    done = None
    for row in journal.rows():
        if not isinstance(row, dict) or any(f not in row for f in FIELDS):
            raise ValueError(f"out: {str(journal.path)!r} has a row without the fields "
                             f"{', '.join(FIELDS)}")
        index = g.index_of(row)
        if index is None:
            continue  # computed for a grid point this sweep does not ask for
        if done is None:
            done = bytearray(g.size)
        if not done[index]:
            done[index] = 1
            result._add(index, row)
            result.n_resumed += 1
    return done


#: Architectures checked (and kernels compiled) by one tiny run each before the sweep starts.
PREFLIGHT_ARCHS = 16


def _preflight(g: Grid, ds: Dataset, settings: dict) -> None:
    """Fail before any work on settings ``fr.fit`` would reject mid-sweep, and compile (and
    cache) the kernels in this process before workers need them: one net and one step per
    architecture, for the first few architectures."""
    if settings["steps"] > 0:
        v.check_batchnorm_batches(True in g.values["batchnorm"], ds.X.shape[0], settings["batch_size"])
    for arch, point in itertools.islice(g.first_points(), PREFLIGHT_ARCHS):
        try:
            train_group(arch, [point], ds, **{**settings, "steps": min(settings["steps"], 1)})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"grid point {point}: {exc}") from None
