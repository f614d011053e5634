"""Kernels called through function pointers: compiled once, never linked into their callers.

numba links each callee's code into every kernel that calls it, then optimizes and emits the
whole of it again at that level: the step loop re-compiled forward, backward, the loss and the
optimizer (about a third of a cold start). A :class:`Pointer` is a kernel compiled on its own,
for one signature, that numba passes as a first-class function (``types.FunctionType``): the
caller holds its address and an indirect call, nothing else. Each pointer's kernel caches on
its own, so a warm start loads it instead of compiling it.

A table of pointers (:class:`StepKernels`) is passed in as an argument. Compiled callers that
must link (the ensemble's step loop, the chunked gradient's ``prange`` loop) build the same
table from the kernels themselves (:func:`linked_step_kernels`): numba then calls them as
ordinary functions. (Pointers in the ensemble's step loop cost about 7% of W2.) The ensemble's
``prange`` loop calls its step loop through one pointer per network instead
(``ensemble.member_steps``).
"""
from __future__ import annotations

import functools
import threading
from typing import NamedTuple

import numpy as np
from numba import njit

from fastrelu.kernels import compile_helper
from fastrelu.kernels._config import INLINE
from fastrelu.kernels._numba_internals import (WrapperAddressProtocol, cfunc_address, overload,
                                               types)
from fastrelu.kernels.losses import loss_and_grad
from fastrelu.kernels.network import backward, forward
from fastrelu.kernels.optim import apply_update
from fastrelu.kernels.signatures import cache_entry, step_signatures

__all__ = ["HELPER_COMPILES", "Pointer", "StepKernels", "linked_step_kernels", "step_kernels",
           "step_table"]


class Pointer(WrapperAddressProtocol):
    """``kernel`` for the numba signature ``sig``, passed as a pointer.

    Its numba type is the declared one; the kernel itself is compiled, or loaded from the cache,
    by :meth:`resolve` or when numba first asks for its address. Called from Python, it calls
    ``kernel`` as usual.
    """

    def __init__(self, kernel, sig):
        self.kernel = kernel
        self._signature = sig
        self._address = None

    def resolve(self) -> Pointer:
        """Compile (or load) the kernel for the signature; TypeError if it compiles to another."""
        if self._address is None:
            self.kernel.compile(self._signature.args)
            compiled = self.kernel.overloads[self._signature.args]
            if compiled.signature != self._signature:
                raise TypeError(f"{self.kernel.__name__} compiled to {compiled.signature}, "
                                f"not the declared {self._signature}")
            self._address = cfunc_address(compiled)
        return self

    def __wrapper_address__(self):
        return self.resolve()._address

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


def step_table(kern):
    """In compiled code: ``kern``, or :func:`linked_step_kernels` when ``kern`` is None.

    Chosen by type while compiling (inlined), so a caller that links the kernels can pass None
    through a compiled call instead of the table: a table of dispatchers passed to a compiled
    call holds their Python objects' addresses, and numba cannot cache that.
    """
    raise NotImplementedError("step_table is for compiled code")


@overload(step_table, inline="always")
def _step_table(kern):
    if isinstance(kern, types.NoneType):
        return lambda kern: linked_step_kernels()
    return lambda kern: kern


#: The step kernel a helper process compiles on a first run, while this one compiles the
#: others (see :mod:`fastrelu.kernels.compile_helper`): the largest, about as long as the
#: other three together. (Also compiling the optimizer there, with the step loop compiled here
#: meanwhile against the pointers' declared types, measured no gain: paired first runs 0.96x and
#: 1.03x. With both cores compiling, each compile runs slower, so the wall time follows the
#: total CPU time.)
HELPER_COMPILES = ("backward",)

_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _step_kernels(dtype) -> StepKernels:
    signatures = step_signatures(dtype)
    kern = StepKernels(**{n: Pointer(*signatures[n]) for n in StepKernels._fields})
    helper = compile_helper.start(dtype.name, HELPER_COMPILES,
                                  [cache_entry(signatures[n][0]) for n in HELPER_COMPILES])
    try:
        for name in StepKernels._fields:
            if helper is None or name not in HELPER_COMPILES:
                getattr(kern, name).resolve()
    except BaseException:
        compile_helper.stop(helper)
        raise
    compile_helper.finish(helper)   # then the helper's kernels load from the cache
    for p in kern:
        p.resolve()
    return kern


def step_kernels(dtype) -> StepKernels:
    """The step kernels for parameters of ``dtype`` (float32 or float64), as pointers.

    Built once per dtype. On a first run (nothing cached yet) a helper process compiles
    :data:`HELPER_COMPILES` into the kernel cache at the same time (when
    :func:`compile_helper.start` finds it worthwhile).
    """
    with _LOCK:
        return _step_kernels(np.dtype(dtype))
