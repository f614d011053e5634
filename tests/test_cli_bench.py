"""`fastrelu bench` through typer's CliRunner, on tiny configurations (seconds, not minutes)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fastrelu_bench.workloads import flops_per_step, get_workload
from fastrelu_cli.app import app

from _s0 import any_row_dead
from _terminal import COLUMNS_80, assert_fits_80_columns

QUICK = ["--repeat", "2", "--steps", "20", "--ceiling-n", "128", "--no-cold-start", "--threads", "1"]


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["bench", *args], env=env)


def test_bad_workload_exits_2_listing_valid_names():
    result = invoke("W9")
    assert result.exit_code == 2
    assert "W9" in result.stderr
    for name in ("W1", "W2", "W3", "S0", "all"):
        assert name in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args, word", [(["--repeat", "0"], "repeat"), (["--impl", "pytorch"], "pytorch"),
                                        (["--settle", "-1"], "settle")])
def test_bad_options_exit_2(args, word):
    result = invoke("W1", *args, "--no-ceiling", "--no-cold-start", "--steps", "1")
    assert result.exit_code == 2
    assert word in result.stderr


def test_json_is_one_document_with_consistent_numbers():
    result = invoke("W1", "--json", "--impl", "fastrelu,numpy", *QUICK)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document, nothing else on stdout
    assert doc["ok"] is True and doc["repeat"] == 2 and doc["threads"] == 1
    assert doc["ceiling"]["n"] == 128 and doc["ceiling"]["gflops"] > 0
    assert doc["cold_start"] is None
    (w,) = doc["workloads"]
    assert (w["workload"], w["metric"], w["steps"]) == ("W1", "steps/s", 20)
    assert w["flops_per_run"] == flops_per_step(get_workload("W1")) * 20
    rows = {r["name"]: r for r in w["implementations"]}
    assert list(rows) == ["fastrelu", "numpy"]
    for r in rows.values():
        assert r["status"] == "ok" and len(r["times_s"]) == 2
        assert r["throughput"] == pytest.approx(20 / r["median_s"])
        assert r["ceiling_share"] == pytest.approx(r["gflops"] / w["ceiling"]["gflops"])
    assert rows["fastrelu"]["fastrelu_speedup"] == 1.0
    assert rows["numpy"]["fastrelu_speedup"] == pytest.approx(rows["numpy"]["median_s"] / rows["fastrelu"]["median_s"])
    assert rows["numpy"]["final_loss"] == pytest.approx(rows["fastrelu"]["final_loss"], rel=1e-4)


def test_w2_times_the_ensemble_against_the_batched_peer():
    result = invoke("w2", "--json", "--impl", "fastrelu,numpy-batched", "--nets", "4", *QUICK)
    assert result.exit_code == 0, result.stderr
    (w,) = json.loads(result.stdout)["workloads"]
    assert w["n_nets"] == 4 and w["metric"] == "net-steps/s"
    rows = {r["name"]: r for r in w["implementations"]}
    assert [r["status"] for r in rows.values()] == ["ok", "ok"]
    for r in rows.values():
        assert r["throughput"] == pytest.approx(4 * 20 / r["median_s"])
    assert rows["numpy-batched"]["fastrelu_speedup"] == pytest.approx(
        rows["numpy-batched"]["median_s"] / rows["fastrelu"]["median_s"])


def _without(monkeypatch, *modules):
    """Make the benchmarks see ``modules`` as not installed (they stay importable)."""
    import fastrelu_bench.implementations as implementations

    real = implementations.installed
    monkeypatch.setattr(implementations, "installed", lambda m: m not in modules and real(m))


def test_missing_peers_are_skipped_with_the_install_hint(monkeypatch):
    _without(monkeypatch, "torch", "jax")
    result = invoke("W1", "--json", *QUICK)
    assert result.exit_code == 0, result.stderr
    (w,) = json.loads(result.stdout)["workloads"]
    rows = {r["name"]: r for r in w["implementations"]}
    assert [rows[n]["status"] for n in ("fastrelu", "numpy", "torch", "jax")] == ["ok", "ok", "skipped", "skipped"]
    assert rows["torch"]["reason"] == 'torch not installed (pip install "fastrelu[peers]")'
    assert rows["torch"]["times_s"] == [] and rows["jax"]["median_s"] is None
    stderr = " ".join(result.stderr.split())
    assert 'skipping torch, jax need jax and torch, not installed (install the peers with: ' \
        'pip install "fastrelu[peers]")' in stderr


def test_table_shows_the_install_hint_of_a_skipped_peer(monkeypatch):
    _without(monkeypatch, "jax")
    result = invoke("W1", "--impl", "fastrelu,numpy", *QUICK)   # jax not asked for: no message
    assert result.exit_code == 0 and "jax" not in result.stderr
    result = invoke("W1", *QUICK)
    assert result.exit_code == 0, result.stderr
    assert 'jax: skipped: jax not installed (pip install "fastrelu[peers]")' in " ".join(result.stdout.split())


def test_asking_for_a_missing_peer_exits_2_before_any_work(monkeypatch):
    import fastrelu_bench.runner as runner

    _without(monkeypatch, "torch")
    monkeypatch.setattr(runner, "run_benchmarks", lambda *a, **k: pytest.fail("ran without torch"))
    result = invoke("W2", "--impl", "fastrelu,torch-func,torch-baddbmm", *QUICK)
    assert result.exit_code == 2
    assert result.stdout == "" and "Traceback" not in result.output
    assert " ".join(result.stderr.split()) == (
        'error: --impl: torch-baddbmm, torch-func need torch, not installed; install the peers '
        'with: pip install "fastrelu[peers]"')


def test_table_output_names_workload_and_implementations():
    result = invoke("W1", "--impl", "numpy,fastrelu", *QUICK)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for word in ("W1: MLP 10-64-64-1", "fastrelu", "numpy", "steps/s", "sgemm 128^3", "machine ceiling"):
        assert word in out
    assert "{" not in out  # a table, not JSON


def test_save_writes_the_same_document_as_json(tmp_path):
    path = tmp_path / "bench.json"
    result = invoke("W1", "--impl", "numpy", "--save", str(path), *QUICK)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(path.read_text())
    (w,) = doc["workloads"]
    (row,) = w["implementations"]
    assert row["name"] == "numpy" and row["status"] == "ok" and len(row["times_s"]) == 2
    assert f"{row['throughput']:,.0f}" in result.stdout  # the table shows the saved median


@pytest.mark.parametrize("workload", ["W1", "W2"])
def test_tables_fit_80_columns(monkeypatch, workload):
    _without(monkeypatch, "torch", "jax")   # fastrelu and NumPy run; the peers' rows say skipped
    result = invoke(workload, "--nets", "4", *QUICK, env=COLUMNS_80)
    assert result.exit_code == 0, result.stderr
    assert_fits_80_columns(result.output)
    header = next(line for line in result.stdout.splitlines() if line.startswith("impl "))
    assert header.split() == ["impl", "rate", "vs", "fr", "GF/s", "%ceil", "loss", "thr", "status"]
    assert ("net-steps/s" if workload == "W2" else "rate: steps/s") in result.stdout  # the legend
    assert "skipped" in result.stdout and "fastrelu[peers]" in result.stdout


S0_QUICK = ["--repeat", "2", "--no-cold-start", "--threads", "1"]


def test_s0_json_reports_nets_per_second_and_p_dead_per_cell():
    result = invoke("s0", "--json", "--impl", "fastrelu,numpy-batched", "--seeds", "20", *S0_QUICK)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    (w,) = doc["workloads"]
    assert (w["workload"], w["metric"], w["n_nets"], w["reference"]) == ("S0", "nets/s", 180, "fastrelu")
    assert w["grid"]["seeds_per_cell"] == 20 and w["grid"]["widths"] == [2, 3, 5]
    assert w["ceiling"] is None and doc["ceiling"] is None    # no sgemm rounds for S0
    rows = {r["name"]: r for r in w["implementations"]}
    for r in rows.values():
        assert r["status"] == "ok" and r["throughput"] == pytest.approx(180 / r["median_s"])
        assert len(r["p_dead_layer"]) == 3 and 0 <= r["gate_score"] <= 1
    assert w["best_peer"] == "numpy-batched"
    assert rows["fastrelu"]["vs_best_peer"] == pytest.approx(
        rows["numpy-batched"]["median_s"] / rows["fastrelu"]["median_s"])


def test_s0_tables_fit_80_columns(monkeypatch):
    _without(monkeypatch, "torch", "jax")
    result = invoke("S0", "--seeds", "10", *S0_QUICK, env=COLUMNS_80)
    assert result.exit_code == 0, result.stderr
    assert_fits_80_columns(result.output)
    lines = result.stdout.splitlines()
    assert next(ln for ln in lines if ln.startswith("impl ")).split() == [
        "impl", "rate", "vs", "fr", "gate", "thr", "status"]
    assert next(ln for ln in lines if ln.startswith("width ")).split() == [
        "width", "depth", "lower", "upper", "fastrelu", "numpy-batched"]
    assert sum(1 for ln in lines if ln.split()[:2] in (["2", "4"], ["5", "19"])) == 2   # cells
    out = " ".join(result.stdout.split())
    assert "rate: nets/s" in out and "x the best peer (numpy-batched)" in out
    assert 'jax-vmap: skipped: jax not installed (pip install "fastrelu[peers]")' in out


def test_s0_peer_that_disagrees_is_reported_and_not_timed(monkeypatch):
    import fastrelu_bench.peers_numpy as peers_numpy

    monkeypatch.setattr(peers_numpy, "_s0_dead", any_row_dead)
    result = invoke("S0", "--impl", "fastrelu,numpy-batched", "--seeds", "100", "--repeat", "1",
                    "--no-cold-start", env=COLUMNS_80)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert_fits_80_columns(result.output)
    out = " ".join(result.stdout.split())
    assert "numpy-batched: mismatch: P(dead layer)" in out and "differs from fastrelu's" in out
    row = next(ln for ln in result.stdout.splitlines() if ln.startswith("numpy-batched "))
    assert row.split()[1] == "-" and row.split()[-1] == "mismatch"     # no rate: not timed
    assert "failed the correctness gate" in result.stderr


def test_w2_through_the_sweep_next_to_the_ensemble():
    result = invoke("W2", "--json", "--impl", "fastrelu,fastrelu-sweep,numpy-batched", "--nets", "3", *QUICK)
    assert result.exit_code == 0, result.stderr
    (w,) = json.loads(result.stdout)["workloads"]
    rows = {r["name"]: r for r in w["implementations"]}
    assert [r["status"] for r in rows.values()] == ["ok", "ok", "ok"]
    # The same nets: the sweep's full-data losses are the ensemble's.
    assert rows["fastrelu-sweep"]["final_loss"] == pytest.approx(rows["fastrelu"]["final_loss"], rel=1e-6)
    assert rows["fastrelu-sweep"]["throughput"] == pytest.approx(3 * 20 / rows["fastrelu-sweep"]["median_s"])
    assert w["best_peer"] == "numpy-batched" and rows["numpy-batched"]["vs_best_peer"] is None
    for name in ("fastrelu", "fastrelu-sweep"):
        assert rows[name]["vs_best_peer"] == pytest.approx(
            rows["numpy-batched"]["median_s"] / rows[name]["median_s"])
