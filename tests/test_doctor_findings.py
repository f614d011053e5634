"""Fault injection for fr.diagnose: one broken model per finding code, found (and on top when it
explains a collapse); healthy trained models get no error. These models are built with
fastrelu; the PyTorch ones (an MLP, a CNN measured through hooks) are in test_doctor_torch.py."""
from __future__ import annotations

import numpy as np
import pytest

import fastrelu as fr


@pytest.fixture(scope="module")
def data():
    X, y = fr.data.teacher(512, 8, seed=0)
    return X.astype(np.float64), y.astype(np.float64)


@pytest.fixture(scope="module")
def labels():
    """Three well separated classes."""
    rng = np.random.default_rng(1)
    centers = rng.normal(scale=3.0, size=(3, 6))
    y = rng.integers(0, 3, 600)
    return centers[y] + rng.normal(size=(600, 6)), y


def codes(report):
    return report.finding_codes


def top(report, code: str, *, collapsed: bool = True):
    """``code`` is the first finding, an error, with its numbers; the model collapsed as stated."""
    assert report.collapsed is collapsed, report.output_std_ratio
    first = report.findings[0]
    assert first.code == code, [(f.code, f.severity) for f in report.findings]
    assert first.severity == "error" and first.evidence and first.fix
    return first


def trained(sizes, X, y, *, loss="mse", seed=0, steps=1500, opt=None, **kw):
    net = fr.MLP(sizes, seed=seed, dtype="float64", **kw)
    hist = fr.fit(net, X, y, optimizer=opt or fr.Adam(3e-3), loss=loss, steps=steps, batch_size=64, seed=seed)
    assert hist.diverged_at is None
    return net


# ------------------------------------------------------------------ fastrelu models
def test_zero_init(data):
    X, y = data
    f = top(fr.diagnose(fr.MLP([8, 16, 16, 1], init="zeros", seed=0), X, y), "zero-init")
    assert f.evidence["zero_layers"] == [1, 2]


def test_vanishing_init(data):
    X, y = data
    f = top(fr.diagnose(fr.MLP([8] + [32] * 5 + [1], init="small", seed=1), X, y), "vanishing-init")
    assert f.evidence["lowest_mean_sq"] < 1e-4 * f.evidence["input_mean_sq"]


def test_dead_layer_wide(data):
    X, y = data
    Xp = np.abs(X)                                   # positive inputs ...
    net = fr.MLP([8, 32, 32, 1], seed=0, dtype="float64")
    net.weights[0][:] = -np.abs(net.weights[0])      # ... against negative weights: layer 1 never fires
    f = top(fr.diagnose(net, Xp, y), "dead-layer")
    assert f.evidence["dead_layers"][0] == 1


def test_dead_units_partial(data):
    X, y = data
    Xp = np.abs(X)
    net = trained([8, 32, 32, 1], Xp, y)
    w = net.weights[0]
    w[:20] = -np.abs(w[:20])                         # 20 of 32 units can never fire
    net.biases[0][:20] = -1.0
    r = fr.diagnose(net, Xp, y)
    f = next(f for f in r.findings if f.code == "dead-units")
    assert f.severity == "warning" and f.evidence["dead_fraction"][1] >= 20 / 32
    assert not r.collapsed


def test_narrow_born_dead_and_narrow_risk():
    X, y = fr.data.abs1d(64)
    f = top(fr.diagnose(fr.MLP([1] + [2] * 30 + [1], init="he", seed=0), X, y), "narrow")
    assert 0 < f.evidence["p_born_dead_low"] <= f.evidence["p_born_dead_high"] <= 1
    alive = next(s for s in range(50)
                 if max(fr.diagnose(fr.MLP([1] + [3] * 8 + [1], seed=s), X, y).dead_fraction) < 1)
    r = fr.diagnose(fr.MLP([1] + [3] * 8 + [1], seed=alive), X, y)
    f = next(f for f in r.findings if f.code == "narrow")
    assert f.severity == "warning" and f.evidence["widths"] == [3] * 8


def test_deep_plain(data):
    X, y = data
    f = top(fr.diagnose(fr.MLP([8] + [32] * 20 + [1], init="torch_default", seed=0), X, y), "deep-plain")
    assert f.evidence["last_cosine"] > 0.999 > f.evidence["first_cosine"]


