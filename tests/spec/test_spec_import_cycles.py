"""No import cycle touches irkit.spec or irkit.package, counting function-level imports.

TYPE_CHECKING-only imports and a package ``__init__``'s re-exports do not count (import_graph.py).
"""

from __future__ import annotations

from import_graph import cycles_touching, import_graph


def test_spec_and_package_have_no_import_cycle():
    assert cycles_touching(("irkit.spec", "irkit.package")) == []


def test_request_and_inspection_sit_below_jobspec_and_build():
    edges = {(e.source, e.target) for e in import_graph()}
    assert ("irkit.spec.jobspec", "irkit.spec.request") in edges
    assert not any(s == "irkit.spec.request" and t.startswith("irkit.spec.jobspec") for s, t in edges)
    assert ("irkit.package.inspection", "irkit.package.layout") in edges
    assert ("irkit.package.inspection", "irkit.package.build") not in edges
    assert not any(s.startswith(("irkit.spec", "irkit.package")) and t.startswith("irkit.backends")
                   for s, t in edges)


def test_the_checker_counts_function_level_imports_through_reexports(tmp_path):
    pkg = tmp_path / "demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from demo.a import A\nfrom demo.b import B\n")
    (pkg / "a.py").write_text("from demo.b import B\nclass A: ...\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from demo.c import C\n"
        "class B:\n    def make(self):\n        from demo import A\n        return A()\n")
    (pkg / "c.py").write_text("from demo.b import B\n")
    edges = import_graph("demo", root=tmp_path)
    assert {(e.source, e.target, e.function_level) for e in edges} == {
        ("demo.a", "demo.b", False), ("demo.b", "demo.a", True), ("demo.c", "demo.b", False)}
    assert cycles_touching(("demo.a",), "demo", tmp_path) == [["demo.a", "demo.b"]]
    assert cycles_touching(("demo.c",), "demo", tmp_path) == []
