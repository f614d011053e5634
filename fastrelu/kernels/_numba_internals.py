"""Every numba (and llvmlite) name the kernels use beyond ``njit``/``prange``, in one place.

fastrelu's speed and its cache rely on parts of numba that are not a stable public API. They
are imported here only; the kernel modules import them from this module. On a numba upgrade,
check each entry below (the tests named there catch most breakages), then widen
:data:`NUMBA_TESTED` and the ``numba``/``llvmlite`` lines of ``pyproject.toml`` together
(tests/test_numba_internals.py checks that they agree and that the installed numba is inside).

Tested with numba 0.68.1 and llvmlite 0.50.0 only; no other version has been run.

Extension API (documented by numba, so the least likely to move)
    ``intrinsic`` (``numba.core.extending``; public alias ``numba.extending``) and ``types``
    (``numba.core.types``; public alias ``numba.types``): ``intrinsics.py`` defines ``fma``,
    ``as_matrix``, ``borrow`` and the block transposes as typed intrinsics, and
    ``vector_blocks.py`` the microkernels' loop nests.
    ``ir`` (``llvmlite.ir``, llvmlite's IR builder): the same intrinsics emit LLVM IR
    (``llvm.fma`` calls, vector loads and shuffles). Check: tests/test_kernels.py (transposes,
    borrowed views) and tests/test_vector_blocks.py.
    ``overload`` (``numba.core.extending``, with ``inline="always"``): ``pointers.step_table``
    picks the step kernels' table by the argument's type. Check: tests/test_ensemble.py (an
    ensemble member, kernels linked, against ``fit``, through pointers).

Code-generation internals (``intrinsics.py``, ``vector_blocks.py``)
    ``make_array`` and ``populate_array`` (``numba.np.arrayobj``): build the array structs of
    the views ``as_matrix`` and ``borrow`` return. ``impl_ret_borrowed``
    (``numba.core.imputils``): tells numba ``as_matrix``'s view borrows its source's
    reference. ``cgutils`` (``numba.core.cgutils``: ``pack_array``, ``unpack_tuple``,
    ``get_null_value``; in ``vector_blocks`` also ``for_range``, ``alloca_once``,
    ``alloca_once_value`` and ``get_or_insert_function``): shapes and strides, the null
    meminfo of a borrowed view, and the microkernels' loops and accumulators. On an
    upgrade check the array struct's fields (``meminfo``, ``parent``, ``nitems``,
    ``itemsize``, ``data``, ``shape``, ``strides``) and ``populate_array``'s keywords.
    ``CPUCodegen._tm_features`` (:func:`target_features`): the vector register set the
    microkernels size their column passes for (performance only, never bits).
    Check: tests/test_kernels.py, tests/test_vector_blocks.py and the kernel oracle tests.

BLAS (``intrinsics.matmul_into``)
    ``dot_3_mm``, ``ensure_blas`` and ``make_contiguous`` (``numba.np.linalg``): numba's
    lowering of ``np.dot(a, b, out)`` for matrices, called from an intrinsic
    (:func:`blas_matmul`). On an upgrade check their signatures ``(context, builder, sig,
    args)`` and that ``np.dot``'s three-argument overload still lowers through them.
    Check: tests/test_kernels.py (wide layers) and the W3 benchmark.

Function pointers (``pointers.py``)
    ``WrapperAddressProtocol`` (``numba.core.types``; numba's first-class functions, documented
    as experimental): an object with ``__wrapper_address__`` and ``signature`` passes into a
    kernel as a ``FunctionType`` value, and the kernel calls it through the address, without
    linking the callee's code. :func:`cfunc_address` reads that address from a compile result:
    ``library.get_pointer_to_function`` of ``fndesc.llvm_cfunc_wrapper_name``, the C-callable
    wrapper numba builds for every compiled function. On an upgrade check that a kernel taking
    a ``pointers.StepKernels`` of pointers compiles, caches (its index key holds the
    ``FunctionType`` signatures) and gives the bits of the linked calls. Check:
    tests/test_pointers.py and tests/test_determinism.py (an ensemble member, which links the
    kernels, against ``fit``, which calls them through pointers).

Private copies of callees (``_config.py``)
    ``CPUCodeLibrary._optimize_final_module`` (``numba.core.codegen``): numba links each
    callee's code into every kernel that calls it with ``linkonce_odr`` linkage, and the JIT
    resolves such a symbol to whichever kernel loaded it first. The copies are optimized with
    different callers, and run at different speeds: W2's ``Ensemble.fit`` ran at 26-28k
    net-steps/s after a ``fit`` had loaded its kernel, 38-44k alone and 51-63k after
    ``MLP.forward`` had (2-core EPYC, 2026-12-02). :func:`keep_callee_copies_private`
    wraps that method so that, in each library it finalizes, the copies of fastrelu's own
    functions (mangled names under ``_ZN8fastrelu``) become ``internal`` after optimization:
    every kernel runs the code it was optimized with, whatever loaded first. Other libraries'
    functions are left alone. Check: that the method still runs once per library, after
    linking and before code generation, and tests/test_numba_internals.py.

Cache location (``_config.py``)
    ``CacheImpl._locator_classes``, ``_CacheLocator`` and ``_SourceFileBackedLocatorMixin``
    (``numba.core.caching``): :func:`register_cache_locator` puts a locator that answers for
    fastrelu's kernel files only at the front of numba's list (numba has no supported
    per-package hook: numba issue 9350 asks for one; ``NUMBA_CACHE_LOCATOR_CLASSES`` is
    process-wide). Numba asks each locator class in turn (``from_function``; None means "not
    mine"), at decoration time, for the cache folder (``get_cache_path``), the freshness
    stamp (``get_source_stamp``), the index name's disambiguator (``get_disambiguator``),
    and calls ``ensure_cache_path`` before each save. Check: that ``CacheImpl`` (``_CacheImpl``
    in older numba), ``_locator_classes`` and these four methods keep their names and
    their call points, and that ``config.CACHE_LOCATOR_CLASSES`` still overrides the list.
    ``config`` (``numba.core.config``) is read for ``CACHE_DIR`` only (numba's own cache
    folder, the fallback parent of fastrelu's). Check: tests/test_cache_dir.py.
"""
from __future__ import annotations

