"""The checked-in microkernels (fastrelu/kernels/micro_*.py) are exactly what the generator emits now."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import fastrelu.kernels as kernels
from fastrelu.kernels import gen_microkernels as gen

KERNELS_DIR = os.path.dirname(os.path.abspath(kernels.__file__))
GENERATED = gen.generate()


def test_every_generated_module_is_checked_in_and_nothing_else_claims_to_be():
    on_disk = {f for f in os.listdir(KERNELS_DIR) if f.startswith("micro_") and f.endswith(".py")}
    assert on_disk == set(GENERATED) == {"micro_input_grad.py", "micro_weight_grad.py"}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_checked_in_file_equals_the_generator_output(name):
    with open(os.path.join(KERNELS_DIR, name)) as fh:
        checked_in = fh.read()
    assert checked_in == GENERATED[name], (
        f"fastrelu/kernels/{name} differs from what the generator emits: "
        f"run `{gen.COMMAND}` (and do not edit generated files by hand)")


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_file_says_so_in_its_first_lines(name):
    first_lines = "\n".join(GENERATED[name].splitlines()[:3])
    assert first_lines.startswith('"""GENERATED: do not edit.')
    assert f"``{gen.COMMAND}``" in first_lines


def test_main_writes_the_same_files_and_check_finds_a_stale_one(tmp_path, caplog):
    caplog.set_level("INFO", logger=gen.__name__)
    assert gen.main(["--out", str(tmp_path)]) == 0
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == GENERATED
    assert sorted(r.getMessage() for r in caplog.records) == sorted(f"wrote {tmp_path / n}" for n in GENERATED)
    assert gen.main(["--out", str(tmp_path), "--check"]) == 0
    stale = tmp_path / "micro_input_grad.py"
    stale.write_text(stale.read_text().replace("fma(", "fma (", 1))
    caplog.clear()
    assert gen.main(["--out", str(tmp_path), "--check"]) == 1
    assert [r.getMessage() for r in caplog.records] == [f"differs from the generator: {stale}"]
    assert "fma (" in stale.read_text()   # --check writes nothing


def test_importing_fastrelu_does_not_import_the_generator():
    code = ("import sys, numpy as np, fastrelu as fr\n"
            "net = fr.MLP([3, 8, 1], seed=0)\n"
            "fr.fit(net, np.ones((8, 3)), np.ones((8, 1)), optimizer=fr.SGD(0.1), steps=2, batch_size=8)\n"
            "print('fastrelu.kernels.micro_input_grad' in sys.modules,"
            " 'fastrelu.kernels.gen_microkernels' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
