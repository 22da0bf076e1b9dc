"""The architecture, checked: layers point downward, no import cycles, a small top level.

The import graph counts every import in a module, function-level ones included. Imports under
``if TYPE_CHECKING:`` do not count, and neither do package ``__init__`` re-exports: an import of a
name from a package is followed to the submodule that defines it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "irkit"
MAX_TOP_LEVEL_MODULES = 15
MAX_MODULE_LINES = 420  # "no module grows past about 400 lines"
# modules Locust runs with `locust -f` (*locustfile.py), and the Locust-side code only they import
# (locust_*.py)
def is_locust_side(module: str) -> bool:
    leaf = module.rsplit(".", 1)[-1]
    return leaf.endswith("locustfile") or leaf.startswith("locust_")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}
PACKAGES = {module_name(p) for p in PKG.rglob("__init__.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _reexport_source(package: str, name: str) -> str | None:
    """The submodule a package ``__init__`` takes ``name`` from, if it re-exports it."""
    init = MODULES.get(package)
    if init is None or init.name != "__init__.py":
        return None
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and any(
                (a.asname or a.name) == name for a in node.names):
            return node.module
    return None


def _resolve(module: str, current: str, level: int) -> str:
    if level:
        base = current.split(".")
        if MODULES[current].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (level - 1)]
        return ".".join([*base, module] if module else base)
    return module


def imports_of(name: str) -> list[tuple[str, int]]:
    """(imported irkit module, line) for every import in ``name``, function-level ones too."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree)
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(node.module or "", name, node.level)
            for alias in node.names:
                full = f"{mod}.{alias.name}"
                if full in MODULES:
                    out.append((full, node.lineno))
                elif mod in PACKAGES:
                    out.append((_reexport_source(mod, alias.name) or mod, node.lineno))
                else:
                    out.append((mod, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name in MODULES:
        if name in PACKAGES:
            continue  # package __init__ re-exports do not count
        edges[name] = {m for m, _ in imports_of(name)
                       if m in MODULES and m not in PACKAGES and m != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def offenders(sources: list[str], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for name in sources:
        for mod, line in imports_of(name):
            if mod.startswith(forbidden):
                bad.append(f"{MODULES[name].relative_to(ROOT)}:{line} imports {mod}")
    return bad


def under(*prefixes: str) -> list[str]:
    return sorted(m for m in MODULES if m.startswith(prefixes))


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_top_level_is_small():
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_module_is_too_long():
    long = {str(p.relative_to(ROOT)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_core_imports_no_backend():
    """Everything outside irkit/backends reaches a backend only through the registry."""
    core = [m for m in MODULES if not m.startswith(("irkit.backends", "irkit.cli"))]
    bad = offenders(core, ("irkit.backends.", "boto3", "botocore", "sagemaker"))
    assert bad == []


@pytest.mark.parametrize("package", ["irkit.load", "irkit.serve", "irkit.spec", "irkit.package"])
def test_engine_packages_import_no_backend_at_all(package):
    assert offenders(under(package), ("irkit.backends",)) == []


def test_sagemaker_backend_imports_nothing_from_local():
    assert offenders(under("irkit.backends.sagemaker"), ("irkit.backends.local",)) == []


def test_only_the_sagemaker_backend_imports_aws():
    rest = [m for m in MODULES if not m.startswith("irkit.backends.sagemaker")]
    assert offenders(rest, ("boto3", "botocore", "sagemaker")) == []


def test_locust_only_in_locust_side_modules():
    """Locust monkey-patches the process: only modules Locust itself runs may import it."""
    locust_side = [m for m in MODULES if is_locust_side(m)]
    rest = [m for m in MODULES if m not in locust_side]
    assert offenders(rest, ("locust",)) == []
    assert offenders(rest, tuple(locust_side)) == []


def test_widgets_start_no_process_and_call_no_aws():
    assert offenders(under("irkit.widgets"), ("subprocess", "boto3", "botocore", "irkit.backends.")) == []


def test_notebooks_use_the_public_api_only():
    bad = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] == "code" and "irkit.backends.local" in "".join(cell["source"]):
                bad.append(f"{nb.name} cell {i}")
    assert bad == []
