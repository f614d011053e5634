"""The columnar sweep: Batch round trips, vectorized grid indices, the .arrows journal (torn
tails at every byte, header, lock, foreign files), results read back from it in any order,
and exports that equal the in-memory result's."""
from __future__ import annotations

import json
import math
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastrelu as fr
from fastrelu.sweeps import store
from fastrelu.sweeps.columns import FIELDS, VOCAB, Batch, grid_indices
from fastrelu.sweeps.grid import Grid

from _optional import require_package

pa = require_package("pyarrow")

from fastrelu.sweeps.arrow_journal import ArrowJournal  # noqa: E402

CONFIG = {"data": "abs1d", "steps": 0}
GRID = {"width": [2, 3], "depth": [2, 5], "init": ["he", "rai"], "seed": range(6)}


def _row(rng, **fixed):
    depth = fixed.get("depth", int(rng.integers(0, 4)))
    dead = [float(x) for x in rng.integers(0, 5, size=depth) / 4]
    maybe = lambda: None if rng.random() < 0.3 else float(rng.normal())  # noqa: E731
    row = {"width": int(rng.integers(1, 9)), "depth": depth,
           "init": str(rng.choice(VOCAB["init"])), "lr": float(rng.random()),
           "seed": int(rng.integers(0, 2 ** 40)), "optimizer": str(rng.choice(VOCAB["optimizer"])),
           "residual": bool(rng.random() < 0.5), "batchnorm": bool(rng.random() < 0.5),
           "bias": float(rng.normal()), "collapsed": bool(rng.random() < 0.5),
           "output_std_ratio": maybe(), "dead_fraction": dead,
           "dead_fraction_max": max(dead) if dead else None,
           "dead_fraction_mean": float(np.mean(dead)) if dead else None,
           "dead_layer": bool(dead and max(dead) == 1.0), "final_loss": maybe(),
           "diverged_at": None if rng.random() < 0.5 else int(rng.integers(0, 100)),
           "steps_run": int(rng.integers(0, 100))}
    row.update(fixed)
    return {f: row[f] for f in FIELDS}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(0, 30))
