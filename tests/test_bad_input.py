"""Wrong input raises ValueError/TypeError naming the argument, and changes nothing.

Covers issue 2's "Bad input" list: sizes with a zero or a single entry, unknown init or
loss, X not 2-D or of the wrong width, X/y row mismatch, NaN or inf in X or y, empty X,
non-positive lr or batch size, class labels out of range, wrong dtype; optimizer
constructors check their own arguments; nothing is modified when a call fails.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import fastrelu as fr

SIZES = [4, 6, 3]


def expect_error(names, fn, *, mentions=()):
    """Call fn, expect ValueError/TypeError whose message names one of ``names`` (as a
    word) and contains every string in ``mentions``."""
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    msg = str(info.value)
    assert any(re.search(rf"\b{re.escape(n)}\b", msg) for n in names), (
        f"message does not name {names}: {msg!r}")
    for m in mentions:
        assert m in msg, f"message does not mention {m!r}: {msg!r}"
    return msg


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 4))
    y_mse = rng.normal(size=(10, 3))
    y_ce = rng.integers(0, 3, size=10)
    return X, y_mse, y_ce


@pytest.fixture
def net():
    return fr.MLP(SIZES, seed=0, dtype="float64")


# --------------------------------------------------------------------------- MLP constructor
@pytest.mark.parametrize("sizes", [[4], [], [4, 0, 3], [4, 6, 0], [0, 6, 3], [4, -2, 3]])
def test_mlp_bad_sizes(sizes):
    expect_error(["sizes"], lambda: fr.MLP(sizes))


@pytest.mark.parametrize("sizes", [[4, 2.5, 3], "abc", None, 5])
def test_mlp_sizes_wrong_type(sizes):
    expect_error(["sizes"], lambda: fr.MLP(sizes))


def test_mlp_unknown_init_names_given_and_accepted():
    expect_error(["init"], lambda: fr.MLP(SIZES, init="bogus"), mentions=["bogus", "he"])


def test_mlp_init_wrong_type():
    expect_error(["init"], lambda: fr.MLP(SIZES, init=5))


def test_callable_init_wrong_shape():
    expect_error(["init"], lambda: fr.MLP(SIZES, init=lambda rng, fi, fo: np.zeros((fi, fo + 1))))


def test_callable_init_non_finite():
    expect_error(["init"], lambda: fr.MLP(SIZES, init=lambda rng, fi, fo: np.full((fo, fi), np.nan)))


@pytest.mark.parametrize("dtype", ["int32", "float16", "complex128", "banana"])
def test_mlp_bad_dtype(dtype):
    expect_error(["dtype"], lambda: fr.MLP(SIZES, dtype=dtype))


def test_mlp_bad_residual_scale():
    expect_error(["residual_scale"], lambda: fr.MLP([3, 4, 4, 1], residual=True,
                                                    residual_scale=float("nan")))


# --------------------------------------------------------------------------- forward / gradients
BAD_X = {
    "1-D": lambda X: X[0],
    "3-D": lambda X: X[None],
    "wrong width": lambda X: X[:, :3],
    "empty": lambda X: X[:0],
    "nan": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X),
    "inf": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.inf, X),
    "strings": lambda X: X.astype(str),
}


@pytest.mark.parametrize("kind", sorted(BAD_X))
@pytest.mark.parametrize("method", ["forward", "activations", "__call__"])
def test_bad_X_in_inference(net, data, kind, method):
    X = BAD_X[kind](data[0])
    before = net.params.tobytes()
    expect_error(["X"], lambda: getattr(net, method)(X))
    assert net.params.tobytes() == before


def test_wrong_width_message_says_given_and_expected(net, data):
    expect_error(["X"], lambda: net.forward(data[0][:, :3]), mentions=["3", "4"])


@pytest.mark.parametrize("kind", sorted(BAD_X))
def test_bad_X_in_gradients(net, data, kind):
    X, y, _ = data
    expect_error(["X"], lambda: net.gradients(BAD_X[kind](X), y))


BAD_Y_MSE = {
    "row mismatch": lambda y: y[:-1],
    "wrong width": lambda y: y[:, :2],
    "nan": lambda y: np.where(np.arange(y.size).reshape(y.shape) == 4, np.nan, y),
    "inf": lambda y: np.where(np.arange(y.size).reshape(y.shape) == 4, -np.inf, y),
    "3-D": lambda y: y[None],
}
BAD_Y_CE = {
    "row mismatch": lambda y: y[:-1],
    "label too big": lambda y: np.where(np.arange(y.size) == y.size - 1, 3, y),
    "negative label": lambda y: np.where(np.arange(y.size) == 0, -1, y),
    "non-integer labels": lambda y: y + 0.5,
    "nan": lambda y: np.where(np.arange(y.size) == 2, np.nan, y.astype(float)),
    "2-D labels": lambda y: np.stack([y, y], axis=1),
}


@pytest.mark.parametrize("kind", sorted(BAD_Y_MSE))
def test_bad_y_mse_in_gradients(net, data, kind):
    X, y, _ = data
    expect_error(["y", "X"] if kind == "row mismatch" else ["y"],
                 lambda: net.gradients(X, BAD_Y_MSE[kind](y), loss="mse"))


@pytest.mark.parametrize("kind", sorted(BAD_Y_CE))
def test_bad_y_cross_entropy_in_gradients(net, data, kind):
    X, _, y = data
    expect_error(["y", "X"] if kind == "row mismatch" else ["y"],
                 lambda: net.gradients(X, BAD_Y_CE[kind](y), loss="cross_entropy"))


def test_label_out_of_range_message(net, data):
    X, _, y = data
    y = y.copy()
    y[3] = 7
    expect_error(["y"], lambda: net.gradients(X, y, loss="cross_entropy"), mentions=["7"])


@pytest.mark.parametrize("loss", ["hinge", "MSE ", None, 3])
def test_unknown_loss(net, data, loss):
    X, y, _ = data
    msg = expect_error(["loss"], lambda: net.gradients(X, y, loss=loss))
    if loss == "hinge":
        assert "hinge" in msg and "mse" in msg and "cross_entropy" in msg


# --------------------------------------------------------------------------- fit
def fit_call(net, X, y, **kw):
    kw.setdefault("optimizer", fr.SGD(0.1))
    kw.setdefault("epochs", 2)
    kw.setdefault("batch_size", 4)
    kw.setdefault("seed", 0)
    return lambda: fr.fit(net, X, y, **kw)


FIT_CASES = {
    "batch_size zero": (["batch_size"], {"batch_size": 0}),
    "batch_size negative": (["batch_size"], {"batch_size": -3}),
    "batch_size float": (["batch_size"], {"batch_size": 2.5}),
    "epochs zero": (["epochs"], {"epochs": 0}),
    "steps negative": (["steps"], {"steps": -1}),
    "steps float": (["steps"], {"steps": 2.5}),
    "clip_norm zero": (["clip_norm"], {"clip_norm": 0.0}),
    "clip_norm nan": (["clip_norm"], {"clip_norm": float("nan")}),
    "on_diverge": (["on_diverge"], {"on_diverge": "ignore"}),
    "loss": (["loss"], {"loss": "hinge"}),
    "optimizer string": (["optimizer"], {"optimizer": "sgd"}),
    "optimizer None": (["optimizer"], {"optimizer": None}),
    "record_every zero": (["record_every"], {"record_every": 0}),
}


@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_fit_bad_arguments_change_nothing(net, data, case):
    names, kw = FIT_CASES[case]
    X, y, _ = data
    X0, y0 = X.copy(), y.copy()
    before = net.params.tobytes()
    expect_error(names, fit_call(net, X, y, **kw))
    assert net.params.tobytes() == before
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_fit_zero_steps_runs_nothing_or_is_refused(net, data):
    """steps=0 is either a valid empty run (params untouched, empty history) or refused
    with an error naming ``steps``; anything else (a crash from deep inside) is a bug."""
    X, y, _ = data
    before = net.params.tobytes()
    try:
        hist = fr.fit(net, X, y, optimizer=fr.SGD(0.1), steps=0, batch_size=4)
    except (ValueError, TypeError) as exc:
        assert re.search(r"\bsteps\b", str(exc)), f"error does not name steps: {exc!r}"
    else:
        assert hist.steps == 0 and hist.loss.size == 0 and hist.diverged_at is None
    assert net.params.tobytes() == before


@pytest.mark.parametrize("kind", sorted(BAD_X))
def test_fit_bad_X_changes_nothing(net, data, kind):
    X, y, _ = data
    Xb = BAD_X[kind](X)
    before = net.params.tobytes()
    expect_error(["X"], fit_call(net, Xb, y))
    assert net.params.tobytes() == before


@pytest.mark.parametrize("kind", sorted(BAD_Y_CE))
def test_fit_bad_labels_change_nothing(net, data, kind):
    """The bad label sits in the last row: a fit that validated batch by batch would
    already have updated the parameters when it got there."""
    X, _, y = data
    before = net.params.tobytes()
    expect_error(["y", "X"] if kind == "row mismatch" else ["y"],
                 fit_call(net, X, BAD_Y_CE[kind](y), loss="cross_entropy", shuffle=False))
    assert net.params.tobytes() == before


def test_fit_nan_in_last_target_row_changes_nothing(data):
    X, y, _ = data
    net = fr.MLP(SIZES, seed=0, batchnorm=True)
    y = y.copy()
    y[-1, 0] = np.nan
    before = net.params.tobytes()
    stats = [m.copy() for m in net.running_means] + [v.copy() for v in net.running_vars]
    expect_error(["y"], fit_call(net, X, y, shuffle=False))
    assert net.params.tobytes() == before
    after = list(net.running_means) + list(net.running_vars)
    assert all(np.array_equal(a, b) for a, b in zip(stats, after))


# --------------------------------------------------------------------------- optimizers
OPT_CASES = [
    (["lr"], lambda: fr.SGD(lr=-1)),
    (["lr"], lambda: fr.SGD(lr=0.0)),
    (["lr"], lambda: fr.SGD(lr=float("nan"))),
    (["lr"], lambda: fr.SGD(lr="0.1")),
    (["momentum"], lambda: fr.SGD(0.1, momentum=-0.5)),
    (["weight_decay"], lambda: fr.SGD(0.1, weight_decay=-1e-3)),
    (["lr"], lambda: fr.Adam(lr=0.0)),
    (["lr"], lambda: fr.Adam(lr=-1e-3)),
    (["betas"], lambda: fr.Adam(betas=(1.0, 0.999))),
    (["betas"], lambda: fr.Adam(betas=(0.9, -0.1))),
    (["betas"], lambda: fr.Adam(betas=0.9)),
    (["eps"], lambda: fr.Adam(eps=-1e-8)),
    (["weight_decay"], lambda: fr.Adam(weight_decay=-1.0)),
    (["lr"], lambda: fr.RMSprop(lr=0.0)),
    (["alpha"], lambda: fr.RMSprop(alpha=-0.1)),
    (["eps"], lambda: fr.RMSprop(eps=-1.0)),
    (["momentum"], lambda: fr.RMSprop(momentum=-0.9)),
    (["weight_decay"], lambda: fr.RMSprop(weight_decay=-0.1)),
]


@pytest.mark.parametrize("case", range(len(OPT_CASES)))
def test_optimizer_constructor_checks_arguments(case):
    names, make = OPT_CASES[case]
    expect_error(names, make)


def test_sgd_lr_message_says_given_value():
    expect_error(["lr"], lambda: fr.SGD(lr=-1), mentions=["-1"])


# --------------------------------------------------------------------------- minibatches
@pytest.mark.parametrize("kwargs,name", [
    ({"n": 10, "batch_size": 0}, "batch_size"),
    ({"n": 0, "batch_size": 4}, "n"),
    ({"n": 10, "batch_size": 4, "epochs": 0}, "epochs"),
    ({"n": 10, "batch_size": 4, "steps": -1}, "steps"),
])
def test_minibatches_bad_arguments(kwargs, name):
    n, bs = kwargs.pop("n"), kwargs.pop("batch_size")
    expect_error([name], lambda: list(fr.minibatches(n, bs, **kwargs)))
