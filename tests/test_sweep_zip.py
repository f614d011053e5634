"""Zipped grid keys: ``{("lr", "seed"): [(lr, seed), ...]}`` sweeps the listed tuples, not their
product. Validation before work, canonical order and grouping, rows equal to the reference
engine and to one-point sweeps, resume (also after SIGKILL), pivots and columns."""
from __future__ import annotations

import json
import signal

import numpy as np
import pytest

from fastrelu.sweeps import KEYS, sweep
from fastrelu.sweeps.columns import Batch, grid_indices
from fastrelu.sweeps.grid import ARCH_KEYS, DEFAULTS, Grid, key_values
from fastrelu.sweeps.presets import default_tables, summarize

PAIRS = [(0.05, 3), (0.01, 0), (8.0, 1), (0.2, 2)]  # not sorted: rows keep the listed order


@pytest.mark.parametrize("grid, exc, message", [
    ({("lr", "seed"): [(0.01,)]}, ValueError,
     "grid[('lr', 'seed')][0]=(0.01,) is not accepted; expected a tuple of 2 values, one per key of ('lr', 'seed')"),
    ({("lr", "seed"): [0.01, 0.02]}, TypeError,
     "grid[('lr', 'seed')][0]=0.01 (float) is not accepted; expected a tuple of 2 values"),
    ({("lr", "seed"): [(0.1, 1), (0.0, 2)]}, ValueError,
     "grid[('lr', 'seed')][1][0]=0.0 is not accepted; expected a finite number > 0"),
    ({("lr", "seed"): [(0.1, 1.5)]}, TypeError,
     "grid[('lr', 'seed')][0][1]=1.5 (float) is not accepted; expected an integer >= 0"),
    ({("init", "seed"): [("kaiming", 1)]}, ValueError,
     "grid[('init', 'seed')][0][0]='kaiming' is not accepted; expected one of 'zeros', "),
    ({("lr", "seed"): []}, ValueError, "grid[('lr', 'seed')]=[] is not accepted; expected a non-empty list of tuples"),
    ({("lr", "seed"): 0.1}, TypeError, "grid[('lr', 'seed')]=0.1 (float) is not accepted; expected a list of tuples"),
    ({("lr", "seed"): "0.1,1"}, TypeError, "expected a list of tuples of 2 values"),
    ({("lr", "seed"): [(0.1, 1), (0.2, 2), (0.1, 1)]}, ValueError,
     "expected distinct tuples ((0.1, 1) is repeated)"),
    ({("lr", "seed"): np.zeros((3, 3))}, ValueError,
     "grid[('lr', 'seed')] of shape (3, 3) is not accepted; expected (n, 2)"),
    ({("lr", "foo"): [(0.1, 1)]}, ValueError, "grid key='foo' is not accepted; expected one of 'width', "),
    ({("lr", 3): [(0.1, 1)]}, TypeError, "grid key=('lr', 3) (tuple) is not accepted; expected one of"),
    ({(): []}, TypeError, "grid key=() (tuple) is not accepted"),
    ({("lr", "lr"): [(0.1, 0.2)]}, ValueError, "expected distinct keys ('lr' is repeated)"),
    ({"seed": [0, 1], ("lr", "seed"): [(0.1, 1)]}, ValueError,
     "grid key=('lr', 'seed') is not accepted; expected every key in one entry only ('seed' is also in 'seed')"),
    ({("lr", "seed"): [(0.1, 1)], ("seed", "init"): [(1, "he")]}, ValueError,
     "('seed' is also in ('lr', 'seed'))"),
    ({("init", "bias"): [("he", 0.1), ("rai", 0.1)]}, ValueError,
     "grid[('init', 'bias')][1]=('rai', 0.1) is not accepted; expected bias 0.0 with init 'rai': "
     "that init draws its own biases"),
    ({("init", "lr"): [("rai", 0.1)], "bias": [0.0, 0.1]}, ValueError, "that init draws its own biases"),
])
def test_invalid_zipped_grids_raise_named_errors(grid, exc, message):
    with pytest.raises(exc) as info:
        Grid(grid)
    assert type(info.value) is exc and message in str(info.value)


def test_a_bad_zipped_grid_fails_before_any_work(tmp_path):
    out = tmp_path / "rows.jsonl"
    with pytest.raises(ValueError, match=r"\[1\]\[0\]=-1.0 is not accepted"):
        sweep({("lr", "seed"): [(0.1, 1), (-1.0, 2)]}, out=out)
    assert not out.exists()


