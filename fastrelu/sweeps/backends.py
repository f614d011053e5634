"""Where the chunks of a sweep run: in this process, or on a Dask cluster.

Both backends call :func:`~fastrelu.sweeps.group.measure_group` once per chunk and hand
``(chunk, metrics)`` (one NumPy array per metric) to ``on_done`` as soon as a chunk finishes,
so rows are stored while the sweep is still running. Rows do not depend on the backend: a row is a pure function of its
grid point, the data and the training settings.
"""
from __future__ import annotations

import ast
import logging
import math
import os
import sys
import threading
from typing import Any, Callable, Iterator

from fastrelu.sweeps.grid import Chunk
from fastrelu.sweeps.group import Dataset, measure_group

log = logging.getLogger("fastrelu.sweeps")

OnDone = Callable[[Chunk, dict], None]

#: Environment of embedded Dask worker processes: one numba/BLAS thread each, so N worker
#: processes use N cores instead of oversubscribing them.
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

#: How long to keep trying to reach a scheduler given by address.
CONNECT_TIMEOUT = "10s"

#: Data larger than this is scattered to every worker once instead of travelling with tasks.
SCATTER_BYTES = 1 << 20

# numba's workqueue threading layer aborts the process when two Python threads run a
# parallel kernel at once; a worker with several threads therefore trains one chunk at a time.
_TASK_LOCK = threading.Lock()


def run_chunk(chunk: Chunk, data: Dataset, settings: dict) -> dict:
    """Train one chunk and return its metric columns (the body of a Dask task)."""
    with _TASK_LOCK:
        return measure_group(chunk.arch, chunk.points, data, **settings)


def run_local(chunks: Iterator[Chunk], data: Dataset, settings: dict, on_done: OnDone) -> None:
    """Train the chunks one after another in this process."""
    for chunk in chunks:
        on_done(chunk, measure_group(chunk.arch, chunk.points, data, **settings))


def default_workers() -> int:
    """Worker processes of an embedded cluster when ``workers`` is not given: one per core."""
    return max(1, os.cpu_count() or 1)


class MainGuardError(RuntimeError):
    """An embedded Dask cluster was asked for from a script's unguarded top level."""


def check_main_guard() -> None:
    """Refuse, before any work, to start worker processes from an unguarded script.

    Dask's worker processes start with the ``spawn`` method, which re-imports the main script
    in each of them; a sweep called at the script's top level would then run again in every
    worker, and Dask stops with "Nanny failed to start" after a long traceback. The call is
    found by walking up to the main script's module frame and reading whether that line sits
    inside an ``if __name__ == "__main__":`` block. Interactive sessions (no script file) and
    guarded scripts pass.

    Raises
    ------
    MainGuardError
        Naming the script, the line and the fix.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not os.path.isfile(path):
        return
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if frame is None:
        return
    line = frame.f_lineno
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return
    if any(_is_main_block(node) and node.body[0].lineno <= line <= node.body[-1].end_lineno
           for node in ast.walk(tree)):
        return
    raise MainGuardError(
        f"backend='dask' was called from the top level of {path} (line {line}) without an "
        "'if __name__ == \"__main__\":' guard. The embedded cluster starts worker processes "
        "that re-import this script, so each of them would start this sweep again. Put the call "
        "under 'if __name__ == \"__main__\":' (or pass address= of a running scheduler).")


def _is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (either operand order)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    t = node.test
    if len(t.ops) != 1 or not isinstance(t.ops[0], ast.Eq):
        return False
    sides = [t.left, t.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    consts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and consts == ["__main__"]


def connect(address: Any, workers: "int | None") -> tuple[Any, Any, bool]:
    """Return ``(client, cluster, owned)`` for an address, a Client, or an embedded cluster.

    Raises
    ------
    ValueError
        If the scheduler at ``address`` cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is installed in the dev venv
        raise ImportError("backend='dask' needs dask: pip install 'fastrelu[dask]'") from None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
            dashboard_address=":0", env=dict(WORKER_ENV), silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster, True
    if isinstance(address, Client):
        return address, None, False
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"address: cannot reach a Dask scheduler at {address!r} ({exc})") from None
    return client, None, True


def run_dask(make_chunks: Callable[[int], Iterator[Chunk]], n_points: int, data: Dataset,
             settings: dict, on_done: OnDone, *, address: Any = None,
             workers: "int | None" = None, chunk_size: "int | None" = None,
             retries: int = 3) -> None:
    """Ship chunks to a Dask cluster, a bounded number in flight, and stream the results.

    Parameters
    ----------
    make_chunks : callable
        ``make_chunks(chunk_size)`` yields the chunks lazily.
    n_points : int
        Points left to compute (sets the default chunk size: about four chunks per worker).
    address : str, distributed.Client or None
        None starts an embedded ``LocalCluster`` of ``workers`` processes with one thread each.
    retries : int
        Extra attempts for a task that raises; a task whose worker dies is rescheduled by the
        scheduler (``distributed.scheduler.allowed-failures``).
    """
    from distributed import as_completed

    client, cluster, owned = connect(address, workers)
    try:
        n_workers = max(1, len(client.scheduler_info()["workers"]))
        if chunk_size is None:
            chunk_size = max(1, min(256, math.ceil(n_points / (4 * n_workers))))
        payload: Any = data
        if data.X.nbytes + data.y.nbytes > SCATTER_BYTES:
            payload = client.scatter(data, broadcast=True)
        chunks = make_chunks(chunk_size)
        in_flight: dict = {}
        pending = as_completed()

        def submit_next() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                fut = client.submit(run_chunk, chunk, payload, settings, pure=False,
                                    retries=retries)
                in_flight[fut] = chunk
                pending.add(fut)

        for _ in range(2 * n_workers + 2):
            submit_next()
        for fut in pending:
            chunk = in_flight.pop(fut)
            metrics = fut.result()
            fut.release()
            on_done(chunk, metrics)
            submit_next()
    finally:
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()
