"""fastrelu.torch: from_torch reproduces PyTorch MLPs exactly, refuses other models clearly;
hook_measure finds dead units and channels by fastrelu.rules; watch records a training run."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastrelu import rules
from _torch import require_torch

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def torch():
    return require_torch()


@pytest.fixture(scope="module")
def frt(torch):
    import fastrelu.torch as frt

    return frt


def mlp(torch, sizes, *, bn=False, out=None, dtype=None, seed=0, extras=True):
    """A torch Sequential MLP; with ``bn`` its running statistics are trained away from the defaults."""
    nn = torch.nn
    torch.manual_seed(seed)
    layers = [nn.Flatten()] if extras else []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += ([nn.BatchNorm1d(b)] if bn else []) + [nn.ReLU()] + ([nn.Dropout(0.3)] if extras else [])
    model = nn.Sequential(*layers, *([out] if out is not None else [])).to(dtype or torch.float32)
    if bn:
        with torch.no_grad():
            for _ in range(3):
                model(3 * torch.randn(32, sizes[0], dtype=model[-1 if out is None else -2].weight.dtype) + 1)
    return model.eval()


def tol(torch, dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-13)


# --------------------------------------------------------------------------- from_torch
OUTPUTS = [None, "Sigmoid", "Softmax", "LogSoftmax", "ReLU", "Tanh"]
NAMES = {None: None, "Sigmoid": "sigmoid", "Softmax": "softmax", "LogSoftmax": "log_softmax", "ReLU": "relu",
         "Tanh": "tanh"}


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("bn", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_from_torch_reproduces_the_model(torch, frt, dtype, bn, out):
    dt = getattr(torch, dtype)
    act = None if out is None else (getattr(torch.nn, out)(dim=1) if "Softmax" in out else getattr(torch.nn, out)())
    model = mlp(torch, [6, 9, 7, 4], bn=bn, out=act, dtype=dt)
    X = torch.randn(80, 6, dtype=dt)
    imported = frt.from_torch(model)
    assert imported.net.dtype == np.dtype(dtype) and imported.net.batchnorm == bn
    assert imported.output_activation == NAMES[out] and imported.source == "torch.nn.Module"
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for w, b, lin in zip(imported.net.weights, imported.net.biases, linears):
        assert w.tobytes() == lin.weight.detach().numpy().tobytes()  # the exact weights
        assert b.tobytes() == lin.bias.detach().numpy().tobytes()
    if bn:
        bns = [m for m in model if isinstance(m, torch.nn.BatchNorm1d)]
        for mean, bnm in zip(imported.net.running_means, bns):
            assert mean.tobytes() == bnm.running_mean.numpy().tobytes()
        assert not np.allclose(imported.net.running_vars[0], 1.0)  # trained statistics, not defaults
    expected = model(X).detach().numpy()
    np.testing.assert_allclose(imported.forward(X.numpy()), expected, **tol(torch, dt))


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 9), min_size=2, max_size=5), bn=st.booleans(),
       dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2**16))
def test_from_torch_property_random_shapes(sizes, bn, dtype, seed):
    torch = require_torch()
    import fastrelu.torch as frt

    dt = getattr(torch, dtype)
    model = mlp(torch, sizes, bn=bn, dtype=dt, seed=seed, extras=False)
    X = torch.randn(17, sizes[0], dtype=dt)
    imported = frt.from_torch(model)
    assert imported.net.sizes == tuple(sizes) and len(imported.layer_names) == len(sizes) - 1
    np.testing.assert_allclose(imported.forward(X.numpy()), model(X).detach().numpy(), **tol(torch, dt))


def test_from_torch_traces_a_custom_forward(torch, frt):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.head = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 3)

        def forward(self, x):
            return F.log_softmax(self.head(torch.relu(self.fc2(F.relu(self.fc1(x.flatten(1)))))), dim=1)

    model = Net().eval()
    imported = frt.from_torch(model)
    assert imported.layer_names == ("fc1", "fc2", "head") and imported.output_activation == "log_softmax"
    X = torch.randn(30, 4)
    np.testing.assert_allclose(imported.forward(X.numpy()), model(X).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_from_torch_changes_nothing_in_the_module(torch, frt):
    model = mlp(torch, [3, 5, 2], bn=True).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    imported = frt.from_torch(model)
    imported.net.weights[0][...] = 0.0  # the fr.MLP holds copies
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def refused_models(torch):
    nn = torch.nn

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x, z):
            return self.fc(x) + z

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 1)

        def forward(self, x):
            return self.b(x + torch.relu(self.a(x)))

    class Branching(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x), x

    return {
        "residual": (Residual(), "not MLP-shaped"),
        "two inputs": (TwoInputs(), "takes 2 inputs"),
        "tuple output": (Branching(), "not MLP-shaped"),
        "conv": (nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 1)), "Conv1d"),
        "gelu": (nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 1)), "GELU"),
        "no relu": (nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1)), "needs a ReLU after every hidden"),
        "bn after relu": (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 1)),
                          "where a Linear layer was expected"),
        "bn eps": (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, eps=1e-3), nn.ReLU(), nn.Linear(4, 1)),
                   "eps=0.001"),
        "bn momentum": (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None), nn.ReLU(),
                                      nn.Linear(4, 1)), "momentum=None"),
        "bn no stats": (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False), nn.ReLU(),
                                      nn.Linear(4, 1)), "no running statistics"),
        "mixed bn": (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(),
                                   nn.Linear(4, 1)), "every hidden layer or on none"),
        "softmax dim 0": (nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=0)), "Softmax"),
        "two output activations": (nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Sigmoid()), "at most one output"),
        "bn on output": (nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)), "hidden layers only"),
        "no linear": (nn.Sequential(nn.ReLU()), "no Linear-like layers"),
        "layernorm": (nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.ReLU(), nn.Linear(4, 1)), "LayerNorm"),
    }


REFUSED = ["residual", "two inputs", "tuple output", "conv", "gelu", "no relu", "bn after relu", "bn eps",
           "bn momentum", "bn no stats", "mixed bn", "softmax dim 0", "two output activations", "bn on output",
           "no linear", "layernorm"]


@pytest.mark.parametrize("case", REFUSED)
def test_from_torch_refuses_other_models_clearly(torch, frt, case):
    model, message = refused_models(torch)[case]
    with pytest.raises(ValueError, match=message) as info:
        frt.from_torch(model)
    assert "torch.nn.Module" in str(info.value)


def test_from_torch_type_error(frt):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        frt.from_torch([1, 2, 3])


def test_refused_cases_are_all_listed(torch):
    assert sorted(REFUSED) == sorted(refused_models(torch))


# --------------------------------------------------------------------------- hook_measure
def cnn(torch, seed=0, inplace=False):
    nn = torch.nn
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(inplace=inplace), nn.Conv2d(4, 5, 3), nn.ReLU(inplace=inplace),
                         nn.Flatten(), nn.Linear(5 * 4 * 4, 3))


def twin_dead_and_mean_sq(pre: np.ndarray) -> tuple[float, float]:
    """NumPy twin: a channel is dead if its input is <= 0 at every row and position."""
    per_channel = np.moveaxis(pre, 1, -1).reshape(-1, pre.shape[1])
    return float(np.mean(per_channel.max(axis=0) <= 0)), float(np.mean(np.maximum(pre, 0.0) ** 2))


@pytest.mark.parametrize("inplace", [False, True], ids=["relu", "inplace_relu"])
def test_hook_measure_finds_a_dead_channel(torch, frt, inplace):
    model = cnn(torch, inplace=inplace)
    with torch.no_grad():
        model[0].bias[1] = -100.0  # channel 1 of the first conv can never fire
    X = torch.randn(24, 2, 8, 8)
    m = frt.hook_measure(model, X)
    assert [layer.name for layer in m.layers] == ["1", "3"]
    assert [layer.shape for layer in m.layers] == [(4, 6, 6), (5, 4, 4)] and [la.units for la in m.layers] == [4, 5]
    assert m.layers[0].dead_fraction == 0.25  # exactly the channel made dead
    assert m.layers[1].dead_fraction == 0.0
    with torch.no_grad():
        pre1 = model[0](X).numpy()
        pre2 = model[2](torch.relu(model[0](X))).numpy()
        out = model(X).numpy()
    for layer, pre in zip(m.layers, (pre1, pre2)):
        dead, mean_sq = twin_dead_and_mean_sq(pre)
        assert layer.dead_fraction == dead
        assert layer.mean_sq == pytest.approx(mean_sq, rel=1e-6)
    np.testing.assert_allclose(m.output, out, rtol=1e-6)
    assert m.output_std == pytest.approx(rules.output_std(out), rel=1e-6) and m.finite and m.n_rows == 24


def test_hook_measure_healthy_cnn_has_no_dead_channel(torch, frt):
    m = frt.hook_measure(cnn(torch, seed=3), np.random.default_rng(0).normal(size=(32, 2, 8, 8)))
    assert m.dead_fraction == [0.0, 0.0] and m.output_std > 0


def test_hook_measure_in_chunks_is_the_same_measurement(torch, frt):
    model = cnn(torch)
    with torch.no_grad():
        model[0].bias[2] = -3.0  # dead on some chunks only: the rule must use all rows
    X = torch.randn(50, 2, 8, 8)
    whole, chunked = frt.hook_measure(model, X), frt.hook_measure(model, X, batch_size=7)
    assert whole.dead_fraction == chunked.dead_fraction
    for a, b in zip(whole.layers, chunked.layers):
        assert a.mean_sq == pytest.approx(b.mean_sq, rel=1e-6)
    np.testing.assert_allclose(whole.output, chunked.output, rtol=1e-5, atol=1e-6)


def test_hook_measure_agrees_with_fastrelu_on_an_mlp(torch, frt):
    model = mlp(torch, [5, 16, 16, 1], extras=False)
    with torch.no_grad():
        model[0].bias[:5] = -50.0  # five dead units in the first layer
    X = np.random.default_rng(1).normal(size=(200, 5)).astype(np.float32)
    hooked = frt.hook_measure(model, X)
    net = frt.from_torch(model).net
    assert hooked.dead_fraction == rules.dead_fractions(net.preactivations(X))
    assert hooked.dead_fraction[0] == 5 / 16
    np.testing.assert_allclose(hooked.output, net.forward(X), rtol=1e-5, atol=1e-6)


def test_hook_measure_names_each_call_of_a_reused_module(torch, frt):
    nn = torch.nn

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c, self.act = nn.Linear(3, 4), nn.Linear(4, 6), nn.Linear(6, 1), nn.ReLU()

        def forward(self, x):
            return self.c(self.act(self.b(self.act(self.a(x)))))

    m = frt.hook_measure(Shared(), torch.randn(10, 3))
    assert [(layer.name, layer.units) for layer in m.layers] == [("act#0", 4), ("act#1", 6)]


def all_hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hook_measure_restores_modes_and_hooks_even_on_error(torch, frt):
    model = mlp(torch, [4, 6, 6, 1], bn=True).train()
    model[3].eval()  # a mixed state must come back as it was
    modes = [m.training for m in model.modules()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    frt.hook_measure(model, torch.randn(20, 4))
    assert [m.training for m in model.modules()] == modes and all_hooks(model) == 0
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # no running-stat update
    with pytest.raises(RuntimeError):
        frt.hook_measure(model, torch.randn(20, 5))  # wrong width: torch raises inside the forward
    assert [m.training for m in model.modules()] == modes and all_hooks(model) == 0


def test_hook_measure_bad_arguments(torch, frt):
    model = mlp(torch, [2, 3, 1])
    with pytest.raises(ValueError, match="at least one row"):
        frt.hook_measure(model, np.zeros((0, 2)))
    with pytest.raises(TypeError, match="batch_size"):
        frt.hook_measure(model, np.zeros((3, 2)), batch_size=1.5)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        frt.hook_measure("model", np.zeros((3, 2)))


# --------------------------------------------------------------------------- watch
def training_run(torch, frt, *, steps=200, every=10, opt="Adam", lr=1e-3, zero=False, sabotage_at=None,
                 target_std=None, warn=True):
    """The user's loop: a 20-64-64-1 MLP on y = x0 + x1 + x2, batch 64, under watch.

    ``target_std="y"``: the watch's yardstick is the std of the targets."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 1))
    if zero:
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
    X = torch.randn(1024, 20, generator=g)
    y = X[:, :3].sum(dim=1, keepdim=True)
    optimizer = getattr(torch.optim, opt)(model.parameters(), lr=lr)
    hooks_between = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yardstick = float(y.std()) if target_std == "y" else target_std
        with frt.watch(model, every=every, warn=warn, target_std=yardstick) as w:
            for step in range(steps):
                if step == sabotage_at:
                    with torch.no_grad():
                        model[2].bias.fill_(-1e3)  # every unit of the second layer dies
                idx = torch.randint(0, 1024, (64,), generator=g)
                loss = torch.nn.functional.mse_loss(model(X[idx]), y[idx])
                hooks_between.append(all_hooks(model[1]) + all_hooks(model[3]))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    assert all_hooks(model) == 0  # everything removed on exit
    assert not any(hooks_between), "ReLU modules stay hooked only during a recorded forward"
    return w, [c for c in caught if issubclass(c.category, frt.CollapseWarning)]


