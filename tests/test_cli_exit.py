"""The ``fastrelu`` entry point (``fastrelu_cli.app.run``): a quick exit that loses nothing.

It skips the interpreter's teardown of numba's objects, so these tests run it in fresh
processes and check what a normal exit guarantees: the exit code, every byte of output, the
atexit handlers, and other threads finishing their work."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest


def run_entry(args, prelude=""):
    code = textwrap.dedent(prelude) + textwrap.dedent(f"""
        import sys
        sys.argv = ["fastrelu", *{list(args)!r}]
        from fastrelu_cli.app import run
        run()
        print("not reached", file=sys.stderr)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_help_exits_0_with_all_output_and_atexit_handlers_run():
    p = run_entry(["--help"], prelude="""
        import atexit, sys
        atexit.register(lambda: print("atexit ran", file=sys.stderr))
    """)
    assert p.returncode == 0
    assert "Usage: fastrelu" in p.stdout and "sweep" in p.stdout
    assert "atexit ran" in p.stderr and "not reached" not in p.stderr


def test_user_error_exits_2_with_one_message():
    p = run_entry(["sweep", "born-dead", "--seeds", "0"])
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and "seeds" in p.stderr
    assert p.stdout == ""


def test_json_document_is_complete():
    p = run_entry(["sweep", "born-dead", "--seeds", "2", "--json"])
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["n_points"] == len(doc["rows"]) == 2 * 4 * 3 * 2   # seeds x widths x depths x inits


@pytest.mark.parametrize("message, status", [("'bye'", 1), ("3", 3), ("None", 0)])
def test_system_exit_codes_are_kept(message, status):
    p = run_entry([], prelude=f"""
        import fastrelu_cli.app as cli
        def boom():
            raise SystemExit({message})
        cli.app = boom
    """)
    assert p.returncode == status
    if status == 1:
        assert "bye" in p.stderr


def test_another_live_thread_gets_the_ordinary_exit(tmp_path):
    marker = tmp_path / "done"
    p = run_entry(["--help"], prelude=f"""
        import threading, time
        def late():
            time.sleep(0.3)
            open({str(marker)!r}, "w").write("finished")
        threading.Thread(target=late).start()
    """)
    assert p.returncode == 0
    assert marker.read_text() == "finished"
