"""fr.sweep (local backend): rows against single-net training + fr.diagnose, resume, exports,
pivots, validation before work, and the born-dead trend."""
from __future__ import annotations

import csv
import json
import logging
import math

import numpy as np
import pytest

import fastrelu as fr
from fastrelu.sweeps import FIELDS, KEYS, sweep
from fastrelu.sweeps.presets import PRESETS, default_tables, summarize

GRID = {"width": [4, 6], "depth": [2], "init": ["he", "small"], "lr": [0.05, 8.0],
        "optimizer": ["sgd", "adam"], "seed": [0, 3]}


def _oracle(point, X, y, steps, batch_size=64, loss="mse"):
    """One point the slow obvious way: fr.MLP + fr.fit + fr.diagnose."""
    n_out = int(y.max()) + 1 if loss == "cross_entropy" else y.reshape(len(y), -1).shape[1]
    net = fr.MLP([X.shape[1]] + [point["width"]] * point["depth"] + [n_out], init=point["init"],
                 bias=point["bias"], seed=point["seed"], residual=point["residual"],
                 batchnorm=point["batchnorm"])
    hist = None
    if steps:
        opt = {"sgd": fr.SGD, "adam": fr.Adam, "rmsprop": fr.RMSprop}[point["optimizer"]]
        hist = fr.fit(net, X, y, optimizer=opt(lr=point["lr"]), loss=loss, steps=steps,
                      batch_size=batch_size, seed=point["seed"])
    return fr.diagnose(net, X, y, loss=loss), hist


def _check_row(row, rep, hist):
    assert row["collapsed"] == rep.collapsed
    assert row["dead_fraction"] == rep.dead_fraction
    if rep.finite:
        assert row["output_std_ratio"] == pytest.approx(rep.output_std_ratio, rel=1e-9, abs=1e-300)
        assert row["final_loss"] == pytest.approx(rep.loss, rel=1e-9)
    else:
        assert row["output_std_ratio"] is None and row["final_loss"] is None
    assert row["dead_layer"] == (max(rep.dead_fraction) == 1.0)
    assert row["diverged_at"] == (None if hist is None else hist.diverged_at)
    assert row["steps_run"] == (0 if hist is None else hist.steps)


def test_rows_match_single_net_training_and_diagnose():
    X, y = fr.data.make("teacher")
    res = sweep(GRID, data="teacher", steps=25)
    rows = res.rows
    assert len(rows) == len(res) == 32
    assert all(list(r) == list(FIELDS) for r in rows)
    assert any(r["diverged_at"] is not None for r in rows)  # lr 8 with SGD blows up
    assert any(not r["collapsed"] for r in rows)
    for row in rows[::3]:
        rep, hist = _oracle({k: row[k] for k in KEYS}, X, y, steps=25)
        _check_row(row, rep, hist)


@pytest.mark.parametrize("extra", [{"residual": [True]}, {"batchnorm": [True]},
                                   {"init": ["rai", "torch_default"]}, {"bias": [0.1]}],
                         ids=["residual", "batchnorm", "drawn-bias", "bias"])
def test_architecture_variants_match_the_oracle(extra):
    X, y = fr.data.make("teacher")
    grid = {"width": [5], "depth": [3], "seed": [1, 2], "optimizer": ["rmsprop"], **extra}
    for row in sweep(grid, steps=10, batch_size=32).rows:
        rep, hist = _oracle({k: row[k] for k in KEYS}, X, y, steps=10, batch_size=32)
        _check_row(row, rep, hist)


def test_steps_zero_measures_at_initialization_and_custom_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    labels = rng.integers(0, 3, size=40)
    res = sweep({"width": [2, 8], "depth": [6], "seed": range(4)}, data=(X, labels), steps=0,
                loss="cross_entropy")
    for row in res.rows:
        assert row["steps_run"] == 0 and row["diverged_at"] is None
        rep, _ = _oracle({k: row[k] for k in KEYS}, X.astype(np.float32), labels, steps=0,
                         loss="cross_entropy")
        _check_row(row, rep, None)
    assert res.config["loss"] == "cross_entropy" and res.config["data"] is None


def test_deterministic_and_independent_of_chunking():
    a = sweep(GRID, steps=15, chunk_size=3).rows
    b = sweep(GRID, steps=15, chunk_size=256).rows
    assert json.dumps(a) == json.dumps(b)
    init_only = {"width": [2, 3], "depth": [4, 9], "init": ["he", "rai"], "seed": range(300)}
    c = sweep(init_only, data="abs1d", steps=0, chunk_size=7).rows  # default: 4096 per chunk
    assert json.dumps(c) == json.dumps(sweep(init_only, data="abs1d", steps=0).rows)


