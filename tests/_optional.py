"""Optional packages of the model-import tests (torch, safetensors, onnx): skip without them,
unless CI demands them (``FASTRELU_REQUIRE_TORCH=1``, set by ``.ci/run``, which installs all three)."""
from __future__ import annotations

import importlib
import os

import pytest


def require_package(name: str, *, module_level: bool = False):
    """Return the module ``name``; skip (or fail under FASTRELU_REQUIRE_TORCH=1) without it.
    ``module_level=True`` when called at a test module's top level (skips the whole module)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("FASTRELU_REQUIRE_TORCH") == "1":
            pytest.fail(f"{name} is required here (FASTRELU_REQUIRE_TORCH=1) but not installed")
        pytest.skip(f"{name} not installed (optional model-import dependency)", allow_module_level=module_level)


def snapshot(folder) -> dict:
    """Every file under ``folder``: (size, mtime_ns, bytes); to show that loading modified nothing."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}
