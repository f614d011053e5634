"""Kernels called through function pointers: compiled once, never linked into their callers.

numba links each callee's code into every kernel that calls it, then optimizes and emits the
whole of it again at that level: the step loop re-compiled forward, backward, the loss and the
optimizer (about a third of a cold start). A :class:`Pointer` is a kernel compiled on its own,
for one signature, that numba passes as a first-class function (``types.FunctionType``): the
caller holds its address and an indirect call, nothing else. Each pointer's kernel caches on
its own, so a warm start loads it instead of compiling it.

A table of pointers (:class:`StepKernels`) is passed in as an argument. Compiled callers that
must link (the ``prange`` loops) build the same table from the kernels themselves
(:func:`linked_step_kernels`): numba then calls them as ordinary functions.
"""
from __future__ import annotations

import functools
import threading
from typing import NamedTuple

import numpy as np
from numba import njit

from fastrelu.kernels import compile_helper
from fastrelu.kernels._config import INLINE
from fastrelu.kernels._numba_internals import WrapperAddressProtocol, cfunc_address
from fastrelu.kernels.losses import loss_and_grad
from fastrelu.kernels.network import backward, forward
from fastrelu.kernels.optim import apply_update
from fastrelu.kernels.signatures import cache_entry, step_signatures

__all__ = ["HELPER_COMPILES", "Pointer", "StepKernels", "linked_step_kernels", "step_kernels"]


class Pointer(WrapperAddressProtocol):
    """``kernel`` compiled (or loaded from the cache) for ``argtypes``, passed as a pointer.

    Called from Python, it calls ``kernel`` as usual.
    """

    def __init__(self, kernel, argtypes):
        argtypes = tuple(argtypes)
        kernel.compile(argtypes)
        compiled = kernel.overloads[argtypes]
        self.kernel = kernel
        self._signature = compiled.signature
        self._address = cfunc_address(compiled)

    def __wrapper_address__(self):
        return self._address

    def signature(self):
        return self._signature

    def __call__(self, *args):
        return self.kernel(*args)


class StepKernels(NamedTuple):
    """What a training step calls: ``network.forward``, ``losses.loss_and_grad``,
    ``network.backward`` and ``optim.apply_update`` (pointers, or the kernels themselves)."""

    forward: object
    loss: object
    backward: object
    update: object


@njit(**INLINE)
def linked_step_kernels():
    """The step kernels as ordinary calls, for compiled callers that link them."""
    return StepKernels(forward, loss_and_grad, backward, apply_update)


#: The step kernel a helper process compiles on a first run, while this one compiles the
#: others (see :mod:`fastrelu.kernels.compile_helper`): the largest, about as long as the
#: other three together.
HELPER_COMPILES = ("backward",)

_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _step_kernels(dtype) -> StepKernels:
    signatures = step_signatures(dtype)
    helper = compile_helper.start(np.dtype(dtype).name, HELPER_COMPILES,
                                  [cache_entry(signatures[n][0]) for n in HELPER_COMPILES])
    names = [n for n in StepKernels._fields if helper is None or n not in HELPER_COMPILES]
    try:
        built = {n: Pointer(*signatures[n]) for n in names}
    except BaseException:
        compile_helper.stop(helper)
        raise
    compile_helper.finish(helper)   # then the helper's kernels load from the cache
    built.update((n, Pointer(*signatures[n])) for n in StepKernels._fields if n not in built)
    return StepKernels(**built)


def step_kernels(dtype) -> StepKernels:
    """The step kernels for parameters of ``dtype`` (float32 or float64), as pointers.

    Built once per dtype. On a first run (nothing cached yet) a helper process compiles
    :data:`HELPER_COMPILES` into the kernel cache at the same time (when
    :func:`compile_helper.start` finds it worthwhile).
    """
    with _LOCK:
        return _step_kernels(np.dtype(dtype))
