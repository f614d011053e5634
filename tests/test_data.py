"""fastrelu.data: shapes, dtypes, determinism, and argument checking."""
import math

import numpy as np
import pytest

import fastrelu as fr


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_teacher_shapes_scale_and_dtype(dtype):
    X, y = fr.data.teacher(100, 5, seed=3, dtype=dtype)
    assert X.shape == (100, 5) and y.shape == (100, 1)
    assert X.dtype == y.dtype == np.dtype(dtype)
    assert X.flags.c_contiguous and y.flags.c_contiguous
    assert float(y.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(y.std()) == pytest.approx(1.0, rel=1e-4)


def test_teacher_is_deterministic_for_a_seed():
    a = fr.data.teacher(64, 4, seed=7, noise=0.1)
    b = fr.data.teacher(64, 4, seed=7, noise=0.1)
    c = fr.data.teacher(64, 4, seed=8, noise=0.1)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_teacher_targets_depend_on_inputs_nonlinearly():
    X, y = fr.data.teacher(2000, 4, seed=0)
    Xa = np.hstack([X, np.ones((len(X), 1))])
    coef, *_ = np.linalg.lstsq(Xa.astype(np.float64), y.astype(np.float64), rcond=None)
    residual = y - Xa @ coef
    assert 0.05 < float(residual.var()) < 0.95  # neither linear nor noise


def test_abs1d_grid():
    X, y = fr.data.abs1d(7)
    assert X.shape == y.shape == (7, 1)
    assert X[0, 0] == pytest.approx(-math.sqrt(3)) and X[-1, 0] == pytest.approx(math.sqrt(3))
    assert np.array_equal(y, np.abs(X))
    Xn, yn = fr.data.abs1d(7, seed=1, noise=0.5)
    assert np.array_equal(X, Xn) and not np.array_equal(y, yn)


def test_make_by_name():
    assert np.array_equal(fr.data.make("abs1d", n=5)[1], fr.data.abs1d(5)[1])
    with pytest.raises(ValueError, match="abs1d"):
        fr.data.make("nope")


@pytest.mark.parametrize("call,exc,word", [
    (lambda: fr.data.teacher(1), ValueError, "n"),
    (lambda: fr.data.teacher(10, 0), ValueError, "d_in"),
    (lambda: fr.data.teacher(10.5), TypeError, "n"),
    (lambda: fr.data.teacher(10, noise=-1), ValueError, "noise"),
    (lambda: fr.data.teacher(10, dtype="int32"), ValueError, "dtype"),
    (lambda: fr.data.abs1d(10, low=1.0, high=0.0), ValueError, "low"),
])
def test_bad_arguments_name_the_argument(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
