"""HyperparameterPanel: environment variables to vary, each with 1-3 values (at most 5 variables)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets

from ._common import Panel, message_html

# The SageMaker TensorFlow Serving container's knobs, which the local server honours too.
SUGGESTED_VARIABLES = {
    "OMP_NUM_THREADS": "threads per op (try 1, 2, the vCPU count)",
    "SAGEMAKER_TFS_ENABLE_BATCHING": "server-side batching (true, false)",
    "SAGEMAKER_TFS_MAX_BATCH_SIZE": "largest batch (e.g. 4, 8, 16)",
    "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "how long to wait to fill a batch (e.g. 1000, 5000)",
    "SAGEMAKER_GUNICORN_WORKERS": "server worker processes (1, 2)",
    "SAGEMAKER_TFS_INTRA_OP_PARALLELISM": "threads inside one op",
    "SAGEMAKER_TFS_INTER_OP_PARALLELISM": "ops run in parallel",
}


def parse_values(text: str) -> list[str]:
    """``"1, 2,4"`` -> ``["1", "2", "4"]`` (blanks dropped)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def check_env_rows(rows: list[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """(name, comma list) rows -> ({name: values}, problems), with IR's limits named."""
    from irkit.spec.fields import ENV_NAME_PATTERN, MAX_ENV_RANGES, MAX_ENV_VALUES

    ranges: dict[str, list[str]] = {}
    problems: list[str] = []
    for i, (name, text) in enumerate(rows, start=1):
        name = name.strip()
        values = parse_values(text)
        if not name and not values:
            continue
        label = name or f"row {i}"
        if not ENV_NAME_PATTERN.fullmatch(name):
            problems.append(
                f"{label}: not a valid variable name (letters, digits, _; not starting with a digit)."
            )
            continue
        if name in ranges:
            problems.append(f"{name}: listed twice; keep one row.")
            continue
        if not values:
            problems.append(f"{name}: give 1 to {MAX_ENV_VALUES} values, separated by commas.")
        elif len(values) > MAX_ENV_VALUES:
            problems.append(f"{name}: {len(values)} values; at most {MAX_ENV_VALUES} are allowed.")
        elif len(set(values)) != len(values):
            problems.append(f"{name}: a value is repeated.")
        ranges[name] = values
    if len(ranges) > MAX_ENV_RANGES:
        problems.append(f"{len(ranges)} variables; at most {MAX_ENV_RANGES} are allowed.")
    return ranges, problems


class _EnvRow:
    def __init__(self, name: str, values: str) -> None:
        self.name = w.Combobox(
            value=name,
            options=list(SUGGESTED_VARIABLES),
            placeholder="VARIABLE_NAME",
            ensure_option=False,
            layout=w.Layout(width="330px"),
        )
        self.values = w.Text(
            value=values,
            placeholder="values, comma separated: 1, 2",
            layout=w.Layout(width="260px"),
        )
        self.remove = w.Button(
            description="Remove",
            icon="trash",
            layout=w.Layout(width="100px"),
            tooltip="Remove this variable",
        )
        self.hint = w.HTML(layout=w.Layout(width="auto"))
        self.box = w.HBox([self.name, self.values, self.remove, self.hint])


class HyperparameterPanel(Panel):
    """Env variables and their values. ``env_ranges`` ({name: [values]}) holds the valid state."""

    env_ranges = traitlets.Dict()
    errors: traitlets.List[Any] = traitlets.List()

    def __init__(self, env_ranges: dict[str, list[Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: list[_EnvRow] = []
        self.rows_box = w.VBox()
        self.add_button = w.Button(
            description="Add variable", icon="plus", tooltip="Add an environment variable"
        )
        self.empty_note = w.HTML(
            "<span style='color:#555'>No variables: each instance type is tested "
            "with the container's defaults.</span>"
        )
        self.message_html = w.HTML()
        self.box = w.VBox([self.empty_note, self.rows_box, self.add_button, self.message_html])
        self._on_click(self.add_button, lambda _b: self.add_row())
        self._observe(self, self._show_errors, "errors")
        for name, values in (env_ranges or {}).items():
            self.add_row(name, ", ".join(str(v) for v in values))
        self._sync(None)

    def add_row(self, name: str = "", values: str = "") -> _EnvRow:
        if not name:
            used = {r.name.value for r in self._rows}
            name = next((n for n in SUGGESTED_VARIABLES if n not in used), "")
        row = _EnvRow(name, values)
        self._observe(row.name, self._sync, "value")
        self._observe(row.values, self._sync, "value")
        self._on_click(row.remove, lambda _b, row=row: self.remove_row(row))
        self._rows.append(row)
        self._sync(None)
        return row

    def remove_row(self, row: _EnvRow) -> None:
        self._rows.remove(row)
        row.box.close()
        self._sync(None)

    @property
    def rows(self) -> list[_EnvRow]:
        return list(self._rows)

    def _sync(self, _change: Any) -> None:
        self.rows_box.children = [r.box for r in self._rows]
        self.empty_note.layout.display = "none" if self._rows else None
        for row in self._rows:
            row.hint.value = (
                f"<span style='color:#555;font-size:0.85em'>{SUGGESTED_VARIABLES[row.name.value]}</span>"
                if row.name.value in SUGGESTED_VARIABLES
                else ""
            )
        ranges, problems = check_env_rows([(r.name.value, r.values.value) for r in self._rows])
        self.errors = problems
        if not problems:
            self.env_ranges = ranges

    def _show_errors(self, change: Any) -> None:
        self.message_html.value = message_html(change["new"])
