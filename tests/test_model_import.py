"""fastrelu.model_files.load_model: a round trip for every format gives the model's own outputs."""
from __future__ import annotations

import numpy as np
import pytest

import fastrelu as fr
from fastrelu.imported import OUTPUT_ACTIVATIONS, Activation, Linear, apply_output_activation, assemble
from fastrelu.model_files import load_model
from _optional import require_package, snapshot
from _torch import require_torch


def torch_mlp(torch, *, bn=False, out=None, dtype=None, n_layers=3, width=7, seed=0):
    nn = torch.nn
    torch.manual_seed(seed)
    sizes = [5] + [width] * (n_layers - 1) + [3]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += ([nn.BatchNorm1d(b)] if bn else []) + [nn.ReLU()]
    model = nn.Sequential(*layers, *([out] if out is not None else [])).to(dtype or torch.float32)
    if bn:
        with torch.no_grad():
            model.train()
            for _ in range(3):
                model(2 * torch.randn(40, 5, dtype=dtype or torch.float32) - 1)
    return model.eval()


def reference(model, torch, X):
    with torch.no_grad():
        return model(torch.as_tensor(X)).numpy()


def assert_reproduces(imported, model, torch, X, dtype="float32"):
    expected = reference(model, torch, X)
    tight = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(imported.forward(X), expected, **tight)


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)


# --------------------------------------------------------------------------- state_dict formats
@pytest.mark.torch
@pytest.mark.parametrize("bn", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_state_dict_pt_round_trip(tmp_path, X, bn, suffix):
    torch = require_torch()
    model = torch_mlp(torch, bn=bn, out=torch.nn.Softmax(dim=1))
    path = tmp_path / f"model{suffix}"
    torch.save(model.state_dict(), path)
    imported = load_model(path, output_activation="softmax")
    assert imported.net.batchnorm == bn and imported.source == str(path)
    assert imported.layer_names == (("0", "3", "6") if bn else ("0", "2", "4"))
    assert_reproduces(imported, model, torch, X)


@pytest.mark.torch
@pytest.mark.parametrize("key", ["state_dict", "model_state_dict", "model"])
def test_checkpoint_dicts_are_read(tmp_path, X, key):
    torch = require_torch()
    model = torch_mlp(torch)
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 7, key: model.state_dict(), "lr": 0.1}, path)
    assert_reproduces(load_model(path), model, torch, X)


@pytest.mark.torch
def test_float64_state_dict_gives_a_float64_net(tmp_path):
    torch = require_torch()
    model = torch_mlp(torch, dtype=torch.float64, bn=True)
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    imported = load_model(path)
    assert imported.net.dtype == np.float64
    assert_reproduces(imported, model, torch, np.random.default_rng(1).normal(size=(30, 5)), "float64")


@pytest.mark.torch
def test_safetensors_round_trip_keeps_layer_order_past_ten(tmp_path, X):
    torch = require_torch()
    st = require_package("safetensors.torch")
    model = torch_mlp(torch, n_layers=12, out=torch.nn.Sigmoid())  # keys 0 .. 22: sorted as text, 10 < 2
    path = tmp_path / "model.safetensors"
    st.save_file(model.state_dict(), str(path))
    imported = load_model(path, output_activation="sigmoid")
    assert imported.layer_names == tuple(str(2 * i) for i in range(12))
    assert_reproduces(imported, model, torch, X)


@pytest.mark.torch
def test_npz_with_state_dict_keys_round_trip(tmp_path, X):
    torch = require_torch()
    model = torch_mlp(torch, bn=True)
    path = tmp_path / "model.npz"
    np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})
    imported = load_model(path)
    assert imported.net.batchnorm and imported.output_activation is None
    assert_reproduces(imported, model, torch, X)


def test_fastrelu_npz_round_trip(tmp_path):
    net = fr.MLP([4, 6, 6, 2], seed=3, dtype="float64", batchnorm=True, bias=0.1)
    X = np.random.default_rng(2).normal(size=(25, 4))
    fr.fit(net, X, X[:, :2], optimizer=fr.Adam(1e-2), epochs=2, batch_size=5, seed=0)
    path = tmp_path / "net.npz"
    fr.save(net, path)
    imported = load_model(path, output_activation="tanh")
    assert imported.net.params.tobytes() == net.params.tobytes()
    assert imported.net.running.tobytes() == net.running.tobytes()
    assert imported.layer_names == ("0", "1", "2") and imported.output_activation == "tanh"
    np.testing.assert_array_equal(imported.forward(X), np.tanh(net.forward(X)))


