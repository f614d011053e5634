"""fr.diagnose: measurements, the collapse rule, ranked causes, and the Report's exports."""
import json

import numpy as np
import pytest
from rich.console import Console

import fastrelu as fr
from fastrelu.diagnostics import COLLAPSE_RATIO


@pytest.fixture(scope="module")
def data():
    return fr.data.teacher(128, 8, seed=0)


def render(report) -> str:
    console = Console(record=True, width=140)
    console.print(report)
    return console.export_text()


def test_zero_init_collapses_and_blames_initialization(data):
    X, y = data
    r = fr.diagnose(fr.MLP([8, 16, 16, 1], init="zeros", seed=0), X, y)
    assert r.collapsed and r.finite
    assert r.dead_fraction == [1.0, 1.0]
    assert r.output_std == 0.0
    assert r.causes[0].cause == "initialization"
    assert "exactly zero" in r.causes[0].evidence


def test_he_net_is_healthy(data):
    X, y = data
    r = fr.diagnose(fr.MLP([8, 64, 64, 1], init="he", seed=0), X, y)
    assert not r.collapsed
    assert max(r.dead_fraction) < 0.2
    assert 0.05 < r.output_std_ratio < 20
    assert not any(c.cause in ("initialization", "learning rate", "born dead") for c in r.causes)
    assert r.theory_basis == "variance recursion for init 'he'"


def test_small_init_signal_vanishes_as_the_recursion_predicts(data):
    X, y = data
    r = fr.diagnose(fr.MLP([8] + [32] * 5 + [1], init="small", seed=1), X, y)
    assert r.collapsed
    assert r.causes[0].cause == "initialization" and "vanishes" in r.causes[0].evidence
    for s in r.layers:
        assert s.mean_sq_activation == pytest.approx(s.predicted_mean_sq, rel=0.8)
    assert r.layers[-1].mean_sq_activation < 1e-10


def test_collapse_rule_threshold_is_1e_3_of_the_reference():
    X, _ = fr.data.teacher(64, 4, seed=1)
    net = fr.MLP([4, 16, 1], seed=2, dtype="float64")
    s = float(net.forward(X).std())
    assert fr.diagnose(net, X, reference_std=s / COLLAPSE_RATIO * 1.01).collapsed
    assert not fr.diagnose(net, X, reference_std=s / COLLAPSE_RATIO * 0.99).collapsed
    r = fr.diagnose(net, X)
    assert r.target_kind == "input" and r.target_std == pytest.approx(float(X.std(axis=0).mean()), rel=1e-6)


def test_non_finite_parameters_count_as_collapsed_divergence(data):
    X, y = data
    net = fr.MLP([8, 16, 1], seed=0)
    net.weights[0][0, 0] = np.nan
    r = fr.diagnose(net, X, y)
    assert r.collapsed and not r.finite
    assert r.causes[0].cause == "divergence"
    json.loads(r.to_json())  # strict JSON: NaN became null


def test_dead_layer_after_large_negative_bias_blames_learning_rate(data):
    X, y = data
    net = fr.MLP([8, 16, 16, 1], seed=0)
    net.biases[1][:] = -50.0
    r = fr.diagnose(net, X, y)
    assert r.dead_fraction[1] == 1.0 and r.collapsed
    assert r.causes[0].cause == "learning rate"
    assert "layer 2: 100% dead" in r.causes[0].evidence


def test_born_dead_narrow_net():
    X, y = fr.data.abs1d(64)
    net = fr.MLP([1] + [2] * 30 + [1], init="he", seed=0)
    r = fr.diagnose(net, X, y)
    assert r.collapsed and r.causes[0].cause == "born dead"
    assert "no unit of layer" in r.causes[0].evidence


def test_deep_plain_torch_default_blames_depth(data):
    X, y = data
    net = fr.MLP([8] + [32] * 20 + [1], init="torch_default", seed=0)
    r = fr.diagnose(net, X, y)
    assert r.collapsed
    assert r.causes[0].cause == "depth"
    assert r.layers[-1].cosine > 0.999 > r.layers[0].cosine


def test_cosine_identical_rows_and_sampling_is_seeded():
    X = np.ones((10, 3))
    r = fr.diagnose(fr.MLP([3, 8, 1], seed=0), X)
    assert all(s.cosine == pytest.approx(1.0) for s in r.layers)
    Xb, _ = fr.data.teacher(300, 3, seed=0)
    net = fr.MLP([3, 8, 8, 1], seed=0)
    a = fr.diagnose(net, Xb, max_pairs=100, seed=5)
    b = fr.diagnose(net, Xb, max_pairs=100, seed=5)
    assert a.n_pairs == 100 and a.to_dict() == b.to_dict()
    full = fr.diagnose(fr.MLP([3, 8, 1], seed=0), Xb[:20], max_pairs=10_000)
    assert full.n_pairs == 20 * 19 // 2


