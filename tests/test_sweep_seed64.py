"""Seeds across the whole accepted range [0, 2**64): the seed column, rows, exports, journals
(.jsonl, .csv, .arrows) and resume hold the seed each net was drawn with, also seeds >= 2**63
(an int64 column wrapped them negative). Journals written before seeds were uint64 (an int64
Arrow column; negative JSON seeds where a seed had wrapped) still resume and read back."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import fastrelu as fr
from fastrelu.sweeps import sweep
from fastrelu.sweeps.columns import encode

SEEDS = [0, 2**63 - 1, 2**63, 2**64 - 1]
GRID = {"width": [3], "depth": [3], "init": ["he", "rai"], "seed": SEEDS}
SETTINGS = {"data": "abs1d", "steps": 0}


@pytest.fixture(scope="module")
def res():
    return sweep(GRID, **SETTINGS)


def _seeds(rows):
    return [r["seed"] for r in rows]


def _wrap(seed):
    """What an int64 column made of a seed (the old behaviour)."""
    return seed - 2**64 if seed >= 2**63 else seed


def test_seed_column_and_rows_hold_the_seeds(res):
    col = res.column("seed")
    assert col.dtype == np.uint64
    assert col.tolist() == SEEDS * 2  # init is the outer key
    assert _seeds(res.rows) == SEEDS * 2
    assert all(type(s) is int for s in _seeds(res.rows))
    assert json.loads(res.to_json()) == res.rows


def test_every_row_is_the_net_drawn_with_its_seed(res):
    X, y = fr.data.make("abs1d")
    ratios = []
    for row in res.rows:
        net = fr.MLP([X.shape[1], 3, 3, 3, y.reshape(len(y), -1).shape[1]], init=row["init"],
                     bias=row["bias"], seed=row["seed"])
        rep = fr.diagnose(net, X, y, loss="mse")
        assert row["dead_fraction"] == rep.dead_fraction
        assert row["dead_layer"] == (max(rep.dead_fraction) == 1.0)
        assert row["collapsed"] == rep.collapsed
        assert row["output_std_ratio"] == pytest.approx(rep.output_std_ratio, rel=1e-9)
        ratios.append(row["output_std_ratio"])
    assert len(set(ratios)) == len(ratios)  # the four seeds draw four different nets
    assert res.rows == sweep(GRID, engine="reference", **SETTINGS).rows


def test_each_row_is_a_function_of_its_point_alone(res):
    by_point = {(r["init"], r["seed"]): r for r in res.rows}
    for init in GRID["init"]:
        for seed in SEEDS:
            one = sweep({**GRID, "init": [init], "seed": [seed]}, **SETTINGS).rows
            assert one == [by_point[(init, seed)]]


@pytest.mark.parametrize("seeds", [range(2**64 - 3, 2**64), range(2**64 - 1, 2**64 - 4, -1),
                                   range(2**63 - 2, 2**63 + 2)])
def test_ranges_of_seeds_at_the_top_of_the_range(seeds, tmp_path):
    grid = {"width": [3], "depth": [2], "seed": seeds}
    got = sweep(grid, **SETTINGS)
    assert got.column("seed").tolist() == list(seeds)
    assert got.rows == sweep({**grid, "seed": list(seeds)}, **SETTINGS).rows
    out = tmp_path / "rows.arrows"
    pytest.importorskip("pyarrow")
    sweep({**grid, "seed": list(seeds)[:2]}, out=out, **SETTINGS)
    again = sweep(grid, out=out, **SETTINGS)  # a range grid finds the rows of a list grid
    assert again.n_resumed == 2 and again.rows == got.rows


def test_seeds_outside_the_range_are_refused():
    with pytest.raises(ValueError, match="seed"):
        sweep({"width": [2], "depth": [2], "seed": [2**64]}, **SETTINGS)
    with pytest.raises(ValueError, match="seed"):
        sweep({"width": [2], "depth": [2], "seed": [-1]}, **SETTINGS)
    with pytest.raises(ValueError, match="seed"):
        encode("seed", [0, 2**64])
    with pytest.raises(ValueError, match="seed"):
        encode("seed", [1, 2.5])


def test_encode_reads_old_wrapped_seeds_back_as_the_true_seeds():
    assert encode("seed", [_wrap(s) for s in SEEDS]).tolist() == SEEDS
    assert np.array(SEEDS).dtype == np.float64  # what NumPy infers: inexact
    assert encode("seed", SEEDS).tolist() == SEEDS
    mixed = [-1, 2**63, 5]  # also float64
    assert encode("seed", mixed).tolist() == [2**64 - 1, 2**63, 5]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".arrows"])
def test_journal_round_trip_and_resume(suffix, res, tmp_path):
    if suffix == ".arrows":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"rows{suffix}"
    half = sweep({**GRID, "seed": SEEDS[::2]}, out=out, **SETTINGS)
    assert half.n_resumed == 0 and _seeds(half.rows) == SEEDS[::2] * 2
    full = sweep(GRID, out=out, **SETTINGS)
    assert full.n_resumed == 4 and full.rows == res.rows
    finished = sweep(GRID, out=out, **SETTINGS)
    assert finished.n_resumed == 8 and finished.rows == res.rows
    assert finished.column("seed").tolist() == SEEDS * 2
    if suffix == ".arrows":
        import pyarrow as pa

        table = pa.ipc.open_stream(str(out)).read_all()
        assert table.schema.field("seed").type == pa.uint64()
        assert sorted(table.column("seed").to_pylist()) == sorted(SEEDS * 2)
        return
    journal = out.with_suffix(".jsonl")
    stored = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert sorted(_seeds(stored)) == sorted(SEEDS * 2)
    if suffix == ".csv":
        with open(out, newline="") as fh:
            table = list(csv.DictReader(fh))
        assert [int(line["seed"]) for line in table] == SEEDS * 2
        assert out.read_text() == res.to_csv()


def test_exports_and_pivot_by_seed(res, tmp_path):
    frame = res.to_pandas()
    assert frame["seed"].dtype == np.uint64 and frame["seed"].tolist() == SEEDS * 2
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    assert res.to_arrow().schema.field("seed").type == pa.uint64()
    res.to_parquet(tmp_path / "rows.parquet")
    assert pq.read_table(tmp_path / "rows.parquet").column("seed").to_pylist() == SEEDS * 2
    p = res.pivot("seed", "init", "output_std_ratio")
    assert p.row_labels == SEEDS and p.col_labels == ["he", "rai"]
    want = {(r["seed"], r["init"]): r["output_std_ratio"] for r in res.rows}
    assert p.values.tolist() == [[want[(s, i)] for i in p.col_labels] for s in SEEDS]
    assert p.counts.tolist() == [[1, 1]] * 4
    top = res.pivot("init", "width", "output_std_ratio", where={"seed": 2**64 - 1})
    assert top.counts.tolist() == [[1], [1]]
    assert top.values[:, 0].tolist() == [want[(2**64 - 1, "he")], want[(2**64 - 1, "rai")]]


def _legacy_arrows(path, rows_from):
    """Rewrite the .arrows journal ``rows_from`` as the old code wrote it: the same header and
    rows, the seed column int64 (a seed >= 2**63 wrapped negative)."""
    import pyarrow as pa

    table = pa.ipc.open_stream(str(rows_from)).read_all()
    i = table.schema.get_field_index("seed")
    old = table.schema.set(i, pa.field("seed", pa.int64(), nullable=False))
    seeds = pa.array([_wrap(s) for s in table.column("seed").to_pylist()], pa.int64())
    with pa.ipc.new_stream(str(path), old) as writer:
        writer.write_table(table.set_column(i, old.field(i), seeds))


def test_an_int64_arrows_journal_resumes_and_reads_back(res, tmp_path):
    pa = pytest.importorskip("pyarrow")
    new = tmp_path / "new.arrows"
    sweep({**GRID, "seed": SEEDS[:3]}, out=new, **SETTINGS)  # 2**63 wrapped in the old file
    out = tmp_path / "old.arrows"
    _legacy_arrows(out, new)
    assert min(pa.ipc.open_stream(str(out)).read_all().column("seed").to_pylist()) < 0
    first = sweep({**GRID, "seed": SEEDS[:3]}, out=out, **SETTINGS)
    assert first.n_resumed == 6 and first.rows == sweep({**GRID, "seed": SEEDS[:3]}, **SETTINGS).rows
    grown = sweep(GRID, out=out, **SETTINGS)  # appends the rows of seed 2**64 - 1
    assert grown.n_resumed == 6 and grown.rows == res.rows
    table = pa.ipc.open_stream(str(out)).read_all()
    assert table.schema.field("seed").type == pa.int64()  # appended in its own schema
    assert sorted(np.array(table.column("seed")).view(np.uint64).tolist()) == sorted(SEEDS * 2)
    finished = sweep(GRID, out=out, **SETTINGS)
    assert finished.n_resumed == 8 and finished.rows == res.rows
    assert finished.column("seed").tolist() == SEEDS * 2


def test_a_jsonl_journal_with_wrapped_seeds_resumes_and_reads_back(res, tmp_path):
    out = tmp_path / "rows.jsonl"
    sweep(GRID, out=out, **SETTINGS)
    header, *lines = out.read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    # the old code wrote 2**64 - 1 as -1; keep 2**63 true: one block mixes both
    old = [{**r, "seed": -1} if r["seed"] == 2**64 - 1 else r for r in rows]
    out.write_text("\n".join([header] + [json.dumps(r, separators=(",", ":")) for r in old]) + "\n")
    again = sweep(GRID, out=out, **SETTINGS)
    assert again.n_resumed == 8 and again.rows == res.rows
    assert len(out.read_text().splitlines()) == 9  # nothing recomputed or appended


def test_dask_backend_keeps_the_seeds(res, tmp_path):
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("pyarrow")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        got = sweep(GRID, backend="dask", address=cluster.scheduler_address,
                    out=tmp_path / "rows.arrows", **SETTINGS)
    assert got.rows == res.rows and got.column("seed").tolist() == SEEDS * 2
