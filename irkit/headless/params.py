"""Parameters for headless runs: typed ``-p`` values, ``-f`` files, and per-notebook sections.

- ``-p NAME VALUE``: VALUE is read as YAML, so ``2`` is an int, ``null`` is None, ``[a, b]`` a list
  and ``{k: v}`` a dict. Quote a string that YAML would read otherwise (``-p job_name "'007'"``).
- ``-f params.yaml``: a mapping. A key ``"*"`` or a key equal to a notebook's name (its file name
  without ``.ipynb``, e.g. ``04_right_size``) whose value is a mapping holds parameters for all
  notebooks or that notebook only (the layout of ``tests/notebook_params.yaml``); every other key
  is a parameter for all notebooks.
- Later sources win: the file, then ``-p`` values in command-line order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit.errors import SpecError

ALL_NOTEBOOKS = "*"


def parse_value(text: str, *, name: str = "value") -> Any:
    """A ``-p`` value as YAML: numbers, booleans, null, lists and dicts keep their type."""
    import yaml

    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise SpecError(f"-p {name}", f"{text!r} is not valid YAML: {exc}") from exc


def check_name(name: str, where: str) -> str:
    if not name.isidentifier():
        raise SpecError(where, f"{name!r} is not a Python identifier, so it cannot be a notebook parameter")
    return name


@dataclass
class RunParameters:
    """Parameters for every notebook (``common``) and for single notebooks (``by_notebook``)."""

    common: dict[str, Any] = field(default_factory=dict)
    by_notebook: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_notebook(self, name: str) -> dict[str, Any]:
        return {**self.common, **self.by_notebook.get(name, {})}

    def everything(self) -> dict[str, Any]:
        """All values in one mapping (used to collect secret values for scrubbing)."""
        return {"*": self.common, **self.by_notebook}

    def merged(self, other: RunParameters) -> RunParameters:
        by_notebook = {k: dict(v) for k, v in self.by_notebook.items()}
        for key, values in other.by_notebook.items():
            by_notebook.setdefault(key, {}).update(values)
        return RunParameters({**self.common, **other.common}, by_notebook)


def from_mapping(data: Mapping[str, Any], notebook_names: Iterable[str] = (), *, source: str) -> RunParameters:
    """Split a parameter mapping into common and per-notebook parts (see the module docstring)."""
    names = set(notebook_names)
    params = RunParameters()
    for key, value in data.items():
        key = str(key)
        if key == ALL_NOTEBOOKS or (key in names and isinstance(value, Mapping)):
            if not isinstance(value, Mapping):
                raise SpecError(f"{source}: {key}", "must be a mapping of parameter names to values")
            target = params.common if key == ALL_NOTEBOOKS else params.by_notebook.setdefault(key, {})
            for name, item in value.items():
                target[check_name(str(name), f"{source}: {key}.{name}")] = item
        else:
            params.common[check_name(key, f"{source}: {key}")] = value
    return params


def load_file(path: str | Path, notebook_names: Iterable[str] = ()) -> RunParameters:
    """Read a ``-f`` YAML (or JSON) parameter file."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(str(path), f"cannot read the parameter file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(str(path), f"not valid YAML: {exc}") from exc
    if data is None:
        return RunParameters()
    if not isinstance(data, Mapping):
        raise SpecError(str(path), f"must hold a mapping of parameter names to values, not {type(data).__name__}")
    return from_mapping(data, notebook_names, source=str(path))


def from_pairs(pairs: Iterable[tuple[str, str]]) -> RunParameters:
    """``-p NAME VALUE`` pairs, each VALUE parsed as YAML."""
    common: dict[str, Any] = {}
    for name, text in pairs:
        common[check_name(name, f"-p {name}")] = parse_value(text, name=name)
    return RunParameters(common)


def declared_parameters(nb: Any) -> dict[str, Any] | None:
    """The names and literal defaults of the notebook's ``parameters`` cell, or None without one.

    A default that is not a literal (a call, a name) is given as the ``ast`` node's source text.
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return parameter_cell_values(cell.source)
    return None


def parameter_cell_values(source: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        value = getattr(node, "value", None)
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    values[target.id] = NotALiteral(ast.unparse(value))
    return values


@dataclass(frozen=True)
class NotALiteral:
    """A parameter default that is an expression, not a literal value."""

    source: str