def _journal_rows(path):
    if path.suffix == ".jsonl":
        return len(path.read_text().splitlines()) - 1  # after the header
    import pyarrow as pa

    return pa.ipc.open_stream(str(path)).read_all().num_rows


@pytest.mark.parametrize("suffix", [".jsonl", ".arrows"])
def test_resume_skips_finished_points_and_grows_the_grid(tmp_path, suffix):
    if suffix == ".arrows":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"rows{suffix}"
    grid = {"width": [3, 5], "depth": [2, 4], "seed": range(3)}
    first = sweep(grid, steps=5, out=out, chunk_size=2)
    assert first.n_resumed == 0 and len(first) == 12
    calls = []
    grown = {**grid, "seed": range(5)}
    second = sweep(grown, steps=5, out=out, progress=lambda d, t: calls.append((d, t)))
    assert second.n_resumed == 12 and len(second) == 20
    assert calls[0] == (12, 20) and calls[-1] == (20, 20)
    fresh = sweep(grown, steps=5)
    assert second.rows == fresh.rows
    assert json.dumps(second.rows) == json.dumps(fresh.rows)
    assert _journal_rows(out) == 20  # one row per point, none duplicated
    third = sweep(grown, steps=5, out=out, progress=lambda d, t: calls.append((d, t)))
    assert third.n_resumed == 20 and third.rows == fresh.rows
    assert _journal_rows(out) == 20
    with pytest.raises(ValueError, match="differs in: steps"):
        sweep(grown, steps=6, out=out)


