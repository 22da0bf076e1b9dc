"""TargetModelsEditor: the models (or containers) of a multi-model load, their popularity, and a preview.

The panel edits the spec's ``target_models`` (irkit.spec.targets.TargetModels). Its preview is
``irkit.results.charts.models.popularity_bars`` over ``irkit.spec.popularity.Popularity.probabilities()``, so
what it shows is exactly what the load generator will draw from. Nothing here touches the network.
"""

from __future__ import annotations

import re
from typing import Any

import ipywidgets as w
import traitlets

from ._common import Panel, chart_html, message_html, readable_error

UNIFORM, ZIPF, WEIGHTS = "uniform", "zipf", "weights"
def _wide() -> dict[str, Any]:
    """A fresh Layout per control: one shared Layout would hide them all when one is hidden."""
    return {"layout": w.Layout(width="420px"), "style": {"description_width": "105px"}}
_SPLIT = re.compile(r"[\s,]+")


def split_names(text: str) -> list[str]:
    """Names typed one per line or separated by commas/spaces."""
    return [part for part in _SPLIT.split(text or "") if part]


def parse_weights(text: str) -> list[float]:
    """``"5, 3, 1"`` -> [5.0, 3.0, 1.0]; a value that is not a number raises ValueError naming it."""
    out = []
    for part in split_names(text):
        try:
            out.append(float(part))
        except ValueError:
            raise ValueError(f"target_models.weights: {part!r} is not a number") from None
    return out


class TargetModelsEditor(Panel):
    """Edit ``target_models``: models, containers, distribution (uniform / zipf + exponent / weights).

    State: ``models``, ``containers``, ``distribution``, ``exponent``, ``weights``; derived
    ``probabilities`` (name -> share, empty while invalid) and ``errors``.
    """

    models: traitlets.List[Any] = traitlets.List()
    containers: traitlets.List[Any] = traitlets.List()
    distribution = traitlets.Enum([UNIFORM, ZIPF, WEIGHTS], default_value=ZIPF)
    exponent = traitlets.Float(1.2)
    weights: traitlets.List[Any] = traitlets.List()
    probabilities: traitlets.Dict[Any, Any] = traitlets.Dict()
    errors: traitlets.List[Any] = traitlets.List()

    def __init__(self, models: list[str] | None = None, *, preview: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if models is not None:
            self.models = list(models)
        self._preview = preview
        self.models_text = w.Textarea(value="\n".join(self.models), description="Models",
                                      placeholder="model-a.tar.gz\nmodel-b.tar.gz", rows=4, **_wide())
        self.containers_text = w.Text(value=", ".join(self.containers), description="Containers",
                                      placeholder="optional: container hostnames", **_wide())
        self.distribution_dropdown = w.Dropdown(
            options=[("Zipf: a few models get most requests", ZIPF), ("Uniform: every model alike", UNIFORM),
                     ("Weights: you give each model's share", WEIGHTS)],
            description="Popularity", **_wide())
        self.exponent_text = w.BoundedFloatText(min=0.01, max=10.0, step=0.1, description="Zipf exponent",
                                                layout=w.Layout(width="220px"),
                                                style={"description_width": "105px"})
        self.weights_text = w.Text(value=", ".join(f"{x:g}" for x in self.weights), description="Weights",
                                   placeholder="5, 3, 1", **_wide())
        self.message_html = w.HTML()
        self.preview_html = w.HTML()
        self.box = w.VBox([self.models_text, self.containers_text, self.distribution_dropdown,
                           self.exponent_text, self.weights_text, self.message_html, self.preview_html])
        self._link((self, "distribution"), (self.distribution_dropdown, "value"))
        self._link((self, "exponent"), (self.exponent_text, "value"))
        self._observe(self.models_text, self._texts_changed, "value")
        self._observe(self.containers_text, self._texts_changed, "value")
        self._observe(self.weights_text, self._texts_changed, "value")
        self._observe(self, self._refresh, ["models", "containers", "distribution", "exponent", "weights"])
        self._refresh(None)

    # ---- spec pieces -----------------------------------------------------------------------
    def target_models(self) -> dict[str, Any] | None:
        """The file form of ``target_models``, or None when no model or container is listed."""
        if not self.models and not self.containers:
            return None
        out: dict[str, Any] = {"distribution": self.distribution}
        if self.models:
            out["models"] = list(self.models)
        if self.containers:
            out["containers"] = list(self.containers)
        if self.distribution == ZIPF:
            out["exponent"] = float(self.exponent)
        if self.distribution == WEIGHTS:
            out["weights"] = list(self.weights)
        return out

    def spec_fields(self) -> dict[str, Any]:
        """The spec keys this panel owns: ``target_models`` (absent when empty)."""
        value = self.target_models()
        return {} if value is None else {"target_models": value}

    # ---- handlers ---------------------------------------------------------------------------
    def _texts_changed(self, _change: Any) -> None:
        self.models = split_names(self.models_text.value)
        self.containers = split_names(self.containers_text.value)
        try:
            self.weights = parse_weights(self.weights_text.value)
        except ValueError as exc:
            self.errors = [str(exc)]
            self.probabilities = {}
            self.message_html.value = message_html(self.errors)

    def _refresh(self, _change: Any) -> None:
        self.exponent_text.layout.display = None if self.distribution == ZIPF else "none"
        self.weights_text.layout.display = None if self.distribution == WEIGHTS else "none"
        value = self.target_models()
        if value is None:
            self.errors, self.probabilities = [], {}
            self.message_html.value = message_html("List the models (tarball names) the load spreads over.",
                                                   kind="info")
            self.preview_html.value = ""
            return
        try:
            from irkit.spec.popularity import Popularity

            probabilities = Popularity.from_spec(value).probabilities()
        except Exception as exc:  # noqa: BLE001 - shown to the user, never raised from a callback
            self.errors, self.probabilities = [readable_error(exc)], {}
            self.message_html.value = message_html(self.errors)
            return
        self.errors, self.probabilities = [], probabilities
        self.message_html.value = ""
        if self._preview:
            try:
                from irkit.results.charts.models import popularity_bars

                self.preview_html.value = chart_html(popularity_bars(probabilities, title="Share of requests"))
            except Exception as exc:  # noqa: BLE001 - a preview failure must not break editing
                self.preview_html.value = message_html(f"preview unavailable: {readable_error(exc)}", kind="info")