def test_watch_healthy_run_records_and_never_warns(torch, frt):
    w, caught = training_run(torch, frt, steps=205, every=10)
    assert [r["step"] for r in w.records] == list(range(0, 205, 10)) and w.steps == 205
    assert w.collapsed_at is None and caught == []
    assert all(len(r["dead_fraction"]) == 2 and r["finite"] and not r["collapsed"] for r in w.records)
    assert w.layer_names == ["1", "3"] and w.reference_std == w.records[0]["output_std"]
    assert w.records[-1]["output_std"] > w.records[0]["output_std"]  # it learned to vary its output


def test_watch_sees_the_units_die(torch, frt):
    w, caught = training_run(torch, frt, steps=120, every=10, sabotage_at=45)
    assert w.collapsed_at == 50 and len(caught) == 1
    assert "collapsed at step 50" in str(caught[0].message)
    before = [r for r in w.records if r["step"] < 50]
    assert before and not any(r["collapsed"] for r in before)
    assert all(r["dead_fraction"][1] == 1.0 and r["output_std"] == 0.0 for r in w.records if r["step"] >= 50)


def test_watch_catches_a_collapse_from_a_large_learning_rate(torch, frt):
    # Plain SGD at lr 0.5 kills most of the second layer and flattens the output; the
    # yardstick is the target's std.
    w, caught = training_run(torch, frt, steps=200, opt="SGD", lr=0.5, target_std="y")
    assert w.collapsed_at is not None and w.collapsed_at > 0 and len(caught) == 1
    at = next(r for r in w.records if r["step"] == w.collapsed_at)
    assert at["output_std"] <= rules.COLLAPSE_RATIO * w.target_std
    assert at["dead_fraction"][1] >= 0.9


