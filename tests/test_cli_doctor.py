"""`fastrelu doctor MODEL --data DATA`: verdict, findings, --json, --plot, and user errors as exit 2."""
from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

import fastrelu as fr
from fastrelu_cli.app import app
from _optional import require_package, snapshot

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["doctor", *map(str, args)], env={"COLUMNS": "80"})


@pytest.fixture()
def files(tmp_path):
    """A state_dict whose output ReLU is dead (.npz, state_dict keys) and its data."""
    X, y = fr.data.teacher(256, 4, seed=0)
    net = fr.MLP([4, 16, 16, 1], seed=0, dtype="float64")
    fr.fit(net, X, y, optimizer=fr.Adam(1e-2), steps=300, batch_size=32, seed=0)
    net.biases[-1][:] = -50.0
    arrays = {}
    for k, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"{2 * k}.weight"], arrays[f"{2 * k}.bias"] = w, b
    np.savez(tmp_path / "model.npz", **arrays)
    np.savez(tmp_path / "data.npz", X=X, y=y.ravel())
    header = ",".join([f"x{i}" for i in range(4)] + ["price"])
    np.savetxt(tmp_path / "data.csv", np.column_stack([X, y.ravel()]), delimiter=",", header=header, comments="")
    return tmp_path


def test_diagnosis_names_the_dead_output_relu(files):
    r = invoke(files / "model.npz", "--data", files / "data.npz", "--output-activation", "relu")
    assert r.exit_code == 0, r.output
    assert "COLLAPSED" in r.stdout and "error output-activation" in r.stdout
    assert r.stdout.count(" error ") == 1            # the ReLU explains it; nothing else is blamed
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    healthy = invoke(files / "model.npz", "--data", files / "data.npz")    # without the ReLU: linear output
    assert healthy.exit_code == 0 and "not collapsed" in healthy.stdout


def test_json_is_one_document_of_the_report(files):
    r = invoke(files / "model.npz", "--data", files / "data.csv", "--target", "price", "--output-activation", "relu",
               "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["collapsed"] is True and doc["findings"][0]["code"] == "output-activation"
    assert doc["findings"][0]["evidence"]["rows_all_zero"] == 1.0 and doc["finding_codes"][0] == "output-activation"
    assert doc["loss_name"] == "mse" and doc["n_rows"] == 256


def test_the_model_and_data_files_are_not_modified(files):
    before = snapshot(files)
    assert invoke(files / "model.npz", "--data", files / "data.npz", "--lr", "0.01").exit_code == 0
    assert snapshot(files) == before


def test_plot_is_written(files):
    require_package("matplotlib")
    r = invoke(files / "model.npz", "--data", files / "data.npz", "--plot", files / "d.png")
    assert r.exit_code == 0 and (files / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,message", [
    (["--data", "missing.npz"], "does not exist"),
    (["--data", "{d}/data.npz", "--loss", "hinge"], "--loss='hinge' is not accepted"),
    (["--data", "{d}/data.csv", "--target", "nope"], "target='nope' is not accepted; expected a column of"),
    (["--data", "{d}/data.npz", "--output-activation", "swish"], "output_activation='swish' is not accepted"),
    (["--data", "{d}/data.txt"], "expected a file ending in .npz"),
    (["--data", "{d}/narrow.npz"], "X with 3 features is not accepted; expected 4 features"),
    (["--data", "{d}/data.npz", "--plot", "out.jpg"], "expected a file name ending in .png"),
])
def test_user_errors_exit_2_with_one_message(files, args, message):
    np.savez(files / "narrow.npz", X=np.zeros((8, 3)), y=np.zeros(8))
    (files / "data.txt").write_text("1,2\n")
    r = invoke(files / "model.npz", *[a.format(d=files) for a in args])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert message in " ".join(r.stderr.split())


@pytest.mark.parametrize("name,content,package", [("empty.npz", b"", None),
                                                    ("junk.safetensors", os.urandom(64), "safetensors")])
def test_malformed_model_files_exit_2_naming_the_file(files, name, content, package):
    if package:
        require_package(package)     # without it the command exits 2 with the install hint instead
    (files / name).write_bytes(content)
    r = invoke(files / name, "--data", files / "data.npz")
    assert r.exit_code == 2 and name in r.stderr and "Traceback" not in r.output


def test_a_pickle_that_runs_code_is_refused_unexecuted(files):
    require_package("torch")
    marker = files / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(files / "evil.pt", "wb") as fh:
        pickle.dump({"0.weight": Payload()}, fh, protocol=2)
    r = invoke(files / "evil.pt", "--data", files / "data.npz")
    assert r.exit_code == 2 and "evil.pt" in r.stderr and not marker.exists()


def test_fix_without_targets_is_a_user_error(files):
    np.savez(files / "xonly.npz", X=np.zeros((8, 4)))
    r = invoke(files / "model.npz", "--data", files / "xonly.npz", "--fix")
    assert r.exit_code == 2 and "--fix trains on the targets" in " ".join(r.stderr.split())


def test_a_missing_optional_package_gives_the_install_hint(files, monkeypatch):
    import sys

    (files / "model.onnx").write_bytes(b"\x08\x07")
    monkeypatch.setitem(sys.modules, "onnx", None)          # import onnx now raises ImportError
    r = invoke(files / "model.onnx", "--data", files / "data.npz")
    assert r.exit_code == 2 and 'pip install "fastrelu[onnx]"' in " ".join(r.stderr.split())
    assert "Traceback" not in r.output


def test_fix_measures_candidates_and_exports_them(files):
    r = invoke(files / "model.npz", "--data", files / "data.npz", "--fix", "--seeds", "4", "--steps", "30", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    names = [c["name"] for c in doc["fixes"]]
    assert "as-is" in names and len(names) >= 3 and len(set(names)) == len(names)
    assert all(0.0 <= c["p_collapsed"] <= 1.0 for c in doc["fixes"])
    assert all(c["seeds"] == 4 and c["steps"] == 30 for c in doc["fixes"])
    shown = invoke(files / "model.npz", "--data", files / "data.npz", "--fix", "--seeds", "4", "--steps", "30")
    assert shown.exit_code == 0 and "Measured fixes (4 fresh seeds x 30 steps each)" in shown.stdout
