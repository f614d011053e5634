"""Numba kernels: pure ``@njit`` functions over arrays. They know nothing of the public API.

Before any kernel module is imported (and decorated), numba is given a cache locator for the
kernel files only (:func:`fastrelu.kernels._config.install_cache_locator`): fastrelu's kernels
cache in a folder keyed on their sources, even when the package folder is read-only, and
nothing else in the process is affected. It creates no folder and changes no setting. Numba
is also told to keep each kernel's linked-in copies of fastrelu's functions private to it
(``_numba_internals.keep_callee_copies_private``: only functions of this package change).
"""
from fastrelu.kernels._config import install_cache_locator

install_cache_locator()
