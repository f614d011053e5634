"""The microkernels (vector-IR loop nests, fastrelu/kernels/vector_blocks.py) against exact twins.

Each output of a ``tn``/``nn``/``tncol`` kernel is an fma chain over the reduction index in
order; the twin computes every fma exactly (rational arithmetic, then one correct rounding to
the dtype), so the comparison is bit for bit. ``colsum`` is a chain of additions from 0 in row
order, which NumPy's own float32/float64 additions reproduce. Everything outside the block
must keep its sentinel bits.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numba import njit

from fastrelu.kernels import microkernels as mk
from fastrelu.kernels.vector_blocks import rows_fma_chain

def compiled(name):
    """An ``njit`` function calling microkernel ``name`` (intrinsics run in compiled code only)."""
    kernel = getattr(mk, name)
    if name.startswith("nn"):
        return njit(lambda A, B, C, i0, i1, k0, nt, bias, use_bias: kernel(A, B, C, i0, i1, k0, nt, bias, use_bias))
    if name.startswith("colsum"):
        return njit(lambda A, c, j0, j1: kernel(A, c, j0, j1))
    return njit(lambda A, B, C, i0, i1, k0, nt: kernel(A, B, C, i0, i1, k0, nt))


CALL = {name: compiled(name) for name in mk.KERNELS}
ROWS_FMA = rows_fma_chain()
call_rows_fma = njit(lambda theta, w0, k_in, src, n, u, bias: ROWS_FMA(theta, w0, k_in, src, n, u, bias))


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([np.float32, np.float64])
SENTINEL = np.nan


def exact_fma(a, b, c, dtype):
    """``a * b + c`` rounded once to ``dtype`` (round to odd in float64, then to float32: the
    float64 intermediate has more than 24 + 2 bits, so the final rounding is correct)."""
    x = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    d = float(x)
    if dtype == np.float64:
        return d
    if Fraction(d) != x and (np.float64(d).view(np.int64) & 1) == 0:
        d = float(np.nextafter(d, np.inf if Fraction(d) < x else -np.inf))
    return np.float32(d)


def chain(a_col, b_col, start, dtype):
    acc = dtype(start)
    for a, b in zip(a_col, b_col):
        acc = dtype(exact_fma(a, b, acc, dtype))
    return acc


def rand(rng, shape, dtype):
    return np.ascontiguousarray(rng.normal(0, 1, shape).astype(dtype))


def assert_block_bits(C, expected, rows, cols):
    """``C[rows, cols]`` has ``expected``'s bits; every other entry is still the sentinel."""
    got = C[np.ix_(rows, cols)]
    assert got.tobytes() == np.asarray(expected, C.dtype).tobytes()
    rest = np.ones(C.shape, bool)
    rest[np.ix_(rows, cols)] = False
    assert np.isnan(C[rest]).all()


RANK1 = [("tn", 4, 32), ("tn", 4, 8), ("tn", 1, 32), ("tn", 1, 8), ("nn", 4, 32), ("nn", 4, 8)]


@SETTINGS
@given(spec=st.sampled_from(RANK1), dtype=DTYPES, blocks=st.integers(0, 3), first=st.integers(0, 5),
       k0=st.integers(0, 9), extra=st.integers(0, 3), nt=st.integers(0, 12), use_bias=st.booleans(),
       seed=st.integers(0, 2**31))
def test_rank1_kernels_are_fma_chains_in_order(spec, dtype, blocks, first, k0, extra, nt, use_bias, seed):
    mode, I, K = spec
    kernel = CALL[f"{mode}_{I}_{K}"]
    rng = np.random.default_rng(seed)
    m = first + blocks * I + extra
    k = k0 + K + extra
    A = rand(rng, (nt, m) if mode == "tn" else (m, nt), dtype)
    B = rand(rng, (nt, k), dtype)
    bias = rand(rng, k, dtype)
    C = np.full((m, k), SENTINEL, dtype)
    rows, cols = range(first, first + blocks * I), range(k0, k0 + K)
    if mode == "tn":
        kernel(A, B, C, first, first + blocks * I, k0, nt)
        expected = [[chain(A[:, i], B[:, j], 0, dtype) for j in cols] for i in rows]
    else:
        kernel(A, B, C, first, first + blocks * I, k0, nt, bias, use_bias)
        expected = [[chain(A[i, :], B[:, j], bias[j] if use_bias else 0, dtype) for j in cols]
                    for i in rows]
    assert_block_bits(C, np.reshape(expected, (len(rows), K)), list(rows), list(cols))