def test_nonfinite_params(data):
    X, y = data
    net = fr.MLP([8, 16, 1], seed=0)
    net.weights[0][0, 0] = np.nan
    f = top(fr.diagnose(net, X, y), "nonfinite-params")
    assert f.evidence["params_finite"] is False


def test_nonfinite_input(data):
    X, y = data
    net = trained([8, 32, 1], X, y)
    Xn = X.copy()
    Xn[[3, 7], 2] = np.nan
    f = top(fr.diagnose(net, Xn, y), "nonfinite-input")
    assert f.evidence["nonfinite_entries"] == 2 and f.evidence["rows"] == 2 and f.evidence["features"] == [2]


def test_constant_input(data):
    X, y = data
    net = trained([8, 32, 1], X, y)
    f = top(fr.diagnose(net, np.repeat(X[:1], len(X), axis=0), y), "constant-input")
    assert f.evidence["constant_features"] == 8


def test_unscaled_input_warns_and_explains_the_collapse_it_causes(data):
    X, y = data
    net = trained([8, 32, 32, 1], X, y)
    r = fr.diagnose(net, X * 1000.0, y)          # features scaled for training, raw at prediction
    f = next(f for f in r.findings if f.code == "unscaled-input")
    assert f.evidence["largest_rms"] > 100 and f.severity in ("warning", "error")
    broken = fr.MLP([8, 32, 32, 1], seed=0, dtype="float64")
    hist = fr.fit(broken, X * 1000.0, y, optimizer=fr.SGD(0.01), steps=200, batch_size=64, seed=0)
    r = fr.diagnose(broken, X * 1000.0, y, history=hist)
    assert hist.diverged_at is not None or r.collapsed
    top(r, "unscaled-input")


def test_learning_rate_high_from_the_probe(data):
    X, y = data
    net = trained([8, 32, 32, 1], X, y)
    r = fr.diagnose(net, X, y, lr=5.0)
    f = next(f for f in r.findings if f.code == "learning-rate-high")
    assert f.evidence["diverged"]["1.0"] or f.evidence["final_loss"]["1.0"] > 2 * f.evidence["start_loss"]
    assert not f.evidence["diverged"]["0.01"] and f.evidence["final_loss"]["0.01"] < 0.5
    assert not any(f.code == "learning-rate-high" for f in fr.diagnose(net, X, y, lr=1e-3).findings)


def test_learning_rate_high_from_the_history():
    result = fr.scenarios.run("lr-explosion", seed=0)
    article = result.arms[0].report
    assert article.findings[0].code in ("learning-rate-high", "nonfinite-params")
    assert article.findings[0].cause == "divergence"


def test_learning_rate_low_from_the_probe(data):
    X, y = data
    net = fr.MLP([8, 32, 32, 1], seed=0, dtype="float64")
    r = fr.diagnose(net, X, y, lr=1e-6)
    f = next(f for f in r.findings if f.code == "learning-rate-low")
    assert f.evidence["final_loss"]["1.0"] > 0.99 * f.evidence["start_loss"]
    assert f.severity == "warning"
    healthy = trained([8, 32, 32, 1], X, y, steps=3000)
    assert not any(f.code == "learning-rate-low" for f in fr.diagnose(healthy, X, y, lr=3e-3).findings)


def test_output_relu_always_zero(data):
    X, y = data
    net = trained([8, 32, 1], X, y)
    net.biases[-1][:] = -100.0                        # the output layer went negative: ReLU gives 0
    f = top(fr.diagnose(net, X, y, output_activation="relu"), "output-activation")
    assert f.evidence["rows_all_zero"] == 1.0


def test_single_unit_softmax(data):
    X, y = data
    f = top(fr.diagnose(trained([8, 32, 1], X, y), X, y, output_activation="softmax"), "single-unit-softmax")
    assert f.evidence["output_units"] == 1


def test_double_softmax(labels):
    X, y = labels
    net = trained([6, 32, 3], X, y, loss="cross_entropy")
    r = fr.diagnose(net, X, y, output_activation="softmax")
    f = next(f for f in r.findings if f.code == "double-softmax")
    assert 0 < f.evidence["mean_top_probability"] <= 1
    assert fr.diagnose(net, X, y).findings == [] or "double-softmax" not in codes(fr.diagnose(net, X, y))


