"""Register-blocked small-matrix loops emitted directly as LLVM vector IR.

Each factory below returns an ``@intrinsic`` whose code generator writes one whole loop nest
with ``<K x float>`` (or double) vectors: a block of the output is kept in vector registers for
the whole reduction, updated by ``llvm.fma`` on vectors, and stored once. Per lane this is
exactly the scalar ``acc = fma(a, b, acc)`` chain over the reduction index in order (the same
bits), but numba's frontend sees one call instead of thousands of scalar statements, and LLVM
needs no SLP vectorizer to find the vectors. That is what used to dominate the first run's
compile (the unrolled scalar kernels took about 12 s of a 40 s empty-cache scenario on the
2-core EPYC; paired runs of the whole command: 45.7 s before, 30.0 s after).

The loops need C-contiguous 2-D arrays of one float dtype and in-bounds indices;
``microkernels`` names the instances ``dense`` calls, and ``dense`` guarantees the bounds. Row
ranges are ``start:end`` with ``end - start`` a multiple of the block height.
:func:`rows_fma_chain` is the narrow path's unit (``narrow._unit_fma``): one fma chain per row,
rows along the lanes.
"""
from __future__ import annotations

import zlib

from fastrelu.kernels._numba_internals import cgutils, intrinsic, ir, make_array, target_features, types


def _is_matrix(a):
    return isinstance(a, types.Array) and a.ndim == 2 and a.layout == "C" and isinstance(a.dtype, types.Float)


