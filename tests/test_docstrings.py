"""The runnable examples in the library's docstrings give the output they show."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fastrelu

MODULES = sorted(m.name for m in pkgutil.walk_packages(fastrelu.__path__, "fastrelu."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_every_public_name_has_a_runnable_example():
    """numpydoc with runnable examples: each name of ``fastrelu.__all__`` shows one, and the
    doctests above run it."""
    missing = [n for n in fastrelu.__all__ if ">>>" not in (getattr(fastrelu, n).__doc__ or "")]
    assert missing == []
