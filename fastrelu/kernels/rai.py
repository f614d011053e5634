"""Randomized asymmetric initialization (Lu et al. 2019) drawn in compiled code, NumPy's bits.

:func:`draw_rai` writes into a parameter stack what ``fastrelu.init.rai`` draws from
``np.random.default_rng(seed)`` layer after layer: ``fan_out x (fan_in + 1)`` normals, then
``rng.integers(0, fan_in + 1, fan_out)`` (Lemire's bounded 32-bit method on buffered 32-bit
outputs, as NumPy's ``random_bounded_uint64_fill``), then ``rng.beta(2, 1, fan_out)`` (two
Marsaglia-Tsang gammas; the gamma of shape 1 is the ziggurat exponential). The algorithms are
NumPy's (``distributions.c``); ``tests/test_rai_kernel.py`` checks the bits against ``fr.MLP``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from fastrelu.kernels._ziggurat import EXP_R, FE, KE, WE
from fastrelu.kernels.pcg64 import (RNG_JIT, RNG_PJIT, STATE_WORDS, next_double, next_uint32,
                                    next_uint64, normal_words, seed_state, standard_normal)

_M32 = np.uint64(0xFFFFFFFF)
_SH3, _SH8, _SH32 = np.uint64(3), np.uint64(8), np.uint64(32)
_BYTE = np.uint64(0xFF)
_ONE = np.uint64(1)

#: Columns of the ``layers`` table of :func:`draw_rai`: fan-in, fan-out, weight offset, bias offset.
FAN_IN, FAN_OUT, W_AT, B_AT = 0, 1, 2, 3


@njit(**RNG_JIT)
def bounded_uint32(s, rng):
    """An integer in ``[0, rng]`` (``rng < 2**32 - 1``): ``buffered_bounded_lemire_uint32``."""
    rng_excl = rng + _ONE
    m = next_uint32(s) * rng_excl
    leftover = m & _M32
    if leftover < rng_excl:
        threshold = (_M32 - rng) % rng_excl
        while leftover < threshold:
            m = next_uint32(s) * rng_excl
            leftover = m & _M32
    return m >> _SH32


@njit(**RNG_JIT)
def standard_exponential(s):
    """NumPy's ziggurat exponential (``random_standard_exponential``)."""
    while True:
        ri = next_uint64(s) >> _SH3
        idx = np.intp(ri & _BYTE)
        ri = ri >> _SH8
        x = np.float64(ri) * WE[idx]
        if ri < KE[idx]:
            return x
        if idx == 0:
            return EXP_R - np.log1p(-next_double(s))
        if (FE[idx - 1] - FE[idx]) * next_double(s) + FE[idx] < np.exp(-x):
            return x


@njit(**RNG_JIT)
def standard_gamma(s, shape):
    """NumPy's ``random_standard_gamma`` for ``shape >= 1`` (Marsaglia-Tsang)."""
    if shape == 1.0:
        return standard_exponential(s)
    b = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9 * b)
    while True:
        while True:
            X = standard_normal(s)
            V = 1.0 + c * X
            if V > 0.0:
                break
        V = V * V * V
        U = next_double(s)
        if U < 1.0 - 0.0331 * (X * X) * (X * X):
            return b * V
        if np.log(U) < 0.5 * X * X + b * (1.0 - V + np.log(V)):
            return b * V


@njit(**RNG_JIT)
def beta(s, a, b):
    """NumPy's ``random_beta`` for ``a > 1`` or ``b > 1``: ``Ga / (Ga + Gb)``."""
    ga = standard_gamma(s, a)
    gb = standard_gamma(s, b)
    return ga / (ga + gb)


def draw_rai(params, rows, seeds, layers, factors) -> None:
    """Write the RAI draws of ``default_rng(seeds[k])`` into ``params[rows[k]]``.

    ``layers`` (L, 4) int64: per layer ``FAN_IN``, ``FAN_OUT``, the offset of its (out, in)
    weights ``W_AT`` and of its biases ``B_AT``; ``factors`` (L,) float64: ``sigma / sqrt(fan_in)``
    as ``fastrelu.init.rai`` computes it. Values are cast to the dtype of ``params`` on store.
    """
    seeds = np.ascontiguousarray(seeds, dtype=np.uint64)
    states = np.empty((seeds.shape[0], STATE_WORDS), np.uint64)
    picks = np.empty((seeds.shape[0], max(1, int(layers[:, FAN_OUT].max()))), np.int64)
    _draw_rai(params, np.ascontiguousarray(rows, dtype=np.int64), seeds,
              np.ascontiguousarray(layers, dtype=np.int64), np.ascontiguousarray(factors, dtype=np.float64),
              states, picks)


@njit(**RNG_PJIT)
def _draw_rai(params, rows, seeds, layers, factors, states, picks):
    for k in prange(seeds.shape[0]):
        s = states[k]
        seed_state(seeds[k], s)
        p = params[rows[k]]
        pick = picks[k]
        for l in range(layers.shape[0]):
            fan_in, fan_out, w0, b0 = layers[l, FAN_IN], layers[l, FAN_OUT], layers[l, W_AT], layers[l, B_AT]
            f = factors[l]
            # rng.normal(0, 1, (fan_out, fan_in + 1)) * f, row by row: each unit's weights, then
            # its bias; the state stays in registers (10k nets 1-10x19-1, one thread: 68 -> 41 us per net)
            hi, lo, inc_hi, inc_lo = s[0], s[1], s[2], s[3]
            for u in range(fan_out):
                for c in range(fan_in):
                    z, hi, lo = normal_words(hi, lo, inc_hi, inc_lo)
                    p[w0 + u * fan_in + c] = (0.0 + 1.0 * z) * f
                z, hi, lo = normal_words(hi, lo, inc_hi, inc_lo)
                p[b0 + u] = (0.0 + 1.0 * z) * f
            s[0], s[1] = hi, lo
            for u in range(fan_out):
                pick[u] = np.int64(bounded_uint32(s, np.uint64(fan_in)))
            for u in range(fan_out):
                v = beta(s, 2.0, 1.0)
                c = pick[u]
                if c < fan_in:
                    p[w0 + u * fan_in + c] = v
                else:
                    p[b0 + u] = v