def test_zipped_pairs_are_swept_as_listed_and_crossed_with_the_rest():
    g = Grid({"width": [3, 5], ("lr", "seed"): PAIRS, "init": ["he", "xavier"]})
    assert g.size == 2 * 4 * 2
    assert g.varying == ("width", "lr", "seed", "init")
    assert g.values["lr"] == [p[0] for p in PAIRS] and g.values["seed"] == [p[1] for p in PAIRS]
    points = [p for _, p in g.points()]
    combos = [(p["width"], p["init"], p["lr"], p["seed"]) for p in points]
    assert sorted(combos) == sorted((w, i, lr, s) for w in (3, 5) for i in ("he", "xavier") for lr, s in PAIRS)
    assert [(p["lr"], p["seed"]) for p in points[:4]] == PAIRS  # zipped: innermost, listed order
    assert all(list(p) == list(KEYS) and p["depth"] == DEFAULTS["depth"] for p in points)
    assert [g.index_of(p) for p in points] == list(range(g.size))
    assert g.index_of({**points[0], "seed": PAIRS[1][1]}) is None  # both values exist, not as a pair
    again = Grid(g.to_dict())
    assert [p for _, p in again.points()] == points
    assert key_values(g.to_dict(), "seed") == [3, 0, 1, 2] and key_values(g.to_dict(), "width") == [3, 5]


def test_zipped_member_keys_share_their_architectures_chunk():
    pairs = [(0.001 * (k + 1), k) for k in range(512)]
    g = Grid({"width": [32], "depth": [3], ("lr", "seed"): pairs, ("init", "bias"): [("he", 0.0), ("small", 0.1)]})
    chunks = list(g.chunks(g.size))
    assert len(chunks) == 1 and len(chunks[0].points) == 1024
    assert chunks[0].arch == {"width": 32, "depth": 3, "residual": False, "batchnorm": False, "optimizer": "sgd"}
    assert [(p["lr"], p["seed"]) for p in chunks[0].points[:512]] == pairs
    done = bytearray(g.size)
    done[5] = done[600] = 1
    assert [i for c in g.chunks(300, done) for i in c.indices] == [i for i in range(g.size) if not done[i]]


def test_a_zip_with_architecture_keys_gives_one_architecture_per_tuple():
    g = Grid({("width", "depth", "lr"): [(2, 3, 0.1), (4, 1, 0.1), (2, 3, 0.2)], "seed": range(3)})
    chunks = list(g.chunks(256))
    assert [len(c.points) for c in chunks] == [3, 3, 3]
    for c in chunks:
        assert all({k: p[k] for k in ARCH_KEYS} == c.arch for p in c.points)
        assert [g.index_of(p) for p in c.points] == list(c.indices)
    assert [(a["width"], a["depth"], p["lr"]) for a, p in g.first_points()] == [(2, 3, 0.1), (4, 1, 0.1), (2, 3, 0.2)]


def test_grid_indices_match_index_of_for_zipped_rows():
    g = Grid({"width": [2, 5], ("init", "lr", "seed"): [("he", 0.5, 0), ("rai", 0.5, 1), ("he", 0.1, 1)],
              "depth": range(1, 9, 3)})
    base = {k: v for k, v in next(iter(g.points()))[1].items()}
    metrics = {"collapsed": False, "output_std_ratio": 1.0, "dead_fraction": [0.0], "dead_fraction_max": 0.0,
               "dead_fraction_mean": 0.0, "dead_layer": False, "final_loss": 0.5, "diverged_at": None,
               "steps_run": 1}
    rows = [{**p, **metrics} for _, p in g.points()][::-1]
    rows += [{**base, **metrics, "init": "rai", "lr": 0.1, "seed": 1},   # every value listed, not the tuple
             {**base, **metrics, "seed": 7}, {**base, **metrics, "depth": 2}]
    got = grid_indices(g, Batch.from_rows(rows))
    want = [-1 if g.index_of(r) is None else g.index_of(r) for r in rows]
    assert got.tolist() == want and want[-3:] == [-1, -1, -1]
    assert sorted(want[:-3]) == list(range(g.size))


def _one_point_row(point, **settings):
    """The row of ``point`` from a sweep of that point alone (a product grid of single values)."""
    grid = {k: [point[k]] for k in KEYS}
    return sweep(grid, **settings).rows[0]


def test_zipped_rows_equal_the_reference_engine_and_one_point_sweeps():
    grid = {"width": [5], "depth": [2], ("lr", "seed"): PAIRS,
            ("init", "bias"): [("he", 0.0), ("small", 0.1), ("rai", 0.0)],
            ("optimizer", "residual"): [("sgd", False), ("rmsprop", True)]}
    settings = {"steps": 15, "batch_size": 32}
    fast = sweep(grid, **settings)
    slow = sweep(grid, **settings, engine="reference")
    rows = fast.rows
    assert len(rows) == 4 * 3 * 2 and any(r["diverged_at"] is not None for r in rows)
    assert json.dumps(rows) == json.dumps(slow.rows)
    for row in rows[::5]:
        assert json.dumps(_one_point_row(row, **settings)) == json.dumps(row)
    assert json.dumps(sweep(grid, **settings, chunk_size=5).rows) == json.dumps(rows)


