"""The layers of the tree: cli -> fastrelu public API -> fastrelu/kernels, and nothing back.

Read from the sources' import statements (every one, also those inside functions), so a lazy
import cannot hide a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Top-level folders and the import names their modules have.
PACKAGES = {"fastrelu": "fastrelu", "cli": "fastrelu_cli", "bench": "fastrelu_bench"}
#: The one library module that may import torch (the PyTorch bridge).
TORCH_BRIDGE = "fastrelu.torch"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    parts[0] = PACKAGES[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                # ``from fastrelu import rules`` imports the module fastrelu.rules; ``from
                # fastrelu import MLP`` takes a name from the package fastrelu itself
                out.add(sub if is_project_module(sub) else mod)
    return out


def is_project_module(name: str) -> bool:
    parts = name.split(".")
    folders = {v: k for k, v in PACKAGES.items()}
    if parts[0] not in folders:
        return False
    base = ROOT.joinpath(folders[parts[0]], *parts[1:])
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def library_modules() -> dict[str, set[str]]:
    found = {module_name(p): imports_of(p) for p in sources("fastrelu")}
    # keep only edges between real modules of the library
    return {m: {i for i in imps if i in found or i.split(".")[0] != "fastrelu"} for m, imps in found.items()}


def test_kernels_import_nothing_else_of_fastrelu():
    for path in sources("fastrelu/kernels"):
        bad = sorted(i for i in imports_of(path)
                     if (i == "fastrelu" or i.startswith("fastrelu.")) and not i.startswith("fastrelu.kernels"))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_library_imports_neither_cli_nor_benchmarks():
    for mod, imps in library_modules().items():
        bad = sorted(i for i in imps if i.split(".")[0] in ("fastrelu_cli", "fastrelu_bench", "cli", "bench"))
        assert not bad, f"{mod} imports {bad}"


def test_cli_imports_no_kernels():
    for path in sources("cli"):
        bad = sorted(i for i in imports_of(path) if i.startswith("fastrelu.kernels"))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_torch_only_in_the_bridge_and_jax_nowhere():
    for mod, imps in library_modules().items():
        roots = {i.split(".")[0] for i in imps}
        assert "jax" not in roots and "jaxlib" not in roots, f"{mod} imports jax"
        if mod != TORCH_BRIDGE:
            assert "torch" not in roots, f"{mod} imports torch; only {TORCH_BRIDGE} may"


def test_no_library_module_imports_the_package_root():
    """``import fastrelu`` inside the library would make every module depend on every other."""
    for mod, imps in library_modules().items():
        if mod != "fastrelu":
            assert "fastrelu" not in imps, f"{mod} imports the fastrelu package itself"


def test_no_import_circle():
    graph = {m: {i for i in imps if i in library_modules_cache and i != m}
             for m, imps in library_modules_cache.items() if m != "fastrelu"}
    # a package's __init__ importing its own submodules is not a circle back into it
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if n == "fastrelu":
                continue
            if m.startswith(n + ".") and n in graph:  # a submodule importing its package's __init__
                continue
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if state.get(n) is None:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if state.get(m) is None:
            visit(m)


library_modules_cache = library_modules()


def test_the_checks_see_real_imports():
    """Guards the guard: the parser finds imports that are known to exist."""
    mods = library_modules_cache
    assert "fastrelu.kernels.layout" in mods["fastrelu.network"]
    assert "fastrelu.rules" in mods["fastrelu.diagnostics"]
    assert "numba" in {i.split(".")[0] for i in mods["fastrelu.kernels.train"]}
    cli = imports_of(ROOT / "cli" / "sweep.py")
    assert any(i.startswith("fastrelu") for i in cli)