@pytest.mark.parametrize("target", [False, True], ids=["first_step_yardstick", "target_std"])
def test_watch_zero_init_is_collapsed_from_the_start(torch, frt, target):
    w, caught = training_run(torch, frt, steps=60, opt="SGD", lr=0.1, zero=True,
                                    target_std=1.0 if target else None)
    assert w.collapsed_at == 0 and len(caught) == 1  # one warning, though every record is collapsed
    assert all(r["collapsed"] for r in w.records)


def test_watch_warn_false_records_without_warning(torch, frt):
    w, caught = training_run(torch, frt, steps=60, zero=True, opt="SGD", lr=0.1, warn=False)
    assert w.collapsed_at == 0 and caught == []


def test_watch_removes_hooks_after_an_exception(torch, frt):
    model = mlp(torch, [3, 4, 1], extras=False)
    with pytest.raises(KeyError):
        with frt.watch(model, every=1):
            model(torch.randn(5, 3))
            raise KeyError("the user's loop failed")
    assert all_hooks(model) == 0
    with pytest.raises(RuntimeError):
        with frt.watch(model, every=1):
            model(torch.randn(5, 7))  # fails inside a recorded forward
    assert all_hooks(model) == 0


def test_watch_after_a_failed_recorded_forward_records_only_real_steps(torch, frt):
    model = mlp(torch, [3, 4, 1], extras=False)
    with frt.watch(model, every=2) as w:
        with pytest.raises(RuntimeError):
            model(torch.randn(5, 7))  # step 0, recorded, fails inside the forward
        model(torch.randn(5, 3))  # step 1: not recorded, though step 0 left its hooks behind
        assert all_hooks(model[1]) == 0
        model(torch.randn(5, 3))  # step 2: recorded
    assert [r["step"] for r in w.records] == [2] and w.steps == 3 and all_hooks(model) == 0


def test_watch_bad_arguments(torch, frt):
    model = mlp(torch, [3, 4, 1])
    with pytest.raises(ValueError, match="every"):
        frt.watch(model, every=0)
    with pytest.raises(TypeError, match="warn"):
        frt.watch(model, warn="yes")
    with pytest.raises(ValueError, match="target_std"):
        frt.watch(model, target_std=-1.0)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        frt.watch(object())
