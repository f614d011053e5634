"""Run workloads x implementations in one process: gate, interleaved repeats, medians, ratios.

The runner never prints. Progress goes to an optional callback
``progress(done: int, total: int, description: str)``; the result is a :class:`BenchReport`
whose :meth:`BenchReport.to_dict` is JSON-ready.

For each workload: every available implementation is prepared and run once (warm-up: JIT
compilation lands there); the warm-up results go through the correctness gate
(:func:`fastrelu_bench.common.check_agreement`); implementations that disagree are
not timed. Then ``repeat`` rounds run every agreeing implementation once each, in an order
rotated every round (plus one sgemm product per round: the machine ceiling under the same
load), and the medians give throughput, GFLOP/s, share of the machine ceiling
and the ratio ``fastrelu_speedup = median(impl) / median(fastrelu)``.

Every timed run (and every sgemm) starts after a pause of ``settle`` seconds: thread pools
that the previous implementation left busy-waiting go idle first. OpenBLAS keeps its threads
spinning for about 0.1 s after a call, and numpy and scipy (numba's ``np.dot``) each load an
OpenBLAS of their own, so without the pause a run that follows NumPy shares the cores with
NumPy's spinning threads (measured: fastrelu's W3 run 0.43 s instead of 0.34 s, JAX's 0.39 s
instead of 0.35 s).
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from fastrelu_bench.ceiling import Sgemm, cold_start
from fastrelu_bench.common import check_agreement, thread_limit
from fastrelu_bench.implementations import availability, implementations_for
from fastrelu_bench.workloads import WORKLOADS, Workload, flops_per_step, get_workload, make_problem

__all__ = ["ImplResult", "WorkloadResult", "BenchReport", "run_benchmarks", "resolve_workloads"]

Progress = Callable[[int, int, str], None]


@dataclass
class ImplResult:
    """Measurements of one implementation on one workload.

    ``status`` is ``"ok"`` (timed), ``"skipped"`` (not available here), ``"mismatch"``
    (failed the correctness gate, not timed) or ``"error"`` (raised; ``reason`` says what).
    Time fields are seconds per complete run; ``fastrelu_speedup`` is how many times
    fastrelu's median is faster than this one (None without a fastrelu timing).
    """

    name: str
    label: str
    status: str
    reason: str = ""
    threads: int | None = None
    times_s: list[float] = field(default_factory=list)
    median_s: float | None = None
    throughput: float | None = None
    gflops: float | None = None
    ceiling_share: float | None = None
    fastrelu_speedup: float | None = None
    final_loss: float | None = None
    max_rel_diff: float | None = None


@dataclass
class WorkloadResult:
    """All implementations of one workload, with its definition and the gate's reference."""

    workload: str
    metric: str
    sizes: list[int]
    steps: int
    batch_size: int
    n_nets: int
    flops_per_run: int
    reference: str | None
    implementations: list[ImplResult]
    ceiling: dict | None = None

    def get(self, name: str) -> ImplResult | None:
        """The result of implementation ``name``, or None."""
        return next((r for r in self.implementations if r.name == name), None)


@dataclass
class BenchReport:
    """Everything one benchmark run measured."""

    date: str
    machine: dict
    repeat: int
    workloads: list[WorkloadResult]
    ceiling: dict | None = None
    cold_start: dict | None = None
    threads: int | None = None
    settle_s: float = 0.0

    def to_dict(self) -> dict:
        """JSON-ready dictionary (floats, ints, strings, lists, None)."""
        return asdict(self)

    @property
    def ok(self) -> bool:
        """False if any implementation failed the gate or raised."""
        return all(r.status in ("ok", "skipped") for w in self.workloads for r in w.implementations)


def resolve_workloads(names: Sequence[str] | str) -> list[str]:
    """Expand ``"all"`` and normalise names; raise ValueError listing valid names."""
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for name in names:
        key = str(name).upper()
        if key == "ALL":
            out.extend(k for k in WORKLOADS if k not in out)
        elif key in WORKLOADS:
            if key not in out:
                out.append(key)
        else:
            raise ValueError(f"workload: got {name!r}, accepted: {', '.join(WORKLOADS)}, all")
    return out