@SETTINGS
@given(dtype=DTYPES, blocks=st.integers(0, 3), first=st.integers(0, 5), col=st.integers(0, 4),
       nt=st.integers(0, 12), seed=st.integers(0, 2**31))
def test_tncol_is_one_column_of_fma_chains(dtype, blocks, first, col, nt, seed):
    rng = np.random.default_rng(seed)
    m, k = first + 16 * blocks + 2, col + 2
    A, B = rand(rng, (nt, m), dtype), rand(rng, (nt, k), dtype)
    C = np.full((m, k), SENTINEL, dtype)
    rows = list(range(first, first + 16 * blocks))
    CALL["tncol_16"](A, B, C, first, first + 16 * blocks, col, nt)
    expected = [[chain(A[:, i], B[:, col], 0, dtype)] for i in rows]
    assert_block_bits(C, np.reshape(expected, (len(rows), 1)), rows, [col])


@SETTINGS
@given(J=st.sampled_from([64, 16, 1]), dtype=DTYPES, blocks=st.integers(0, 3), first=st.integers(0, 5),
       n=st.integers(0, 20), seed=st.integers(0, 2**31))
def test_colsum_adds_rows_in_order_from_zero(J, dtype, blocks, first, n, seed):
    rng = np.random.default_rng(seed)
    width = first + J * blocks + 3
    A = rand(rng, (n, width), dtype)
    c = np.full(width, SENTINEL, dtype)
    cols = list(range(first, first + J * blocks))
    CALL[f"colsum_{J}"](A, c, first, first + J * blocks)
    expected = np.zeros(len(cols), dtype)
    for r in range(n):
        expected = expected + A[r, cols]   # one rounding per addition, in dtype
    assert c[cols].tobytes() == expected.tobytes()
    assert np.isnan(np.delete(c, cols)).all()


@SETTINGS
@given(dtype=DTYPES, n=st.integers(0, 150), extra=st.integers(0, 3), k_in=st.integers(0, 12),
       w0=st.integers(0, 4), seed=st.integers(0, 2**31))
def test_rows_fma_chain_is_one_chain_per_row(dtype, n, extra, k_in, w0, seed):
    """The narrow path's unit: every row ``r < n`` an fma chain from the bias over the inputs in
    order (register blocks of rows, single vectors, then single rows: all sizes of ``n``)."""
    rng = np.random.default_rng(seed)
    theta = rand(rng, w0 + k_in + 2, dtype)
    src = rand(rng, (k_in, n + extra), dtype)
    bias = dtype(rng.normal())
    u = np.full(n + extra, SENTINEL, dtype)
    call_rows_fma(theta, w0, k_in, src, n, u, bias)
    expected = [chain(src[:, r], theta[w0:w0 + k_in], bias, dtype) for r in range(n)]
    assert u[:n].tobytes() == np.asarray(expected, dtype).tobytes()
    assert np.isnan(u[n:]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_fma_rounds_once(dtype):
    """The twin's fma is not ``a * b + c`` with two roundings: a case where they differ."""
    a = dtype(1) + np.finfo(dtype).eps
    c = -(dtype(1) + 2 * np.finfo(dtype).eps)
    two_roundings = dtype(a * a) + c   # a * a rounds away the eps**2 term: the sum is 0
    assert two_roundings == 0
    assert exact_fma(a, a, c, dtype) == np.finfo(dtype).eps ** 2


def test_every_kernel_is_covered():
    covered = {f"{m}_{i}_{k}" for m, i, k in RANK1} | {"tncol_16", "colsum_64", "colsum_16", "colsum_1"}
    assert covered == set(mk.KERNELS)
