"""fr.warmup / `fastrelu warmup`: compile ahead of time, report each part, reject bad parts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

import fastrelu as fr
from fastrelu_cli.app import app


def test_parts_run_in_order_and_report_time():
    fr.warmup(["fit", "ensemble"])               # compiled (or loaded) now, whatever ran before
    seen = []
    done = fr.warmup(["fit", "ensemble"], progress=lambda name, i, n: seen.append((name, i, n)))
    assert [p.name for p in done] == ["fit", "ensemble"] and seen == [("fit", 0, 2), ("ensemble", 1, 2)]
    assert all(p.seconds > 0 for p in done)
    assert all(p.cached for p in done)


@pytest.mark.parametrize("parts,exc,message", [
    (["fit", "gpu"], ValueError, "parts='gpu' is not accepted"),
    ("fit", TypeError, "expected a list of part names"),
])
def test_bad_parts_are_rejected(parts, exc, message):
    with pytest.raises(exc, match=message):
        fr.warmup(parts)


def test_cli_json_and_user_error():
    r = CliRunner().invoke(app, ["warmup", "--parts", "fit", "--json"])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert [p["name"] for p in doc["parts"]] == ["fit"] and doc["seconds"] > 0
    bad = CliRunner().invoke(app, ["warmup", "--parts", "fit,tpu"])
    assert bad.exit_code == 2 and "parts='tpu' is not accepted" in bad.stderr


def test_warmup_fills_an_empty_cache(tmp_path):
    """In a fresh process on an empty cache the part compiles and says so; the next process loads it."""
    script = textwrap.dedent("""
        import json, fastrelu as fr
        before = fr.kernels_cached("fit")
        (part,) = fr.warmup(["fit"])
        print(json.dumps([before, part.cached, part.seconds, fr.kernels_cached("fit")]))
    """)
    env = dict(os.environ, FASTRELU_CACHE_DIR=str(tmp_path))
    first = json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                      check=True).stdout)
    second = json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                       check=True).stdout)
    assert first[0] is False and first[1] is False and first[3] is True
    assert second[0] is True and second[1] is True
    assert second[2] < first[2]                  # loading is faster than compiling
