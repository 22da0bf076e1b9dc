"""No import cycle inside irkit.results, counting function-level imports (TYPE_CHECKING-only ones and
the package ``__init__`` re-exports do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

import irkit

ROOT = Path(irkit.__file__).parent
PACKAGE = "irkit.results"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def _imports(path: Path) -> set[str]:
    """Every irkit module ``path`` imports, anywhere in the file (functions included)."""
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub) else node.module)
    return {name for name in found if name.startswith("irkit.")}


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted((ROOT / "results").rglob("*.py")):
        name = _module_name(path)
        if path.name == "__init__.py":
            graph[name] = set()  # re-exports do not count
        else:
            graph[name] = {m for m in _imports(path) if m.startswith(PACKAGE)}
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo += graph.get(name, ())
    return False


def test_no_import_cycle_in_results():
    graph = _graph()
    assert "irkit.results.charts.core" in graph and "irkit.results.metrics" in graph
    cycles = sorted(name for name in graph if _reaches(graph, name, name))
    assert cycles == [], f"modules on an import cycle: {cycles}"


def test_the_cycles_the_issue_named_are_gone():
    graph = _graph()
    core, models = "irkit.results.charts.core", "irkit.results.charts.models"
    assert models in graph[core] and not _reaches(graph, models, core)  # core uses models, never back
    assert not _reaches(graph, "irkit.results.charts.core", "irkit.results.report")
    assert not _reaches(graph, "irkit.results.metrics", "irkit.results.frame")  # metrics is the bottom


def test_summary_text_lives_in_results_and_the_describe_writer_only_writes():
    import irkit.load.describe as describe
    import irkit.results

    assert not hasattr(describe, "summary_text") and not hasattr(describe, "per_model_lines")
    assert irkit.results.summary_text.__module__ == "irkit.results.summary"