# --------------------------------------------------------------------------- ONNX
@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's notes on its legacy exporter
@pytest.mark.parametrize("bn", [False, True], ids=["plain", "bn"])
def test_onnx_export_round_trip(tmp_path, X, bn):
    torch = require_torch()
    require_package("onnx")
    model = torch_mlp(torch, bn=bn, out=torch.nn.LogSoftmax(dim=1))
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, torch.as_tensor(X[:4]), str(path), dynamo=False, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    imported = load_model(path)
    assert imported.output_activation == "log_softmax" and imported.net.batchnorm == bn
    assert_reproduces(imported, model, torch, X)
    with pytest.raises(ValueError, match="ends with 'log_softmax'"):
        load_model(path, output_activation="softmax")


def onnx_mlp(onnx, rng, path, *, residual=False):
    """x -MatMul W1 -Add b1 -Relu -Gemm(W2 stored (in, out), transB=0) -Sigmoid, built by hand."""
    h, T = onnx.helper, onnx.TensorProto
    W1, b1 = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    W2, b2 = rng.normal(size=(6, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    inits = [onnx.numpy_helper.from_array(a, n) for a, n in ((W1, "W1"), (b1, "b1"), (W2, "W2"), (b2, "b2"))]
    nodes = [h.make_node("MatMul", ["x", "W1"], ["m"], name="mm"), h.make_node("Add", ["m", "b1"], ["z"]),
             h.make_node("Relu", ["z"], ["r"]), h.make_node("Flatten", ["r"], ["f"], axis=1),
             h.make_node("Gemm", ["f", "W2", "b2"], ["g"], transB=0, name="gemm"),
             h.make_node("Sigmoid", ["g"], ["y"])]
    if residual:
        nodes[4] = h.make_node("Add", ["f", "x"], ["g"])
    graph = h.make_graph(nodes, "mlp", [h.make_tensor_value_info("x", T.FLOAT, ["n", 4])],
                         [h.make_tensor_value_info("y", T.FLOAT, ["n", 2])], inits)
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)]), str(path))
    return W1, b1, W2, b2


def test_onnx_graph_built_by_hand(tmp_path):
    onnx = require_package("onnx")
    rng = np.random.default_rng(4)
    path = tmp_path / "hand.onnx"
    W1, b1, W2, b2 = onnx_mlp(onnx, rng, path)
    imported = load_model(path)
    assert imported.net.sizes == (4, 6, 2) and imported.output_activation == "sigmoid"
    assert imported.layer_names == ("W1", "W2")
    np.testing.assert_array_equal(imported.net.weights[0], W1.T)  # MatMul stores (in, out)
    np.testing.assert_array_equal(imported.net.weights[1], W2.T)  # Gemm with transB=0 too
    X = rng.normal(size=(10, 4)).astype(np.float32)
    expected = 1 / (1 + np.exp(-(np.maximum(X @ W1 + b1, 0) @ W2 + b2)))
    np.testing.assert_allclose(imported.forward(X), expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- shared pieces
@pytest.mark.parametrize("name", OUTPUT_ACTIVATIONS)
def test_output_activations_match_their_definitions(name):
    z = np.random.default_rng(5).normal(size=(8, 3)) * 4
    e = np.exp(z - z.max(axis=1, keepdims=True))
    expected = {"relu": np.maximum(z, 0), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z),
                "softmax": e / e.sum(axis=1, keepdims=True),
                "log_softmax": np.log(e / e.sum(axis=1, keepdims=True))}[name]
    np.testing.assert_allclose(apply_output_activation(z, name), expected, rtol=1e-12, atol=1e-15)


def test_output_activation_is_validated(tmp_path):
    with pytest.raises(ValueError, match="output_activation='gelu' is not accepted"):
        load_model(tmp_path / "x.npz", output_activation="gelu")
    with pytest.raises(ValueError, match="output_activation"):
        assemble([Linear("a", np.ones((1, 2)))], source="s", output_activation="softplus")
    with pytest.raises(ValueError, match="'gelu' is not accepted"):
        assemble([Linear("a", np.ones((1, 2))), Activation("g", "gelu")], source="s")


def test_imported_model_is_frozen_and_loading_writes_nothing(tmp_path):
    net = fr.MLP([2, 3, 1], seed=0)
    fr.save(net, tmp_path / "net.npz")
    before = snapshot(tmp_path)
    model = load_model(tmp_path / "net.npz")
    assert snapshot(tmp_path) == before
    with pytest.raises(AttributeError):
        model.source = "elsewhere"
