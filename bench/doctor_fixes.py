"""Time of the doctor's measured fixes (issue 12, point 3): target under 5 s, warm cache.

The workload: 8 candidates x 16 seeds x 300 steps (batch 64) of a 20-64-64-1 ReLU MLP on
10,000 rows. The model is a zero-initialized ``fr.MLP`` trained with SGD (lr 0.01) on
inputs scaled by 0.01 (features in small units; no candidate diverges, so every net runs
all its steps: the slowest case), diagnosed with the codes zero-init, dead-layer and unscaled-input, so
that eight candidates apply: as-is, he-init, lower-lr, adam, batchnorm, residual, wider
(hidden 128-128) and standardize-inputs.

    python bench/doctor_fixes.py [--repeats 5] [--cold] [--profile]

Prints the median (and every time) of ``--repeats`` calls after one warm-up call, and the
candidates' table. ``--cold`` also times the first call in a fresh process whose kernel cache
(``FASTRELU_CACHE_DIR``) is an empty temporary folder: import, compilation and the call.
``--profile`` splits one warm call into training (``Ensemble.fit``), measuring
(``sweeps.group.measure``) and the rest.

Measured 2026-12-02 on the shared 2-core AMD EPYC (numba 2 threads): at load 1.1-1.5 median
3.04 s over 7 (2.96-3.17), first call in a fresh process 3.82 s, one call = training 2.62 s +
measuring 0.48 s + 0.01 s Python; at load 2-3, medians 6.0-6.8 s (3.7-8.9). Empty cache,
fresh process: 92.6 s (load 1.2-2.5; 152 s at load 4).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

CODES = ("zero-init", "dead-layer", "unscaled-input")
#: Processor seconds of each call (all threads): on a shared machine the wall time depends on
#: the other processes' load; cpu / cores is what an idle machine would take at best.
CPU: list = []


def problem():
    import fastrelu as fr

    X, y = fr.data.teacher(10_000, 20, seed=0)
    return fr.MLP([20, 64, 64, 1], init="zeros"), X * 0.01, y


def run_once():
    from fastrelu.fixes import measure_fixes

    net, X, y = problem()
    start, cpu = time.perf_counter(), time.process_time()
    rows = measure_fixes(net, X, y, loss="mse", codes=CODES, seeds=16, steps=300)
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start, rows


def table(rows) -> str:
    from fastrelu._format import fmt

    lines = [f"{'candidate':22s} {'P(collapsed)':>12s} {'P(diverged)':>11s} {'median loss':>11s}  change"]
    for r in rows:
        lines.append(f"{r.name:22s} {fmt(r.p_collapsed, 2):>12s} {fmt(r.p_diverged, 2):>11s} "
                     f"{fmt(r.median_loss):>11s}  {r.change}")
    return "\n".join(lines)


def profile() -> None:
    """Seconds in Ensemble.fit, in measure, and elsewhere, for one warm call."""
    from fastrelu import fixes
    from fastrelu.ensemble import Ensemble

    spent = {"fit": 0.0, "measure": 0.0}
    fit, measure = Ensemble.fit, fixes.measure

    def timed(key, func):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start
        return wrapper

    Ensemble.fit, fixes.measure = timed("fit", fit), timed("measure", measure)
    try:
        total, _ = run_once()
    finally:
        Ensemble.fit, fixes.measure = fit, measure
    rest = total - spent["fit"] - spent["measure"]
    print(f"profile: total {total:.3f} s = training {spent['fit']:.3f} s + measuring {spent['measure']:.3f} s "
          f"+ rest {rest:.3f} s")


def cold() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, FASTRELU_CACHE_DIR=cache)
        code = ("import time; t0 = time.perf_counter(); import sys; sys.path.insert(0, 'bench'); "
                "from doctor_fixes import run_once; t, _ = run_once(); "
                "print(f'{time.perf_counter() - t0:.2f} {t:.2f}')")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        whole, call = out.stdout.split()
        print(f"empty cache, fresh process: {whole} s from import to result ({call} s in measure_fixes)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    import numba

    warm_up, rows = run_once()
    times = []
    for _ in range(args.repeats):
        time.sleep(0.2)   # let OpenBLAS threads of the last call stop spinning
        t, rows = run_once()
        times.append(t)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {numba.get_num_threads()}")
    print(f"8 candidates x 16 seeds x 300 steps, 20-64-64-1 on 10,000 rows: median {statistics.median(times):.3f} s "
          f"over {args.repeats} (each: {', '.join(f'{t:.3f}' for t in times)}; warm-up {warm_up:.3f} s)")
    cpu = statistics.median(CPU[1:])
    print(f"processor time per call (all threads): median {cpu:.3f} s, i.e. >= {cpu / os.cpu_count():.3f} s "
          f"wall on {os.cpu_count()} idle cores; load average now {os.getloadavg()[0]:.2f}")
    print(table(rows))
    if args.profile:
        profile()
    if args.cold:
        cold()


if __name__ == "__main__":
    main()
