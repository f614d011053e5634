"""LLVM intrinsics the kernels call explicitly.

``fma(a, b, c)`` is ``a * b + c`` with one rounding. Kernels ask for it by name instead of
letting fastmath ``contract`` fuse multiplies and adds: numba's contraction differed between a
kernel compiled in-process and the same kernel loaded from its cache (different bits), while
an explicit ``llvm.fma`` call is the same instruction either way, and vectorizes.
"""
from __future__ import annotations

import llvmlite.ir as ir
from numba.core import types
from numba.core.extending import intrinsic


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once; all three of one float type."""
    if not (isinstance(a, types.Float) and a == b and b == c):
        return None

    def codegen(context, builder, signature, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fma", [t], ir.FunctionType(t, [t, t, t]))
        return builder.call(fn, args)

    return a(a, b, c), codegen
