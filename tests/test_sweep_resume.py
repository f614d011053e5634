"""A sweep process killed with SIGKILL resumes from its journal without redoing finished points."""
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

# The child sleeps in its progress callback (called after each chunk is on disk), so the
# kill lands while work is left.
CHILD = textwrap.dedent("""
    import sys, time
    from fastrelu.sweeps import sweep
    grid = {grid}
    sweep(grid, out=sys.argv[1], progress=lambda d, t: time.sleep(0.05), **{settings})
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_then_resume(tmp_path):
    out = tmp_path / "rows.csv"
    journal = tmp_path / "rows.jsonl"
    script = CHILD.format(grid=repr(GRID), settings=repr(SETTINGS))
    child = subprocess.Popen([sys.executable, "-c", script, str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if journal.exists() and len(journal.read_bytes().splitlines()) >= 1 + 6:
                break
            time.sleep(0.01)
        assert child.poll() is None, child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert not out.exists()  # the CSV is only written by a finished sweep
    survived = len(journal.read_bytes().split(b"\n")) - 2  # header, complete rows, tail
    total = 2 * 2 * 2 * 12
    assert 6 <= survived < total

    computed = []
    res = sweep(GRID, out=out, progress=lambda d, t: computed.append(d), **SETTINGS)
    assert res.n_resumed >= 6 and res.n_resumed == computed[0]
    assert res.n_resumed < total and len(res) == total
    fresh = sweep(GRID, **SETTINGS)
    assert json.dumps(res.rows) == json.dumps(fresh.rows)
    lines = journal.read_text().splitlines()
    assert len(lines) == 1 + total  # nothing redone, nothing lost
    assert len({json.dumps([json.loads(x)[k] for k in ("width", "depth", "init", "seed")])
                for x in lines[1:]}) == total
    assert out.exists() and len(out.read_text().splitlines()) == 1 + total
