"""LLVM intrinsics the kernels call explicitly.

``fma(a, b, c)`` is ``a * b + c`` with one rounding. Kernels ask for it by name instead of
letting fastmath ``contract`` fuse multiplies and adds: numba's contraction differed between a
kernel compiled in-process and the same kernel loaded from its cache (different bits), while
an explicit ``llvm.fma`` call is the same instruction either way, and vectorizes.
"""
from __future__ import annotations

from fastrelu.kernels._numba_internals import (blas_matmul, cgutils, impl_ret_borrowed,
                                               intrinsic, ir, make_array, populate_array, types)


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
def umulhi(typingctx, a, b):
    """The high 64 bits of the 128-bit product of two uint64 (one ``mul`` on x86-64)."""
    if not (a == types.uint64 and b == types.uint64):
        return None

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        p = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(p, ir.Constant(wide, 64)), ir.IntType(64))

    return types.uint64(a, b), codegen


def _key_width(x):
    return {types.float32: 32, types.float64: 64}.get(x)


@intrinsic
def ordered_key(typingctx, x):
    """An integer that orders as the float ``x`` does (int32 for float32, int64 for float64):
    the bits of ``x`` with the magnitude bits flipped when the sign is set; NaN maps to the
    largest integer. An integer maximum of keys vectorizes where a float maximum stays scalar
    (LLVM needs fastmath for that, and fastmath makes NaN checks unreliable). ``-0`` orders just
    below ``+0``."""
    width = _key_width(x)
    if width is None:
        return None
    ret = types.int32 if width == 32 else types.int64

    def codegen(context, builder, signature, args):
        it = ir.IntType(width)
        bits = builder.bitcast(args[0], it)
        flip = builder.and_(builder.ashr(bits, ir.Constant(it, width - 1)), ir.Constant(it, 2 ** (width - 1) - 1))
        key = builder.xor(bits, flip)
        is_nan = builder.fcmp_unordered("uno", args[0], args[0])
        return builder.select(is_nan, ir.Constant(it, 2 ** (width - 1) - 1), key)

    return ret(x), codegen


@intrinsic
def from_ordered_key(typingctx, k, like):
    """The float (of the type of ``like``) whose :func:`ordered_key` is ``k``; the key of NaN
    gives a NaN (bits ``0x7fffffff`` for float32)."""
    width = _key_width(like)
    if width is None or k != (types.int32 if width == 32 else types.int64):
        return None

    def codegen(context, builder, signature, args):
        it = ir.IntType(width)
        key = args[0]
        flip = builder.and_(builder.ashr(key, ir.Constant(it, width - 1)), ir.Constant(it, 2 ** (width - 1) - 1))
        return builder.bitcast(builder.xor(key, flip), context.get_value_type(like))

    return like(k, like), codegen


@intrinsic
def matmul_into(typingctx, a, b, out):
    """``np.dot(a, b, out)`` for matrices ``a`` (m, k), ``b`` (k, n) and C-contiguous ``out``
    (m, n) of one float dtype, ``a`` and ``b`` C or F: numba's own lowering of that call (the
    same BLAS calls, the same bits; see ``_numba_internals.blas_matmul``) without compiling
    ``np.dot``'s overloads as separate functions (about 1 s of a cold start for the three
    uses in ``dense``). Shapes are checked at run time as ``np.dot`` checks them.
    """
    arrays = (a, b, out)
    if not (all(isinstance(x, types.Array) and x.ndim == 2 for x in arrays)
            and isinstance(a.dtype, types.Float) and a.dtype == b.dtype == out.dtype
            and a.layout in "CF" and b.layout in "CF" and out.layout == "C"):
        return None
    return out(a, b, out), blas_matmul


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


