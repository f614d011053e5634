"""kernels.pcg64: NumPy's default_rng(seed) draws, compiled; checked against NumPy bit for bit."""
from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastrelu.kernels import pcg64
from fastrelu.kernels._ziggurat import NOR_R

EDGE_SEEDS = [0, 1, 2, 12345, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**40 + 7, 2**63 - 1, 2**63, 2**64 - 1]


def state_of(seed):
    s = np.empty(pcg64.STATE_WORDS, np.uint64)
    pcg64.seed_state(np.uint64(seed), s)
    return s


@pytest.mark.parametrize("seed", EDGE_SEEDS)
def test_seeding_gives_numpys_pcg64_state_and_outputs(seed):
    s = state_of(seed)
    want = np.random.PCG64(seed).state["state"]
    assert (int(s[0]) << 64) | int(s[1]) == want["state"]
    assert (int(s[2]) << 64) | int(s[3]) == want["inc"]
    raw = np.random.PCG64(seed).random_raw(8)
    assert [pcg64.next_uint64(s) for _ in range(8)] == raw.tolist()


@settings(max_examples=40, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6), total=st.integers(0, 300),
       normal=st.booleans())
def test_draw_stack_equals_default_rng(seeds, total, normal):
    got = pcg64.draw_stack(np.array(seeds, dtype=np.uint64), total, normal)
    want = np.stack([np.random.default_rng(s).standard_normal(total) if normal
                     else np.random.default_rng(s).random(total) for s in seeds])
    assert got.dtype == np.float64 and got.shape == (len(seeds), total)
    assert got.tobytes() == want.tobytes()


def test_the_ziggurat_tail_and_rejection_steps_match_numpy():
    """200,000 normals per seed reach every branch: the tail beyond NOR_R (only drawn by the
    idx == 0 step, log1p) and the wedge rejections (exp)."""
    got = pcg64.draw_stack(np.array([3, 4], np.uint64), 200_000, True)
    want = np.stack([np.random.default_rng(s).standard_normal(200_000) for s in (3, 4)])
    assert np.sum(np.abs(got) > NOR_R) > 0       # the tail branch ran
    assert got.tobytes() == want.tobytes()


def test_rows_do_not_depend_on_the_thread_count():
    seeds = np.arange(64, dtype=np.uint64) * 1000003
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = pcg64.draw_stack(seeds, 100, True)
    finally:
        numba.set_num_threads(old)
    assert one.tobytes() == pcg64.draw_stack(seeds, 100, True).tobytes()
