"""A wrong S0 peer for the gate tests: the NumPy peer's dead test with a plausible bug."""
from __future__ import annotations

import numpy as np


def any_row_dead(rng: np.random.Generator, X_t: np.ndarray, width: int, depth: int, n_nets: int) -> np.ndarray:
    """Like ``peers_numpy._s0_dead`` but a layer counts as dead when all its units are <= 0 on
    SOME row (instead of on every row): about twice the upper bound minus the true P."""
    h, fan_in, dead = X_t, X_t.shape[0], np.zeros(n_nets, dtype=bool)
    for _ in range(depth):
        W = rng.standard_normal((n_nets, width, fan_in), dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        z = np.matmul(W, h)
        dead |= np.any(np.all(z <= 0, axis=1), axis=1)
        h, fan_in = np.maximum(z, 0.0), width
    return dead