import os
import re

import llvmlite.binding as _llvm
import llvmlite.ir as ir
from numba.core import caching as _caching
from numba.core import cgutils, config, types
from numba.core.types import WrapperAddressProtocol
from numba.core.extending import intrinsic, overload
from numba.core.imputils import impl_ret_borrowed

__all__ = ["NUMBA_TESTED", "WrapperAddressProtocol", "blas_matmul", "cfunc_address", "cgutils",
           "config", "impl_ret_borrowed", "intrinsic", "ir", "keep_callee_copies_private",
           "make_array", "numba_version_tested", "overload", "populate_array", "register_cache_locator",
           "target_features", "types"]

_LINKONCE_ODR = _llvm.Linkage.linkonce_odr

#: numba versions fastrelu has been tested with: ``(lowest, first excluded)``, as in
#: ``pyproject.toml``'s ``numba>=0.68.1,<0.69``.
NUMBA_TESTED = ("0.68.1", "0.69")


def numba_version_tested(version: str) -> bool:
    """Whether numba ``version`` (such as ``"0.68.1"``) lies in :data:`NUMBA_TESTED`.

    >>> [numba_version_tested(v) for v in ("0.68.1", "0.69.0", "0.67.2")]
    [True, False, False]
    """
    low, high = (_release(v) for v in NUMBA_TESTED)
    return low <= _release(version) < high


