"""Measured fixes (fastrelu.fixes.measure_fixes): the contracts of issue 12, point 3.

Every number checked here is measured by the function under test or by an independent
reference (fr.MLP + fr.fit + fastrelu.rules, one net at a time); nothing is a stored constant.
"""
from __future__ import annotations

import re

import numba
import numpy as np
import pytest

import fastrelu as fr
from fastrelu import fixes, rules
from fastrelu.fixes import measure_fixes
from fastrelu.imported import from_state_dict

SIZES = [8, 32, 32, 1]
KW = dict(seeds=16, steps=200)


@pytest.fixture(scope="module")
def data():
    return fr.data.teacher(512, 8, seed=0)


def tiny(rng, fan_in, fan_out):
    """Normal weights with std 1e-3, whatever the width (a callable init: as-is is estimated)."""
    return rng.normal(0.0, 1e-3, (fan_out, fan_in))


def imported(weight_scale: float, sizes=SIZES, seed: int = 0):
    """An imported model (state_dict path) with torch-default-like weights times ``weight_scale``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1 / np.sqrt(a)
        arrays[f"fc{l}.weight"] = (weight_scale * rng.uniform(-bound, bound, (b, a))).astype(np.float32)
        arrays[f"fc{l}.bias"] = np.zeros(b, np.float32)
    return from_state_dict(arrays, source="test").net


def by_name(rows):
    return {r.name: r for r in rows}


SICK = {
    "zero init (fr.MLP)": lambda: fr.MLP(SIZES, init="zeros"),
    "tiny init (fr.MLP, callable std 1e-3)": lambda: fr.MLP(SIZES, init=tiny, seed=0),
    "zero weights (imported)": lambda: imported(0.0),
    "tiny weights (imported, 1e-3 x torch default)": lambda: imported(1e-3),
}


@pytest.mark.parametrize("case", list(SICK))
def test_a_fix_rescues_a_collapsing_model(case, data):
    X, y = data
    net = SICK[case]()
    rows = measure_fixes(net, X, y, loss="mse", codes=("zero-init", "dead-layer"), **KW)
    rows_by = by_name(rows)
    assert rows_by["as-is"].p_collapsed >= 0.9, rows_by["as-is"]
    best = rows[0]
    assert best.name != "as-is" and best.p_collapsed <= 0.1, [(r.name, r.p_collapsed) for r in rows]
    keys = [fixes._rank_key(r) for r in rows]
    assert keys == sorted(keys)
    assert all(r.seeds == 16 and r.steps == 200 for r in rows)
    assert rows_by["as-is"].exact == (net.init == "zeros")   # imported/callable: estimated, and marked
    if net.init == "imported":
        assert "estimated" in rows_by["as-is"].note


def test_as_is_and_he_rows_equal_one_net_at_a_time(data):
    """The rows are what fr.MLP + fr.fit + the rules give for each seed alone."""
    X, y = data
    net = fr.MLP(SIZES, init="small", bias=0.1)
    rows = by_name(measure_fixes(net, X, y, loss="mse", seeds=6, steps=120, seed=3))
    for name, init, bias in (("as-is", "small", 0.1), ("he-init", "he", 0.0)):
        collapsed, losses = [], []
        for s in fixes._seeds(3, 6):
            ref = fr.MLP(SIZES, init=init, bias=bias, seed=s)
            hist = fr.fit(ref, X, y, optimizer=fr.SGD(fixes.DEFAULT_LR), steps=120, batch_size=64, seed=s)
            out = ref.forward(X)
            finite = bool(np.isfinite(out).all())
            collapsed.append(rules.is_collapsed(rules.output_std(out), rules.target_std(y, "mse"), finite))
            if hist.diverged_at is None:
                losses.append(rules.mean_loss(out, y, "mse"))
        assert rows[name].p_collapsed == np.mean(collapsed)
        assert rows[name].p_diverged == 0.0
        assert rows[name].median_loss == pytest.approx(float(np.median(losses)), rel=1e-9)


def test_same_seed_same_bits_across_runs_and_threads(data):
    X, y = data
    X = X * 30.0   # unscaled: the standardized-inputs candidate runs too
    net = fr.MLP([8, 6, 6, 1], init="zeros")
    args = dict(loss="mse", output_activation="relu", seeds=8, steps=80)
    first = measure_fixes(net, X, y, **args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        second = measure_fixes(net, X, y, **args)
    finally:
        numba.set_num_threads(threads)
    assert first == second
    other = measure_fixes(net, X, y, **args, seed=1)
    assert [r.median_loss for r in other] != [r.median_loss for r in first]


def names(net, X, y, **kw):
    return {r.name for r in measure_fixes(net, X, y, loss="mse", seeds=2, steps=0, **kw)}


def test_candidates_only_where_applicable(data):
    X, y = data
    plain = names(fr.MLP(SIZES, init="zeros"), X, y)
    assert plain == {"as-is", "he-init", "lower-lr", "adam", "batchnorm", "residual"}
    assert "he-init" not in names(fr.MLP(SIZES, init="he"), X, y)
    assert "he-init" in names(fr.MLP(SIZES, init="he", bias=0.5), X, y)
    assert "adam" not in names(fr.MLP(SIZES), X, y, optimizer="adam")
    assert "batchnorm" not in names(fr.MLP(SIZES, batchnorm=True), X, y)
    assert "residual" not in names(fr.MLP([8, 32, 16, 1]), X, y)
    assert "residual" not in names(fr.MLP(SIZES, residual=True), X, y)
    assert "wider" in names(fr.MLP([8, 4, 4, 1]), X, y)
    assert "wider" in names(fr.MLP(SIZES), X, y, codes=["narrow"])
    low = names(fr.MLP(SIZES), X, y, codes=["learning-rate-low"])
    assert "higher-lr" in low and "lower-lr" not in low
    assert "standardize-inputs" in names(fr.MLP(SIZES), X * 1000.0, y)
    assert "standardize-inputs" in names(fr.MLP(SIZES), X * 1e-3, y)
    assert "standardize-inputs" in names(fr.MLP(SIZES), X, y, codes=("unscaled-input",))
    assert "no-output-activation" in names(fr.MLP(SIZES), X, y, output_activation="sigmoid")


def test_wider_and_lr_candidates_train_what_they_say(data):
    X, y = data
    rows = by_name(measure_fixes(fr.MLP([8, 4, 4, 1]), X, y, loss="mse", lr=0.02, seeds=2, steps=0))
    assert rows["wider"].settings["sizes"] == [8, 16, 16, 1]
    assert rows["lower-lr"].settings["lr"] == pytest.approx(0.002)
    assert rows["adam"].settings["optimizer"] == "adam"
    assert rows["as-is"].settings == {"sizes": [8, 4, 4, 1], "init": "he", "bias": 0.0, "optimizer": "sgd",
                                      "lr": 0.02, "residual": False, "batchnorm": False,
                                      "standardize_inputs": False}


def test_output_activation_is_not_faked(data):
    """fastrelu trains linear outputs: the as-is row with an output activation is not measured."""
    X, y = data
    rows = by_name(measure_fixes(fr.MLP(SIZES, init="zeros"), X, y, loss="mse", output_activation="relu",
                                 seeds=4, steps=50))
    as_is = rows["as-is"]
    assert as_is.p_collapsed is None and as_is.median_loss is None and not as_is.exact
    assert "not measured" in as_is.note
    assert rows["no-output-activation"].p_collapsed == 1.0          # still zero init: measured, collapsed
    assert rows["he-init"].p_collapsed is not None and not rows["he-init"].exact
    assert list(rows)[-1] == "as-is"                                 # unmeasured rows rank last


def test_cross_entropy_zero_init_is_rescued():
    X, labels = fr.data.teacher(512, 8, seed=1)
    y = (labels[:, 0] > np.median(labels[:, 0])).astype(np.int64) + (labels[:, 0] > 1.0)
    rows = measure_fixes(fr.MLP([8, 32, 32, 3], init="zeros"), X, y, loss="cross_entropy", **KW)
    assert by_name(rows)["as-is"].p_collapsed >= 0.9
    assert rows[0].p_collapsed <= 0.1


BAD = [
    (dict(net="not a net"), TypeError, "net"),
    (dict(loss="l1"), ValueError, "loss"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer"),
    (dict(output_activation="swish"), ValueError, "output_activation"),
    (dict(codes="zero-init"), TypeError, "codes"),
    (dict(codes=[3]), TypeError, r"codes\[0\]"),
    (dict(seeds=0), ValueError, "seeds"),
    (dict(steps=-1), ValueError, "steps"),
    (dict(seed=-2), ValueError, "seed"),
    (dict(y=np.ones(512)), ValueError, "y"),
]


@pytest.mark.parametrize("change, exc, name", BAD, ids=[b[2] for b in BAD])
def test_bad_arguments_are_rejected(change, exc, name, data):
    X, y = data
    args = dict(net=fr.MLP(SIZES), X=X, y=y, loss="mse", seeds=2, steps=1)
    args.update(change)
    with pytest.raises(exc, match=rf"^{name}[= ].* is not accepted; expected "):
        measure_fixes(args.pop("net"), args.pop("X"), args.pop("y"), **args)


def test_bad_data_names_the_widths(data):
    X, y = data
    with pytest.raises(ValueError, match=re.escape("X of shape (512, 7) is not accepted")):
        measure_fixes(fr.MLP(SIZES), X[:, :7], y, loss="mse", seeds=2, steps=1)
