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


@intrinsic
def as_matrix(typingctx, v, n, m):
    """View the 1-D C-contiguous ``v`` (exactly ``n * m`` items) as an ``(n, m)`` C array.

    What ``v.reshape((n, m))`` does, without numba's general reshape machinery (a call into
    its C helper, about 16 ns here, and a step of W1 takes about 30 views). The caller
    guarantees the size; :func:`fastrelu.kernels.network.view2d` checks it.
    """
    if not (isinstance(v, types.Array) and v.ndim == 1 and v.layout == "C"
            and isinstance(n, types.Integer) and isinstance(m, types.Integer)):
        return None
    ret = v.copy(ndim=2, layout="C")

    def codegen(context, builder, signature, args):
        from numba.core import cgutils
        from numba.core.imputils import impl_ret_borrowed
        from numba.np.arrayobj import make_array, populate_array

        vty, nty, mty = signature.args
        src = make_array(vty)(context, builder, args[0])
        out = make_array(signature.return_type)(context, builder)
        rows = context.cast(builder, args[1], nty, types.intp)
        cols = context.cast(builder, args[2], mty, types.intp)
        itemsize = src.itemsize
        populate_array(out, data=src.data,
                       shape=cgutils.pack_array(builder, [rows, cols]),
                       strides=cgutils.pack_array(builder, [builder.mul(cols, itemsize), itemsize]),
                       itemsize=itemsize, meminfo=src.meminfo, parent=src.parent)
        return impl_ret_borrowed(context, builder, signature.return_type, out._getvalue())

    return ret(v, n, m), codegen
