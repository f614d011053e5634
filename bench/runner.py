"""Run workloads x implementations in one process: gate, interleaved repeats, medians, ratios.

The runner never prints. Progress goes to an optional callback
``progress(done: int, total: int, description: str)``; the result is a :class:`BenchReport`
whose :meth:`BenchReport.to_dict` is JSON-ready.

For each workload: every available implementation is prepared and run once (warm-up: JIT
compilation lands there); the warm-up results go through the correctness gate
(:func:`fastrelu_bench.common.check_agreement`; for S0 the Monte Carlo gate
:func:`fastrelu_bench.s0.check_s0_agreement`); implementations that disagree are
not timed. Then ``repeat`` rounds run every agreeing implementation once each, in an order
rotated every round (plus, for the training workloads, one sgemm product per round: the
machine ceiling under the same load), and the medians give throughput, GFLOP/s, share of the
machine ceiling, the ratio ``fastrelu_speedup = median(impl) / median(fastrelu)`` and, for
fastrelu's own implementations, ``vs_best_peer = median(best peer) / median(impl)``.

Every timed run (and every sgemm) starts after a pause of ``settle`` seconds: thread pools
that the previous implementation left busy-waiting go idle first. OpenBLAS keeps its threads
spinning for about 0.1 s after a call, and numpy and scipy (numba's ``np.dot``) each load an
OpenBLAS of their own, so without the pause a run that follows NumPy shares the cores with
NumPy's spinning threads (measured: fastrelu's W3 run 0.43 s instead of 0.34 s, JAX's 0.39 s
instead of 0.35 s).
"""
from __future__ import annotations

import datetime
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from fastrelu_bench.ceiling import Sgemm, cold_start
from fastrelu_bench.common import check_agreement, thread_limit
from fastrelu_bench.implementations import availability, implementations_for, is_peer
from fastrelu_bench.machine import blas_cores, machine_info
from fastrelu_bench.s0 import S0, S0Workload, check_s0_agreement, grid_summary, make_s0_problem
from fastrelu_bench.workloads import WORKLOADS, Workload, flops_per_step, get_workload, make_problem

__all__ = ["ImplResult", "WorkloadResult", "BenchReport", "run_benchmarks", "resolve_workloads",
           "machine_info", "blas_cores", "ALL_WORKLOADS"]

#: Every workload ``"all"`` runs, in order.
ALL_WORKLOADS: tuple[str, ...] = (*WORKLOADS, S0.name)

Progress = Callable[[int, int, str], None]


