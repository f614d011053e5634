"""fr.diagnose on PyTorch models: MLP-shaped modules converted with their exact weights, other
modules (a CNN) measured through hooks, saved state_dicts; broken ones found, healthy ones clean."""
from __future__ import annotations

import numpy as np
import pytest

import fastrelu as fr
from _optional import require_package

torch = require_package("torch", module_level=True)
nn = torch.nn


@pytest.fixture(scope="module")
def reg():
    X, y = fr.data.teacher(512, 8, seed=0)
    return X.astype(np.float32), y.astype(np.float32).ravel()


@pytest.fixture(scope="module")
def cls():
    rng = np.random.default_rng(1)
    centers = rng.normal(scale=3.0, size=(3, 6))
    y = rng.integers(0, 3, 600)
    return (centers[y] + rng.normal(size=(600, 6))).astype(np.float32), y


def mlp(*tail, width=32, n_in=8):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), *tail)


def train(model, X, y, loss_fn, *, steps=400, lr=1e-2, opt="adam"):
    Xt, yt = torch.tensor(X), torch.tensor(y)
    gen = torch.Generator().manual_seed(0)
    optim = torch.optim.Adam(model.parameters(), lr) if opt == "adam" else torch.optim.SGD(model.parameters(), lr)
    for _ in range(steps):
        i = torch.randint(0, len(X), (64,), generator=gen)
        loss = loss_fn(model(Xt[i]), yt[i])
        optim.zero_grad()
        loss.backward()
        optim.step()
    return model


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c1, self.r1 = nn.Conv2d(1, 8, 3), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(8, 8, 3), nn.ReLU()
        self.fc = nn.Linear(8 * 4 * 4, 1)

    def forward(self, x):
        return self.fc(torch.flatten(self.r2(self.c2(self.r1(self.c1(x)))), 1))


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    img = torch.randn(256, 1, 8, 8, generator=g)
    return img, img[:, :, 2:6, 2:6].mean(dim=(1, 2, 3)).numpy().astype(np.float32)


def first(report, code):
    assert report.collapsed, report.output_std_ratio
    f = report.findings[0]
    assert (f.code, f.severity) == (code, "error"), [(g.code, g.severity) for g in report.findings]
    return f


def test_mse_against_flat_targets_learns_the_mean(reg):
    X, y = reg
    model = train(mlp(nn.Linear(32, 1)), X, y, lambda out, t: ((out - t) ** 2).mean())   # (64,1)-(64,) -> (64,64)
    r = fr.diagnose(model, X, y)
    f = next(f for f in r.findings if f.code == "target-shape")
    assert f.evidence["output_std_ratio"] < 0.05 and abs(f.evidence["output_mean"] - f.evidence["target_mean"]) < 0.05
    fixed = train(mlp(nn.Linear(32, 1)), X, y, lambda out, t: ((out - t.unsqueeze(1)) ** 2).mean())
    assert "target-shape" not in fr.diagnose(fixed, X, y).finding_codes


def test_output_relu_dies_on_negative_targets(reg):
    X, y = reg
    model = train(mlp(nn.Linear(32, 1), nn.ReLU()), X, y - 4.0, lambda out, t: ((out - t.unsqueeze(1)) ** 2).mean(),
                  opt="sgd", lr=0.05)
    r = fr.diagnose(model, X, y - 4.0)
    assert r.output_activation == "relu"
    f = first(r, "output-activation")
    assert f.evidence["rows_all_zero"] == 1.0


def test_softmax_over_one_unit(reg):
    X, y = reg
    f = first(fr.diagnose(mlp(nn.Linear(32, 1), nn.Softmax(dim=1)), X, y), "single-unit-softmax")
    assert f.evidence["output_units"] == 1


def test_double_softmax_is_found_in_a_trained_classifier(cls):
    X, y = cls
    model = train(mlp(nn.Linear(32, 3), nn.Softmax(dim=1), n_in=6), X, y, nn.functional.cross_entropy, opt="sgd",
                  lr=0.1, steps=200)
    r = fr.diagnose(model, X, y)
    assert r.loss_name == "cross_entropy" and "double-softmax" in r.finding_codes
    clean = train(mlp(nn.Linear(32, 3), n_in=6), X, y, nn.functional.cross_entropy, opt="sgd", lr=0.1, steps=200)
    assert not fr.diagnose(clean, X, y).errors


def test_zero_initialized_torch_mlp(reg):
    X, y = reg
    model = mlp(nn.Linear(32, 1))
    for p in model.parameters():
        nn.init.zeros_(p)
    first(fr.diagnose(model, X, y), "zero-init")


def test_nan_weight_in_torch_mlp(reg):
    X, y = reg
    model = mlp(nn.Linear(32, 1))
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    first(fr.diagnose(model, X, y), "nonfinite-params")


def test_cnn_through_hooks(images):
    img, y = images
    r = fr.diagnose(CNN(), img, y)
    assert [s.name for s in r.layers] == ["r1", "r2"] and r.layers[0].width == 8
    assert not r.collapsed and not r.errors
    zero = CNN()
    with torch.no_grad():
        zero.c1.weight.zero_()
        zero.c1.bias.zero_()
    f = first(fr.diagnose(zero, img, y), "zero-init")
    assert f.evidence["zero_weights"] == ["c1.weight"]
    dead = CNN()
    with torch.no_grad():
        dead.c2.bias.fill_(-100.0)
    f = first(fr.diagnose(dead, img, y), "dead-layer")
    assert f.evidence["dead_layers"] == [2]


def test_healthy_trained_torch_models_get_no_error(reg, cls, images):
    X, y = reg
    reg_model = train(mlp(nn.Linear(32, 1)), X, y, lambda out, t: ((out - t.unsqueeze(1)) ** 2).mean())
    assert not fr.diagnose(reg_model, X, y, lr=1e-2, optimizer="adam").errors
    Xc, yc = cls
    cls_model = train(mlp(nn.Linear(32, 3), n_in=6), Xc, yc, nn.functional.cross_entropy)
    r = fr.diagnose(cls_model, Xc, yc, lr=1e-2, optimizer="adam")
    assert r.loss_name == "cross_entropy" and not r.collapsed and not r.errors
    img, yi = images
    cnn = train(CNN(), img.numpy(), yi, lambda out, t: ((out - t.unsqueeze(1)) ** 2).mean(), steps=200, lr=3e-3)
    assert not fr.diagnose(cnn, img, yi).errors


def test_a_saved_state_dict_is_diagnosed_like_the_module(reg, tmp_path):
    X, y = reg
    model = mlp(nn.Linear(32, 1), nn.ReLU())
    with torch.no_grad():
        model[4].bias.fill_(-50.0)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    from_module = fr.diagnose(model, X, y)
    from_file = fr.diagnose(tmp_path / "model.pt", X, y, output_activation="relu")
    assert from_file.model == str(tmp_path / "model.pt")
    assert from_file.finding_codes == from_module.finding_codes and from_file.findings[0].code == "output-activation"
    assert [s.dead_fraction for s in from_file.layers] == [s.dead_fraction for s in from_module.layers]
    without = fr.diagnose(tmp_path / "model.pt", X, y)            # a state_dict has no activations
    assert without.output_activation is None and "output-activation" not in without.finding_codes


def test_input_width_mismatch_names_both_widths(reg):
    X, y = reg
    with pytest.raises(ValueError, match=r"X with 5 features is not accepted; expected 8 features, the width of the model's input layer"):
        fr.diagnose(mlp(nn.Linear(32, 1)), X[:, :5], y)
