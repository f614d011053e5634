"""Build tool: generate ``fastrelu/kernels/micro_*.py`` (register-blocked small-matrix kernels).

Run ``python -m fastrelu.kernels.gen_microkernels`` after editing this file (or
``python fastrelu/kernels/gen_microkernels.py``, which works even when a broken generated file
stops ``import fastrelu``); ``--check`` only reports the files that differ from what it would
write (exit 1). Nothing imports this module at run time; tests/test_generated_kernels.py fails
when a checked-in file differs from its output.

The kernels are written out as explicit scalar code (one local per accumulator) so that LLVM's
SLP vectorizer packs them into full-width vector registers; numba's ``cache=True`` needs real
source, so the output is checked in.

Every kernel keeps a block of the output in scalar locals across its reduction loop, with
explicit ``fma`` calls (the same instruction whether compiled or loaded from cache). Indices are
unsigned so numba emits no negative-index wraparound (which would hide that loads are
consecutive). The summation order is fixed by the code: results do not depend on threads or on
alignment. ``dense`` compiles them with SLP on. They use ``_config.MICRO_JIT``: the package's
flags without ``reassoc``, else the loop vectorizer vectorizes the reduction loops with gathers
instead of leaving the blocks to SLP.

Naming: ``tn_I_K``: ``C[i, k0:k0+K] = sum_t A[t, i] * B[t, k0:k0+K]`` for ``i`` in steps of ``I``
(``dW = dz^T h``); ``nn_I_K``: same with ``A[i, t]`` (``dh = dz W``); ``tncol_I``: one column
``k`` of the ``tn`` product for ``I`` consecutive ``i`` (contiguous in ``A``); ``colsum_J``: column
sums of ``A`` (the bias gradient) for ``J`` columns at a time, rows in order, one accumulator
per column kept in registers. The forward product has no kernel of its own: ``dense`` transposes
``W`` and uses the ``nn`` kernels (a ``W^T`` tile read from ``W`` needs strided loads).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

#: The command that regenerates the kernels (named in every generated file).
COMMAND = "python -m fastrelu.kernels.gen_microkernels"

#: What every generated module starts with; ``{title}`` names its concern.
HEADER = '''"""GENERATED: do not edit. Change fastrelu/kernels/gen_microkernels.py and run
``{command}``.

Register-blocked microkernels: {title}.
``dense`` calls them; the generator's docstring says how they are built and why.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from fastrelu.kernels._config import MICRO_JIT
from fastrelu.kernels.intrinsics import fma

