"""numba is pinned to the versions tested, and its internals are imported in one module only."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import llvmlite
import numba
import pytest

from fastrelu.kernels import _numba_internals as ni

KERNELS = Path(ni.__file__).parent
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_installed_numba_is_a_tested_version():
    assert ni.numba_version_tested(numba.__version__), (numba.__version__, ni.NUMBA_TESTED)


def test_pyproject_pins_numba_to_the_tested_range():
    deps = re.findall(r'^\s*"((?:numba|llvmlite)[^"]*)"', PYPROJECT.read_text(), flags=re.M)
    low, high = ni.NUMBA_TESTED
    assert f"numba>={low},<{high}" in deps, deps
    # llvmlite: the one minor series that numba's tested versions require, and the one installed.
    (spec,) = [d for d in deps if d.startswith("llvmlite")]
    lo, hi = re.fullmatch(r"llvmlite>=([\d.]+),<([\d.]+)", spec).groups()
    assert ni._release(lo) <= ni._release(llvmlite.__version__) < ni._release(hi)


@pytest.mark.parametrize("version, ok", [("0.68.1", True), ("0.68.9", True), ("0.68.0", False),
                                         ("0.69.0rc1", False), ("0.67.2", False),
                                         ("1.0.0", False), ("0.68.1+g1234", True)])
def test_version_range(version, ok):
    assert ni.numba_version_tested(version) is ok


def test_an_unparseable_version_is_an_error():
    with pytest.raises(ValueError, match="'dev'"):
        ni.numba_version_tested("dev")


def _numba_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] in ("numba", "llvmlite")]


def test_only_the_internals_module_imports_numba_beyond_its_top_level():
    """Kernel modules import ``njit``/``prange`` from ``numba``; anything deeper comes from
    ``_numba_internals`` (anywhere in a module, imports inside functions included)."""
    offenders = {}
    for path in sorted(KERNELS.glob("*.py")):
        if path.name == "_numba_internals.py":
            continue
        deep = [n for n in _numba_imports(path) if n != "numba"]
        if deep:
            offenders[path.name] = deep
    assert offenders == {}
    assert {"numba.core", "numba.core.imputils", "numba.np.arrayobj", "llvmlite.ir"} <= set(
        _numba_imports(KERNELS / "_numba_internals.py"))


def test_every_exported_internal_exists_in_this_numba():
    from numba.core import caching

    for name in ni.__all__:
        assert getattr(ni, name) is not None, name
    assert isinstance(caching.CacheImpl._locator_classes, list)
    for method in ("from_function", "get_cache_path", "get_source_stamp", "get_disambiguator",
                   "ensure_cache_path"):
        assert hasattr(caching._CacheLocator, method), method
    from numba.np import arrayobj

    assert callable(arrayobj.make_array) and callable(arrayobj.populate_array)


def test_each_kernel_keeps_its_own_copies_of_fastrelu_callees():
    """A kernel's linked-in copies of fastrelu functions are internal (so the JIT never binds
    its calls to another kernel's differently optimized copy); numba's own helpers keep
    their linkage, and installing the wrapper again does nothing."""
    import llvmlite.binding as ll

    import fastrelu as fr
    from fastrelu.kernels import _numba_internals as ni
    from fastrelu.kernels import network

    assert ni.keep_callee_copies_private() is False      # installed by import fastrelu.kernels
    X, y = fr.data.teacher(64, 3, seed=0)
    fr.fit(fr.MLP([3, 8, 1], seed=0), X, y, optimizer=fr.SGD(0.01), steps=2, batch_size=32, seed=0)
    # backward (compiled for the step loop's pointer) links view2d and the input-gradient rows
    lib = network.backward.overloads[network.backward.signatures[0]].library
    defined = [f for f in lib._get_module_for_linking().functions if not f.is_declaration]
    ours = [f for f in defined if f.name.startswith(ni.FASTRELU_SYMBOLS)]
    entry = [f for f in ours if f.linkage != ll.Linkage.internal]
    assert len(ours) >= 2, [f.name for f in ours]
    assert len(entry) == 1 and "backward" in entry[0].name   # only the kernel itself is shared
    assert any(f.linkage == ll.Linkage.linkonce_odr for f in defined if f not in ours)
