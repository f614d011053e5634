"""NumPy's default generator, compiled: ``np.random.default_rng(seed)`` draws for many seeds.

For an integer ``seed`` in ``[0, 2**64)``, :func:`draw_stack` gives, row by row, exactly the
bits of ``np.random.default_rng(seed).standard_normal(total)`` (or ``.random(total)``): the
same ``SeedSequence`` hashing of the seed (pool of four 32-bit words), the same ``PCG64``
seeding and XSL-RR output, the same ziggurat (``_ziggurat`` holds NumPy's tables) and the
same 53-bit doubles. Nothing about the seed-to-weights mapping changes; only the cost does:
``default_rng`` costs 12-27 us per seed in Python, here the whole per-seed set-up is about a
hundred integer operations.

The algorithms follow NumPy's sources (``bit_generator.pyx``: ``hashmix``, ``mix``,
``mix_entropy``, ``generate_state``; ``pcg64.h``: ``pcg_setseq_128_srandom_r``,
``pcg_output_xsl_rr_128_64``; ``distributions.c``: ``random_standard_normal``).
``tests/test_pcg64.py`` checks states, raw outputs and draws against NumPy.

Compiled without fastmath: the ziggurat's rare rejection steps call ``exp`` and ``log1p``,
which must be the C library's own (fastmath's ``afn`` would allow approximations).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from fastrelu.kernels._config import STRICT_JIT
from fastrelu.kernels._ziggurat import FI, KI, NOR_INV_R, NOR_R, WI
from fastrelu.kernels.intrinsics import umulhi

RNG_JIT = STRICT_JIT
RNG_PJIT = dict(RNG_JIT, parallel=True)

#: Words of a generator's state row: PCG64 state (high, low), increment (high, low), the
#: SeedSequence pool (four 32-bit words held in uint64; used while seeding), and the bit
#: generator's buffered 32-bit half (flag, value) of ``next_uint32``.
STATE_WORDS = 10

_M32 = np.uint64(0xFFFFFFFF)
_ZERO, _ONE = np.uint64(0), np.uint64(1)
_SH11, _SH16, _SH32, _SH58, _SH63 = (np.uint64(11), np.uint64(16), np.uint64(32), np.uint64(58),
                                     np.uint64(63))
_SIXTY_FOUR = np.uint64(64)
# SeedSequence constants (numpy/random/bit_generator.pyx)
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
# PCG_DEFAULT_MULTIPLIER_128
_MUL_HI, _MUL_LO = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)
_TO_DOUBLE = 1.0 / 9007199254740992.0
_FRACTION = np.uint64(0x000FFFFFFFFFFFFF)
_BYTE = np.uint64(0xFF)


@njit(**RNG_JIT)
def _hashmix(value, h):
    """SeedSequence's ``hashmix``: the mixed value and the next hash constant (32-bit words)."""
    value = value ^ h
    h = (h * _MULT_A) & _M32
    value = (value * h) & _M32
    return value ^ (value >> _SH16), h


@njit(**RNG_JIT)
def _mix(x, y):
    r = (_MIX_L * x - _MIX_R * y) & _M32
    return r ^ (r >> _SH16)


@njit(**RNG_JIT)
def _advance(hi, lo, inc_hi, inc_lo):
    """``state * MULT + inc`` modulo 2**128, on words held in registers: the new (high, low)."""
    new_lo = lo * _MUL_LO
    new_hi = umulhi(lo, _MUL_LO) + lo * _MUL_HI + hi * _MUL_LO
    lo2 = new_lo + inc_lo
    return new_hi + inc_hi + (_ONE if lo2 < new_lo else _ZERO), lo2


@njit(**RNG_JIT)
def _xsl_rr(hi, lo):
    """PCG64's output function of a state (high, low)."""
    x = hi ^ lo
    rot = hi >> _SH58
    return (x >> rot) | (x << ((_SIXTY_FOUR - rot) & _SH63))


@njit(**RNG_JIT)
def _to_double(x):
    """The 53-bit double of a 64-bit output, in [0, 1) (below 2**53: the signed conversion,
    one instruction, where the unsigned one is a branchy sequence without AVX-512)."""
    return np.float64(np.int64(x >> _SH11)) * _TO_DOUBLE


@njit(**RNG_JIT)
def _step(s):
    """``state = state * MULT + inc`` modulo 2**128 (state row ``s``)."""
    s[0], s[1] = _advance(s[0], s[1], s[2], s[3])


@njit(**RNG_JIT)
def seed_state(seed, s):
    """Fill the state row ``s`` (:data:`STATE_WORDS` uint64) as ``PCG64(seed)`` does, for an
    integer ``seed`` in ``[0, 2**64)`` given as uint64."""
    pool = s[4:8]
    n_entropy = 1 if seed <= _M32 else 2
    words = (seed & _M32, seed >> _SH32)
    h = _INIT_A
    for i in range(4):
        pool[i], h = _hashmix(words[i] if i < n_entropy else _ZERO, h)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                mixed, h = _hashmix(pool[i_src], h)
                pool[i_dst] = _mix(pool[i_dst], mixed)
    # generate_state(4, uint64): eight 32-bit words, paired little-endian
    h = _INIT_B
    out = s[0:4]
    for j in range(4):
        lo32 = _ZERO
        for half in range(2):
            d = pool[(2 * j + half) % 4] ^ h
            h = (h * _MULT_B) & _M32
            d = (d * h) & _M32
            d = d ^ (d >> _SH16)
            if half == 0:
                lo32 = d
            else:
                out[j] = lo32 | (d << _SH32)
    init_hi, init_lo, seq_hi, seq_lo = out[0], out[1], out[2], out[3]
    # pcg_setseq_128_srandom_r(initstate, initseq)
    s[2] = (seq_hi << _ONE) | (seq_lo >> _SH63)
    s[3] = (seq_lo << _ONE) | _ONE
    s[0], s[1] = _ZERO, _ZERO
    s[8], s[9] = _ZERO, _ZERO
    _step(s)
    lo = s[1] + init_lo
    s[0] = s[0] + init_hi + (_ONE if lo < init_lo else _ZERO)
    s[1] = lo
    _step(s)


