"""Numba kernels: pure ``@njit`` functions over arrays. They know nothing of the public API.

``ensure_cache_dir`` runs before any kernel module is imported so that numba's on-disk cache
works even when the package folder is read-only.
"""
from fastrelu.kernels._config import ensure_cache_dir

ensure_cache_dir()
