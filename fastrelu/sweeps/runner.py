"""``fr.sweep``: validate everything, resume from the journal, run a backend, collect rows."""
from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from fastrelu import _validation as v
from fastrelu import optim, rules
from fastrelu.sweeps import backends
from fastrelu.sweeps.columns import KEYS, Batch, grid_indices
from fastrelu.sweeps.grid import Grid
from fastrelu.sweeps.group import ENGINES, Dataset, resolve_data, train_group
from fastrelu.sweeps.result import SweepResult
from fastrelu.sweeps.storage import journal_path, open_journal
from fastrelu.sweeps.store import JournalStore

log = logging.getLogger("fastrelu.sweeps")

BACKENDS = ("local", "dask")

#: Points per chunk of the local backend (one ensemble per chunk).
LOCAL_CHUNK = 256

#: Points per chunk of an init-only (``steps=0``) sweep on the local backend: such a net costs
#: microseconds, so bigger chunks spread the per-chunk costs (ensemble set-up, kernel call, one
#: journal write and fsync); measured 2x faster than 256 on a 1M-point sweep, same peak RSS.
LOCAL_CHUNK_INIT = 4096


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
        Zipped keys: a tuple of keys maps to a list of tuples, one value per key, e.g.
        ``{("lr", "seed"): [(0.01, 0), (0.1, 1)]}``; those keys take exactly the listed
        combinations (in that order), which are crossed with the other entries like one key.
        Points of one architecture are trained together as one ensemble (one task of at most
        ``chunk_size`` points); zipped ``init``, ``bias``, ``lr`` and ``seed`` stay in their
        architecture's ensembles, while each listed tuple of a zip holding an architecture key
        (``width``, ``depth``, ...) is an architecture of its own.
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
        Journal the rows are appended to, atomically, as chunks finish; running again with the
        same ``out`` skips the points already there (also when the grid grew). ``.arrows``:
        an Arrow IPC stream (needs pyarrow), for large sweeps: the result is read back from
        it, so memory stays bounded by the chunks in flight. ``.jsonl``: JSON Lines, for small
        sweeps (the result is kept in memory). ``.csv``: a ``.jsonl`` journal beside it, the
        CSV written at the end.
    progress : bool or callable
        ``callable(done, total)`` after every chunk; True logs to the ``fastrelu.sweeps``
        logger. The library never prints.
    chunk_size : int, optional
        Points per task (default locally 256, or 4096 with ``steps=0``; about four chunks per
        Dask worker).
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

    Each net its own learning rate and seed: the pairs, not their product (four nets, one
    ensemble), rows in the order listed:

    >>> pairs = [(0.01, 0), (0.03, 1), (0.1, 2), (10.0, 3)]
    >>> res = fr.sweep({("lr", "seed"): pairs}, steps=50)
    >>> len(res), res.varying
    (4, ('lr', 'seed'))
    >>> res.column("collapsed").tolist()
    [False, False, False, True]
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
    _preflight(g, ds, settings, archs=1 if backend == "local" and steps == 0 else PREFLIGHT_ARCHS)

    journal = open_journal(jpath, config) if jpath is not None else None
    by_file = journal is not None and hasattr(journal, "spans")  # rows read back from the journal
    file_index: list = []  # grid index of every journal row, batch by batch (-1: not in grid)
    try:
        done = _resume(journal, g, result, file_index if by_file else None) if journal is not None else None
        n_done = result.n_resumed
        report(n_done, g.size)

        def on_done(chunk: Any, metrics: dict) -> None:
            nonlocal n_done
            batch = Batch.from_chunk(chunk.points, metrics)
            index = np.array(chunk.indices, dtype=np.int64)
            if journal is not None:
                journal.append_batch(batch)
            if by_file:
                file_index.append(index)
            else:
                result._add(batch, index)
            n_done += len(batch)
            report(n_done, g.size)

        def make_chunks(size: int) -> Any:
            return g.chunks(size, done)

        if n_done < g.size:
            if backend == "local":
                default = LOCAL_CHUNK if steps > 0 else LOCAL_CHUNK_INIT
                backends.run_local(make_chunks(chunk_size or default), ds, settings, on_done)
            else:
                backends.run_dask(make_chunks, g.size - n_done, ds, settings, on_done,
                                  address=address, workers=workers, chunk_size=chunk_size)
    finally:
        if journal is not None:
            journal.close()
    if by_file:
        index = np.concatenate(file_index) if file_index else np.empty(0, np.int64)
        result._store = JournalStore(jpath, journal.schema, journal.spans, index)
        result.journal = str(jpath)
    if out is not None and Path(out).suffix.lower() == ".csv":
        result.to_csv(out)
    result.elapsed = time.perf_counter() - t0
    return result


def _resume(journal: Any, g: Grid, result: SweepResult, file_index: "list | None") -> "bytearray | None":
    """Find the journal's rows that belong to this grid and mark their points done (the first
    row of a point counts; later repeats are ignored). Their rows go to ``result`` (in memory)
    or, for a journal the result is read back from, their grid indices to ``file_index``."""
    done = None
    for batch in journal.batches(KEYS) if file_index is not None else journal.batches():
        index = grid_indices(g, batch)
        fresh = np.flatnonzero(index >= 0)
        if done is None and len(fresh):
            done = bytearray(g.size)  # one byte per point, only once a point is found
        marks = np.frombuffer(done if done is not None else bytearray(1), dtype=np.uint8)
        fresh = fresh[marks[index[fresh]] == 0]
        first = np.unique(index[fresh], return_index=True)[1]  # repeats inside this batch
        fresh = np.sort(fresh[first])
        keep = np.full(len(index), -1, np.int64)
        keep[fresh] = index[fresh]
        marks[keep[fresh]] = 1
        result.n_resumed += len(fresh)
        if file_index is not None:
            file_index.append(keep)
        else:
            result._add(batch, keep)
    return done


#: Architectures checked (and kernels compiled) by one tiny run each before the sweep starts.
PREFLIGHT_ARCHS = 16


def _preflight(g: Grid, ds: Dataset, settings: dict, archs: int = PREFLIGHT_ARCHS) -> None:
    """Fail before any work on settings ``fr.fit`` would reject mid-sweep, and compile (and
    cache) the kernels in this process before workers need them: one net and one step per
    architecture, for the first ``archs`` architectures. A local sweep at initialization needs
    one (no training settings to check; the rest compiles where it runs): each of these calls
    starts parallel kernels, which cost about 8 ms each on a busy machine."""
    if settings["steps"] > 0:
        v.check_batchnorm_batches(True in g.values["batchnorm"], ds.X.shape[0], settings["batch_size"])
    for arch, point in itertools.islice(g.first_points(), archs):
        try:
            train_group(arch, [point], ds, **{**settings, "steps": min(settings["steps"], 1)})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"grid point {point}: {exc}") from None
