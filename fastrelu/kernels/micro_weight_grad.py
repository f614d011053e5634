"""GENERATED: do not edit. Change fastrelu/kernels/gen_microkernels.py and run
``python -m fastrelu.kernels.gen_microkernels``.

Register-blocked microkernels: dW = dz^T h (backward, parameters).
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
_U32 = np.uint64(32)
_U33 = np.uint64(33)
_U34 = np.uint64(34)
_U35 = np.uint64(35)
_U36 = np.uint64(36)
_U37 = np.uint64(37)
_U38 = np.uint64(38)
_U39 = np.uint64(39)
_U40 = np.uint64(40)
_U41 = np.uint64(41)
_U42 = np.uint64(42)
_U43 = np.uint64(43)
_U44 = np.uint64(44)
_U45 = np.uint64(45)
_U46 = np.uint64(46)
_U47 = np.uint64(47)
_U48 = np.uint64(48)
_U49 = np.uint64(49)
_U50 = np.uint64(50)
_U51 = np.uint64(51)
_U52 = np.uint64(52)
_U53 = np.uint64(53)
_U54 = np.uint64(54)
_U55 = np.uint64(55)
_U56 = np.uint64(56)
_U57 = np.uint64(57)
_U58 = np.uint64(58)
_U59 = np.uint64(59)
_U60 = np.uint64(60)
_U61 = np.uint64(61)
_U62 = np.uint64(62)
_U63 = np.uint64(63)

#: Every kernel defined below.
KERNELS = ("tn_4_32", "tn_4_8", "tn_1_32", "tn_1_8", "tncol_16", "colsum_64", "colsum_16", "colsum_1",)


@njit(**MICRO_JIT)
def tn_4_32(A, B, C, i_start, i_end, k0, nt):
    """Rows ``i_start:i_end`` (a multiple of 4 apart), columns ``k0:k0+32`` of C (overwrite)."""
    z = C.dtype.type(0)
    v = np.uint64(k0)
    v0 = v + _U0; v1 = v + _U1; v2 = v + _U2; v3 = v + _U3; v4 = v + _U4; v5 = v + _U5; v6 = v + _U6; v7 = v + _U7; v8 = v + _U8; v9 = v + _U9; v10 = v + _U10; v11 = v + _U11; v12 = v + _U12; v13 = v + _U13; v14 = v + _U14; v15 = v + _U15; v16 = v + _U16; v17 = v + _U17; v18 = v + _U18; v19 = v + _U19; v20 = v + _U20; v21 = v + _U21; v22 = v + _U22; v23 = v + _U23; v24 = v + _U24; v25 = v + _U25; v26 = v + _U26; v27 = v + _U27; v28 = v + _U28; v29 = v + _U29; v30 = v + _U30; v31 = v + _U31
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
            g0 = A[t, u0]
            g1 = A[t, u1]
            g2 = A[t, u2]
            g3 = A[t, u3]
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
def tn_4_8(A, B, C, i_start, i_end, k0, nt):
    """Rows ``i_start:i_end`` (a multiple of 4 apart), columns ``k0:k0+8`` of C (overwrite)."""
    z = C.dtype.type(0)
    v = np.uint64(k0)
    v0 = v + _U0; v1 = v + _U1; v2 = v + _U2; v3 = v + _U3; v4 = v + _U4; v5 = v + _U5; v6 = v + _U6; v7 = v + _U7
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
            g0 = A[t, u0]
            g1 = A[t, u1]
            g2 = A[t, u2]
            g3 = A[t, u3]
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


@njit(**MICRO_JIT)
def tn_1_32(A, B, C, i_start, i_end, k0, nt):
    """Rows ``i_start:i_end`` (a multiple of 1 apart), columns ``k0:k0+32`` of C (overwrite)."""
    z = C.dtype.type(0)
    v = np.uint64(k0)
    v0 = v + _U0; v1 = v + _U1; v2 = v + _U2; v3 = v + _U3; v4 = v + _U4; v5 = v + _U5; v6 = v + _U6; v7 = v + _U7; v8 = v + _U8; v9 = v + _U9; v10 = v + _U10; v11 = v + _U11; v12 = v + _U12; v13 = v + _U13; v14 = v + _U14; v15 = v + _U15; v16 = v + _U16; v17 = v + _U17; v18 = v + _U18; v19 = v + _U19; v20 = v + _U20; v21 = v + _U21; v22 = v + _U22; v23 = v + _U23; v24 = v + _U24; v25 = v + _U25; v26 = v + _U26; v27 = v + _U27; v28 = v + _U28; v29 = v + _U29; v30 = v + _U30; v31 = v + _U31
    c0 = z; c1 = z; c2 = z; c3 = z; c4 = z; c5 = z; c6 = z; c7 = z; c8 = z; c9 = z; c10 = z; c11 = z; c12 = z; c13 = z; c14 = z; c15 = z; c16 = z; c17 = z; c18 = z; c19 = z; c20 = z; c21 = z; c22 = z; c23 = z; c24 = z; c25 = z; c26 = z; c27 = z; c28 = z; c29 = z; c30 = z; c31 = z
    for i_ in range(i_start, i_end, 1):
        u = np.uint64(i_)
        u0 = u + _U0
        a0_0 = c0; a0_1 = c1; a0_2 = c2; a0_3 = c3; a0_4 = c4; a0_5 = c5; a0_6 = c6; a0_7 = c7; a0_8 = c8; a0_9 = c9; a0_10 = c10; a0_11 = c11; a0_12 = c12; a0_13 = c13; a0_14 = c14; a0_15 = c15; a0_16 = c16; a0_17 = c17; a0_18 = c18; a0_19 = c19; a0_20 = c20; a0_21 = c21; a0_22 = c22; a0_23 = c23; a0_24 = c24; a0_25 = c25; a0_26 = c26; a0_27 = c27; a0_28 = c28; a0_29 = c29; a0_30 = c30; a0_31 = c31
        for t_ in range(nt):
            t = np.uint64(t_)
            g0 = A[t, u0]
            b0 = B[t, v0]
            a0_0 = fma(g0, b0, a0_0)
            b1 = B[t, v1]
            a0_1 = fma(g0, b1, a0_1)
            b2 = B[t, v2]
            a0_2 = fma(g0, b2, a0_2)
            b3 = B[t, v3]
            a0_3 = fma(g0, b3, a0_3)
            b4 = B[t, v4]
            a0_4 = fma(g0, b4, a0_4)
            b5 = B[t, v5]
            a0_5 = fma(g0, b5, a0_5)
            b6 = B[t, v6]
            a0_6 = fma(g0, b6, a0_6)
            b7 = B[t, v7]
            a0_7 = fma(g0, b7, a0_7)
            b8 = B[t, v8]
            a0_8 = fma(g0, b8, a0_8)
            b9 = B[t, v9]
            a0_9 = fma(g0, b9, a0_9)
            b10 = B[t, v10]
            a0_10 = fma(g0, b10, a0_10)
            b11 = B[t, v11]
            a0_11 = fma(g0, b11, a0_11)
            b12 = B[t, v12]
            a0_12 = fma(g0, b12, a0_12)
            b13 = B[t, v13]
            a0_13 = fma(g0, b13, a0_13)
            b14 = B[t, v14]
            a0_14 = fma(g0, b14, a0_14)
            b15 = B[t, v15]
            a0_15 = fma(g0, b15, a0_15)
            b16 = B[t, v16]
            a0_16 = fma(g0, b16, a0_16)
            b17 = B[t, v17]
            a0_17 = fma(g0, b17, a0_17)
            b18 = B[t, v18]
            a0_18 = fma(g0, b18, a0_18)
            b19 = B[t, v19]
            a0_19 = fma(g0, b19, a0_19)
            b20 = B[t, v20]
            a0_20 = fma(g0, b20, a0_20)
            b21 = B[t, v21]
            a0_21 = fma(g0, b21, a0_21)
            b22 = B[t, v22]
            a0_22 = fma(g0, b22, a0_22)
            b23 = B[t, v23]
            a0_23 = fma(g0, b23, a0_23)
            b24 = B[t, v24]
            a0_24 = fma(g0, b24, a0_24)
            b25 = B[t, v25]
            a0_25 = fma(g0, b25, a0_25)
            b26 = B[t, v26]
            a0_26 = fma(g0, b26, a0_26)
            b27 = B[t, v27]
            a0_27 = fma(g0, b27, a0_27)
            b28 = B[t, v28]
            a0_28 = fma(g0, b28, a0_28)
            b29 = B[t, v29]
            a0_29 = fma(g0, b29, a0_29)
            b30 = B[t, v30]
            a0_30 = fma(g0, b30, a0_30)
            b31 = B[t, v31]
            a0_31 = fma(g0, b31, a0_31)
        C[u0, v0] = a0_0; C[u0, v1] = a0_1; C[u0, v2] = a0_2; C[u0, v3] = a0_3; C[u0, v4] = a0_4; C[u0, v5] = a0_5; C[u0, v6] = a0_6; C[u0, v7] = a0_7; C[u0, v8] = a0_8; C[u0, v9] = a0_9; C[u0, v10] = a0_10; C[u0, v11] = a0_11; C[u0, v12] = a0_12; C[u0, v13] = a0_13; C[u0, v14] = a0_14; C[u0, v15] = a0_15; C[u0, v16] = a0_16; C[u0, v17] = a0_17; C[u0, v18] = a0_18; C[u0, v19] = a0_19; C[u0, v20] = a0_20; C[u0, v21] = a0_21; C[u0, v22] = a0_22; C[u0, v23] = a0_23; C[u0, v24] = a0_24; C[u0, v25] = a0_25; C[u0, v26] = a0_26; C[u0, v27] = a0_27; C[u0, v28] = a0_28; C[u0, v29] = a0_29; C[u0, v30] = a0_30; C[u0, v31] = a0_31


@njit(**MICRO_JIT)
def tn_1_8(A, B, C, i_start, i_end, k0, nt):
    """Rows ``i_start:i_end`` (a multiple of 1 apart), columns ``k0:k0+8`` of C (overwrite)."""
    z = C.dtype.type(0)
    v = np.uint64(k0)
    v0 = v + _U0; v1 = v + _U1; v2 = v + _U2; v3 = v + _U3; v4 = v + _U4; v5 = v + _U5; v6 = v + _U6; v7 = v + _U7
    c0 = z; c1 = z; c2 = z; c3 = z; c4 = z; c5 = z; c6 = z; c7 = z
    for i_ in range(i_start, i_end, 1):
        u = np.uint64(i_)
        u0 = u + _U0
        a0_0 = c0; a0_1 = c1; a0_2 = c2; a0_3 = c3; a0_4 = c4; a0_5 = c5; a0_6 = c6; a0_7 = c7
        for t_ in range(nt):
            t = np.uint64(t_)
            g0 = A[t, u0]
            b0 = B[t, v0]
            a0_0 = fma(g0, b0, a0_0)
            b1 = B[t, v1]
            a0_1 = fma(g0, b1, a0_1)
            b2 = B[t, v2]
            a0_2 = fma(g0, b2, a0_2)
            b3 = B[t, v3]
            a0_3 = fma(g0, b3, a0_3)
            b4 = B[t, v4]
            a0_4 = fma(g0, b4, a0_4)
            b5 = B[t, v5]
            a0_5 = fma(g0, b5, a0_5)
            b6 = B[t, v6]
            a0_6 = fma(g0, b6, a0_6)
            b7 = B[t, v7]
            a0_7 = fma(g0, b7, a0_7)
        C[u0, v0] = a0_0; C[u0, v1] = a0_1; C[u0, v2] = a0_2; C[u0, v3] = a0_3; C[u0, v4] = a0_4; C[u0, v5] = a0_5; C[u0, v6] = a0_6; C[u0, v7] = a0_7


@njit(**MICRO_JIT)
def tncol_16(A, B, C, i_start, i_end, k, nt):
    """``C[i, k] = sum_t A[t, i] * B[t, k]`` for ``i`` in ``i_start:i_end`` (multiple of 16 apart)."""
    z = C.dtype.type(0)
    v = np.uint64(k)
    for i_ in range(i_start, i_end, 16):
        u = np.uint64(i_)
        u0 = u + _U0; u1 = u + _U1; u2 = u + _U2; u3 = u + _U3; u4 = u + _U4; u5 = u + _U5; u6 = u + _U6; u7 = u + _U7; u8 = u + _U8; u9 = u + _U9; u10 = u + _U10; u11 = u + _U11; u12 = u + _U12; u13 = u + _U13; u14 = u + _U14; u15 = u + _U15
        a0 = z; a1 = z; a2 = z; a3 = z; a4 = z; a5 = z; a6 = z; a7 = z; a8 = z; a9 = z; a10 = z; a11 = z; a12 = z; a13 = z; a14 = z; a15 = z
        for t_ in range(nt):
            t = np.uint64(t_)
            x = B[t, v]
            a0 = fma(A[t, u0], x, a0); a1 = fma(A[t, u1], x, a1); a2 = fma(A[t, u2], x, a2); a3 = fma(A[t, u3], x, a3); a4 = fma(A[t, u4], x, a4); a5 = fma(A[t, u5], x, a5); a6 = fma(A[t, u6], x, a6); a7 = fma(A[t, u7], x, a7); a8 = fma(A[t, u8], x, a8); a9 = fma(A[t, u9], x, a9); a10 = fma(A[t, u10], x, a10); a11 = fma(A[t, u11], x, a11); a12 = fma(A[t, u12], x, a12); a13 = fma(A[t, u13], x, a13); a14 = fma(A[t, u14], x, a14); a15 = fma(A[t, u15], x, a15)
        C[u0, v] = a0; C[u1, v] = a1; C[u2, v] = a2; C[u3, v] = a3; C[u4, v] = a4; C[u5, v] = a5; C[u6, v] = a6; C[u7, v] = a7; C[u8, v] = a8; C[u9, v] = a9; C[u10, v] = a10; C[u11, v] = a11; C[u12, v] = a12; C[u13, v] = a13; C[u14, v] = a14; C[u15, v] = a15


@njit(**MICRO_JIT)
def colsum_64(A, c, j_start, j_end):
    """``c[j] = sum_r A[r, j]`` (from 0, rows in order) for ``j`` in ``j_start:j_end`` (64 apart)."""
    z = c.dtype.type(0)
    n = A.shape[0]
    for j_ in range(j_start, j_end, 64):
        u = np.uint64(j_)
        u0 = u + _U0; u1 = u + _U1; u2 = u + _U2; u3 = u + _U3; u4 = u + _U4; u5 = u + _U5; u6 = u + _U6; u7 = u + _U7; u8 = u + _U8; u9 = u + _U9; u10 = u + _U10; u11 = u + _U11; u12 = u + _U12; u13 = u + _U13; u14 = u + _U14; u15 = u + _U15; u16 = u + _U16; u17 = u + _U17; u18 = u + _U18; u19 = u + _U19; u20 = u + _U20; u21 = u + _U21; u22 = u + _U22; u23 = u + _U23; u24 = u + _U24; u25 = u + _U25; u26 = u + _U26; u27 = u + _U27; u28 = u + _U28; u29 = u + _U29; u30 = u + _U30; u31 = u + _U31; u32 = u + _U32; u33 = u + _U33; u34 = u + _U34; u35 = u + _U35; u36 = u + _U36; u37 = u + _U37; u38 = u + _U38; u39 = u + _U39; u40 = u + _U40; u41 = u + _U41; u42 = u + _U42; u43 = u + _U43; u44 = u + _U44; u45 = u + _U45; u46 = u + _U46; u47 = u + _U47; u48 = u + _U48; u49 = u + _U49; u50 = u + _U50; u51 = u + _U51; u52 = u + _U52; u53 = u + _U53; u54 = u + _U54; u55 = u + _U55; u56 = u + _U56; u57 = u + _U57; u58 = u + _U58; u59 = u + _U59; u60 = u + _U60; u61 = u + _U61; u62 = u + _U62; u63 = u + _U63
        a0 = z; a1 = z; a2 = z; a3 = z; a4 = z; a5 = z; a6 = z; a7 = z; a8 = z; a9 = z; a10 = z; a11 = z; a12 = z; a13 = z; a14 = z; a15 = z; a16 = z; a17 = z; a18 = z; a19 = z; a20 = z; a21 = z; a22 = z; a23 = z; a24 = z; a25 = z; a26 = z; a27 = z; a28 = z; a29 = z; a30 = z; a31 = z; a32 = z; a33 = z; a34 = z; a35 = z; a36 = z; a37 = z; a38 = z; a39 = z; a40 = z; a41 = z; a42 = z; a43 = z; a44 = z; a45 = z; a46 = z; a47 = z; a48 = z; a49 = z; a50 = z; a51 = z; a52 = z; a53 = z; a54 = z; a55 = z; a56 = z; a57 = z; a58 = z; a59 = z; a60 = z; a61 = z; a62 = z; a63 = z
        for r_ in range(n):
            r = np.uint64(r_)
            a0 = a0 + A[r, u0]; a1 = a1 + A[r, u1]; a2 = a2 + A[r, u2]; a3 = a3 + A[r, u3]; a4 = a4 + A[r, u4]; a5 = a5 + A[r, u5]; a6 = a6 + A[r, u6]; a7 = a7 + A[r, u7]; a8 = a8 + A[r, u8]; a9 = a9 + A[r, u9]; a10 = a10 + A[r, u10]; a11 = a11 + A[r, u11]; a12 = a12 + A[r, u12]; a13 = a13 + A[r, u13]; a14 = a14 + A[r, u14]; a15 = a15 + A[r, u15]; a16 = a16 + A[r, u16]; a17 = a17 + A[r, u17]; a18 = a18 + A[r, u18]; a19 = a19 + A[r, u19]; a20 = a20 + A[r, u20]; a21 = a21 + A[r, u21]; a22 = a22 + A[r, u22]; a23 = a23 + A[r, u23]; a24 = a24 + A[r, u24]; a25 = a25 + A[r, u25]; a26 = a26 + A[r, u26]; a27 = a27 + A[r, u27]; a28 = a28 + A[r, u28]; a29 = a29 + A[r, u29]; a30 = a30 + A[r, u30]; a31 = a31 + A[r, u31]; a32 = a32 + A[r, u32]; a33 = a33 + A[r, u33]; a34 = a34 + A[r, u34]; a35 = a35 + A[r, u35]; a36 = a36 + A[r, u36]; a37 = a37 + A[r, u37]; a38 = a38 + A[r, u38]; a39 = a39 + A[r, u39]; a40 = a40 + A[r, u40]; a41 = a41 + A[r, u41]; a42 = a42 + A[r, u42]; a43 = a43 + A[r, u43]; a44 = a44 + A[r, u44]; a45 = a45 + A[r, u45]; a46 = a46 + A[r, u46]; a47 = a47 + A[r, u47]; a48 = a48 + A[r, u48]; a49 = a49 + A[r, u49]; a50 = a50 + A[r, u50]; a51 = a51 + A[r, u51]; a52 = a52 + A[r, u52]; a53 = a53 + A[r, u53]; a54 = a54 + A[r, u54]; a55 = a55 + A[r, u55]; a56 = a56 + A[r, u56]; a57 = a57 + A[r, u57]; a58 = a58 + A[r, u58]; a59 = a59 + A[r, u59]; a60 = a60 + A[r, u60]; a61 = a61 + A[r, u61]; a62 = a62 + A[r, u62]; a63 = a63 + A[r, u63]
        c[u0] = a0; c[u1] = a1; c[u2] = a2; c[u3] = a3; c[u4] = a4; c[u5] = a5; c[u6] = a6; c[u7] = a7; c[u8] = a8; c[u9] = a9; c[u10] = a10; c[u11] = a11; c[u12] = a12; c[u13] = a13; c[u14] = a14; c[u15] = a15; c[u16] = a16; c[u17] = a17; c[u18] = a18; c[u19] = a19; c[u20] = a20; c[u21] = a21; c[u22] = a22; c[u23] = a23; c[u24] = a24; c[u25] = a25; c[u26] = a26; c[u27] = a27; c[u28] = a28; c[u29] = a29; c[u30] = a30; c[u31] = a31; c[u32] = a32; c[u33] = a33; c[u34] = a34; c[u35] = a35; c[u36] = a36; c[u37] = a37; c[u38] = a38; c[u39] = a39; c[u40] = a40; c[u41] = a41; c[u42] = a42; c[u43] = a43; c[u44] = a44; c[u45] = a45; c[u46] = a46; c[u47] = a47; c[u48] = a48; c[u49] = a49; c[u50] = a50; c[u51] = a51; c[u52] = a52; c[u53] = a53; c[u54] = a54; c[u55] = a55; c[u56] = a56; c[u57] = a57; c[u58] = a58; c[u59] = a59; c[u60] = a60; c[u61] = a61; c[u62] = a62; c[u63] = a63


@njit(**MICRO_JIT)
def colsum_16(A, c, j_start, j_end):
    """``c[j] = sum_r A[r, j]`` (from 0, rows in order) for ``j`` in ``j_start:j_end`` (16 apart)."""
    z = c.dtype.type(0)
    n = A.shape[0]
    for j_ in range(j_start, j_end, 16):
        u = np.uint64(j_)
        u0 = u + _U0; u1 = u + _U1; u2 = u + _U2; u3 = u + _U3; u4 = u + _U4; u5 = u + _U5; u6 = u + _U6; u7 = u + _U7; u8 = u + _U8; u9 = u + _U9; u10 = u + _U10; u11 = u + _U11; u12 = u + _U12; u13 = u + _U13; u14 = u + _U14; u15 = u + _U15
        a0 = z; a1 = z; a2 = z; a3 = z; a4 = z; a5 = z; a6 = z; a7 = z; a8 = z; a9 = z; a10 = z; a11 = z; a12 = z; a13 = z; a14 = z; a15 = z
        for r_ in range(n):
            r = np.uint64(r_)
            a0 = a0 + A[r, u0]; a1 = a1 + A[r, u1]; a2 = a2 + A[r, u2]; a3 = a3 + A[r, u3]; a4 = a4 + A[r, u4]; a5 = a5 + A[r, u5]; a6 = a6 + A[r, u6]; a7 = a7 + A[r, u7]; a8 = a8 + A[r, u8]; a9 = a9 + A[r, u9]; a10 = a10 + A[r, u10]; a11 = a11 + A[r, u11]; a12 = a12 + A[r, u12]; a13 = a13 + A[r, u13]; a14 = a14 + A[r, u14]; a15 = a15 + A[r, u15]
        c[u0] = a0; c[u1] = a1; c[u2] = a2; c[u3] = a3; c[u4] = a4; c[u5] = a5; c[u6] = a6; c[u7] = a7; c[u8] = a8; c[u9] = a9; c[u10] = a10; c[u11] = a11; c[u12] = a12; c[u13] = a13; c[u14] = a14; c[u15] = a15


@njit(**MICRO_JIT)
def colsum_1(A, c, j_start, j_end):
    """``c[j] = sum_r A[r, j]`` (from 0, rows in order) for ``j`` in ``j_start:j_end`` (1 apart)."""
    z = c.dtype.type(0)
    n = A.shape[0]
    for j_ in range(j_start, j_end, 1):
        u = np.uint64(j_)
        u0 = u + _U0
        a0 = z
        for r_ in range(n):
            r = np.uint64(r_)
            a0 = a0 + A[r, u0]
        c[u0] = a0
