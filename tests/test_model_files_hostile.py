"""Model files are data, never code: hostile and malformed files get one clear ValueError naming
the file, nothing in them is executed, and nothing on disk changes (issue 12, point 6)."""
from __future__ import annotations

import os
import pathlib
import pickle
import re
import sys

import numpy as np
import pytest

from fastrelu.imported import MissingDependencyError
from fastrelu.model_files import load_model
from _optional import require_package, snapshot
from _torch import require_torch


def refused(path, match, **kw):
    """load_model(path) raises ValueError naming the file and matching ``match``; the folder is unchanged."""
    before = snapshot(path.parent)
    with pytest.raises(ValueError, match=match) as info:
        load_model(path, **kw)
    assert str(path) in str(info.value)
    assert snapshot(path.parent) == before
    return str(info.value)


class Payload:
    """Unpickling this would run a command and create a file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class PathPayload:
    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def state_dict_arrays():
    rng = np.random.default_rng(0)
    return {"0.weight": rng.normal(size=(4, 3)).astype(np.float32), "0.bias": np.zeros(4, np.float32),
            "2.weight": rng.normal(size=(1, 4)).astype(np.float32), "2.bias": np.zeros(1, np.float32)}


# --------------------------------------------------------------------------- code in pickles
@pytest.mark.torch
@pytest.mark.parametrize("payload", [Payload, PathPayload], ids=["os.system", "Path.touch"])
@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_pickle_payload_in_pt_is_refused_unexecuted(tmp_path, payload, writer):
    torch = require_torch()
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    obj = {"0.weight": torch.ones(2, 2), "trap": payload(marker)}
    if writer == "torch.save":
        torch.save(obj, path)
    else:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=2)
    message = refused(path, "pickled Python object")
    assert "model.state_dict()" in message and "nothing in it was executed" in message
    assert not marker.exists()


@pytest.mark.torch
def test_whole_pickled_model_is_refused_with_the_fix(tmp_path):
    torch = require_torch()
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 1)), path)
    message = refused(path, r"torch\.save\(model\.state_dict\(\), path\)")
    assert "torch.nn.modules" in message  # names what it would have needed


def test_npz_with_object_array_is_refused_unexecuted(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.npz"
    np.savez(path, **{"0.weight": np.array([Payload(marker)], dtype=object)})
    refused(path, "allow_pickle=False")
    assert not marker.exists()


def test_npy_pickle_renamed_npz_is_refused(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.npz"
    with open(path, "wb") as fh:
        pickle.dump(Payload(marker), fh)
    refused(path, "not a .npz archive")
    assert not marker.exists()


# --------------------------------------------------------------------------- malformed files
def write_npz(path):
    np.savez(path, **state_dict_arrays())


def write_safetensors(path):
    require_package("safetensors.numpy").save_file(state_dict_arrays(), str(path))


def write_onnx(path):
    from test_model_import import onnx_mlp

    onnx_mlp(require_package("onnx"), np.random.default_rng(0), path)


def write_pt(path):
    torch = require_torch()
    torch.save({k: torch.as_tensor(v) for k, v in state_dict_arrays().items()}, path)


WRITERS = {".npz": write_npz, ".safetensors": write_safetensors, ".onnx": write_onnx, ".pt": write_pt}
#: What the message of a file that cannot be read says was expected, per suffix.
EXPECTED = {".npz": "is not a .npz archive of arrays|expected a .npz archive of arrays",
            ".safetensors": "is not a safetensors file of tensors", ".onnx": "is not an ONNX model",
            ".pt": "is not a readable PyTorch file .*expected a state_dict saved with"}


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_valid_files_of_each_format_load(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    WRITERS[suffix](path)
    assert load_model(path).net.sizes in ((3, 4, 1), (4, 6, 2))


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9, "minus_one"])
@pytest.mark.parametrize("suffix", list(WRITERS))
def test_truncated_files_are_refused(tmp_path, suffix, fraction):
    path = tmp_path / f"model{suffix}"
    WRITERS[suffix](path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 1] if fraction == "minus_one" else data[:int(len(data) * fraction)])
    refused(path, EXPECTED[suffix])


@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".onnx", ".pt", ".pth"])
def test_empty_files_are_refused(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"")
    refused(path, "is empty; expected")


@pytest.mark.parametrize("written, named", [(".pt", ".npz"), (".pt", ".safetensors"), (".pt", ".onnx"),
                                            (".npz", ".pt"), (".onnx", ".safetensors"), (".safetensors", ".onnx"),
                                            (".npz", ".onnx"), (".onnx", ".npz")])
def test_file_that_is_not_what_its_suffix_says(tmp_path, written, named):
    source = tmp_path / f"real{written}"
    WRITERS[written](source)
    path = tmp_path / f"model{named}"
    path.write_bytes(source.read_bytes())
    require_reader(named)
    refused(path, EXPECTED[named])


@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".onnx", ".pt"])
def test_random_bytes_are_refused(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    require_reader(suffix)
    message = refused(path, EXPECTED[suffix])
    assert "allow_pickle=True" not in message and "unsafely" not in message


def require_reader(suffix):
    """Skip (or fail under FASTRELU_REQUIRE_TORCH) when the package that reads ``suffix`` is missing."""
    if suffix in (".pt", ".pth"):
        require_torch()
    elif suffix == ".onnx":
        require_package("onnx")
    elif suffix == ".safetensors":
        require_package("safetensors.numpy")


def save_arrays(path, arrays):
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    elif path.suffix == ".safetensors":
        require_package("safetensors.numpy").save_file(arrays, str(path))
    else:
        torch = require_torch()
        torch.save({k: torch.as_tensor(v) for k, v in arrays.items()}, path)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".pt"])
def test_mismatched_shapes_are_refused(tmp_path, suffix):
    arrays = state_dict_arrays()
    arrays["2.weight"] = np.ones((1, 5), np.float32)
    path = tmp_path / f"model{suffix}"
    save_arrays(path, arrays)
    refused(path, re.escape("layer '2' takes 5 inputs but the layer before it ('0') has 4 outputs"))


@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".pt"])
def test_bias_of_the_wrong_shape_is_refused(tmp_path, suffix):
    arrays = state_dict_arrays()
    arrays["0.bias"] = np.zeros(3, np.float32)
    path = tmp_path / f"model{suffix}"
    save_arrays(path, arrays)
    refused(path, re.escape("0 bias has shape (3,); expected (4,)"))


@pytest.mark.parametrize("arrays, match", [
    ({"bn.running_mean": np.zeros(3), "bn.running_var": np.ones(3)}, "no Linear-like layers"),
    ({}, "no Linear-like layers"),
    ({"conv.weight": np.zeros((4, 3, 3, 3)), "conv.bias": np.zeros(4)}, "a convolution"),
    ({"ln.weight": np.ones(4), "ln.bias": np.zeros(4)}, "LayerNorm"),
    ({"emb": np.ones((3, 3))}, "neither a Linear layer"),
    ({"0.weight": np.ones((2, 2), np.int64)}, "floating-point"),
], ids=["only_batchnorm", "no_arrays", "conv", "layernorm", "unknown_key", "integer_weights"])
def test_npz_without_an_mlp_is_refused(tmp_path, arrays, match):
    path = tmp_path / "model.npz"
    np.savez(path, **arrays)
    refused(path, match)


def test_onnx_residual_graph_is_refused(tmp_path):
    from test_model_import import onnx_mlp

    path = tmp_path / "res.onnx"
    onnx_mlp(require_package("onnx"), np.random.default_rng(0), path, residual=True)
    refused(path, "not a plain MLP chain")


def test_onnx_with_external_data_is_refused(tmp_path):
    onnx = require_package("onnx")
    from test_model_import import onnx_mlp

    path = tmp_path / "ext.onnx"
    onnx_mlp(onnx, np.random.default_rng(0), path)
    model = onnx.load(str(path))
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    refused(path, "external file")


def test_onnx_with_unsupported_operator_is_refused(tmp_path):
    onnx = require_package("onnx")
    h, T = onnx.helper, onnx.TensorProto
    W = onnx.numpy_helper.from_array(np.ones((2, 3), np.float32), "W")
    graph = h.make_graph([h.make_node("Gemm", ["x", "W"], ["g"], transB=1), h.make_node("Elu", ["g"], ["y"])],
                         "g", [h.make_tensor_value_info("x", T.FLOAT, ["n", 3])],
                         [h.make_tensor_value_info("y", T.FLOAT, ["n", 2])], [W])
    path = tmp_path / "elu.onnx"
    onnx.save(h.make_model(graph), str(path))
    refused(path, r"\(Elu\) is not part of an MLP graph")


# --------------------------------------------------------------------------- paths and packages
def test_unknown_suffix_missing_file_and_directory(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"HDF")
    refused(path, "unknown model file suffix '.h5'; expected one of .npz, .onnx, .pt, .pth, .safetensors")
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        load_model(tmp_path / "nothing.npz")
    folder = tmp_path / "folder.npz"
    folder.mkdir()
    refused(folder, "is not a file")
    with pytest.raises(TypeError, match="path must be a file path"):
        load_model(3)


@pytest.mark.parametrize("module, suffix, hint", [("onnx", ".onnx", 'pip install "fastrelu[onnx]"'),
                                                  ("safetensors.numpy", ".safetensors", 'pip install "fastrelu[torch]"'),
                                                  ("torch", ".pt", 'pip install "fastrelu[torch]"')])
def test_missing_optional_package_gives_the_install_hint(tmp_path, monkeypatch, module, suffix, hint):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"not read: the package is missing")
    monkeypatch.setitem(sys.modules, module, None)  # import of it now raises ImportError
    with pytest.raises(MissingDependencyError, match=re.escape(hint)) as info:
        load_model(path)
    assert isinstance(info.value, ImportError)
