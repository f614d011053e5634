"""`fastrelu scenario`: list, all, NAME, --json, --plot, --steps, user errors (CliRunner)."""
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from fastrelu_cli.app import app

from _terminal import COLUMNS_80, assert_fits_80_columns

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["scenario", *args])


def test_list_human_and_json():
    r = invoke("list")
    assert r.exit_code == 0
    for name in ("zero-init", "small-init", "lr-explosion", "deep-plain", "born-dead"):
        assert name in r.stdout
    doc = json.loads(invoke("list", "--json").stdout)
    assert [s["name"] for s in doc["scenarios"]][0] == "zero-init"


def test_human_output_shows_arms_side_by_side():
    r = invoke("lr-explosion", "--steps", "60")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    # an 80-column table may wrap an arm's name across lines: look for each word
    for label in ("SGD", "lr=10", "Adam", "lr=1e-3", "RMSprop", "(broken)", "(fix)", "outcome", "COLLAPSED", "DIVERGED", "trains", "ratio"):
        assert label in out
    assert "training diverged" in out  # the diagnosis of the article's arm


def test_json_is_exactly_one_document():
    r = invoke("zero-init", "--json", "--seed", "3", "--steps", "40")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)  # fails on any extra output
    assert doc["scenario"] == "zero-init" and doc["seed"] == 3 and doc["steps"] == 40
    arms = {a["name"]: a for a in doc["arms"]}
    assert arms["zeros init"]["collapsed"] is True and arms["zeros init"]["role"] == "broken"
    assert arms["He init"]["collapsed"] is False
    for a in doc["arms"]:
        assert {"name", "role", "collapsed", "final_loss", "diverged_at", "dead_fraction",
                "output_std_ratio", "causes"} <= set(a)


def test_json_options_before_name():
    r = invoke("--json", "--steps", "20", "zero-init")
    assert r.exit_code == 0 and json.loads(r.stdout)["steps"] == 20


def test_all_json():
    r = invoke("all", "--json", "--steps", "15", "--seed", "2")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["seed"] == 2
    assert [s["scenario"] for s in doc["scenarios"]] == ["zero-init", "small-init", "lr-explosion",
                                                          "deep-plain", "born-dead"]


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "lr.png"
    r = invoke("zero-init", "--steps", "30", "--plot", str(path))
    assert r.exit_code == 0, r.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plot saved" in r.stderr


@pytest.mark.parametrize("args,needle", [
    (["lr-explosoin"], "choose one of: lr-explosion, "),
    (["zero"], "choose one of: zero-init, "),
    (["zero-init", "--plot", "out.txt"], ".png"),
    (["[bold]x"], "unknown scenario '[bold]x'"),  # user text is not read as rich markup
])
def test_user_errors_exit_2_without_traceback(args, needle):
    r = invoke(*args)
    assert r.exit_code == 2
    assert needle in r.stderr.replace("\n", " ")
    assert "Traceback" not in r.stderr + r.stdout


@pytest.mark.parametrize("args", [["zero-init", "--steps", "0"], ["zero-init", "--seed", "-1"],
                                  ["zero-init", "--steps", "x"], []])
def test_bad_options_exit_2(args):
    assert invoke(*args).exit_code == 2


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from fastrelu_cli.app import app; "
            "heavy = [m for m in ('numba', 'matplotlib', 'fastrelu.scenarios') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("cached", [False, True])
def test_first_run_says_the_kernels_compile(monkeypatch, cached):
    import fastrelu as fr

    monkeypatch.setattr(fr, "kernels_cached", lambda work="fit": cached)
    r = invoke("zero-init", "--steps", "5", "--json")
    assert r.exit_code == 0
    json.loads(r.stdout)   # the hint never reaches stdout
    assert ("first run: compiling" in r.stderr) is not cached


def test_plot_without_matplotlib_exits_2_before_training(monkeypatch, tmp_path):
    import fastrelu as fr

    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    import fastrelu.scenarios._base as base

    monkeypatch.setattr(base, "fit", lambda *a, **k: pytest.fail("trained before checking --plot"))
    r = invoke("zero-init", "--plot", str(tmp_path / "x.png"))
    assert r.exit_code == 2
    assert "--plot needs matplotlib" in r.stderr and "fastrelu[plot]" in r.stderr
    assert "Traceback" not in r.output


def test_tables_fit_80_columns():
    listed = runner.invoke(app, ["scenario", "list"], env=COLUMNS_80)
    assert listed.exit_code == 0
    assert_fits_80_columns(listed.output)
    r = runner.invoke(app, ["scenario", "all", "--steps", "20"], env=COLUMNS_80)
    assert r.exit_code == 0, r.stderr
    assert_fits_80_columns(r.output)
    # one row per arm: lr-explosion's six arms, each name starting a line of the table
    for arm in ("SGD lr=10", "SGD lr=0.05", "Adam lr=1e-3", "RMSprop", "He, width 16"):
        assert any(line.startswith(f"\u2502 {arm}") for line in r.stdout.splitlines()), arm
    assert r.stdout.count("arm (role)") == 5
