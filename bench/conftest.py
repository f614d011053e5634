"""Shared set-up of the pytest-benchmark suite (``pytest --benchmark-only``).

For each workload, one session-scoped :class:`Setup` builds the problem, prepares every
available implementation and runs each once: that run is the JIT warm-up and the input of the
correctness gate. A benchmark whose implementation disagrees with the reference fails
instead of being timed. Peers that are not installed are skipped with the reason.

Knobs (environment): ``FASTRELU_BENCH_ROUNDS`` (timed rounds, default 3; the machine is
shared), ``FASTRELU_BENCH_STEPS`` / ``FASTRELU_BENCH_NETS`` (reduced-size smoke runs),
``FASTRELU_BENCH_SEEDS`` (nets per S0 cell, default 1000),
``FASTRELU_BENCH_THREADS`` (threads for torch and numba; default: their defaults),
``FASTRELU_BENCH_SETTLE`` (seconds of pause before each round, default 0.2: thread pools left
busy-waiting by the previous implementation go idle, as in ``fastrelu bench``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

import numpy as np

from fastrelu_bench.common import (LOSS_ATOL, LOSS_RTOL, RunResult, check_agreement, full_data_loss,
                                   thread_limit)
from fastrelu_bench.implementations import availability, implementations_for
from fastrelu_bench.s0 import S0, S0Problem, check_s0_agreement, make_s0_problem
from fastrelu_bench.workloads import Problem, get_workload, make_problem

ROUNDS = int(os.environ.get("FASTRELU_BENCH_ROUNDS", "3"))
THREADS = int(os.environ["FASTRELU_BENCH_THREADS"]) if os.environ.get("FASTRELU_BENCH_THREADS") else None
SETTLE = float(os.environ.get("FASTRELU_BENCH_SETTLE", "0.2"))


def _settle() -> None:
    time.sleep(SETTLE)


@dataclass
class Setup:
    """One workload's problem, prepared runs, skip reasons and gate results."""

    problem: Problem | S0Problem
    runs: dict[str, Callable[[], RunResult]] = field(default_factory=dict)
    threads: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    agreements: dict = field(default_factory=dict)
    warm: dict = field(default_factory=dict)


def _overrides(name: str) -> dict:
    out = {}
    if os.environ.get("FASTRELU_BENCH_STEPS"):
        out["steps"] = int(os.environ["FASTRELU_BENCH_STEPS"])
    if os.environ.get("FASTRELU_BENCH_NETS") and get_workload(name).n_nets > 1:
        out["n_nets"] = int(os.environ["FASTRELU_BENCH_NETS"])
    return out


def _problem(name: str) -> Problem | S0Problem:
    if name == S0.name:
        seeds = os.environ.get("FASTRELU_BENCH_SEEDS")
        return make_s0_problem(S0.replace(seeds_per_cell=int(seeds)) if seeds else S0)
    return make_problem(get_workload(name, **_overrides(name)))


def _build(name: str) -> Setup:
    setup = Setup(_problem(name))
    warm = setup.warm
    for impl in implementations_for(name):
        ok, reason = availability(impl)
        if not ok:
            setup.skipped[impl.name] = reason
            continue
        run = impl.load()(setup.problem)
        with thread_limit(THREADS):
            warm[impl.name] = run()
            setup.threads[impl.name] = impl.threads()
        setup.runs[impl.name] = run
    if warm:
        gate = check_s0_agreement if name == S0.name else check_agreement
        setup.agreements = gate(setup.problem, warm)
    return setup


@pytest.fixture(scope="session")
def workload_setup() -> Callable[[str], Setup]:
    """``workload_setup("W1") -> Setup``, built once per session and workload."""
    cache: dict[str, Setup] = {}

    def get(name: str) -> Setup:
        if name not in cache:
            cache[name] = _build(name)
        return cache[name]

    return get


def _bench_s0(benchmark, setup: Setup, impl: str) -> None:
    ag = setup.agreements[impl]
    assert ag.agrees, f"{impl}: {ag.reason}: not timing different work"
    w = setup.problem.workload
    benchmark.group = w.name
    benchmark.extra_info.update({
        "implementation": impl, "workload": w.name, "threads": setup.threads[impl],
        "metric": w.metric, "units_per_run": w.units, "seeds_per_cell": w.seeds_per_cell,
        "p_dead_layer": ag.p.tolist(), "gate_score": ag.score, "reference": ag.reference,
    })
    with thread_limit(THREADS):
        result = benchmark.pedantic(setup.runs[impl], setup=_settle, warmup_rounds=1, rounds=ROUNDS,
                                    iterations=1)
    # The timed runs drew the same nets as the gated one (same seeds, same counts).
    np.testing.assert_array_equal(result.dead, setup.warm[impl].dead)


def _bench_implementation(benchmark, setup: Setup, impl: str) -> None:
    if impl in setup.skipped:
        pytest.skip(setup.skipped[impl])
    if isinstance(setup.problem, S0Problem):
        _bench_s0(benchmark, setup, impl)
        return
    ag = setup.agreements[impl]
    assert ag.agrees, (
        f"{impl} final loss {ag.final_loss.mean():.6g} differs from {ag.reference}'s "
        f"{ag.reference_loss.mean():.6g} (max rel diff {ag.max_rel_diff:.2e}): not timing different work")
    w = setup.problem.workload
    benchmark.group = w.name
    benchmark.extra_info.update({
        "implementation": impl, "workload": w.name, "threads": setup.threads[impl],
        "metric": w.metric, "units_per_run": w.units, "steps": w.steps, "n_nets": w.n_nets,
        "final_loss": float(ag.final_loss.mean()), "reference": ag.reference,
    })
    with thread_limit(THREADS):
        result = benchmark.pedantic(setup.runs[impl], setup=_settle, warmup_rounds=1, rounds=ROUNDS,
                                    iterations=1)
    # The timed runs did the same work as the gated one.
    again = full_data_loss(setup.problem, result)
    np.testing.assert_allclose(again, ag.final_loss, rtol=LOSS_RTOL, atol=LOSS_ATOL)


@pytest.fixture
def bench_implementation(benchmark, workload_setup) -> Callable[[str, str], None]:
    """``bench_implementation("W1", "numpy")``: gate, tag and time one implementation."""

    def run(workload: str, impl: str) -> None:
        _bench_implementation(benchmark, workload_setup(workload), impl)

    return run