def _release(version: str) -> tuple[int, ...]:
    """``"0.68.1"`` -> ``(0, 68, 1)``; a suffix (``rc1``, ``+local``) is dropped."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        raise ValueError(f"numba version {version!r} is not of the form major.minor[.patch]")
    return tuple(int(part) for part in match.groups(default="0"))


def target_features(context) -> str:
    """The LLVM feature string numba compiles for (``"+avx2,-avx512f,..."``): the host's, or
    ``NUMBA_CPU_FEATURES``. ``CPUCodegen._tm_features`` is private; numba keys its cache on the
    same CPU name and features, so code shaped by them is never loaded on another CPU."""
    return context.codegen()._tm_features


def make_array(array_type):
    """``numba.np.arrayobj.make_array``: the struct class of ``array_type`` for codegen.

    Imported on use: numba loads ``numba.np.arrayobj`` with its CPU target (at the first
    compilation or cache load), not at ``import numba``, and ``import fastrelu`` should not.
    """
    from numba.np.arrayobj import make_array as _make_array

    return _make_array(array_type)


def populate_array(array, **fields):
    """``numba.np.arrayobj.populate_array``: fill an array struct (imported on use)."""
    from numba.np.arrayobj import populate_array as _populate_array

    return _populate_array(array, **fields)


def blas_matmul(context, builder, signature, args):
    """Lower ``np.dot(a, b, out)`` for 2-D ``a`` and ``b`` as numba does: its own codegen
    (``numba.np.linalg``: ``ensure_blas``, ``make_contiguous``, ``dot_3_mm``), so the very
    same BLAS calls (gemm, or gemv/dot for a one-row or one-column operand).

    Called directly from an intrinsic (``intrinsics.matmul_into``) instead of through
    ``np.dot``: numba types ``np.dot`` through its overloads and compiles a separate
    function per layout combination, each linked into, and re-optimized and re-emitted
    with, every kernel above it. Imported on use, as :func:`make_array`.
    """
    from numba.np.linalg import dot_3_mm, ensure_blas, make_contiguous

    ensure_blas()
    with make_contiguous(context, builder, signature, args) as (signature, args):
        return dot_3_mm(context, builder, signature, args)


class _FolderLocator(_caching._SourceFileBackedLocatorMixin, _caching._CacheLocator):
    """Numba cache locator for functions defined in the files of one folder.

    Subclasses set ``source_dir`` (normalized absolute path), ``cache_path()`` (a function
    returning the folder to cache in, or None when there is none) and ``prepare(path)``
    (called before each save; creates the folder). The index and data files go in a
    subfolder named as numba names it for ``NUMBA_CACHE_DIR`` (``<folder name>_<hash of the
    folder path>``), so two installs sharing a parent folder never share entries.
    """

    source_dir: str = ""

    def __init__(self, py_func, py_file, root):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(root, self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    def ensure_cache_path(self):
        self.prepare(os.path.dirname(self._cache_path))
        super().ensure_cache_path()

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.normcase(os.path.dirname(os.path.abspath(py_file))) != cls.source_dir:
            return None   # not one of ours: numba's own locators decide
        root = cls.cache_path()
        if root is None:
            return None
        # No folder is created here (numba asks at decoration time, that is at import):
        # ``ensure_cache_path`` creates it before the first save.
        return cls(py_func, py_file, root)


def register_cache_locator(source_dir: str, cache_path, prepare) -> type:
    """Make numba cache the functions of ``source_dir``'s files in ``cache_path()``.

    Registers, once per ``source_dir`` (calling again returns the class registered first), a
    locator ahead of numba's own, so that it answers before ``NUMBA_CACHE_DIR``'s. It answers
    None for every function defined elsewhere, which numba's locators then place as usual.
    ``cache_path`` and ``prepare`` are looked up through the class, so tests may replace them.
    """
    source_dir = os.path.normcase(os.path.abspath(source_dir))
    classes = _caching.CacheImpl._locator_classes
    for cls in classes:
        if getattr(cls, "source_dir", None) == source_dir and issubclass(cls, _FolderLocator):
            return cls
    cls = type("FastreluKernelLocator", (_FolderLocator,), {
        "source_dir": source_dir, "cache_path": staticmethod(cache_path),
        "prepare": staticmethod(prepare), "__module__": __name__})
    classes.insert(0, cls)
    return cls


#: Prefix of the mangled names of functions defined in the ``fastrelu`` package.
FASTRELU_SYMBOLS = "_ZN8fastrelu"


def keep_callee_copies_private() -> bool:
    """Make numba keep, in every library it finalizes, the linked-in copies of fastrelu's
    functions private to that library (``internal`` linkage, set after the library's
    optimization). Idempotent; returns True when it installed the wrapper now.

    Without it a kernel may call another kernel's copy of a shared callee (the JIT resolves
    ``linkonce_odr`` symbols to the first one loaded), so its speed depends on what ran first
    in the process. Only functions named under :data:`FASTRELU_SYMBOLS` change linkage.
    """
    from numba.core import codegen

    cls = codegen.CPUCodeLibrary
    if getattr(cls._optimize_final_module, "_fastrelu_private", False):
        return False
    original = cls._optimize_final_module

    def _optimize_final_module(self):
        original(self)
        for fn in self._final_module.functions:
            if (not fn.is_declaration and fn.linkage == _LINKONCE_ODR
                    and fn.name.startswith(FASTRELU_SYMBOLS)):
                fn.linkage = "internal"

    _optimize_final_module._fastrelu_private = True
    _optimize_final_module.__wrapped__ = original
    cls._optimize_final_module = _optimize_final_module
    return True


def cfunc_address(compiled) -> int:
    """Address of the C-callable wrapper numba builds for every compiled function
    (``compiled``: a ``CompileResult``, as in ``dispatcher.overloads``)."""
    return compiled.library.get_pointer_to_function(compiled.fndesc.llvm_cfunc_wrapper_name)
