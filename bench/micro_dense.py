"""Micro-benchmark of the small-layer dense kernels on the W1 shapes (MLP 10-64-64-1, batch 32).

Each kernel is called ``reps`` times inside one njit loop (no Python dispatch per call); the
best of ``--repeat`` short timings (~1 ms each) is reported: the minimum is the least disturbed
by other load on a shared machine, as long as one timing fits in a scheduler time slice, as nanoseconds per call and GFLOP/s (2 flops per multiply-add).

Run: ``python bench/micro_dense.py [--dtype float32] [--repeat 300] [--reps 100]``.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from numba import njit

from fastrelu.kernels.dense import linear_backward_input, linear_backward_params, linear_forward


@njit(nogil=True)
def _loop_forward(h, W, b, z, wt, reps):
    for _ in range(reps):
        linear_forward(h, W, b, z, wt)


@njit(nogil=True)
def _loop_params(dz, h, dW, db, wt, reps):
    for _ in range(reps):
        linear_backward_params(dz, h, dW, db, wt)


@njit(nogil=True)
def _loop_input(dz, W, dh, reps):
    for _ in range(reps):
        linear_backward_input(dz, W, dh)


def _best(fn, args, reps, repeat):
    fn(*args, 1)
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args, reps)
        best = min(best, time.perf_counter() - t)
    return best / reps


def run(dtype="float32", reps=100, repeat=300, shapes=((32, 10, 64), (32, 64, 64), (32, 64, 1))):
    """Return rows ``(kernel, n, in, out, ns_per_call, gflops)``."""
    rng = np.random.default_rng(0)
    rows = []
    for n, k, m in shapes:
        h = rng.normal(size=(n, k)).astype(dtype)
        W = rng.normal(size=(m, k)).astype(dtype)
        b = rng.normal(size=m).astype(dtype)
        dz = rng.normal(size=(n, m)).astype(dtype)
        dz[rng.random((n, m)) < 0.5] = 0
        z, dW, db, dh = np.empty((n, m), dtype), np.empty((m, k), dtype), np.empty(m, dtype), np.empty((n, k), dtype)
        flops = 2.0 * n * k * m
        for name, fn, args in (("forward", _loop_forward, (h, W, b, z, np.empty(k * m, dtype))),
                               ("backward_params", _loop_params, (dz, h, dW, db, np.empty(k * m, dtype))),
                               ("backward_input", _loop_input, (dz, W, dh))):
            t = _best(fn, args, reps, repeat)
            rows.append((name, n, k, m, t * 1e9, flops / t / 1e9))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", default="float32")
    p.add_argument("--reps", type=int, default=100)
    p.add_argument("--repeat", type=int, default=300)
    a = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, dtype {a.dtype}")
    total = 0.0
    for name, n, k, m, ns, gf in run(a.dtype, a.reps, a.repeat):
        print(f"{name:16s} n={n:3d} in={k:3d} out={m:3d} {ns:9.1f} ns {gf:7.1f} GFLOP/s")
        if not (name == "backward_input" and k == 10):
            total += ns
    print(f"W1 dense total per step (without backward_input of layer 1): {total / 1000:.2f} us")


if __name__ == "__main__":
    main()