def test_class_imbalance(labels):
    X, y = labels
    yi = np.where(np.arange(len(y)) % 20 == 0, 1, 0)  # 95% class 0
    net = fr.MLP([6, 16, 2], seed=0, dtype="float64")
    net.biases[-1][:] = [5.0, -5.0]                   # predicts the majority everywhere
    net.weights[-1][:] *= 1e-3
    r = fr.diagnose(net, X, yi)
    f = next(f for f in r.findings if f.code == "class-imbalance")
    assert f.severity == "error" and f.evidence["majority_share"] == pytest.approx(0.95)
    assert f.evidence["predicted_majority_share"] == 1.0
    assert r.loss_name == "cross_entropy"            # inferred from integer labels


def test_unexplained_collapse(data):
    X, y = data
    net = trained([8, 32, 1], X, y)
    net.weights[-1][:] = 0.0                         # the output ignores a healthy hidden layer
    r = fr.diagnose(net, X, y)
    assert r.collapsed and r.findings[0].code == "unexplained-collapse"
    assert not r.errors


def test_vanishing_gradients_rule_reads_the_gradient_norms():
    from fastrelu.causes import Evidence, vanishing_gradients
    from fastrelu.report import LayerStats, Report

    def report(grads):
        layers = [LayerStats(k + 1, 16, 0.0, 1.0, grad_weight_norm=g) for k, g in enumerate(grads)]
        return Report(layers, 1.0, 1.0, "target", 1.0, False, True, 1.0, 1.0, 1.0, 1.0, "", 64, 10)

    net = fr.MLP([4, 16, 16, 16, 1], seed=0)
    f = vanishing_gradients(Evidence(report([1e-7, 1e-3, 1e-2]), net))
    assert f.code == "vanishing-gradients" and f.evidence["grad_weight_norms"] == [1e-7, 1e-3, 1e-2]
    assert vanishing_gradients(Evidence(report([2e-5, 1e-3, 1e-2]), net)) is None   # 2e-3 of the max: not yet


# ------------------------------------------------------------------ healthy models: no error
@pytest.mark.parametrize("sizes,kw", [([8, 32, 1], {}), ([8, 64, 64, 64, 1], {}),
                                      ([8, 32, 32, 1], {"batchnorm": True}),
                                      ([8, 32, 32, 32, 1], {"residual": True})])
def test_healthy_regressors_get_no_error(data, sizes, kw):
    X, y = data
    r = fr.diagnose(trained(sizes, X, y, **kw), X, y, lr=3e-3, optimizer="adam")
    assert not r.collapsed and not r.errors, [(f.code, f.severity, f.message) for f in r.findings]
    assert all(f.evidence for f in r.findings if f.severity == "warning")


@pytest.mark.parametrize("sizes", [[6, 16, 3], [6, 64, 64, 3]])
def test_healthy_classifiers_get_no_error(labels, sizes):
    X, y = labels
    r = fr.diagnose(trained(sizes, X, y, loss="cross_entropy"), X, y, lr=3e-3, optimizer="adam")
    assert r.loss_name == "cross_entropy" and not r.collapsed
    assert not r.errors, [(f.code, f.severity, f.message) for f in r.findings]


@pytest.mark.parametrize("init", ["zeros", "small"])
def test_fix_true_finds_a_fix_where_the_baseline_collapses(data, init):
    X, y = data
    net = fr.MLP([8] + [32] * 5 + [1], init=init, seed=1, dtype="float64")
    r = fr.diagnose(net, X, y, lr=0.01, fix=True, seeds=16, steps=150)
    as_is = next(c for c in r.fixes if c.name == "as-is")
    assert as_is.p_collapsed >= 0.9 and r.fixes[0].p_collapsed <= 0.1 and r.fixes[0].name != "as-is"
    assert r.to_dict()["fixes"][0]["name"] == r.fixes[0].name
    with pytest.raises(ValueError, match="fix=True is not accepted"):
        fr.diagnose(net, X, fix=True)
