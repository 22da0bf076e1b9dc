"""irkit's import graph from the source (AST only, nothing imported), and the cycles in it.

Counts module-level AND function-level ``import``/``from`` statements. Imports under
``if TYPE_CHECKING:`` do not count, nor do a package ``__init__``'s own imports (re-exports); an
import of a name a package re-exports counts as an import of the module that defines it
(``from irkit.spec import JobSpec`` -> ``irkit.spec.jobspec``).

    python tests/spec/import_graph.py                 # every cycle in irkit
    python tests/spec/import_graph.py irkit.spec      # cycles touching irkit.spec, and its edges
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    function_level: bool


def module_files(package: str = "irkit", root: Path = ROOT) -> dict[str, Path]:
    """``{dotted module name: path}`` of every module under the package folder."""
    out = {}
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it sits inside a function; TYPE_CHECKING blocks skipped."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    visit(ast.Module(body=[sub], type_ignores=[]), in_function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(package: str = "irkit", root: Path = ROOT) -> list[Edge]:
    """Every edge between modules of ``package``, resolved through ``__init__`` re-exports."""
    files = module_files(package, root)
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in files.items()}
    packages = {name for name, path in files.items() if path.name == "__init__.py"}
    reexports: dict[str, dict[str, str]] = {}  # package -> {name: module defining it}
    for name in packages:
        for node, _ in _imports(trees[name]):
            if isinstance(node, ast.ImportFrom):
                origin = _absolute(name, True, node)
                for alias in node.names:
                    reexports.setdefault(name, {})[alias.asname or alias.name] = origin

    def resolve(target: str, imported: str | None) -> str | None:
        if imported is not None and f"{target}.{imported}" in files:
            return f"{target}.{imported}"
        seen = set()
        while imported is not None and target in packages and target not in seen:
            seen.add(target)
            origin = reexports.get(target, {}).get(imported)
            if origin is None or origin not in files:
                break
            target = origin
        return target if target in files else None

    edges = []
    for name, tree in trees.items():
        if name in packages:
            continue  # a package's own imports are re-exports
        for node, in_function in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name, None) for alias in node.names]
            else:
                base = _absolute(name, False, node)
                targets = [resolve(base, alias.name) for alias in node.names]
            for target in dict.fromkeys(targets):
                if target is not None and target != name and target.startswith(package):
                    edges.append(Edge(name, target, node.lineno, in_function))
    return edges


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def cycles_touching(prefixes: tuple[str, ...], package: str = "irkit", root: Path = ROOT) -> list[list[str]]:
    """The cycles with at least one module in one of the ``prefixes`` packages."""
    def inside(module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    return [c for c in cycles(import_graph(package, root)) if any(inside(m) for m in c)]


if __name__ == "__main__":
    wanted = tuple(sys.argv[1:])
    all_edges = import_graph()
    for e in all_edges:
        if wanted and any(e.source.startswith(p) for p in wanted):
            print(f"{e.source}:{e.line} -> {e.target}{'  (function-level)' if e.function_level else ''}")
    found = cycles_touching(wanted) if wanted else cycles(all_edges)
    for component in found:
        print("cycle:", " <-> ".join(component))
    print(f"{len(found)} cycle(s)")
    sys.exit(1 if found else 0)
