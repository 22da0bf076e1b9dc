"""No import cycle touches irkit.spec or irkit.package, counting function-level imports.

Uses the architecture test's import graph (tests/test_layers.py: TYPE_CHECKING-only imports and
package ``__init__`` re-exports do not count; a name imported from a package is followed to the
submodule defining it). That test checks all of irkit; this one holds spec/ and package/ to it now.
"""

from __future__ import annotations

from test_layers import cycles, graph  # tests/ is on sys.path through tests/conftest.py

MINE = ("irkit.spec", "irkit.package")


def test_spec_and_package_have_no_import_cycle():
    touching = [c for c in cycles(graph()) if any(m.startswith(MINE) for m in c)]
    assert touching == []


def test_request_and_inspection_sit_below_jobspec_and_build():
    edges = graph()
    assert "irkit.spec.request" in edges["irkit.spec.jobspec"]
    assert "irkit.spec.jobspec" not in edges["irkit.spec.request"]
    assert "irkit.package.inspection" in edges["irkit.package.build"]
    assert "irkit.package.build" not in edges["irkit.package.inspection"]
    assert "irkit.package.layout" in edges["irkit.package.inspection"]
    # the traffic arithmetic sits low: it needs only the parts
    assert edges["irkit.spec.traffic"] <= {"irkit.spec.parts"}