@dataclass
class ImplResult:
    """Measurements of one implementation on one workload.

    ``status`` is ``"ok"`` (timed), ``"skipped"`` (not available here), ``"mismatch"``
    (failed the correctness gate, not timed) or ``"error"`` (raised; ``reason`` says what).
    Time fields are seconds per complete run; ``fastrelu_speedup`` is how many times
    fastrelu's median is faster than this one (None without a fastrelu timing);
    ``vs_best_peer`` (fastrelu's own implementations only) how many times this one is faster
    than the fastest peer. The gate's numbers: ``final_loss``/``max_rel_diff`` (training
    workloads), ``p_dead_layer`` (per cell, rows = depths) and ``gate_score`` (S0: largest
    difference to the reference in Monte Carlo tolerances; at most 1 passes).
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
    p_dead_layer: list | None = None
    gate_score: float | None = None
    vs_best_peer: float | None = None


@dataclass
class WorkloadResult:
    """All implementations of one workload, with its definition and the gate's reference.

    S0 (no training) has ``steps`` 0, ``batch_size`` = rows per forward, no ``sizes``, no
    FLOP count and ``grid``: widths, depths, seeds per cell and the closed-form bounds.
    """

    workload: str
    metric: str
    sizes: list[int]
    steps: int
    batch_size: int
    n_nets: int
    flops_per_run: int | None
    reference: str | None
    implementations: list[ImplResult]
    ceiling: dict | None = None
    best_peer: str | None = None
    grid: dict | None = None

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
            out.extend(k for k in ALL_WORKLOADS if k not in out)
        elif key in ALL_WORKLOADS:
            if key not in out:
                out.append(key)
        else:
            raise ValueError(f"workload: got {name!r}, accepted: {', '.join(ALL_WORKLOADS)}, all")
    return out


def _time(run: Callable) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def _problem(w: Workload | S0Workload):
    return make_s0_problem(w) if isinstance(w, S0Workload) else make_problem(w)


def _flops(w: Workload | S0Workload) -> int | None:
    """Exact FLOPs of one run of a training workload; None for S0 (init-bound, not FLOP-bound)."""
    return None if isinstance(w, S0Workload) else flops_per_step(w) * w.steps * w.n_nets


def _warm_up(w, impls, problem, results: dict, tick, threads) -> tuple[dict, dict]:
    """Prepare and run every available implementation once: ``(runs, warm results)``."""
    runs: dict[str, Callable] = {}
    warm: dict = {}
    for impl in impls:
        ok, reason = availability(impl)
        res = ImplResult(impl.name, impl.label, "skipped" if not ok else "ok", reason)
        results[impl.name] = res
        if not ok:
            tick(f"{w.name}: skip {impl.name}")
            continue
        tick(f"{w.name}: warm-up {impl.name}")
        try:
            run = impl.load()(problem)
            with thread_limit(threads):
                res.threads = impl.threads()
                warm[impl.name] = run()
            runs[impl.name] = run
        except Exception as exc:  # a broken implementation is reported, not fatal
            res.status, res.reason = "error", f"{type(exc).__name__}: {exc}"
    return runs, warm


def _gate(problem, warm: dict, results: dict, runs: dict) -> str | None:
    """Run the workload's gate on the warm-up results; drop the runs that fail it."""
    if not warm:
        return None
    if isinstance(problem.workload, S0Workload):
        s0_agreements = check_s0_agreement(problem, warm)
        for name, ag in s0_agreements.items():
            res = results[name]
            res.p_dead_layer, res.gate_score = ag.p.tolist(), ag.score
            if not ag.agrees:
                res.status, res.reason = "mismatch", ag.reason
                runs.pop(name)
        return next(iter(s0_agreements.values())).reference
    agreements = check_agreement(problem, warm)
    for name, ag in agreements.items():
        res = results[name]
        res.final_loss = float(np.mean(ag.final_loss))
        res.max_rel_diff = ag.max_rel_diff
        if not ag.agrees:
            res.status = "mismatch"
            res.reason = (f"final loss {res.final_loss:.6g} differs from {ag.reference}'s "
                          f"{float(np.mean(ag.reference_loss)):.6g} (max rel diff {ag.max_rel_diff:.2e})")
            runs.pop(name)
    return next(iter(agreements.values())).reference


def _timed_rounds(name: str, runs: dict, results: dict, repeat: int, tick, sgemm: Sgemm | None,
                  threads: int | None, settle: float) -> list[float]:
    """``repeat`` rounds of every run (order rotated per round), each after a pause; the
    sgemm times of the rounds."""
    order = list(runs)
    sgemm_times: list[float] = []
    for r in range(repeat):
        if sgemm is not None:
            tick(f"{name}: sgemm {sgemm.n}^3 ({r + 1}/{repeat})")
            time.sleep(settle)
            sgemm_times.append(sgemm.run())
        shift = r % max(len(order), 1)
        for impl in order[shift:] + order[:shift]:
            tick(f"{name}: {impl} ({r + 1}/{repeat})")
            res = results[impl]
            time.sleep(settle)
            try:
                with thread_limit(threads):
                    res.times_s.append(_time(runs[impl]))
            except Exception as exc:
                res.status, res.reason = "error", f"{type(exc).__name__}: {exc}"
                runs.pop(impl)
                order = [n for n in order if n != impl]
    return sgemm_times


def _summarize(w, results: dict, flops: int | None, ceiling: dict | None) -> str | None:
    """Medians, rates, GFLOP/s, ratios to fastrelu and of fastrelu's own to the best peer."""
    ceiling_gflops = ceiling["gflops"] if ceiling else None
    for res in results.values():
        if res.status == "ok" and res.times_s:
            res.median_s = statistics.median(res.times_s)
            res.throughput = w.units / res.median_s
            if flops is not None:
                res.gflops = flops / res.median_s / 1e9
                if ceiling_gflops:
                    res.ceiling_share = res.gflops / ceiling_gflops
    base = results.get("fastrelu")
    if base is not None and base.median_s:
        for res in results.values():
            if res.median_s:
                res.fastrelu_speedup = res.median_s / base.median_s
    peers = [r for r in results.values() if r.median_s and is_peer(r.name)]
    if not peers:
        return None
    best = min(peers, key=lambda r: r.median_s)
    for res in results.values():
        if res.median_s and not is_peer(res.name):
            res.vs_best_peer = best.median_s / res.median_s
    return best.name


