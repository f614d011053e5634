"""Benchmark workloads and peer implementations (NumPy, PyTorch, JAX) for `fastrelu bench`."""