def blas_cores() -> dict:
    """Kernel family each bundled OpenBLAS copy (numpy's, scipy's) picked, e.g. ``"Haswell"``.

    OpenBLAS picks its kernels from the CPU model; on CPUs it does not know it can fall back
    to an AVX2 kernel on AVX-512 hardware (``OPENBLAS_CORETYPE`` overrides it at start-up).
    """
    import ctypes
    import glob
    import importlib.util

    out = {}
    for pkg in ("numpy", "scipy"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            continue
        libdir = os.path.join(os.path.dirname(os.path.dirname(spec.origin)), f"{pkg}.libs")
        for path in glob.glob(os.path.join(libdir, "libscipy_openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                           "openblas_get_corename"):
                fn = getattr(lib, symbol, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    out[pkg] = fn().decode()
                    break
    return out


def machine_info() -> dict:
    """Cores, CPU model, BLAS kernels and the versions that matter for the numbers."""
    info = {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "numpy": np.__version__,
            "openblas_core": blas_cores(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    info["simd"] = sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))
                    break
    except OSError:
        pass
    return info


def _time(run: Callable) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def _bench_workload(w: Workload, impl_names: Sequence[str] | None, repeat: int,
                    tick: Callable[[str], None], sgemm: Sgemm | None,
                    threads: int | None = None, settle: float = 0.0) -> WorkloadResult:
    impls = [i for i in implementations_for(w.name) if impl_names is None or i.name in impl_names]
    problem = make_problem(w)
    results: dict[str, ImplResult] = {}
    runs: dict[str, Callable] = {}
    warm: dict = {}
    for impl in impls:
        ok, reason = availability(impl)
        res = ImplResult(impl.name, impl.label, "skipped" if not ok else "ok", reason)
        results[impl.name] = res
        if ok:
            tick(f"{w.name}: warm-up {impl.name}")
            try:
                run = impl.load()(problem)
                with thread_limit(threads):
                    res.threads = impl.threads()
                    warm[impl.name] = run()
                runs[impl.name] = run
            except Exception as exc:  # a broken implementation is reported, not fatal
                res.status, res.reason = "error", f"{type(exc).__name__}: {exc}"
        else:
            tick(f"{w.name}: skip {impl.name}")
    reference = None
    if warm:
        agreements = check_agreement(problem, warm)
        reference = next(iter(agreements.values())).reference
        for name, ag in agreements.items():
            res = results[name]
            res.final_loss = float(np.mean(ag.final_loss))
            res.max_rel_diff = ag.max_rel_diff
            if not ag.agrees:
                res.status = "mismatch"
                res.reason = (f"final loss {res.final_loss:.6g} differs from {ag.reference}'s "
                              f"{float(np.mean(ag.reference_loss)):.6g} (max rel diff {ag.max_rel_diff:.2e})")
                runs.pop(name)
    order = list(runs)
    sgemm_times: list[float] = []
    for r in range(repeat):
        if sgemm is not None:
            tick(f"{w.name}: sgemm {sgemm.n}^3 ({r + 1}/{repeat})")
            time.sleep(settle)
            sgemm_times.append(sgemm.run())
        shift = r % max(len(order), 1)
        for name in order[shift:] + order[:shift]:
            tick(f"{w.name}: {name} ({r + 1}/{repeat})")
            res = results[name]
            time.sleep(settle)
            try:
                with thread_limit(threads):
                    res.times_s.append(_time(runs[name]))
            except Exception as exc:
                res.status, res.reason = "error", f"{type(exc).__name__}: {exc}"
                runs.pop(name)
                order = [n for n in order if n != name]
    flops = flops_per_step(w) * w.steps * w.n_nets
    ceiling = sgemm.summary(sgemm_times) if sgemm is not None else None
    ceiling_gflops = ceiling["gflops"] if ceiling else None
    for res in results.values():
        if res.status == "ok" and res.times_s:
            res.median_s = statistics.median(res.times_s)
            res.throughput = w.units / res.median_s
            res.gflops = flops / res.median_s / 1e9
            if ceiling_gflops:
                res.ceiling_share = res.gflops / ceiling_gflops
    base = results.get("fastrelu")
    if base is not None and base.median_s:
        for res in results.values():
            if res.median_s:
                res.fastrelu_speedup = res.median_s / base.median_s
    return WorkloadResult(w.name, w.metric, list(w.sizes), w.steps, w.batch_size, w.n_nets,
                          flops, reference, list(results.values()), ceiling)


def _planned_ticks(ws: list[Workload], impl_names: Sequence[str] | None, repeat: int) -> int:
    total = 0
    for w in ws:
        impls = [i for i in implementations_for(w.name) if impl_names is None or i.name in impl_names]
        n_ok = sum(availability(i)[0] for i in impls)
        total += len(impls) + n_ok * repeat
    return total


def run_benchmarks(workloads: Sequence[str] | str = "all", *, implementations: Sequence[str] | None = None,
                   repeat: int = 5, steps: int | None = None, n_nets: int | None = None,
                   ceiling: bool = True, ceiling_n: int = 4096, cold: bool = True,
                   cold_command: Sequence[str] | None = None, threads: int | None = None,
                   settle: float = 0.2, progress: Progress | None = None) -> BenchReport:
    """Benchmark workloads against their peers; see the module docstring for the protocol.

    Parameters
    ----------
    workloads : str or sequence of str
        ``"W1"``, ``"W2"``, ``"W3"`` or ``"all"`` (case-insensitive).
    implementations : sequence of str, optional
        Restrict to these implementation names (default: all registered ones).
    repeat : int
        Timed runs per implementation (median reported); at least 1.
    steps, n_nets : int, optional
        Override the workload's step count / number of networks (quick runs, tests).
    ceiling : bool
        Measure the sgemm ceiling (``ceiling_n``\\ :sup:`3`): one product per repeat round of
        every workload, interleaved with the implementations; each workload's shares use its
        own rounds' median, the report's ``ceiling`` pools all rounds.
    cold : bool
        Measure cold start (empty and warm numba cache) in fresh processes.
    cold_command : sequence of str, optional
        Command for the cold-start measurement (default: ``fastrelu scenario lr-explosion``).
    threads : int, optional
        Threads for torch and numba during each run (default: their own defaults, one per
        core). On a loaded machine, torch's two-thread mode can be many times slower than
        one thread on small problems.
    settle : float
        Seconds of pause before each timed run and sgemm, so that thread pools left
        busy-waiting by the previous implementation go idle (see the module docstring).
    progress : callable, optional
        ``progress(done, total, description)``, called before each unit of work and at the end.
    """
    names = resolve_workloads(workloads)
    if int(repeat) < 1:
        raise ValueError(f"repeat: must be >= 1, got {repeat!r}")
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads: must be >= 1, got {threads!r}")
    if not (isinstance(settle, (int, float)) and 0 <= settle <= 60):
        raise ValueError(f"settle: must be a number of seconds in [0, 60], got {settle!r}")
    if implementations is not None:
        known = {i.name for name in names for i in implementations_for(name)}
        unknown = [i for i in implementations if i not in known]
        if unknown or not implementations:
            raise ValueError(f"implementations: got {list(implementations)!r}, accepted for "
                             f"{', '.join(names)}: {', '.join(sorted(known))}")
    overrides = {}
    if steps is not None:
        overrides["steps"] = int(steps)
    ws = []
    for name in names:
        o = dict(overrides)
        if n_nets is not None and WORKLOADS[name].n_nets > 1:
            o["n_nets"] = int(n_nets)
        ws.append(get_workload(name, **o))
    total = _planned_ticks(ws, implementations, repeat) + (2 if cold else 0)
    if ceiling:
        total += len(ws) * int(repeat)
    done = 0

    def tick(description: str) -> None:
        nonlocal done
        if progress is not None:
            progress(done, total, description)
        done += 1

    sgemm = Sgemm(ceiling_n) if ceiling else None
    results = [_bench_workload(w, implementations, int(repeat), tick, sgemm, threads, float(settle))
               for w in ws]
    ceiling_doc = None
    if sgemm is not None:
        ceiling_doc = sgemm.summary([t for r in results for t in r.ceiling["times_s"]])
    cold_doc = None
    if cold:
        cold_doc = cold_start(cold_command, on_phase=lambda p: tick(f"cold start ({p} cache)"))
    if progress is not None:
        progress(total, total, "done")
    return BenchReport(datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                       machine_info(), int(repeat), results, ceiling_doc, cold_doc, threads,
                       float(settle))
