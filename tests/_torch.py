"""PyTorch is an optional oracle: skip without it, unless CI demands it.

CI sets ``FASTRELU_REQUIRE_TORCH=1`` so that a missing torch fails the oracle tests
instead of silently skipping them.
"""
from __future__ import annotations

import importlib
import os

import pytest


def require_torch():
    """Return the ``torch`` module; skip (or fail under FASTRELU_REQUIRE_TORCH=1) without it."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        if os.environ.get("FASTRELU_REQUIRE_TORCH") == "1":
            pytest.fail("torch is required here (FASTRELU_REQUIRE_TORCH=1) but not installed")
        pytest.skip("torch not installed (optional oracle)")
    return torch