class _Emitter:
    """IR helpers for one code generation: typed element and vector pointers into arrays."""

    def __init__(self, context, builder, dtype):
        self.c, self.b = context, builder
        self.ftype = context.get_data_type(dtype)
        self.intp = context.get_value_type(types.intp)
        self.item = ir.Constant(self.intp, context.get_abi_sizeof(self.ftype))
        self.align = context.get_abi_sizeof(self.ftype)

    def index(self, value, ty):
        return self.c.cast(self.b, value, ty, types.intp)

    def const(self, i):
        return ir.Constant(self.intp, i)

    def matrix(self, ty, value):
        """``(byte pointer to the data, row stride in bytes)`` of a 2-D C array."""
        a = make_array(ty)(self.c, self.b, value)
        return self.b.bitcast(a.data, ir.IntType(8).as_pointer()), cgutils.unpack_tuple(self.b, a.strides, 2)[0]

    def vector(self, ty, value):
        a = make_array(ty)(self.c, self.b, value)
        return self.b.bitcast(a.data, ir.IntType(8).as_pointer()), None

    def ptr(self, arr, row, col, width=None):
        """Pointer to ``arr[row, col]`` (``arr[col]`` for a vector), as ``T*`` or ``<width x T>*``."""
        base, stride = arr
        off = self.b.mul(col, self.item)
        if stride is not None:
            off = self.b.add(self.b.mul(row, stride), off)
        target = self.ftype if width is None else ir.VectorType(self.ftype, width)
        return self.b.bitcast(self.b.gep(base, [off]), target.as_pointer())

    def row(self, arr, row):
        """Byte pointer to the start of row ``row`` of a matrix."""
        base, stride = arr
        return self.b.gep(base, [self.b.mul(row, stride)])

    def load_at(self, row_ptr, col):
        """The element ``col`` of the row that ``row_ptr`` points to."""
        p = self.b.gep(row_ptr, [self.b.mul(col, self.item)])
        return self.b.load(self.b.bitcast(p, self.ftype.as_pointer()), align=self.align)

    def load(self, arr, row, col, width=None):
        return self.b.load(self.ptr(arr, row, col, width), align=self.align)

    def store(self, value, arr, row, col, width=None):
        self.b.store(value, self.ptr(arr, row, col, width), align=self.align)

    def splat(self, x, width):
        vt = ir.VectorType(self.ftype, width)
        one = self.b.insert_element(ir.Constant(vt, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
        return self.b.shuffle_vector(one, ir.Constant(vt, ir.Undefined),
                                     ir.Constant(ir.VectorType(ir.IntType(32), width), [0] * width))

    def fma(self, a, b, c):
        t = a.type
        scalar = "f32" if self.align == 4 else "f64"
        name = f"llvm.fma.v{t.count}{scalar}" if isinstance(t, ir.VectorType) else f"llvm.fma.{scalar}"
        fn = cgutils.get_or_insert_function(self.b.module, ir.FunctionType(t, [t, t, t]), name)
        return self.b.call(fn, [a, b, c])

    def zero(self, width):
        return ir.Constant(ir.VectorType(self.ftype, width), [0.0] * width)

    def blocks(self, start, end, height):
        """``for i0 in range(start, end, height)``: yields the IR value of ``i0``."""
        count = self.b.sdiv(self.b.sub(end, start), self.const(height))
        return _Blocks(self, start, count, height)


class _Blocks:
    def __init__(self, em, start, count, height):
        self.em, self.start, self.count, self.height = em, start, count, height

    def __enter__(self):
        self._cm = cgutils.for_range(self.em.b, self.count)
        loop = self._cm.__enter__()
        return self.em.b.add(self.start, self.em.b.mul(loop.index, self.em.const(self.height)))

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def _out_of_line(name, body):
    """A code generator that calls ``body``'s loop nest as a function of its own, defined once
    per LLVM module (internal, ``noinline``): every call site shares one copy, so a caller
    that uses a kernel in several places, and every level of callers above it, optimizes and
    emits it once instead of once per inlined call site."""

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.VoidType(), [a.type for a in args])
        fname = f"fastrelu.vector_blocks.{name}.{zlib.crc32(str(fnty).encode()):08x}"
        fn = builder.module.globals.get(fname)
        if fn is None:
            fn = ir.Function(builder.module, fnty, fname)
            fn.linkage = "internal"
            fn.attributes.add("noinline")
            inner = ir.IRBuilder(fn.append_basic_block("entry"))
            body(context, inner, signature, list(fn.args))
            inner.ret_void()
        builder.call(fn, args)
        return context.get_dummy_value()

    return codegen


def vector_registers(context, itemsize):
    """``(lanes, registers)`` of the target's vector register file for items of ``itemsize``
    bytes: 32 zmm of 64 bytes with AVX-512, else 16 ymm of 32 bytes (AVX2)."""
    avx512 = "+avx512f" in target_features(context)
    return (64 if avx512 else 32) // itemsize, (32 if avx512 else 16)


def pass_width(context, dtype, I, K):
    """Columns per pass of an ``I``-row block, so that its accumulators, ``I`` broadcasts and a
    row of ``B`` fit the target's vector registers (32 zmm with AVX-512, else 16 ymm): 32
    float32 columns in one pass with AVX-512, 16 with AVX2. Passes over column slices change
    no bits: every output is the same fma chain whatever the blocking."""
    lanes, registers = vector_registers(context, context.get_abi_sizeof(context.get_data_type(dtype)))
    budget = registers - I - 2
    width = K
    while width > lanes and I * (width // lanes) > budget:
        width //= 2
    return width


def rank1_block(mode, I, K):
    """``f(A, B, C, i_start, i_end, k0, nt[, bias, use_bias])``: for ``i`` in blocks of ``I``,
    ``C[i, k0:k0+K] = sum_t a(i, t) * B[t, k0:k0+K]`` as fma chains over ``t`` in order, with
    ``a(i, t) = A[t, i]`` (``mode="tn"``) or ``A[i, t]`` (``"nn"``, whose chains start from
    ``bias[k]`` when ``use_bias``, else from 0; ``tn`` chains start from 0). ``bias`` is read
    either way: it must hold ``k0 + K`` values."""
    with_bias = mode == "nn"

    def typer(A, B, C, i_start, i_end, k0, nt, rest):
        if not (all(_is_matrix(x) for x in (A, B, C)) and A.dtype == B.dtype == C.dtype
                and all(isinstance(x, types.Integer) for x in (i_start, i_end, k0, nt))):
            return None
        if with_bias and not (isinstance(rest[0], types.Array) and rest[0].ndim == 1
                              and rest[0].dtype == C.dtype and rest[0].layout == "C"
                              and isinstance(rest[1], types.Boolean)):
            return None
        return types.none(A, B, C, i_start, i_end, k0, nt, *rest), codegen

    def body(context, builder, signature, args):
        em = _Emitter(context, builder, signature.args[2].dtype)
        a, b, c = (em.matrix(t, v) for t, v in zip(signature.args[:3], args[:3]))
        lo, hi, kk, n = (em.index(v, t) for t, v in zip(signature.args[3:7], args[3:7]))
        bias = em.vector(signature.args[7], args[7]) if with_bias else None
        width = pass_width(context, signature.args[2].dtype, I, K)
        accs = [cgutils.alloca_once(builder, em.zero(width).type) for _ in range(I)]
        with em.blocks(lo, hi, I) as i0:
            rows = [builder.add(i0, em.const(i)) for i in range(I)]
            # nn: the rows of A are fixed for the whole block; tn: A's row is t.
            a_rows = [em.row(a, r) for r in rows] if mode == "nn" else None
            for c0 in range(0, K, width):
                col = builder.add(kk, em.const(c0))
                start = em.zero(width)
                if with_bias:
                    start = builder.select(args[8], em.load(bias, None, col, width), start)
                for acc in accs:
                    builder.store(start, acc)
                with cgutils.for_range(builder, n) as loop:
                    t = loop.index
                    if mode == "nn":
                        g = [em.load_at(row, t) for row in a_rows]
                    else:
                        a_t = em.row(a, t)
                        g = [em.load_at(a_t, r) for r in rows]
                    bv = em.load(b, t, col, width)
                    for gi, acc in zip(g, accs):
                        builder.store(em.fma(em.splat(gi, width), bv, builder.load(acc)), acc)
                for r, acc in zip(rows, accs):
                    em.store(builder.load(acc), c, r, col, width)

    codegen = _out_of_line(f"{mode}_{I}_{K}", body)

    if with_bias:
        @intrinsic
        def block(typingctx, A, B, C, i_start, i_end, k0, nt, bias, use_bias):
            return typer(A, B, C, i_start, i_end, k0, nt, (bias, use_bias))
    else:
        @intrinsic
        def block(typingctx, A, B, C, i_start, i_end, k0, nt):
            return typer(A, B, C, i_start, i_end, k0, nt, ())
    return block


def column_block(I):
    """``f(A, B, C, i_start, i_end, k, nt)``: ``C[i, k] = sum_t A[t, i] * B[t, k]`` for ``i`` in
    blocks of ``I`` (contiguous in ``A``), fma chains over ``t`` in order from 0."""

    @intrinsic
    def block(typingctx, A, B, C, i_start, i_end, k, nt):
        if not (all(_is_matrix(x) for x in (A, B, C)) and A.dtype == B.dtype == C.dtype
                and all(isinstance(x, types.Integer) for x in (i_start, i_end, k, nt))):
            return None

        def body(context, builder, signature, args):
            em = _Emitter(context, builder, signature.args[2].dtype)
            a, b, c = (em.matrix(t, v) for t, v in zip(signature.args[:3], args[:3]))
            lo, hi, kk, n = (em.index(v, t) for t, v in zip(signature.args[3:], args[3:]))
            acc = cgutils.alloca_once(builder, em.zero(I).type)
            with em.blocks(lo, hi, I) as i0:
                builder.store(em.zero(I), acc)
                with cgutils.for_range(builder, n) as loop:
                    t = loop.index
                    x = em.splat(em.load(b, t, kk), I)
                    builder.store(em.fma(em.load(a, t, i0, I), x, builder.load(acc)), acc)
                total = builder.load(acc)
                for i in range(I):
                    lane = builder.extract_element(total, ir.Constant(ir.IntType(32), i))
                    em.store(lane, c, builder.add(i0, em.const(i)), kk)

        return types.none(A, B, C, i_start, i_end, k, nt), _out_of_line(f"tncol_{I}", body)

    return block


def colsum_block(J):
    """``f(A, c, j_start, j_end)``: ``c[j] = sum_r A[r, j]`` (from 0, rows in order) for ``j`` in
    blocks of ``J``."""

    @intrinsic
    def block(typingctx, A, c, j_start, j_end):
        if not (_is_matrix(A) and isinstance(c, types.Array) and c.ndim == 1 and c.layout == "C"
                and c.dtype == A.dtype and isinstance(j_start, types.Integer)
                and isinstance(j_end, types.Integer)):
            return None

        def body(context, builder, signature, args):
            em = _Emitter(context, builder, signature.args[0].dtype)
            a = em.matrix(signature.args[0], args[0])
            out = em.vector(signature.args[1], args[1])
            n = cgutils.unpack_tuple(builder, make_array(signature.args[0])(context, builder, args[0]).shape, 2)[0]
            lo, hi = (em.index(v, t) for t, v in zip(signature.args[2:], args[2:]))
            acc = cgutils.alloca_once(builder, em.zero(J).type)
            with em.blocks(lo, hi, J) as j0:
                builder.store(em.zero(J), acc)
                with cgutils.for_range(builder, n) as loop:
                    builder.store(builder.fadd(builder.load(acc), em.load(a, loop.index, j0, J)), acc)
                em.store(builder.load(acc), out, None, j0, J)

        return types.none(A, c, j_start, j_end), _out_of_line(f"colsum_{J}", body)

    return block


def rows_fma_chain():
    """``f(theta, w0, k_in, src, n, u, bias)``: ``u[r] = fma(src[k_in - 1, r], theta[w0 + k_in - 1],
    ... fma(src[0, r], theta[w0], bias))`` for rows ``r < n``: one unit of a narrow layer, rows
    along the lanes. Blocks of 8 vector registers of rows stay in registers over the whole
    chain (a pass over the rows per input stored and reloaded ``u`` every time), then single
    vectors, then the last rows one by one; the bits do not depend on the blocking."""

    @intrinsic
    def chain(typingctx, theta, w0, k_in, src, n, u, bias):
        if not (isinstance(theta, types.Array) and theta.ndim == 1 and theta.layout == "C"
                and isinstance(theta.dtype, types.Float) and _is_matrix(src) and src.dtype == theta.dtype
                and isinstance(u, types.Array) and u.ndim == 1 and u.layout == "C" and u.dtype == theta.dtype
                and bias == theta.dtype and all(isinstance(x, types.Integer) for x in (w0, k_in, n))):
            return None

        def body(context, builder, signature, args):
            dtype = signature.args[0].dtype
            em = _Emitter(context, builder, dtype)
            th = em.vector(signature.args[0], args[0])
            s = em.matrix(signature.args[3], args[3])
            out = em.vector(signature.args[5], args[5])
            w_first, kk, rows = (em.index(args[i], signature.args[i]) for i in (1, 2, 4))
            lanes = vector_registers(context, em.align)[0]
            done = em.const(0)
            # (rows per block, vectors per block): 8 registers, then one, then single rows
            for width, count in ((lanes * 8, 8), (lanes, 1), (1, 1)):
                vec = width // count if width > 1 else None
                end = builder.sub(rows, builder.srem(builder.sub(rows, done), em.const(width)))
                accs = [cgutils.alloca_once(builder, em.zero(vec).type if vec else em.ftype) for _ in range(count)]
                with em.blocks(done, end, width) as r0:
                    start = em.splat(args[6], vec) if vec else args[6]
                    for acc in accs:
                        builder.store(start, acc)
                    with cgutils.for_range(builder, kk) as loop:
                        k = loop.index
                        w = em.load(th, None, builder.add(w_first, k))
                        wv = em.splat(w, vec) if vec else w
                        for i, acc in enumerate(accs):
                            col = builder.add(r0, em.const(i * (vec or 1)))
                            x = em.load(s, k, col, vec)
                            builder.store(em.fma(x, wv, builder.load(acc)), acc)
                    for i, acc in enumerate(accs):
                        em.store(builder.load(acc), out, None, builder.add(r0, em.const(i * (vec or 1))), vec)
                done = end

        return types.none(theta, w0, k_in, src, n, u, bias), _out_of_line("rows_fma", body)

    return chain
