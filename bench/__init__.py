"""fastrelu's benchmarks, installed as ``fastrelu_bench`` (not part of the library).

Workloads W1-W3 (:mod:`~fastrelu_bench.workloads`) and S0, the born-dead nets at
initialization (:mod:`~fastrelu_bench.s0`), fastrelu's and the peers' implementations
of them (NumPy; PyTorch and JAX from the ``peers`` extra), the correctness gate
(:mod:`~fastrelu_bench.common`), the machine ceiling and cold start
(:mod:`~fastrelu_bench.ceiling`) and the runner behind ``fastrelu bench``
(:mod:`~fastrelu_bench.runner`). The ``test_w*.py`` and ``test_s0.py`` files in this folder
time the same implementations with pytest-benchmark (``pytest --benchmark-only``).

fastrelu uses only its public API; the library never imports this package.
"""
