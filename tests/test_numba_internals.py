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
    assert hasattr(ni.config, "SLP_VECTORIZE") and callable(ni.config.reload_config)
    assert isinstance(caching.CacheImpl._locator_classes, list)
    for method in ("from_function", "get_cache_path", "get_source_stamp", "get_disambiguator",
                   "ensure_cache_path"):
        assert hasattr(caching._CacheLocator, method), method
    from numba.np import arrayobj

    assert callable(arrayobj.make_array) and callable(arrayobj.populate_array)