def _bench_workload(w: Workload | S0Workload, impl_names: Sequence[str] | None, repeat: int,
                    tick: Callable[[str], None], sgemm: Sgemm | None,
                    threads: int | None = None, settle: float = 0.0) -> WorkloadResult:
    impls = [i for i in implementations_for(w.name) if impl_names is None or i.name in impl_names]
    problem = _problem(w)
    flops = _flops(w)
    sgemm = sgemm if flops is not None else None   # S0 is not FLOP-bound: no ceiling rounds
    results: dict[str, ImplResult] = {}
    runs, warm = _warm_up(w, impls, problem, results, tick, threads)
    reference = _gate(problem, warm, results, runs)
    sgemm_times = _timed_rounds(w.name, runs, results, repeat, tick, sgemm, threads, settle)
    ceiling = sgemm.summary(sgemm_times) if sgemm is not None else None
    best_peer = _summarize(w, results, flops, ceiling)
    if isinstance(w, S0Workload):
        return WorkloadResult(w.name, w.metric, [], 0, w.n_rows, w.n_nets, None, reference,
                              list(results.values()), None, best_peer, grid_summary(w))
    return WorkloadResult(w.name, w.metric, list(w.sizes), w.steps, w.batch_size, w.n_nets,
                          flops, reference, list(results.values()), ceiling, best_peer)


def _planned_ticks(ws: list, impl_names: Sequence[str] | None, repeat: int, ceiling: bool) -> int:
    total = 0
    for w in ws:
        impls = [i for i in implementations_for(w.name) if impl_names is None or i.name in impl_names]
        n_ok = sum(availability(i)[0] for i in impls)
        total += len(impls) + n_ok * repeat
        if ceiling and _flops(w) is not None:
            total += repeat
    return total


def _workloads(names: list[str], steps: int | None, n_nets: int | None,
               seeds: int | None) -> list[Workload | S0Workload]:
    """The workloads called ``names`` with the overrides that apply to each."""
    ws: list[Workload | S0Workload] = []
    for name in names:
        if name == S0.name:
            ws.append(S0.replace(seeds_per_cell=int(seeds)) if seeds is not None else S0)
            continue
        o = {} if steps is None else {"steps": int(steps)}
        if n_nets is not None and WORKLOADS[name].n_nets > 1:
            o["n_nets"] = int(n_nets)
        ws.append(get_workload(name, **o))
    return ws


def run_benchmarks(workloads: Sequence[str] | str = "all", *, implementations: Sequence[str] | None = None,
                   repeat: int = 5, steps: int | None = None, n_nets: int | None = None,
                   seeds: int | None = None, ceiling: bool = True, ceiling_n: int = 4096, cold: bool = True,
                   cold_command: Sequence[str] | None = None, threads: int | None = None,
                   settle: float = 0.2, progress: Progress | None = None) -> BenchReport:
    """Benchmark workloads against their peers; see the module docstring for the protocol.

    Parameters
    ----------
    workloads : str or sequence of str
        ``"W1"``, ``"W2"``, ``"W3"``, ``"S0"`` or ``"all"`` (case-insensitive).
    implementations : sequence of str, optional
        Restrict to these implementation names (default: all registered ones).
    repeat : int
        Timed runs per implementation (median reported); at least 1.
    steps, n_nets : int, optional
        Override the training workloads' step count / number of W2 networks (quick runs, tests).
    seeds : int, optional
        Nets per S0 cell (default 1000).
    ceiling : bool
        Measure the sgemm ceiling (``ceiling_n``\\ :sup:`3`): one product per repeat round of
        every training workload, interleaved with the implementations; each workload's shares use its
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
    if seeds is not None and int(seeds) < 1:
        raise ValueError(f"seeds: must be >= 1, got {seeds!r}")
    ws = _workloads(names, steps, n_nets, seeds)
    total = _planned_ticks(ws, implementations, int(repeat), ceiling) + (2 if cold else 0)
    done = 0

    def tick(description: str) -> None:
        nonlocal done
        if progress is not None:
            progress(done, total, description)
        done += 1

    sgemm = Sgemm(ceiling_n) if ceiling and any(_flops(w) is not None for w in ws) else None
    results = [_bench_workload(w, implementations, int(repeat), tick, sgemm, threads, float(settle))
               for w in ws]
    ceiling_doc = None
    pooled = [t for r in results if r.ceiling for t in r.ceiling["times_s"]]
    if sgemm is not None and pooled:
        ceiling_doc = sgemm.summary(pooled)
    cold_doc = None
    if cold:
        cold_doc = cold_start(cold_command, on_phase=lambda p: tick(f"cold start ({p} cache)"))
    if progress is not None:
        progress(total, total, "done")
    return BenchReport(datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                       machine_info(), int(repeat), results, ceiling_doc, cold_doc, threads,
                       float(settle))
