"""Every notebook in notebooks/ is committed clean and can be parameterized by papermill.

- exactly one code cell tagged ``parameters``;
- no outputs and no execution counts (notebooks are committed without outputs);
- the parameters cell holds only assignments of literal, typed defaults (so papermill, nbval and
  ``irkit run -p`` can replace them, and ``irkit run`` can tell which names a notebook takes);
- the entries of tests/notebook_params.yaml name real notebooks and parameters they declare.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
import yaml

from irkit.headless.params import NotALiteral, declared_parameters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PARAMS_FILE = ROOT / "tests" / "notebook_params.yaml"


def _parameter_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_with_literal_defaults(path):
    nb = nbformat.read(path, as_version=4)
    cells = _parameter_cells(nb)
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters', want exactly 1"
    body = ast.parse(cells[0].source).body
    assert body, f"{path.name}: the parameters cell is empty"
    for node in body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), (
            f"{path.name}: line {node.lineno} of the parameters cell is not an assignment")
    declared = declared_parameters(nb)
    computed = {k: v.source for k, v in declared.items() if isinstance(v, NotALiteral)}
    assert not computed, f"{path.name}: parameters with non-literal defaults: {computed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert not cell.get("outputs"), f"{path.name}: cell {index} has outputs"
        assert cell.get("execution_count") is None, f"{path.name}: cell {index} has an execution count"
    nbformat.validate(nb)


def test_nbval_parameters_name_declared_parameters():
    entries = yaml.safe_load(PARAMS_FILE.read_text()) or {}
    by_stem = {p.stem: declared_parameters(nbformat.read(p, as_version=4)) or {} for p in NOTEBOOKS}
    for stem, params in entries.items():
        if stem == "*":
            known = set().union(*by_stem.values())
            unknown = set(params) - known
        else:
            assert stem in by_stem, f"{PARAMS_FILE.name}: {stem!r} is not a notebook in notebooks/"
            unknown = set(params) - set(by_stem[stem])
        assert not unknown, f"{PARAMS_FILE.name}: {stem}: parameters no notebook declares: {sorted(unknown)}"
