"""`fastrelu sweep`: custom grids, presets, --json, --out, --plot, --dask/--workers, user
errors exit 2 before any work (CliRunner)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import fastrelu as fr
from fastrelu.sweeps import sweep
from fastrelu.sweeps.presets import PRESETS
from fastrelu_cli.app import app
from fastrelu_cli.sweep import PRESET_HELP

from _terminal import COLUMNS_80, assert_fits_80_columns

runner = CliRunner()

SMALL = ["sweep", "--width", "2,8", "--depth", "3,9", "--init", "he,rai", "--seeds", "20",
         "--steps", "0", "--data", "abs1d"]


def test_custom_grid_json_matches_the_library():
    res = runner.invoke(app, SMALL + ["--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)  # exactly one JSON document on stdout
    lib = sweep({"width": [2, 8], "depth": [3, 9], "init": ["he", "rai"], "seed": range(20)},
                data="abs1d", steps=0)
    assert doc["n_points"] == 160 and doc["rows"] == lib.rows
    assert [t["title"] for t in doc["tables"]] == ["P(collapsed) -- init=he",
                                                     "P(collapsed) -- init=rai"]
    he = doc["tables"][0]
    assert he["index"] == "width" and he["columns"] == "depth"
    expected = lib.pivot("width", "depth", where={"init": "he"}).values
    np.testing.assert_allclose(np.array(he["values"], dtype=float), expected)


def test_human_output_table_out_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "rows.csv"
    plot = tmp_path / "heat.png"
    res = runner.invoke(app, SMALL + ["--out", str(out), "--plot", str(plot)])
    assert res.exit_code == 0, res.stderr
    assert "P(collapsed) -- init=he" in res.stdout and "160 points" in res.stdout
    with open(out, newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 160
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = runner.invoke(app, SMALL + ["--out", str(out)])
    assert again.exit_code == 0 and "160 resumed" in again.stdout


def test_npz_data(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "d.npz"
    np.savez(path, X=rng.normal(size=(30, 2)), y=rng.normal(size=(30, 1)))
    res = runner.invoke(app, ["sweep", "--width", "3", "--seeds", "2", "--steps", "3",
                              "--data", str(path), "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["n_points"] == 2 and doc["config"]["data"] is None


@pytest.mark.parametrize("args, message", [
    (["--width", "2,x"], "--width"),
    (["--width", "2,,3"], "--width"),
    (["--init", "he,kaiming"], "kaiming"),
    (["--lr", "0"], "lr"),
    (["--residual", "maybe"], "--residual"),
    (["--seeds", "0"], "--seeds"),
    (["--depth", "2,2"], "expected distinct values"),
    (["--data", "mnist"], "data='mnist' is not accepted"),
    (["--data", "missing.npz"], "no such file"),
    (["--out", "rows.txt"], "ending in"),
    (["--plot", "heat.jpg"], ".png"),
    (["--dask", "tcp://127.0.0.1:9", "--workers", "2"], "exclude each other"),
    (["--steps", "-1"], "steps"),
])
def test_user_errors_exit_2_before_work(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trained = []
    import fastrelu.sweeps.group as group   # where the sweep engine builds its nets

    monkeypatch.setattr(group, "Ensemble", lambda *a, **k: trained.append(1))
    monkeypatch.setattr(group, "MLP", lambda *a, **k: trained.append(1))
    res = runner.invoke(app, ["sweep", "--width", "3"] + args)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert message in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == "" and trained == []
    assert list(tmp_path.iterdir()) == []


def test_grid_options_do_not_combine_with_a_preset():
    res = runner.invoke(app, ["sweep", "--width", "3", "born-dead"])
    assert res.exit_code == 2 and "preset" in res.stderr


def test_preset_names_match_the_library():
    assert set(PRESET_HELP) == set(PRESETS)
    res = runner.invoke(app, ["sweep", "--help"])
    assert res.exit_code == 0
    for name in PRESETS:
        assert name in res.stdout


def test_born_dead_preset_small(tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "born.png"
    res = runner.invoke(app, ["sweep", "born-dead", "--seeds", "40", "--json", "--plot", str(plot)])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["n_points"] == 4 * 3 * 2 * 40
    titles = [t["title"] for t in doc["tables"]]
    assert titles[0].startswith("P(born dead") and titles[0].endswith("init=he")
    assert {t["metric"] for t in doc["tables"]} == {"dead_layer", "collapsed"}
    assert plot.exists()


def test_lr_death_preset_with_steps_override():
    res = runner.invoke(app, ["sweep", "lr-death", "--seeds", "1", "--steps", "5"])
    assert res.exit_code == 0, res.stderr
    assert "runs diverged" in res.stdout and "15 points" in res.stdout


def test_workers_option_runs_an_embedded_dask_cluster():
    pytest.importorskip("distributed")
    res = runner.invoke(app, ["sweep", "--width", "3,5", "--seeds", "2", "--steps", "5",
                              "--workers", "1", "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["backend"] == "dask"
    lib = sweep({"width": [3, 5], "seed": range(2)}, steps=5)
    assert doc["rows"] == lib.rows


def test_plot_without_matplotlib_exits_2_before_sweeping(monkeypatch, tmp_path):
    import sys

    import fastrelu.sweeps

    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    monkeypatch.setattr(fastrelu.sweeps, "sweep", lambda *a, **k: pytest.fail("swept before checking --plot"))
    res = runner.invoke(app, SMALL + ["--plot", str(tmp_path / "h.png")])
    assert res.exit_code == 2
    assert "--plot needs matplotlib" in res.stderr and "Traceback" not in res.output


def test_tables_fit_80_columns():
    depths = ",".join(str(d) for d in range(1, 17))   # 16 columns: split into several tables
    res = runner.invoke(app, ["sweep", "--width", "2,3", "--depth", depths, "--seeds", "2",
                              "--steps", "0", "--data", "abs1d"], env=COLUMNS_80)
    assert res.exit_code == 0, res.stderr
    assert_fits_80_columns(res.output)
    parts = [line.strip() for line in res.stdout.splitlines() if line.startswith("P(collapsed) (depth ")]
    assert len(parts) >= 2 and parts[0].startswith("P(collapsed) (depth 1 to ")
    assert parts[-1].endswith(" to 16)")
    shown = [c for line in res.stdout.splitlines() if "width \\ depth" in line
             for c in line.split("\u2503")[2:-1]]   # every depth appears once, in order
    assert [int(c) for c in shown] == list(range(1, 17))
    preset = runner.invoke(app, ["sweep", "born-dead", "--seeds", "4"], env=COLUMNS_80)
    assert preset.exit_code == 0, preset.stderr
    assert_fits_80_columns(preset.output)


@pytest.mark.parametrize("steps, work", [("0", "init"), ("3", "ensemble")])
def test_first_run_hint_asks_about_the_kernels_the_sweep_uses(monkeypatch, steps, work):
    """A sweep at initialization never compiles the ensemble's training kernel, so its hint
    asks whether the generators and the measurement are cached (it used to ask about the
    training kernel and said "compiling" on every run of the born-dead preset)."""
    asked = []

    def cached(w="fit"):
        asked.append(w)
        return False

    monkeypatch.setattr(fr, "kernels_cached", cached)
    res = runner.invoke(app, ["sweep", "--width", "2", "--depth", "3", "--seeds", "2", "--steps", steps,
                              "--data", "abs1d", "--json"])
    assert res.exit_code == 0, res.output
    assert asked == [work]
    assert f"{fr.runtime.FIRST_RUN_SECONDS[work]:.0f} s" in res.stderr
    json.loads(res.stdout)
