"""GENERATED: do not edit. Change fastrelu/kernels/gen_microkernels.py and run
``python -m fastrelu.kernels.gen_microkernels``.

Register-blocked microkernels: dh = dz W (backward, input).
``dense`` calls them; the generator's docstring says how they are built and why.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import MICRO_JIT
from fastrelu.kernels.intrinsics import fma

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U4 = np.uint64(4)
_U5 = np.uint64(5)
_U6 = np.uint64(6)
_U7 = np.uint64(7)
_U8 = np.uint64(8)
_U9 = np.uint64(9)
_U10 = np.uint64(10)
_U11 = np.uint64(11)
_U12 = np.uint64(12)
_U13 = np.uint64(13)
_U14 = np.uint64(14)
_U15 = np.uint64(15)
_U16 = np.uint64(16)
_U17 = np.uint64(17)
_U18 = np.uint64(18)
_U19 = np.uint64(19)
_U20 = np.uint64(20)
_U21 = np.uint64(21)
_U22 = np.uint64(22)
_U23 = np.uint64(23)
_U24 = np.uint64(24)
_U25 = np.uint64(25)
_U26 = np.uint64(26)
_U27 = np.uint64(27)
_U28 = np.uint64(28)
_U29 = np.uint64(29)
_U30 = np.uint64(30)
_U31 = np.uint64(31)

#: Every kernel defined below.
KERNELS = ("nn_4_32", "nn_4_8",)


@njit(**MICRO_JIT)
def nn_4_32(A, B, C, i_start, i_end, k0, nt, bias, use_bias):
    """Rows ``i_start:i_end`` (a multiple of 4 apart), columns ``k0:k0+32`` of C (overwrite);
    each sum starts from ``bias[k]`` when ``use_bias``, else from 0.
    """
    z = C.dtype.type(0)
    v = np.uint64(k0)
    v0 = v + _U0; v1 = v + _U1; v2 = v + _U2; v3 = v + _U3; v4 = v + _U4; v5 = v + _U5; v6 = v + _U6; v7 = v + _U7; v8 = v + _U8; v9 = v + _U9; v10 = v + _U10; v11 = v + _U11; v12 = v + _U12; v13 = v + _U13; v14 = v + _U14; v15 = v + _U15; v16 = v + _U16; v17 = v + _U17; v18 = v + _U18; v19 = v + _U19; v20 = v + _U20; v21 = v + _U21; v22 = v + _U22; v23 = v + _U23; v24 = v + _U24; v25 = v + _U25; v26 = v + _U26; v27 = v + _U27; v28 = v + _U28; v29 = v + _U29; v30 = v + _U30; v31 = v + _U31
    if use_bias:
        c0 = bias[v0]; c1 = bias[v1]; c2 = bias[v2]; c3 = bias[v3]; c4 = bias[v4]; c5 = bias[v5]; c6 = bias[v6]; c7 = bias[v7]; c8 = bias[v8]; c9 = bias[v9]; c10 = bias[v10]; c11 = bias[v11]; c12 = bias[v12]; c13 = bias[v13]; c14 = bias[v14]; c15 = bias[v15]; c16 = bias[v16]; c17 = bias[v17]; c18 = bias[v18]; c19 = bias[v19]; c20 = bias[v20]; c21 = bias[v21]; c22 = bias[v22]; c23 = bias[v23]; c24 = bias[v24]; c25 = bias[v25]; c26 = bias[v26]; c27 = bias[v27]; c28 = bias[v28]; c29 = bias[v29]; c30 = bias[v30]; c31 = bias[v31]
    else:
        c0 = z; c1 = z; c2 = z; c3 = z; c4 = z; c5 = z; c6 = z; c7 = z; c8 = z; c9 = z; c10 = z; c11 = z; c12 = z; c13 = z; c14 = z; c15 = z; c16 = z; c17 = z; c18 = z; c19 = z; c20 = z; c21 = z; c22 = z; c23 = z; c24 = z; c25 = z; c26 = z; c27 = z; c28 = z; c29 = z; c30 = z; c31 = z
    for i_ in range(i_start, i_end, 4):
        u = np.uint64(i_)
        u0 = u + _U0; u1 = u + _U1; u2 = u + _U2; u3 = u + _U3
        a0_0 = c0; a0_1 = c1; a0_2 = c2; a0_3 = c3; a0_4 = c4; a0_5 = c5; a0_6 = c6; a0_7 = c7; a0_8 = c8; a0_9 = c9; a0_10 = c10; a0_11 = c11; a0_12 = c12; a0_13 = c13; a0_14 = c14; a0_15 = c15; a0_16 = c16; a0_17 = c17; a0_18 = c18; a0_19 = c19; a0_20 = c20; a0_21 = c21; a0_22 = c22; a0_23 = c23; a0_24 = c24; a0_25 = c25; a0_26 = c26; a0_27 = c27; a0_28 = c28; a0_29 = c29; a0_30 = c30; a0_31 = c31
        a1_0 = c0; a1_1 = c1; a1_2 = c2; a1_3 = c3; a1_4 = c4; a1_5 = c5; a1_6 = c6; a1_7 = c7; a1_8 = c8; a1_9 = c9; a1_10 = c10; a1_11 = c11; a1_12 = c12; a1_13 = c13; a1_14 = c14; a1_15 = c15; a1_16 = c16; a1_17 = c17; a1_18 = c18; a1_19 = c19; a1_20 = c20; a1_21 = c21; a1_22 = c22; a1_23 = c23; a1_24 = c24; a1_25 = c25; a1_26 = c26; a1_27 = c27; a1_28 = c28; a1_29 = c29; a1_30 = c30; a1_31 = c31
        a2_0 = c0; a2_1 = c1; a2_2 = c2; a2_3 = c3; a2_4 = c4; a2_5 = c5; a2_6 = c6; a2_7 = c7; a2_8 = c8; a2_9 = c9; a2_10 = c10; a2_11 = c11; a2_12 = c12; a2_13 = c13; a2_14 = c14; a2_15 = c15; a2_16 = c16; a2_17 = c17; a2_18 = c18; a2_19 = c19; a2_20 = c20; a2_21 = c21; a2_22 = c22; a2_23 = c23; a2_24 = c24; a2_25 = c25; a2_26 = c26; a2_27 = c27; a2_28 = c28; a2_29 = c29; a2_30 = c30; a2_31 = c31
        a3_0 = c0; a3_1 = c1; a3_2 = c2; a3_3 = c3; a3_4 = c4; a3_5 = c5; a3_6 = c6; a3_7 = c7; a3_8 = c8; a3_9 = c9; a3_10 = c10; a3_11 = c11; a3_12 = c12; a3_13 = c13; a3_14 = c14; a3_15 = c15; a3_16 = c16; a3_17 = c17; a3_18 = c18; a3_19 = c19; a3_20 = c20; a3_21 = c21; a3_22 = c22; a3_23 = c23; a3_24 = c24; a3_25 = c25; a3_26 = c26; a3_27 = c27; a3_28 = c28; a3_29 = c29; a3_30 = c30; a3_31 = c31
        for t_ in range(nt):
            t = np.uint64(t_)
            g0 = A[u0, t]
            g1 = A[u1, t]
            g2 = A[u2, t]
            g3 = A[u3, t]
            b0 = B[t, v0]
            a0_0 = fma(g0, b0, a0_0); a1_0 = fma(g1, b0, a1_0); a2_0 = fma(g2, b0, a2_0); a3_0 = fma(g3, b0, a3_0)
            b1 = B[t, v1]
            a0_1 = fma(g0, b1, a0_1); a1_1 = fma(g1, b1, a1_1); a2_1 = fma(g2, b1, a2_1); a3_1 = fma(g3, b1, a3_1)
            b2 = B[t, v2]
            a0_2 = fma(g0, b2, a0_2); a1_2 = fma(g1, b2, a1_2); a2_2 = fma(g2, b2, a2_2); a3_2 = fma(g3, b2, a3_2)
            b3 = B[t, v3]
            a0_3 = fma(g0, b3, a0_3); a1_3 = fma(g1, b3, a1_3); a2_3 = fma(g2, b3, a2_3); a3_3 = fma(g3, b3, a3_3)
            b4 = B[t, v4]
            a0_4 = fma(g0, b4, a0_4); a1_4 = fma(g1, b4, a1_4); a2_4 = fma(g2, b4, a2_4); a3_4 = fma(g3, b4, a3_4)
            b5 = B[t, v5]
            a0_5 = fma(g0, b5, a0_5); a1_5 = fma(g1, b5, a1_5); a2_5 = fma(g2, b5, a2_5); a3_5 = fma(g3, b5, a3_5)
            b6 = B[t, v6]
            a0_6 = fma(g0, b6, a0_6); a1_6 = fma(g1, b6, a1_6); a2_6 = fma(g2, b6, a2_6); a3_6 = fma(g3, b6, a3_6)
            b7 = B[t, v7]
            a0_7 = fma(g0, b7, a0_7); a1_7 = fma(g1, b7, a1_7); a2_7 = fma(g2, b7, a2_7); a3_7 = fma(g3, b7, a3_7)
            b8 = B[t, v8]
            a0_8 = fma(g0, b8, a0_8); a1_8 = fma(g1, b8, a1_8); a2_8 = fma(g2, b8, a2_8); a3_8 = fma(g3, b8, a3_8)
            b9 = B[t, v9]
            a0_9 = fma(g0, b9, a0_9); a1_9 = fma(g1, b9, a1_9); a2_9 = fma(g2, b9, a2_9); a3_9 = fma(g3, b9, a3_9)
            b10 = B[t, v10]
            a0_10 = fma(g0, b10, a0_10); a1_10 = fma(g1, b10, a1_10); a2_10 = fma(g2, b10, a2_10); a3_10 = fma(g3, b10, a3_10)
            b11 = B[t, v11]
            a0_11 = fma(g0, b11, a0_11); a1_11 = fma(g1, b11, a1_11); a2_11 = fma(g2, b11, a2_11); a3_11 = fma(g3, b11, a3_11)
            b12 = B[t, v12]
            a0_12 = fma(g0, b12, a0_12); a1_12 = fma(g1, b12, a1_12); a2_12 = fma(g2, b12, a2_12); a3_12 = fma(g3, b12, a3_12)
            b13 = B[t, v13]
            a0_13 = fma(g0, b13, a0_13); a1_13 = fma(g1, b13, a1_13); a2_13 = fma(g2, b13, a2_13); a3_13 = fma(g3, b13, a3_13)
            b14 = B[t, v14]
            a0_14 = fma(g0, b14, a0_14); a1_14 = fma(g1, b14, a1_14); a2_14 = fma(g2, b14, a2_14); a3_14 = fma(g3, b14, a3_14)
            b15 = B[t, v15]
            a0_15 = fma(g0, b15, a0_15); a1_15 = fma(g1, b15, a1_15); a2_15 = fma(g2, b15, a2_15); a3_15 = fma(g3, b15, a3_15)
            b16 = B[t, v16]
            a0_16 = fma(g0, b16, a0_16); a1_16 = fma(g1, b16, a1_16); a2_16 = fma(g2, b16, a2_16); a3_16 = fma(g3, b16, a3_16)
            b17 = B[t, v17]
            a0_17 = fma(g0, b17, a0_17); a1_17 = fma(g1, b17, a1_17); a2_17 = fma(g2, b17, a2_17); a3_17 = fma(g3, b17, a3_17)
            b18 = B[t, v18]
            a0_18 = fma(g0, b18, a0_18); a1_18 = fma(g1, b18, a1_18); a2_18 = fma(g2, b18, a2_18); a3_18 = fma(g3, b18, a3_18)
            b19 = B[t, v19]
            a0_19 = fma(g0, b19, a0_19); a1_19 = fma(g1, b19, a1_19); a2_19 = fma(g2, b19, a2_19); a3_19 = fma(g3, b19, a3_19)
            b20 = B[t, v20]
            a0_20 = fma(g0, b20, a0_20); a1_20 = fma(g1, b20, a1_20); a2_20 = fma(g2, b20, a2_20); a3_20 = fma(g3, b20, a3_20)
            b21 = B[t, v21]
            a0_21 = fma(g0, b21, a0_21); a1_21 = fma(g1, b21, a1_21); a2_21 = fma(g2, b21, a2_21); a3_21 = fma(g3, b21, a3_21)
            b22 = B[t, v22]
            a0_22 = fma(g0, b22, a0_22); a1_22 = fma(g1, b22, a1_22); a2_22 = fma(g2, b22, a2_22); a3_22 = fma(g3, b22, a3_22)
            b23 = B[t, v23]
            a0_23 = fma(g0, b23, a0_23); a1_23 = fma(g1, b23, a1_23); a2_23 = fma(g2, b23, a2_23); a3_23 = fma(g3, b23, a3_23)
            b24 = B[t, v24]
            a0_24 = fma(g0, b24, a0_24); a1_24 = fma(g1, b24, a1_24); a2_24 = fma(g2, b24, a2_24); a3_24 = fma(g3, b24, a3_24)
            b25 = B[t, v25]
            a0_25 = fma(g0, b25, a0_25); a1_25 = fma(g1, b25, a1_25); a2_25 = fma(g2, b25, a2_25); a3_25 = fma(g3, b25, a3_25)
            b26 = B[t, v26]
            a0_26 = fma(g0, b26, a0_26); a1_26 = fma(g1, b26, a1_26); a2_26 = fma(g2, b26, a2_26); a3_26 = fma(g3, b26, a3_26)
            b27 = B[t, v27]
            a0_27 = fma(g0, b27, a0_27); a1_27 = fma(g1, b27, a1_27); a2_27 = fma(g2, b27, a2_27); a3_27 = fma(g3, b27, a3_27)
            b28 = B[t, v28]
            a0_28 = fma(g0, b28, a0_28); a1_28 = fma(g1, b28, a1_28); a2_28 = fma(g2, b28, a2_28); a3_28 = fma(g3, b28, a3_28)
            b29 = B[t, v29]
            a0_29 = fma(g0, b29, a0_29); a1_29 = fma(g1, b29, a1_29); a2_29 = fma(g2, b29, a2_29); a3_29 = fma(g3, b29, a3_29)
            b30 = B[t, v30]
            a0_30 = fma(g0, b30, a0_30); a1_30 = fma(g1, b30, a1_30); a2_30 = fma(g2, b30, a2_30); a3_30 = fma(g3, b30, a3_30)
            b31 = B[t, v31]
            a0_31 = fma(g0, b31, a0_31); a1_31 = fma(g1, b31, a1_31); a2_31 = fma(g2, b31, a2_31); a3_31 = fma(g3, b31, a3_31)
        C[u0, v0] = a0_0; C[u0, v1] = a0_1; C[u0, v2] = a0_2; C[u0, v3] = a0_3; C[u0, v4] = a0_4; C[u0, v5] = a0_5; C[u0, v6] = a0_6; C[u0, v7] = a0_7; C[u0, v8] = a0_8; C[u0, v9] = a0_9; C[u0, v10] = a0_10; C[u0, v11] = a0_11; C[u0, v12] = a0_12; C[u0, v13] = a0_13; C[u0, v14] = a0_14; C[u0, v15] = a0_15; C[u0, v16] = a0_16; C[u0, v17] = a0_17; C[u0, v18] = a0_18; C[u0, v19] = a0_19; C[u0, v20] = a0_20; C[u0, v21] = a0_21; C[u0, v22] = a0_22; C[u0, v23] = a0_23; C[u0, v24] = a0_24; C[u0, v25] = a0_25; C[u0, v26] = a0_26; C[u0, v27] = a0_27; C[u0, v28] = a0_28; C[u0, v29] = a0_29; C[u0, v30] = a0_30; C[u0, v31] = a0_31
        C[u1, v0] = a1_0; C[u1, v1] = a1_1; C[u1, v2] = a1_2; C[u1, v3] = a1_3; C[u1, v4] = a1_4; C[u1, v5] = a1_5; C[u1, v6] = a1_6; C[u1, v7] = a1_7; C[u1, v8] = a1_8; C[u1, v9] = a1_9; C[u1, v10] = a1_10; C[u1, v11] = a1_11; C[u1, v12] = a1_12; C[u1, v13] = a1_13; C[u1, v14] = a1_14; C[u1, v15] = a1_15; C[u1, v16] = a1_16; C[u1, v17] = a1_17; C[u1, v18] = a1_18; C[u1, v19] = a1_19; C[u1, v20] = a1_20; C[u1, v21] = a1_21; C[u1, v22] = a1_22; C[u1, v23] = a1_23; C[u1, v24] = a1_24; C[u1, v25] = a1_25; C[u1, v26] = a1_26; C[u1, v27] = a1_27; C[u1, v28] = a1_28; C[u1, v29] = a1_29; C[u1, v30] = a1_30; C[u1, v31] = a1_31
        C[u2, v0] = a2_0; C[u2, v1] = a2_1; C[u2, v2] = a2_2; C[u2, v3] = a2_3; C[u2, v4] = a2_4; C[u2, v5] = a2_5; C[u2, v6] = a2_6; C[u2, v7] = a2_7; C[u2, v8] = a2_8; C[u2, v9] = a2_9; C[u2, v10] = a2_10; C[u2, v11] = a2_11; C[u2, v12] = a2_12; C[u2, v13] = a2_13; C[u2, v14] = a2_14; C[u2, v15] = a2_15; C[u2, v16] = a2_16; C[u2, v17] = a2_17; C[u2, v18] = a2_18; C[u2, v19] = a2_19; C[u2, v20] = a2_20; C[u2, v21] = a2_21; C[u2, v22] = a2_22; C[u2, v23] = a2_23; C[u2, v24] = a2_24; C[u2, v25] = a2_25; C[u2, v26] = a2_26; C[u2, v27] = a2_27; C[u2, v28] = a2_28; C[u2, v29] = a2_29; C[u2, v30] = a2_30; C[u2, v31] = a2_31
        C[u3, v0] = a3_0; C[u3, v1] = a3_1; C[u3, v2] = a3_2; C[u3, v3] = a3_3; C[u3, v4] = a3_4; C[u3, v5] = a3_5; C[u3, v6] = a3_6; C[u3, v7] = a3_7; C[u3, v8] = a3_8; C[u3, v9] = a3_9; C[u3, v10] = a3_10; C[u3, v11] = a3_11; C[u3, v12] = a3_12; C[u3, v13] = a3_13; C[u3, v14] = a3_14; C[u3, v15] = a3_15; C[u3, v16] = a3_16; C[u3, v17] = a3_17; C[u3, v18] = a3_18; C[u3, v19] = a3_19; C[u3, v20] = a3_20; C[u3, v21] = a3_21; C[u3, v22] = a3_22; C[u3, v23] = a3_23; C[u3, v24] = a3_24; C[u3, v25] = a3_25; C[u3, v26] = a3_26; C[u3, v27] = a3_27; C[u3, v28] = a3_28; C[u3, v29] = a3_29; C[u3, v30] = a3_30; C[u3, v31] = a3_31


@njit(**MICRO_JIT)
def nn_4_8(A, B, C, i_start, i_end, k0, nt, bias, use_bias):
    """Rows ``i_start:i_end`` (a multiple of 4 apart), columns ``k0:k0+8`` of C (overwrite);
    each sum starts from ``bias[k]`` when ``use_bias``, else from 0.
    """
    z = C.dtype.type(0)
    v = np.uint64(k0)
    v0 = v + _U0; v1 = v + _U1; v2 = v + _U2; v3 = v + _U3; v4 = v + _U4; v5 = v + _U5; v6 = v + _U6; v7 = v + _U7
    if use_bias:
        c0 = bias[v0]; c1 = bias[v1]; c2 = bias[v2]; c3 = bias[v3]; c4 = bias[v4]; c5 = bias[v5]; c6 = bias[v6]; c7 = bias[v7]
    else:
        c0 = z; c1 = z; c2 = z; c3 = z; c4 = z; c5 = z; c6 = z; c7 = z
    for i_ in range(i_start, i_end, 4):
        u = np.uint64(i_)
        u0 = u + _U0; u1 = u + _U1; u2 = u + _U2; u3 = u + _U3
        a0_0 = c0; a0_1 = c1; a0_2 = c2; a0_3 = c3; a0_4 = c4; a0_5 = c5; a0_6 = c6; a0_7 = c7
        a1_0 = c0; a1_1 = c1; a1_2 = c2; a1_3 = c3; a1_4 = c4; a1_5 = c5; a1_6 = c6; a1_7 = c7
        a2_0 = c0; a2_1 = c1; a2_2 = c2; a2_3 = c3; a2_4 = c4; a2_5 = c5; a2_6 = c6; a2_7 = c7
        a3_0 = c0; a3_1 = c1; a3_2 = c2; a3_3 = c3; a3_4 = c4; a3_5 = c5; a3_6 = c6; a3_7 = c7
        for t_ in range(nt):
            t = np.uint64(t_)
            g0 = A[u0, t]
            g1 = A[u1, t]
            g2 = A[u2, t]
            g3 = A[u3, t]
            b0 = B[t, v0]
            a0_0 = fma(g0, b0, a0_0); a1_0 = fma(g1, b0, a1_0); a2_0 = fma(g2, b0, a2_0); a3_0 = fma(g3, b0, a3_0)
            b1 = B[t, v1]
            a0_1 = fma(g0, b1, a0_1); a1_1 = fma(g1, b1, a1_1); a2_1 = fma(g2, b1, a2_1); a3_1 = fma(g3, b1, a3_1)
            b2 = B[t, v2]
            a0_2 = fma(g0, b2, a0_2); a1_2 = fma(g1, b2, a1_2); a2_2 = fma(g2, b2, a2_2); a3_2 = fma(g3, b2, a3_2)
            b3 = B[t, v3]
            a0_3 = fma(g0, b3, a0_3); a1_3 = fma(g1, b3, a1_3); a2_3 = fma(g2, b3, a2_3); a3_3 = fma(g3, b3, a3_3)
            b4 = B[t, v4]
            a0_4 = fma(g0, b4, a0_4); a1_4 = fma(g1, b4, a1_4); a2_4 = fma(g2, b4, a2_4); a3_4 = fma(g3, b4, a3_4)
            b5 = B[t, v5]
            a0_5 = fma(g0, b5, a0_5); a1_5 = fma(g1, b5, a1_5); a2_5 = fma(g2, b5, a2_5); a3_5 = fma(g3, b5, a3_5)
            b6 = B[t, v6]
            a0_6 = fma(g0, b6, a0_6); a1_6 = fma(g1, b6, a1_6); a2_6 = fma(g2, b6, a2_6); a3_6 = fma(g3, b6, a3_6)
            b7 = B[t, v7]
            a0_7 = fma(g0, b7, a0_7); a1_7 = fma(g1, b7, a1_7); a2_7 = fma(g2, b7, a2_7); a3_7 = fma(g3, b7, a3_7)
        C[u0, v0] = a0_0; C[u0, v1] = a0_1; C[u0, v2] = a0_2; C[u0, v3] = a0_3; C[u0, v4] = a0_4; C[u0, v5] = a0_5; C[u0, v6] = a0_6; C[u0, v7] = a0_7
        C[u1, v0] = a1_0; C[u1, v1] = a1_1; C[u1, v2] = a1_2; C[u1, v3] = a1_3; C[u1, v4] = a1_4; C[u1, v5] = a1_5; C[u1, v6] = a1_6; C[u1, v7] = a1_7
        C[u2, v0] = a2_0; C[u2, v1] = a2_1; C[u2, v2] = a2_2; C[u2, v3] = a2_3; C[u2, v4] = a2_4; C[u2, v5] = a2_5; C[u2, v6] = a2_6; C[u2, v7] = a2_7
        C[u3, v0] = a3_0; C[u3, v1] = a3_1; C[u3, v2] = a3_2; C[u3, v3] = a3_3; C[u3, v4] = a3_4; C[u3, v5] = a3_5; C[u3, v6] = a3_6; C[u3, v7] = a3_7