def test_batch_round_trip_is_exact(tmp_path_factory, seed, n):
    rng = np.random.default_rng(seed)
    rows = [_row(rng) for _ in range(n)]
    b = Batch.from_rows(rows)
    assert json.dumps(list(b.rows())) == json.dumps(rows)
    idx = rng.permutation(n)[: n // 2]
    assert list(b.take(idx).rows()) == [rows[i] for i in idx]
    halves = Batch.concat([b.slice(0, n // 3), b.slice(n // 3, n)])
    assert list(halves.rows()) == rows
    if n:
        width = max(len(r["dead_fraction"]) for r in rows)
        m = b.dead_matrix()
        assert m.shape == (n, width)
        for r, line in zip(rows, m):
            k = len(r["dead_fraction"])
            assert line[:k].tolist() == r["dead_fraction"] and np.isnan(line[k:]).all()
    with ArrowJournal(tmp_path_factory.mktemp("j") / "j.arrows", CONFIG) as j:  # through Arrow and back
        j.append_batch(b)
        assert json.dumps([r for x in j.batches() for r in x.rows()]) == json.dumps(rows)


def test_rows_with_a_missing_field_or_value_are_refused():
    row = _row(np.random.default_rng(0))
    with pytest.raises(ValueError, match="a row without the fields"):
        Batch.from_rows([{k: v for k, v in row.items() if k != "seed"}])
    with pytest.raises(ValueError, match="a row whose init is 'kaiming' \\(not one of zeros, "):
        Batch.from_rows([{**row, "init": "kaiming"}])
    for bad in (None, "3", [3]):
        with pytest.raises(ValueError, match=f"a row whose width is {re.escape(repr(bad))}"):
            Batch.from_rows([{**row, "width": bad}])


def test_grid_indices_equal_index_of_for_every_row():
    g = Grid({"width": [2, 5], "depth": range(1, 9, 3), "init": ["rai", "he"], "lr": [0.5, 0.01],
              "seed": range(3, 30, 4), "residual": [True, False], "bias": [0.0]})
    rng = np.random.default_rng(1)
    points = [p for _, p in g.points()]
    rows = [_row(rng, **p) for p in points]
    strangers = [_row(rng, **{**points[0], "seed": 4}), _row(rng, **{**points[5], "lr": 0.3}),
                 _row(rng, **{**points[7], "width": 3}), _row(rng, **{**points[1], "bias": 0.1}),
                 _row(rng, **{**points[2], "seed": 2 ** 40}), _row(rng, **{**points[3], "init": "xavier"}),
                 _row(rng, **{**points[4], "depth": 2}), _row(rng, **{**points[6], "seed": 5})]
    order = rng.permutation(len(rows) + len(strangers))
    mixed = [(rows + strangers)[i] for i in order]
    got = grid_indices(g, Batch.from_rows(mixed))
    want = [-1 if g.index_of(r) is None else g.index_of(r) for r in mixed]
    assert got.tolist() == want
    assert sorted(i for i in want if i >= 0) == list(range(g.size)) and want.count(-1) == len(strangers)


def _messages(path):
    """Byte offsets where the messages of an Arrow stream file end."""
    src = pa.OSFile(str(path))
    reader = pa.ipc.MessageReader.open_stream(src)
    ends = []
    while True:
        try:
            reader.read_next_message()
        except StopIteration:
            return ends
        ends.append(src.tell())


def test_a_torn_tail_is_cut_at_every_byte(tmp_path):
    rng = np.random.default_rng(2)
    rows = [_row(rng, depth=3) for _ in range(10)]
    path = tmp_path / "j.arrows"
    with ArrowJournal(path, CONFIG) as j:
        j.append_batch(Batch.from_rows(rows[:4]))
        j.append_batch(Batch.from_rows(rows[4:]))
    whole = path.read_bytes()
    ends = _messages(path)
    assert len(ends) == 3 and ends[-1] == len(whole)
    for cut in range(ends[0], len(whole) + 1):  # every length a kill during a write can leave
        path.write_bytes(whole[:cut])
        with ArrowJournal(path, CONFIG) as j:
            kept = [r for b in j.batches() for r in b.rows()]
        complete = sum(1 for e in ends[1:] if e <= cut)
        assert kept == rows[:[0, 4, 10][complete]], cut
        assert path.stat().st_size == ends[complete]  # the partial message is gone
        assert pa.ipc.open_stream(str(path)).read_all().num_rows == len(kept)
    with ArrowJournal(path, CONFIG) as j:  # appending after a cut keeps a valid stream
        j.append_batch(Batch.from_rows(rows[:1]))
    assert pa.ipc.open_stream(str(path)).read_all().num_rows == 11


def test_torn_header_starts_afresh_and_foreign_files_are_refused(tmp_path):
    path = tmp_path / "j.arrows"
    with ArrowJournal(path, CONFIG):
        pass
    header = path.read_bytes()
    for cut in (1, 4, 9, len(header) - 1):
        path.write_bytes(header[:cut])
        with ArrowJournal(path, CONFIG) as j:
            assert list(j.batches()) == []
        assert path.read_bytes() == header
    with pytest.raises(ValueError, match="differs in: steps"):
        ArrowJournal(path, {**CONFIG, "steps": 5})
    for name, data in [("jsonl.arrows", b'{"fastrelu_sweep":1,"config":{}}\n'),
                       ("noise.arrows", bytes(range(256)) * 3)]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match="not a fastrelu sweep journal"):
            ArrowJournal(tmp_path / name, CONFIG)
        assert (tmp_path / name).read_bytes() == data  # refused files are left alone
    other = tmp_path / "other.arrows"
    sink = pa.OSFile(str(other), "wb")
    with pa.ipc.new_stream(sink, pa.schema([("a", pa.int64())])) as w:
        w.write_batch(pa.record_batch([pa.array([1])], names=["a"]))
    sink.close()
    with pytest.raises(ValueError, match="not a fastrelu sweep journal"):
        ArrowJournal(other, CONFIG)


def test_an_arrows_journal_in_use_is_locked(tmp_path):
    path = tmp_path / "j.arrows"
    with ArrowJournal(path, CONFIG):
        with pytest.raises(ValueError, match="another running sweep"):
            ArrowJournal(path, CONFIG)
    ArrowJournal(path, CONFIG).close()


def test_result_reads_back_from_the_journal_and_equals_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "WINDOW", 7)  # many windows, split batches
    out = tmp_path / "rows.arrows"
    res = fr.sweep(GRID, data="abs1d", steps=0, out=out, chunk_size=5)
    mem = fr.sweep(GRID, data="abs1d", steps=0)
    assert res.journal == str(out) and len(res._store._reader.offsets) > 4
    assert json.dumps(res.rows) == json.dumps(mem.rows)
    assert res.to_csv() == mem.to_csv()
    assert res.to_json() == mem.to_json() == json.dumps(mem.rows)
    assert res.to_json(indent=2) == json.dumps(mem.rows, indent=2)
    for name in FIELDS:
        a, b = res.column(name), mem.column(name)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    for metric, agg in [("collapsed", "mean"), ("dead_layer", "sum"), ("output_std_ratio", "median"),
                        ("final_loss", "std"), ("dead_fraction", "max"), ("diverged_at", "count")]:
        p = res.pivot("depth", "width", metric, agg, where={"init": "he"})
        q = mem.pivot("depth", "width", metric, agg, where={"init": "he"})
        assert p.values.tobytes() == q.values.tobytes() and np.array_equal(p.counts, q.counts)
    pd = pytest.importorskip("pandas")
    pd.testing.assert_frame_equal(res.to_pandas(), mem.to_pandas())
    assert list(res.to_pandas(["seed", "dead_fraction"]).columns) == ["seed", "dead_fraction"]
    res.to_parquet(tmp_path / "rows.parquet")
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "rows.parquet")
    assert table.num_rows == len(mem) and table.column_names == list(FIELDS)
    assert table.to_pylist() == mem.rows
    assert pa.ipc.open_stream(str(out)).read_all().to_pylist() == mem.rows


def test_resume_in_another_order_reads_back_in_grid_order(tmp_path, monkeypatch):
    """Journal rows out of grid order (a grown grid, repeats, points of another grid): the
    result is still the grid in order, each point once."""
    monkeypatch.setattr(store, "WINDOW", 5)
    out = tmp_path / "rows.arrows"
    small = {**GRID, "width": [3], "seed": range(2, 5)}
    fr.sweep(small, data="abs1d", steps=0, out=out, chunk_size=2)
    fr.sweep({**GRID, "width": [7], "seed": [0]}, data="abs1d", steps=0, out=out)  # not in GRID
    calls = []
    res = fr.sweep(GRID, data="abs1d", steps=0, out=out, chunk_size=3,
                   progress=lambda d, t: calls.append(d))
    mem = fr.sweep(GRID, data="abs1d", steps=0)
    assert res.n_resumed == calls[0] == 2 * 2 * 3 and res._store._order is not None
    assert json.dumps(res.rows) == json.dumps(mem.rows)
    assert pa.ipc.open_stream(str(out)).read_all().num_rows == len(mem) + 4  # nothing redone
    again = fr.sweep(GRID, data="abs1d", steps=0, out=out)
    assert again.n_resumed == len(mem) and json.dumps(again.rows) == json.dumps(mem.rows)
    assert again.pivot("depth", "width").to_dict() == mem.pivot("depth", "width").to_dict()


def test_trained_rows_through_the_journal_equal_the_reference_engine(tmp_path):
    grid = {"width": [4], "depth": [2, 3], "init": ["he", "small"], "lr": [0.05, 8.0],
            "optimizer": ["sgd", "adam"], "seed": [0, 3], "residual": [False, True]}
    res = fr.sweep(grid, steps=15, out=tmp_path / "t.arrows", chunk_size=3)
    ref = fr.sweep(grid, steps=15, engine="reference")
    assert any(r["diverged_at"] is not None for r in ref.rows)
    assert json.dumps(res.rows) == json.dumps(ref.rows)


def test_without_pyarrow_arrows_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what a missing package looks like
    with pytest.raises(fr.MissingDependencyError, match=r"pip install 'fastrelu\[arrow\]'"):
        fr.sweep({"width": [2]}, data="abs1d", steps=0, out=tmp_path / "r.arrows")
    assert list(tmp_path.iterdir()) == []
    res = fr.sweep({"width": [2]}, data="abs1d", steps=0, out=tmp_path / "r.jsonl")
    assert len(res) == 1 and res.journal is None
    with pytest.raises(fr.MissingDependencyError, match="pyarrow"):
        res.to_parquet(tmp_path / "r.parquet")


def test_pivot_matches_a_row_by_row_loop():
    res = fr.sweep(GRID, data="abs1d", steps=0)
    rows = res.rows
    for metric, agg in [("collapsed", "mean"), ("output_std_ratio", "median"), ("final_loss", "std")]:
        p = res.pivot("width", "init", metric, agg, where={"depth": 5})
        for i, w in enumerate(p.row_labels):
            for j, init in enumerate(p.col_labels):
                cell = np.array([r[metric] for r in rows if r["width"] == w and r["init"] == init
                                 and r["depth"] == 5 and r[metric] is not None], dtype=float)
                want = float(getattr(np, agg)(cell)) if cell.size else math.nan
                assert p.counts[i, j] == cell.size
                assert p.values[i, j] == want or (math.isnan(want) and math.isnan(p.values[i, j]))