def test_zipped_architecture_rows_equal_the_reference_engine():
    grid = {("width", "depth", "batchnorm"): [(4, 2, True), (3, 3, False)], ("lr", "seed"): [(0.1, 4), (0.02, 9)]}
    fast, slow = sweep(grid, steps=8, batch_size=50), sweep(grid, steps=8, batch_size=50, engine="reference")
    assert json.dumps(fast.rows) == json.dumps(slow.rows)
    assert [len(r["dead_fraction"]) for r in fast.rows] == [2, 2, 3, 3]


@pytest.mark.parametrize("suffix", [".jsonl", ".arrows"])
def test_resume_of_a_zipped_journal(tmp_path, suffix):
    if suffix == ".arrows":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"rows{suffix}"
    grid = {"width": [3, 4], ("lr", "seed"): PAIRS[:2]}
    first = sweep(grid, steps=5, out=out, chunk_size=1)
    assert first.n_resumed == 0 and len(first) == 4
    grown = {"width": [3, 4], ("lr", "seed"): PAIRS}  # more pairs listed: the old ones resume
    second = sweep(grown, steps=5, out=out)
    fresh = sweep(grown, steps=5)
    assert second.n_resumed == 4 and json.dumps(second.rows) == json.dumps(fresh.rows)
    # A product grid over the same values holds the listed pairs, and more: those resume
    product = {"width": [3, 4], "lr": [p[0] for p in PAIRS], "seed": [p[1] for p in PAIRS]}
    crossed = sweep(product, steps=5, out=out)
    assert crossed.n_resumed == 8 and len(crossed) == 2 * 16
    assert json.dumps(crossed.rows) == json.dumps(sweep(product, steps=5).rows)
    # and the zipped grid again finds only its own pairs among the journal's 32 rows
    third = sweep(grown, steps=5, out=out)
    assert third.n_resumed == 8 and json.dumps(third.rows) == json.dumps(fresh.rows)
    with pytest.raises(ValueError, match="differs in: steps"):
        sweep(grown, steps=6, out=out)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("suffix", [".csv", ".arrows"])
def test_sigkill_then_resume_of_a_zipped_grid(tmp_path, suffix):
    if suffix == ".arrows":
        pytest.importorskip("pyarrow")
    from test_sweep_resume import _complete_rows, _run_and_kill

    grid = {"width": [4, 7], ("lr", "seed"): [(0.01 * (k + 1), 3 * k) for k in range(12)],
            ("init", "bias"): [("he", 0.0), ("small", 0.1)]}
    settings = {"data": "teacher", "steps": 20, "batch_size": 64, "chunk_size": 2}
    total = 2 * 12 * 2
    out = tmp_path / f"rows{suffix}"
    journal = out.with_suffix(".jsonl" if suffix == ".csv" else suffix)
    _run_and_kill(out, journal, pause=0.05, until_rows=6, grid=grid, settings=settings)
    survived = _complete_rows(journal)
    assert 6 <= survived < total
    res = sweep(grid, out=out, **settings)
    assert res.n_resumed == survived and len(res) == total
    assert json.dumps(res.rows) == json.dumps(sweep(grid, **settings).rows)
    assert _complete_rows(journal) == total  # nothing redone, nothing lost


def test_pivot_column_and_tables_of_a_zipped_result():
    res = sweep({"width": [3, 6], ("lr", "seed"): PAIRS}, steps=10)
    assert res.grid[("lr", "seed")] == PAIRS
    assert res.column("lr").tolist() == [p[0] for p in PAIRS] * 2
    assert res.column("seed").tolist() == [p[1] for p in PAIRS] * 2
    p = res.pivot("lr", "seed", "final_loss", agg="count")
    assert p.row_labels == sorted(lr for lr, _ in PAIRS) and p.col_labels == sorted(s for _, s in PAIRS)
    want = np.zeros((4, 4), np.int64)
    for lr, s in PAIRS:
        want[p.row_labels.index(lr), p.col_labels.index(s)] = 2  # two widths per pair
    assert p.values.tolist() == want.tolist()
    by_width = res.pivot("lr", "width", "final_loss")
    loss = res.column("final_loss")
    for i, lr in enumerate(by_width.row_labels):
        for j, w in enumerate(by_width.col_labels):
            k = [(w2, lr2) for w2 in (3, 6) for lr2, _ in PAIRS].index((w, lr))
            assert by_width.values[i, j] == loss[k] or (np.isnan(loss[k]) and np.isnan(by_width.values[i, j]))
    df = res.to_pandas(["lr", "seed", "collapsed"])
    assert list(zip(df["lr"], df["seed"]))[:4] == PAIRS
    tables = summarize(res, default_tables(res))
    assert [t for t, _ in tables] == ["P(collapsed)"] and tables[0][1].index == "width"