@njit(**RNG_JIT)
def next_uint64(s):
    """PCG64's next output (XSL-RR of the stepped state)."""
    _step(s)
    return _xsl_rr(s[0], s[1])


@njit(**RNG_JIT)
def next_uint32(s):
    """PCG64's 32-bit output: the low half of a fresh 64-bit output, the high half kept for
    the next call (``pcg64_next32``)."""
    if s[8] != _ZERO:
        s[8] = _ZERO
        return s[9]
    x = next_uint64(s)
    s[8], s[9] = _ONE, x >> _SH32
    return x & _M32


@njit(**RNG_JIT)
def next_double(s):
    """A uniform double in [0, 1) with 53 random bits, as ``Generator.random``."""
    return _to_double(next_uint64(s))


@njit(**RNG_JIT)
def standard_normal(s):
    """One standard normal, NumPy's ziggurat (``random_standard_normal``), from state row ``s``."""
    z, s[0], s[1] = normal_words(s[0], s[1], s[2], s[3])
    return z


@njit(**RNG_JIT)
def normal_words(hi, lo, inc_hi, inc_lo):
    """:func:`standard_normal` on a state held in registers: ``(z, hi, lo)`` (one thread, 460
    normals per seed: 10.2 -> 9.2 ns per normal against the state row in memory).

    The sign is a factor of +-1 (exact): a branch on that random bit was mispredicted half the
    time (16.3 -> 10.9 ns per normal). ``rabs`` is below 2**52: the signed conversion.
    """
    while True:
        hi, lo = _advance(hi, lo, inc_hi, inc_lo)
        r = _xsl_rr(hi, lo)
        idx = np.intp(r & _BYTE)
        r = r >> np.uint64(8)
        rabs = (r >> _ONE) & _FRACTION
        x = (1.0 - 2.0 * np.float64(np.int64(r & _ONE))) * (np.float64(np.int64(rabs)) * WI[idx])
        if rabs < KI[idx]:
            return x, hi, lo
        if idx == 0:
            while True:
                hi, lo = _advance(hi, lo, inc_hi, inc_lo)
                xx = -NOR_INV_R * np.log1p(-_to_double(_xsl_rr(hi, lo)))
                hi, lo = _advance(hi, lo, inc_hi, inc_lo)
                yy = -np.log1p(-_to_double(_xsl_rr(hi, lo)))
                if yy + yy > xx * xx:
                    return (-(NOR_R + xx) if (rabs >> np.uint64(8)) & _ONE else NOR_R + xx), hi, lo
        else:
            hi, lo = _advance(hi, lo, inc_hi, inc_lo)
            if (FI[idx - 1] - FI[idx]) * _to_double(_xsl_rr(hi, lo)) + FI[idx] < np.exp(-0.5 * x * x):
                return x, hi, lo


def draw_stack(seeds: np.ndarray, total: int, normal: bool) -> np.ndarray:
    """Row ``k``: ``default_rng(seeds[k]).standard_normal(total)`` (``normal``) or
    ``.random(total)``, as float64 ``(len(seeds), total)``; ``seeds`` uint64."""
    out = np.empty((len(seeds), int(total)))
    rows = np.arange(len(seeds), dtype=np.int64)
    dest = np.arange(int(total), dtype=np.int64)
    draw_into(out, rows, seeds, normal, dest, np.zeros(int(total)), np.ones(int(total)))
    return out


def draw_into(params, rows, seeds, normal, dest, loc, scale) -> None:
    """For each ``k``: draw ``len(dest)`` numbers ``z`` from ``default_rng(seeds[k])`` (standard
    normals if ``normal``, else uniforms in [0, 1)) and write ``loc + scale * z`` (float64, then
    cast to the dtype of ``params``, as NumPy's assignment does) into ``params[rows[k], dest]``.

    ``params`` (N, n_params) float; ``rows`` int64 and ``seeds`` uint64 of one length; ``dest``
    int64, ``loc`` and ``scale`` float64 of one length. Networks are independent: the bits do
    not depend on the thread count.
    """
    seeds = np.ascontiguousarray(seeds, dtype=np.uint64)
    states = np.empty((seeds.shape[0], STATE_WORDS), np.uint64)
    _draw_into(params, np.ascontiguousarray(rows, dtype=np.int64), seeds, np.bool_(normal),
               np.ascontiguousarray(dest, dtype=np.int64), np.ascontiguousarray(loc, dtype=np.float64),
               np.ascontiguousarray(scale, dtype=np.float64), states)


@njit(**RNG_PJIT)
def _draw_into(params, rows, seeds, normal, dest, loc, scale, states):
    for k in prange(seeds.shape[0]):
        s = states[k]
        seed_state(seeds[k], s)
        row = params[rows[k]]
        if normal:
            hi, lo, inc_hi, inc_lo = s[0], s[1], s[2], s[3]
            for i in range(dest.shape[0]):
                z, hi, lo = normal_words(hi, lo, inc_hi, inc_lo)
                row[dest[i]] = loc[i] + scale[i] * z
            s[0], s[1] = hi, lo
        else:
            for i in range(dest.shape[0]):
                row[dest[i]] = loc[i] + scale[i] * next_double(s)
