"""Workload S0: one benchmark per implementation (see fastrelu_bench.s0)."""
from __future__ import annotations

import pytest

from fastrelu_bench.implementations import implementations_for


@pytest.mark.parametrize("impl", [i.name for i in implementations_for("S0")])
def test_s0(bench_implementation, impl):
    bench_implementation("S0", impl)