def test_predicted_cosine_tracks_a_wide_net():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 16))
    r = fr.diagnose(fr.MLP([16, 512, 512, 512, 1], seed=1, dtype="float64"), X)
    for s in r.layers:
        assert s.cosine == pytest.approx(s.predicted_cosine, abs=0.05)


def test_gradient_norms_only_with_targets(data):
    X, y = data
    net = fr.MLP([8, 16, 16, 1], seed=0)
    assert all(s.grad_weight_norm is None for s in fr.diagnose(net, X).layers)
    r = fr.diagnose(net, X, y)
    dW, db = net.gradients(X, y)
    for k, s in enumerate(r.layers):
        assert s.grad_weight_norm == pytest.approx(float(np.linalg.norm(dW[k])), rel=1e-6)
        assert s.grad_bias_norm == pytest.approx(float(np.linalg.norm(db[k])), rel=1e-6)
    assert r.loss == pytest.approx(float(np.mean((net.forward(X).astype(np.float64) - y) ** 2)), rel=1e-5)


def test_history_divergence_becomes_evidence(data):
    X, y = data
    net = fr.MLP([8, 16, 1], seed=0)
    hist = fr.fit(net, X, y, optimizer=fr.SGD(10.0), steps=50, seed=0)
    assert hist.diverged_at is not None
    r = fr.diagnose(net, X, y, history=hist)
    assert r.causes[0].cause == "divergence"
    assert f"step {hist.diverged_at}" in r.causes[0].evidence


def test_report_exports_and_renders(data):
    X, y = data
    r = fr.diagnose(fr.MLP([8, 16, 16, 1], init="zeros", seed=0), X, y)
    d = r.to_dict()
    assert d["collapsed"] is True and len(d["layers"]) == 2 and d["causes"][0]["cause"] == "initialization"
    assert json.loads(r.to_json()) == d
    text = render(r)
    assert "COLLAPSED" in text and "initialization" in text and "dead%" in text
    healthy = render(fr.diagnose(fr.MLP([8, 16, 1], seed=0), X, y))
    assert "not collapsed" in healthy


def test_cross_entropy_targets(data):
    X, y = data
    labels = (y[:, 0] > 0).astype(np.int64)
    r = fr.diagnose(fr.MLP([8, 16, 2], seed=0), X, labels, loss="cross_entropy")
    assert r.target_std == pytest.approx(float(np.eye(2)[labels].std(axis=0).mean()))
    assert r.loss is not None and r.loss > 0


@pytest.mark.parametrize("kwargs,word", [
    (dict(X=np.zeros(3)), "X"),
    (dict(loss="hinge"), "loss"),
    (dict(max_pairs=0), "max_pairs"),
])
def test_bad_input(kwargs, word, data):
    X = kwargs.pop("X", data[0])
    with pytest.raises(ValueError, match=word):
        fr.diagnose(fr.MLP([8, 4, 1], seed=0), X, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(residual=True), dict(batchnorm=True)])
def test_residual_and_batchnorm_nets_have_no_recursion_prediction(kwargs, data):
    X, y = data
    net = fr.MLP([8, 16, 16, 16, 1], seed=0, **kwargs)
    r = fr.diagnose(net, X, y)
    assert r.theory_basis.startswith("none")
    assert all(s.predicted_mean_sq is None and s.predicted_cosine is None for s in r.layers)
    # dead = ReLU input <= 0 on every row, read from the pre-activations
    pre = net.preactivations(X)
    assert r.dead_fraction == [float(np.mean(p.max(axis=0) <= 0)) for p in pre]


def test_unknown_init_uses_current_weight_moments(data):
    X, y = data
    net = fr.MLP([8, 128, 128, 1], init="rai", seed=0, dtype="float64")
    r = fr.diagnose(net, X, y)
    assert r.theory_basis == "variance recursion with the current weight moments"
    assert r.layers[0].mean_sq_activation == pytest.approx(r.layers[0].predicted_mean_sq, rel=0.3)


def test_report_renders_within_80_columns_without_cutting():
    import io

    from rich.console import Console

    X, y = fr.data.teacher(128, 8, seed=0)
    report = fr.diagnose(fr.MLP([8] + [32] * 6 + [1], init="small", seed=0), X, y)
    console = Console(width=80, file=io.StringIO(), force_terminal=False)
    console.print(report)
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text and "3.97e-18" in text   # the last theory cell, whole
