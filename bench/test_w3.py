"""Workload W3: one benchmark per implementation (see fastrelu_bench.workloads)."""
from __future__ import annotations

import pytest

from fastrelu_bench.implementations import implementations_for


@pytest.mark.parametrize("impl", [i.name for i in implementations_for("W3")])
def test_w3(bench_implementation, impl):
    bench_implementation("W3", impl)