'''


def U(i):
    return f"_U{i}"


def indices(base, count):
    """``u0 = u + _U0; u1 = u + _U1; ...``: each offset index computed once per block (fewer
    numba IR statements per load: a third less compile time, the same machine code)."""
    return "; ".join(f"{base}{i} = {base} + {U(i)}" for i in range(count))


def rank1(mode, I, K):
    a = (lambda i: f"A[t, u{i}]") if mode == "tn" else (lambda i: f"A[u{i}, t]")
    if mode == "tn":
        L = ["", "", "@njit(**MICRO_JIT)", f"def {mode}_{I}_{K}(A, B, C, i_start, i_end, k0, nt):",
             f'    """Rows ``i_start:i_end`` (a multiple of {I} apart), columns ``k0:k0+{K}`` of C (overwrite)."""',
             "    z = C.dtype.type(0)", "    v = np.uint64(k0)", "    " + indices("v", K)]
        L.append("    " + "; ".join(f"c{k} = z" for k in range(K)))
    else:   # the forward pass runs these too: its chains start from the bias
        L = ["", "", "@njit(**MICRO_JIT)",
             f"def {mode}_{I}_{K}(A, B, C, i_start, i_end, k0, nt, bias, use_bias):",
             f'    """Rows ``i_start:i_end`` (a multiple of {I} apart), columns ``k0:k0+{K}`` of C (overwrite);',
             "    each sum starts from ``bias[k]`` when ``use_bias``, else from 0.",
             '    """',
             "    z = C.dtype.type(0)", "    v = np.uint64(k0)", "    " + indices("v", K),
             "    if use_bias:", "        " + "; ".join(f"c{k} = bias[v{k}]" for k in range(K)),
             "    else:", "        " + "; ".join(f"c{k} = z" for k in range(K))]
    L += [f"    for i_ in range(i_start, i_end, {I}):", "        u = np.uint64(i_)",
          "        " + indices("u", I)]
    for i in range(I):
        L.append("        " + "; ".join(f"a{i}_{k} = c{k}" for k in range(K)))
    L += ["        for t_ in range(nt):", "            t = np.uint64(t_)"]
    for i in range(I):
        L.append(f"            g{i} = {a(i)}")
    for k in range(K):
        L.append(f"            b{k} = B[t, v{k}]")
        L.append("            " + "; ".join(f"a{i}_{k} = fma(g{i}, b{k}, a{i}_{k})" for i in range(I)))
    for i in range(I):
        L.append("        " + "; ".join(f"C[u{i}, v{k}] = a{i}_{k}" for k in range(K)))
    return "\n".join(L)


def tncol(I):
    L = ["", "", "@njit(**MICRO_JIT)", f"def tncol_{I}(A, B, C, i_start, i_end, k, nt):",
         f'    """``C[i, k] = sum_t A[t, i] * B[t, k]`` for ``i`` in ``i_start:i_end`` (multiple of {I} apart)."""',
         "    z = C.dtype.type(0)", "    v = np.uint64(k)",
         f"    for i_ in range(i_start, i_end, {I}):", "        u = np.uint64(i_)",
         "        " + indices("u", I),
         "        " + "; ".join(f"a{i} = z" for i in range(I)),
         "        for t_ in range(nt):", "            t = np.uint64(t_)", "            x = B[t, v]"]
    L.append("            " + "; ".join(f"a{i} = fma(A[t, u{i}], x, a{i})" for i in range(I)))
    L.append("        " + "; ".join(f"C[u{i}, v] = a{i}" for i in range(I)))
    return "\n".join(L)


def colsum(J):
    L = ["", "", "@njit(**MICRO_JIT)", f"def colsum_{J}(A, c, j_start, j_end):",
         f'    """``c[j] = sum_r A[r, j]`` (from 0, rows in order) for ``j`` in ``j_start:j_end`` ({J} apart)."""',
         "    z = c.dtype.type(0)", "    n = A.shape[0]",
         f"    for j_ in range(j_start, j_end, {J}):", "        u = np.uint64(j_)",
         "        " + indices("u", J),
         "        " + "; ".join(f"a{j} = z" for j in range(J)),
         "        for r_ in range(n):", "            r = np.uint64(r_)",
         "            " + "; ".join(f"a{j} = a{j} + A[r, u{j}]" for j in range(J)),
         "        " + "; ".join(f"c[u{j}] = a{j}" for j in range(J))]
    return "\n".join(L)


#: module -> (title, [(function name, generator)]): one module per dense kernel it serves.
MODULES = {
    "micro_weight_grad": ("dW = dz^T h (backward, parameters)",
                          [(f"tn_{I}_{K}", lambda I=I, K=K: rank1("tn", I, K)) for I in (4, 1) for K in (32, 8)]
                          + [("tncol_16", lambda: tncol(16))]
                          + [(f"colsum_{J}", lambda J=J: colsum(J)) for J in (64, 16, 1)]),
    "micro_input_grad": ("dh = dz W (backward, input)",
                         [(f"nn_{I}_{K}", lambda I=I, K=K: rank1("nn", I, K)) for I in (4,) for K in (32, 8)]),
}


def source(title, specs):
    """Text of one generated module: the header, the index constants, then every kernel."""
    widest = max(int(part) for name, _ in specs for part in name.split("_")[1:])
    consts = "\n".join(f"{U(i)} = np.uint64({i})" for i in range(widest))
    names = ", ".join(f'"{n}"' for n, _ in specs)
    body = "\n".join(g() for _, g in specs)
    return (HEADER.format(command=COMMAND, title=title) + consts
            + f"\n\n#: Every kernel defined below.\nKERNELS = ({names},)\n" + body + "\n")


def generate():
    """``{file name: text}`` of every generated module (``micro_*.py``), written nowhere."""
    return {module + ".py": source(title, specs) for module, (title, specs) in MODULES.items()}


def sync(out: str, check: bool = False) -> tuple[list[str], list[str]]:
    """Write the generated modules into ``out`` (``check``: write nothing); return the paths
    written and the paths that differ (stale or missing) from the generator's output."""
    written, stale = [], []
    for name, text in generate().items():
        path = os.path.join(out, name)
        try:
            with open(path) as fh:
                same = fh.read() == text
        except FileNotFoundError:
            same = False
        if not same:
            stale.append(path)
        if not check:
            with open(path, "w") as fh:
                fh.write(text)
            written.append(path)
    return written, stale


def main(argv=None):
    """The command line: write the generated modules next to this file (``--check``: compare
    only, exit 1 if stale). Reports each file through the ``logging`` module."""
    parser = argparse.ArgumentParser(description="Generate fastrelu/kernels/micro_*.py.")
    parser.add_argument("--check", action="store_true", help="Write nothing; list the files that "
                        "differ from the generator's output and exit 1 if there are any.")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                        help="Folder to write into (default: fastrelu/kernels).")
    args = parser.parse_args(argv)
    written, stale = sync(args.out, check=args.check)
    log = logging.getLogger(__name__)
    for path in written:
        log.info("wrote %s", path)
    if args.check:
        for path in stale:
            log.warning("differs from the generator: %s", path)
        return 1 if stale else 0
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
