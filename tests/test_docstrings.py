"""The runnable examples in the library's docstrings give the output they show."""
from __future__ import annotations

import doctest
import importlib
import inspect
import os
import pkgutil

import pytest

import fastrelu

MODULES = sorted(m.name for m in pkgutil.walk_packages(fastrelu.__path__, "fastrelu."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "fastrelu.torch" and not os.environ.get("FASTRELU_REQUIRE_TORCH"):
        pytest.importorskip("torch")   # its examples run PyTorch models
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_every_public_name_has_a_runnable_example():
    """numpydoc with runnable examples: each name of ``fastrelu.__all__`` shows one, and the
    doctests above run it."""
    documented = [n for n in fastrelu.__all__ if callable(getattr(fastrelu, n)) or inspect.ismodule(getattr(fastrelu, n))]
    assert sorted(set(fastrelu.__all__) - set(documented)) == ["FINDING_CODES", "OUTPUT_ACTIVATIONS"]  # plain values
    missing = [n for n in documented if ">>>" not in (getattr(fastrelu, n).__doc__ or "")]
    assert missing == []