@intrinsic
def borrow(typingctx, a):
    """The array ``a`` without its reference count: a borrowed view, for hot loops only.

    Numba increments and decrements an array's reference count (an atomic add each, behind a
    call) whenever it is passed to a kernel, sliced or viewed, so a training step paid for a
    few hundred of them. A borrowed view has no memory-info pointer: the same calls return at
    once. The caller must keep ``a`` alive while the view is used and must never return the
    view (or anything derived from it) to Python.
    """
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = make_array(signature.args[0])(context, builder, args[0])
        out = make_array(signature.return_type)(context, builder, ary._getvalue())
        out.meminfo = cgutils.get_null_value(out.meminfo.type)
        out.parent = cgutils.get_null_value(out.parent.type)
        return out._getvalue()

    return a(a), codegen


def _transpose_block(B):
    """An intrinsic ``f(src, dst, r0, c0)``: ``dst[c0:c0+B, r0:r0+B] = src[r0:r0+B, c0:c0+B].T``."""

    @intrinsic
    def transpose_block(typingctx, src, dst, r0, c0):
        if not (isinstance(src, types.Array) and isinstance(dst, types.Array)
                and src.ndim == 2 and dst.ndim == 2 and src.dtype == dst.dtype
                and src.layout == "C" and dst.layout == "C"
                and isinstance(src.dtype, types.Float)
                and isinstance(r0, types.Integer) and isinstance(c0, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            sty, dty, rty, cty = signature.args
            s = make_array(sty)(context, builder, args[0])
            d = make_array(dty)(context, builder, args[1])
            r = context.cast(builder, args[2], rty, types.intp)
            c = context.cast(builder, args[3], cty, types.intp)
            ftype = context.get_data_type(sty.dtype)
            vtype = ir.VectorType(ftype, B)
            item = ir.Constant(r.type, context.get_abi_sizeof(ftype))
            s_row = cgutils.unpack_tuple(builder, s.strides, 2)[0]
            d_row = cgutils.unpack_tuple(builder, d.strides, 2)[0]
            byte = ir.IntType(8).as_pointer()
            s_base = builder.bitcast(s.data, byte)
            d_base = builder.bitcast(d.data, byte)

            def row_ptr(base, row_stride, row, col):
                off = builder.add(builder.mul(row, row_stride), builder.mul(col, item))
                return builder.bitcast(builder.gep(base, [off]), vtype.as_pointer())

            rows = [builder.load(row_ptr(s_base, s_row, builder.add(r, ir.Constant(r.type, i)), c),
                                 align=1) for i in range(B)]
            # log2(B) rounds; round ``bit`` swaps that bit of the row index with the same bit
            # of the column index (two-source shuffles of row pairs).
            bit = 1
            mask_type = ir.VectorType(ir.IntType(32), B)
            while bit < B:
                lo = ir.Constant(mask_type, [j if not j & bit else B + (j ^ bit) for j in range(B)])
                hi = ir.Constant(mask_type, [j ^ bit if not j & bit else B + j for j in range(B)])
                new = list(rows)
                for i in range(B):
                    if not i & bit:
                        new[i] = builder.shuffle_vector(rows[i], rows[i | bit], lo)
                        new[i | bit] = builder.shuffle_vector(rows[i], rows[i | bit], hi)
                rows = new
                bit <<= 1
            for i in range(B):
                builder.store(rows[i], row_ptr(d_base, d_row, builder.add(c, ir.Constant(c.type, i)), r),
                              align=1)
            return context.get_dummy_value()

        return types.none(src, dst, r0, c0), codegen

    transpose_block.__doc__ = (
        f"``dst[c0:c0+{B}, r0:r0+{B}] = src[r0:r0+{B}, c0:c0+{B}].T`` in vector registers.\n\n"
        f"{B} row loads, {B} * log2({B}) two-source shuffles, {B} row stores. Both arrays 2-D, C-contiguous, "
        "of one float dtype; the caller guarantees the block is in bounds.")
    return transpose_block


#: In-register transposes of 16x16 and 8x8 blocks (see ``dense.transpose_into``).
transpose16 = _transpose_block(16)
transpose8 = _transpose_block(8)
