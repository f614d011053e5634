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
from typing import NamedTuple

import numpy as np
from numba import from_dtype, njit

from fastrelu.kernels._config import INLINE
from fastrelu.kernels._numba_internals import WrapperAddressProtocol, cfunc_address, types
from fastrelu.kernels.losses import loss_and_grad
from fastrelu.kernels.network import backward, forward
from fastrelu.kernels.optim import apply_update

__all__ = ["Pointer", "StepKernels", "linked_step_kernels", "step_kernels"]


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


@functools.lru_cache(maxsize=None)
def step_kernels(dtype) -> StepKernels:
    """The step kernels for parameters of ``dtype`` (float32 or float64), as pointers."""
    f = types.float64
    i = types.int64
    v = types.Array(from_dtype(np.dtype(dtype)), 1, "C")
    m = types.Array(v.dtype, 2, "C")
    arch = types.Array(i, 2, "C")
    return StepKernels(
        Pointer(forward, (v, arch, f, m, v, v, v, m, m, types.boolean, v)),
        Pointer(loss_and_grad, (i, m, m, types.Array(i, 1, "C"), i, m)),
        Pointer(backward, (v, arch, f, m, v, v, v, m, m, v, v, v, v, v)),
        Pointer(apply_update, (i, v, v, m, types.Array(f, 1, "C"), i)),
    )
