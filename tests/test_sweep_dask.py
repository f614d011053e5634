"""The Dask backend: in-process and process clusters, a killed worker, a real loopback
`dask scheduler` / `dask worker`; rows must equal the local backend's."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

distributed = pytest.importorskip("distributed")

from fastrelu.sweeps import sweep  # noqa: E402
from fastrelu.sweeps.backends import WORKER_ENV  # noqa: E402

GRID = {"width": [3, 8], "depth": [2, 5], "init": ["he", "rai"], "lr": [0.05, 6.0],
        "seed": range(3)}
SETTINGS = {"data": "teacher", "steps": 10, "batch_size": 64}


@pytest.fixture(scope="module")
def local_rows():
    return sweep(GRID, **SETTINGS).rows


@pytest.fixture(scope="module")
def inproc_address():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def proc_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", env=dict(WORKER_ENV)) as cluster:
        yield cluster


def test_in_process_cluster_gives_the_local_rows(inproc_address, local_rows):
    res = sweep(GRID, **SETTINGS, backend="dask", address=inproc_address, chunk_size=5)
    assert json.dumps(res.rows) == json.dumps(local_rows)


def test_a_zipped_grid_on_dask_gives_the_local_rows(inproc_address):
    grid = {"width": [3, 5], ("lr", "seed"): [(0.05, 2), (6.0, 0), (0.01, 1)]}
    res = sweep(grid, **SETTINGS, backend="dask", address=inproc_address, chunk_size=2)
    assert json.dumps(res.rows) == json.dumps(sweep(grid, **SETTINGS).rows)


@pytest.mark.parametrize("suffix", [".jsonl", ".arrows"])
def test_worker_processes_stream_rows_to_out(proc_cluster, local_rows, tmp_path, suffix):
    if suffix == ".arrows":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"rows{suffix}"
    seen = []
    res = sweep(GRID, **SETTINGS, backend="dask", address=proc_cluster.scheduler_address,
                out=out, chunk_size=4, progress=lambda d, t: seen.append(d))
    assert json.dumps(res.rows) == json.dumps(local_rows)
    assert seen[0] == 0 and seen[-1] == len(local_rows) and seen == sorted(seen)
    assert len(seen) > 3  # streamed chunk by chunk
    if suffix == ".jsonl":
        assert len(out.read_text().splitlines()) == 1 + len(local_rows)
    else:
        import pyarrow as pa

        assert res.journal == str(out)
        assert pa.ipc.open_stream(str(out)).read_all().num_rows == len(local_rows)
        again = sweep(GRID, **SETTINGS, out=out)  # resumed locally from the Dask journal
        assert again.n_resumed == len(local_rows)
        assert json.dumps(again.rows) == json.dumps(local_rows)


def test_embedded_cluster_by_worker_count(local_rows):
    small = {**GRID, "seed": [0]}
    expected = [r for r in local_rows if r["seed"] == 0]
    res = sweep(small, **SETTINGS, backend="dask", workers=1)
    assert json.dumps(res.rows) == json.dumps(expected)


def test_killed_worker_loses_no_row(proc_cluster, tmp_path):
    grid = {"width": [16], "depth": [3], "lr": [0.01, 0.1], "seed": range(24)}
    settings = {"data": "teacher", "steps": 150, "batch_size": 32}
    expected = sweep(grid, **settings).rows
    client = distributed.Client(proc_cluster.scheduler_address)
    try:
        pids = client.run(os.getpid)
        assert len(pids) == 2
        victim = sorted(pids.values())[0]
        killed = []

        def kill_one(done, total):
            if done > 0 and not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(done)

        out = tmp_path / "rows.jsonl"
        res = sweep(grid, **settings, backend="dask", address=proc_cluster.scheduler_address,
                    chunk_size=1, out=out, progress=kill_one)
        assert killed and killed[0] < len(expected)  # killed while work was left
        with pytest.raises(ProcessLookupError):
            os.kill(victim, 0)
        assert json.dumps(res.rows) == json.dumps(expected)
        assert len(out.read_text().splitlines()) == 1 + len(expected)
        client.wait_for_workers(2, timeout=60)  # the nanny restarted it for later tests
    finally:
        client.close()


def _start(args, env):
    return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_loopback_dask_scheduler_and_worker(tmp_path, local_rows):
    env = {**os.environ, **WORKER_ENV}
    sched_file = tmp_path / "scheduler.json"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(sched_file)], env)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sched_file.exists(), "dask scheduler did not start within 60 s"
        time.sleep(0.2)  # let the file be completely written
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(_start(["worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                             "--nworkers", "1", "--no-dashboard"], env))
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        res = sweep(GRID, **SETTINGS, backend="dask", address=address)
        assert json.dumps(res.rows) == json.dumps(local_rows)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def test_unreachable_scheduler_is_a_value_error(monkeypatch):
    monkeypatch.setattr("fastrelu.sweeps.backends.CONNECT_TIMEOUT", "1s")
    with pytest.raises(ValueError, match="cannot reach a Dask scheduler"):
        sweep({"width": [3]}, steps=1, backend="dask", address="tcp://127.0.0.1:9")


def test_large_data_is_scattered_once(inproc_address, monkeypatch):
    import numpy as np

    from fastrelu.sweeps import backends

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4))
    y = X[:, :1] ** 2
    grid = {"width": [3], "depth": [2], "seed": range(4)}
    expected = sweep(grid, data=(X, y), steps=3)
    monkeypatch.setattr(backends, "SCATTER_BYTES", 1000)  # force the scatter path
    res = sweep(grid, data=(X, y), steps=3, backend="dask", address=inproc_address, chunk_size=1)
    assert json.dumps(res.rows) == json.dumps(expected.rows)


def test_cli_dask_address(inproc_address):
    from typer.testing import CliRunner

    from fastrelu_cli.app import app

    res = CliRunner().invoke(app, ["sweep", "--width", "3,8", "--depth", "2,5", "--init", "he,rai",
                                   "--lr", "0.05,6", "--seeds", "3", "--steps", "10",
                                   "--dask", inproc_address, "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["backend"] == "dask"
    assert json.dumps(doc["rows"]) == json.dumps(sweep(GRID, **SETTINGS).rows)


UNGUARDED = """
import fastrelu as fr
res = fr.sweep({"width": [3], "seed": range(2)}, steps=0, backend="dask", workers=1)
print("swept", len(res))
"""


def _run_script(tmp_path, text):
    import subprocess
    import sys

    script = tmp_path / "my_sweep.py"
    script.write_text(text)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)


def test_unguarded_script_stops_with_one_clear_message(tmp_path):
    out = _run_script(tmp_path, UNGUARDED)
    assert out.returncode == 1 and "swept" not in out.stdout
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("fastrelu.sweeps.backends.MainGuardError: backend='dask' was called from the top "
                           f"level of {tmp_path / 'my_sweep.py'} (line 3) without an 'if __name__ == \"__main__\":' guard")
    assert "re-import this script" in last
    assert "Nanny" not in out.stderr


def test_guarded_script_runs_on_worker_processes(tmp_path):
    body = "\n".join("    " + line for line in UNGUARDED.strip().splitlines())
    out = _run_script(tmp_path, 'if __name__ == "__main__":\n' + body + "\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "swept 2"
