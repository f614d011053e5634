"""The register-blocked microkernels ``dense`` calls for small layers (typed intrinsics).

Each is a loop nest that ``vector_blocks`` emits as LLVM vector IR, as one function per LLVM
module that uses it; they are called from compiled code only. Every sum is an fma chain (or an
add chain) from 0 (or the bias) over the reduction index in order, so the results do not
depend on threads, alignment or the CPU's vector width.

Weight gradient ``dW = dz^T h`` (and the bias gradient):
    ``tn_I_K(A, B, C, i_start, i_end, k0, nt)``: ``C[i, k0:k0+K] = sum_t A[t, i] * B[t, k0:k0+K]``
    for ``i`` in ``i_start:i_end`` (a multiple of ``I`` apart).
    ``tncol_16(A, B, C, i_start, i_end, k, nt)``: one column ``k`` of that product for 16
    consecutive ``i`` at a time (contiguous in ``A``).
    ``colsum_J(A, c, j_start, j_end)``: ``c[j] = sum_r A[r, j]`` for ``J`` columns at a time.
Input gradient ``dh = dz W`` (the forward pass runs them on ``W^T``, from the bias):
    ``nn_I_K(A, B, C, i_start, i_end, k0, nt, bias, use_bias)``: ``C[i, k0:k0+K] = sum_t
    A[i, t] * B[t, k0:k0+K]``, each sum starting from ``bias[k]`` when ``use_bias``, else 0.
"""
from __future__ import annotations

from fastrelu.kernels.vector_blocks import colsum_block, column_block, rank1_block

tn_4_32 = rank1_block("tn", 4, 32)
tn_4_8 = rank1_block("tn", 4, 8)
tn_1_32 = rank1_block("tn", 1, 32)
tn_1_8 = rank1_block("tn", 1, 8)
tncol_16 = column_block(16)
colsum_64 = colsum_block(64)
colsum_16 = colsum_block(16)
colsum_1 = colsum_block(1)
nn_4_32 = rank1_block("nn", 4, 32)
nn_4_8 = rank1_block("nn", 4, 8)

#: Every microkernel defined above.
KERNELS = ("tn_4_32", "tn_4_8", "tn_1_32", "tn_1_8", "tncol_16", "colsum_64", "colsum_16", "colsum_1",
           "nn_4_32", "nn_4_8")
