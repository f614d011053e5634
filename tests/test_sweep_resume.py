"""A sweep process killed with SIGKILL resumes from its journal without redoing finished points
(JSON Lines behind a .csv, and the columnar .arrows journal)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from fastrelu.sweeps import sweep

GRID = {"width": [4, 7], "depth": [2, 3], "init": ["he", "xavier"], "seed": range(12)}
SETTINGS = {"data": "teacher", "steps": 20, "batch_size": 64, "chunk_size": 2}
TOTAL = 2 * 2 * 2 * 12

# The child sleeps in its progress callback (called after each chunk is on disk), so the
# kill lands while work is left.
CHILD = textwrap.dedent("""
    import sys, time
    from fastrelu.sweeps import sweep
    grid = {grid}
    sweep(grid, out=sys.argv[1], progress=lambda d, t: time.sleep({pause}), **{settings})
""")


def _complete_rows(journal) -> int:
    """Rows a reader other than fastrelu finds in the journal as the kill left it."""
    if journal.suffix == ".jsonl":
        return len(journal.read_bytes().split(b"\n")) - 2  # header, complete rows, tail
    import pyarrow as pa

    reader = pa.ipc.open_stream(pa.OSFile(str(journal)))
    rows = 0
    while True:
        try:
            rows += reader.read_next_batch().num_rows
        except StopIteration:
            return rows
        except pa.ArrowInvalid:  # the partial batch of the kill
            return rows


def _run_and_kill(out, journal, pause, until_rows=None, after_s=None, grid=GRID, settings=SETTINGS):
    script = CHILD.format(grid=repr(grid), settings=repr(settings), pause=pause)
    child = subprocess.Popen([sys.executable, "-c", script, str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        started = None
        while time.monotonic() < deadline and child.poll() is None:
            if journal.exists() and journal.stat().st_size > 0:
                started = started or time.monotonic()
                if until_rows is not None and _complete_rows(journal) >= until_rows:
                    break
                if after_s is not None and time.monotonic() - started >= after_s:
                    break
            time.sleep(0.005)
        assert child.poll() is None, child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("suffix", [".csv", ".arrows"])
def test_sigkill_then_resume(tmp_path, suffix):
    if suffix == ".arrows":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"rows{suffix}"
    journal = out.with_suffix(".jsonl" if suffix == ".csv" else suffix)
    _run_and_kill(out, journal, pause=0.05, until_rows=6)
    if suffix == ".csv":
        assert not out.exists()  # the CSV is only written by a finished sweep
    survived = _complete_rows(journal)
    assert 6 <= survived < TOTAL

    computed = []
    res = sweep(GRID, out=out, progress=lambda d, t: computed.append(d), **SETTINGS)
    assert res.n_resumed >= 6 and res.n_resumed == computed[0] == survived
    assert res.n_resumed < TOTAL and len(res) == TOTAL
    fresh = sweep(GRID, **SETTINGS)
    assert json.dumps(res.rows) == json.dumps(fresh.rows)
    assert _complete_rows(journal) == TOTAL  # nothing redone, nothing lost
    if suffix == ".csv":
        lines = journal.read_text().splitlines()
        assert len({json.dumps([json.loads(x)[k] for k in ("width", "depth", "init", "seed")])
                    for x in lines[1:]}) == TOTAL
        assert out.exists() and len(out.read_text().splitlines()) == 1 + TOTAL
    else:
        import pyarrow as pa

        table = pa.ipc.open_stream(str(journal)).read_all()
        keys = {(r["width"], r["depth"], r["init"], r["seed"]) for r in table.to_pylist()}
        assert len(keys) == TOTAL == table.num_rows


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_arrows_survives_kills_at_arbitrary_moments(tmp_path):
    """No pause: kills land wherever the child is (training, encoding, inside a write); after
    each, the journal opens, keeps every complete chunk, and the sweep goes on from there."""
    pytest.importorskip("pyarrow")
    grid = {"width": [3, 5], "depth": [2, 4], "seed": range(1500)}
    settings = {"data": "abs1d", "steps": 0, "chunk_size": 7}
    out = tmp_path / "rows.arrows"
    seen = []
    for after_s in (0.0, 0.03, 0.07, 0.15):
        _run_and_kill(out, out, pause=0, after_s=after_s, grid=grid, settings=settings)
        seen.append(_complete_rows(out))
    assert seen == sorted(seen)  # every kill kept what the earlier ones had
    res = sweep(grid, out=out, **settings)
    assert res.n_resumed == seen[-1] < len(res) == 6000
    assert json.dumps(res.rows) == json.dumps(sweep(grid, **settings).rows)
    assert _complete_rows(out) == 6000
