"""The house rules a reader relies on: small modules, short functions, plain imports.

Generated files (their first lines say GENERATED) are exempt from the size rules; every other
module of ``fastrelu/`` and ``cli/`` stays under 400 lines and every function body under 80.
"""
from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def hand_written() -> list[Path]:
    files = [p for folder in ("fastrelu", "cli") for p in sorted((ROOT / folder).rglob("*.py"))
             if "__pycache__" not in p.parts]
    return [p for p in files if "GENERATED" not in "".join(p.read_text().splitlines(True)[:5])]


@pytest.mark.parametrize("path", hand_written(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path):
    src = path.read_text()
    assert src.count("\n") <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and len(body) > 1:
                body = body[1:]   # the docstring does not count
            length = body[-1].end_lineno - body[0].lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{node.name} has {length} lines"


def test_package_has_no_module_getattr_or_class_hacks():
    for path in hand_written():
        tree = ast.parse(path.read_text())
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "__getattr__" not in names, f"{path}: module-level __getattr__"
        assert ".__class__ =" not in path.read_text(), f"{path}: reassigns a module's class"


def test_fr_sweep_is_the_function_whatever_was_imported_first():
    """The package ``fastrelu.sweeps`` and the function ``fr.sweep`` no longer share a name."""
    code = ("import fastrelu.sweeps.grid, fastrelu as fr, inspect; "
            "assert inspect.isfunction(fr.sweep), fr.sweep; "
            "assert fr.sweeps.sweep is fr.sweep; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "ok", out.stderr


def test_public_names_are_plain_attributes():
    import fastrelu as fr

    for name in fr.__all__:
        assert name in vars(fr), name
    assert issubclass(fr.DivergedError, ArithmeticError)
    assert importlib.import_module("fastrelu.training").DivergedError is fr.DivergedError