def test_csv_out_writes_the_table_and_a_journal(tmp_path):
    out = tmp_path / "rows.csv"
    res = sweep({"width": [2, 3], "depth": [3], "seed": range(3)}, data="abs1d", steps=0, out=out)
    assert (tmp_path / "rows.jsonl").exists()
    with open(out, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(res) == 6
    assert list(table[0]) == list(FIELDS)
    for line, row in zip(table, res.rows):
        assert int(line["width"]) == row["width"] and int(line["seed"]) == row["seed"]
        assert (line["collapsed"] == "True") == row["collapsed"]
        assert json.loads(line["dead_fraction"]) == row["dead_fraction"]
        assert line["diverged_at"] == ""
    assert res.to_csv() == out.read_text()


def test_exports_and_pivot_agree_with_the_rows(tmp_path):
    res = sweep({"width": [2, 3, 6], "depth": [3, 8], "init": ["he", "rai"], "seed": range(30)},
                data="abs1d", steps=0)
    rows = res.rows
    assert json.loads(res.to_json()) == rows
    res.to_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == rows
    df = res.to_pandas()
    assert df.shape == (len(rows), len(FIELDS))
    assert list(df["collapsed"]) == [r["collapsed"] for r in rows]
    np.testing.assert_array_equal(res.column("width"), [r["width"] for r in rows])
    p = res.pivot("depth", "width", "collapsed", where={"init": "he"})
    assert p.row_labels == [3, 8] and p.col_labels == [2, 3, 6]
    for i, d in enumerate(p.row_labels):
        for j, w in enumerate(p.col_labels):
            cell = [r["collapsed"] for r in rows
                    if r["init"] == "he" and r["depth"] == d and r["width"] == w]
            assert p.counts[i, j] == len(cell) == 30
            assert p.values[i, j] == pytest.approx(np.mean(cell))
    q = res.pivot("width", "init", "output_std_ratio", "median")
    cell = [r["output_std_ratio"] for r in rows if r["width"] == 2 and r["init"] == "rai"]
    assert q.values[0, 1] == pytest.approx(np.median(cell))
    assert json.loads(json.dumps(p.to_dict()))["values"][0][0] == pytest.approx(p.values[0, 0])
    for bad in [("depth", "depth"), ("depth", "nope")]:
        with pytest.raises(ValueError):
            res.pivot(*bad)
    with pytest.raises(ValueError, match="^metric='init' is not accepted; expected one of 'width', "):
        res.pivot("depth", "width", "init")
    with pytest.raises(ValueError, match="agg"):
        res.pivot("depth", "width", agg="mode")
    titles = [t for t, _ in summarize(res, default_tables(res))]
    assert titles == ["P(collapsed) -- init=he", "P(collapsed) -- init=rai"]


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"steps": -1}, ValueError, "^steps=-1 is not accepted; expected an integer >= 0$"),
    ({"batch_size": 0}, ValueError, "^batch_size=0 is not accepted"),
    ({"backend": "ray"}, ValueError, "^backend='ray' is not accepted; expected one of 'local', 'dask'$"),
    ({"workers": 2}, ValueError, "expected backend='dask'"),
    ({"address": "tcp://127.0.0.1:1"}, ValueError, "expected backend='dask'"),
    ({"backend": "dask", "workers": 2, "address": "tcp://127.0.0.1:1"}, ValueError,
     "^workers together with address is not accepted; expected one of them"),
    ({"data": "mnist"}, ValueError, "^data='mnist' is not accepted; expected a dataset name"),
    ({"data": (np.zeros((5, 2)), np.zeros(4))}, ValueError, "expected 5 rows like X"),
    ({"data": (np.zeros((5, 2)), np.ones(5))}, ValueError, "a constant y is not accepted"),
    ({"loss": "hinge"}, ValueError, "^loss='hinge' is not accepted"),
    ({"progress": "yes"}, TypeError, "^progress='yes' \\(str\\) is not accepted"),
    ({"chunk_size": 0}, ValueError, "^chunk_size=0 is not accepted"),
    ({"engine": "gpu"}, ValueError, "^engine='gpu' is not accepted; expected one of 'ensemble', 'reference'$"),
    ({"out": "rows.txt"}, ValueError, "^out='rows.txt' is not accepted; expected a path ending in"),
    ({"grid": {"batchnorm": [True]}, "data": "abs1d", "batch_size": 127}, ValueError,
     "^batch_size=127 is not accepted; expected a batch size that leaves no one-row batch with 128 rows"),
    ({"grid": {"width": [-2]}}, ValueError, "^grid\\['width'\\]=-2 is not accepted"),
])
def test_bad_arguments_fail_before_any_work(kwargs, exc, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trained = []
    import fastrelu.sweeps.group as group   # where both engines build their nets

    monkeypatch.setattr(group, "Ensemble", lambda *a, **k: trained.append(1))
    monkeypatch.setattr(group, "MLP", lambda *a, **k: trained.append(1))
    grid = kwargs.pop("grid", {"width": [3]})
    out = kwargs.pop("out", "rows.jsonl")
    with pytest.raises(exc, match=message) as info:
        sweep(grid, out=out, steps=kwargs.pop("steps", 5), **kwargs)
    assert type(info.value) is exc
    assert trained == []
    assert list(tmp_path.iterdir()) == []


def test_progress_true_logs_and_never_prints(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="fastrelu.sweeps"):
        sweep({"width": [3], "seed": range(3)}, steps=2, progress=True)
    assert "sweep: 3/3 points" in caplog.text
    assert capsys.readouterr() == ("", "")


def test_born_dead_trend():
    """Lu et al. 2019: dead at initialization more often when deeper, less often when wider,
    and much less often with randomized asymmetric init (300 seeds per cell)."""
    p = PRESETS["born-dead"]
    grid = {**p.grid(300), "width": [2, 10], "depth": [4, 19]}
    res = sweep(grid, **p.settings)
    he = res.pivot("depth", "width", "dead_layer", where={"init": "he"}).values
    rai = res.pivot("depth", "width", "dead_layer", where={"init": "rai"}).values
    # rows: depth 4, 19; columns: width 2, 10
    assert he[1, 0] > he[0, 0] + 0.3  # deeper: more born dead
    assert he[1, 0] > he[1, 1] + 0.5  # wider: fewer
    assert rai[1, 0] < he[1, 0] - 0.2 and rai[0, 0] < he[0, 0] - 0.2  # rai: fewer
    collapsed = res.pivot("depth", "width", where={"init": "he"}).values
    assert np.all(collapsed >= he)  # a dead layer makes the output constant
    assert collapsed[1, 0] > collapsed[0, 0] and collapsed[1, 0] > collapsed[1, 1]
    assert math.isclose(res.pivot("depth", "width", "dead_layer", "count").values.sum(), len(res))


def test_ensemble_engine_rows_equal_the_reference_engine_bit_for_bit():
    grid = {"width": [6], "depth": [2, 3], "init": ["he", "rai", "small"], "lr": [0.01, 5.0],
            "optimizer": ["sgd", "rmsprop"], "residual": [False, True], "seed": [0, 7]}
    fast = sweep(grid, steps=20, batch_size=32)
    slow = sweep(grid, steps=20, batch_size=32, engine="reference")
    assert any(r["diverged_at"] is not None for r in fast.rows)
    assert json.dumps(fast.rows) == json.dumps(slow.rows)
    bn = {"width": [4], "depth": [3], "batchnorm": [True], "seed": range(4)}
    assert sweep(bn, steps=12, batch_size=50).rows == sweep(bn, steps=12, batch_size=50,
                                                             engine="reference").rows


def test_fr_sweep_is_callable_whichever_import_comes_first():
    import subprocess
    import sys

    code = ("import fastrelu.sweeps.grid\nimport fastrelu as fr\n"
            "res = fr.sweep({'width': [2], 'seed': [0, 1]}, data='abs1d', steps=0)\n"
            "assert isinstance(res, fr.SweepResult) and len(res) == 2\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert isinstance(fr.sweep({"width": [2]}, data="abs1d", steps=0), fr.SweepResult)
