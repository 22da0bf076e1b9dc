"""ResultsExplorer: importance sliders re-rank live; recommendation card, charts, Deploy, report download."""

from __future__ import annotations

import base64
from typing import Any

import ipywidgets as w
import traitlets

from . import _results_view as view
from ._common import Panel, chart_html, message_html, readable_error

_SLIDER = {
    "min": 0.0,
    "max": 1.0,
    "step": 0.05,
    "continuous_update": False,
    "readout_format": ".2f",
    "style": {"description_width": "90px"},
    "layout": w.Layout(width="340px"),
}


class ResultsExplorer(Panel):
    """Shows a Describe-shaped ``result``. ``backend`` is needed only for Deploy (SageMaker)."""

    result: Any = traitlets.Dict(allow_none=True, default_value=None)
    cost_weight = traitlets.Float(1.0)
    latency_weight = traitlets.Float(0.5)
    throughput_weight = traitlets.Float(0.5)
    best_id = traitlets.Unicode("")
    message = traitlets.Unicode("")
    _kind = "error"  # how message is shown: "error" or "ok"

    def __init__(
        self,
        result: dict[str, Any] | None = None,
        backend: Any = None,
        *,
        show_charts: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.backend = backend
        self.show_charts = show_charts
        self.ranked: Any = None
        self.cost_slider = w.FloatSlider(description="Cost", **_SLIDER)
        self.latency_slider = w.FloatSlider(description="Latency", **_SLIDER)
        self.throughput_slider = w.FloatSlider(description="Throughput", **_SLIDER)
        self.card_html = w.HTML(view.card_html(None))
        self.table_html = w.HTML()
        self.charts_html = w.HTML()
        self.deploy_button = w.Button(
            description="Deploy this",
            icon="cloud-upload",
            button_style="primary",
            tooltip="Create a SageMaker endpoint with the recommended configuration",
        )
        self.download_html = w.HTML()
        self.message_html = w.HTML()
        sliders = w.VBox(
            [
                w.HTML(
                    "<b>What matters most?</b> <span style='color:#555'>Move a slider to re-rank "
                    "the configurations (0 = ignore, 1 = most important).</span>"
                ),
                self.cost_slider,
                self.latency_slider,
                self.throughput_slider,
            ]
        )
        self.box = w.VBox(
            [
                self.card_html,
                w.HBox([self.deploy_button, self.download_html]),
                self.message_html,
                sliders,
                self.table_html,
                self.charts_html,
            ]
        )
        self._link((self, "cost_weight"), (self.cost_slider, "value"))
        self._link((self, "latency_weight"), (self.latency_slider, "value"))
        self._link((self, "throughput_weight"), (self.throughput_slider, "value"))
        self._observe(self, self._rerank, ["cost_weight", "latency_weight", "throughput_weight"])
        self._observe(self, self._on_result, "result")
        self._observe(
            self,
            lambda c: setattr(self.message_html, "value", message_html(c["new"], self._kind)),
            "message",
        )
        self._on_click(self.deploy_button, lambda _b: self.deploy())
        self._kind = "error"
        self.result = result
        self._on_result(None)

    def _on_result(self, _change: Any) -> None:
        self.message = ""
        self.ranked = view.recommendations_frame(self.result or {})
        self._rerank(None, charts=True)
        self.deploy_button.layout.display = None if self._can_deploy() else "none"
        if self.result and self.ranked is not None and not self.ranked.empty:
            name = f"{self.result.get('JobName', 'job')}-report.html"
            data = base64.b64encode(view.report_html(self.result, self.ranked).encode()).decode()
            self.download_html.value = (
                f"<a download='{name}' href='data:text/html;base64,{data}' "
                "style='margin-left:1em;color:#0b57d0;text-decoration:underline'>Download the report (HTML)</a>"
            )
        else:
            self.download_html.value = ""
        if self.result and self.ranked.empty:
            reason = self.result.get("FailureReason") or "the job produced no recommendation"
            self.message = f"No recommendation: {reason}"

    def _rerank(self, _change: Any, charts: bool = False) -> None:
        if self.ranked is None:
            return
        self.ranked = view.rank(
            self.ranked.drop(columns=["score"], errors="ignore"),
            self.cost_weight,
            self.latency_weight,
            self.throughput_weight,
        )
        best = None if self.ranked.empty else self.ranked.iloc[0]
        self.best_id = "" if best is None else str(best.recommendation_id)
        estimate = any(
            c.get("price_is_estimate")
            for c in ((self.result or {}).get("irkit") or {}).get("configs", [])
        )
        self.card_html.value = view.card_html(best, estimate)
        self.table_html.value = view.table_html(self.ranked) if self.result else ""
        if charts and self.show_charts:
            try:
                drawn = view.charts(self.result or {}, self.ranked)
                self.charts_html.value = "".join(chart_html(c) for c in drawn)
            except Exception as exc:
                self.charts_html.value = message_html(
                    f"charts unavailable: {readable_error(exc)}", "note"
                )

    def _can_deploy(self) -> bool:
        return (
            bool(self.result)
            and getattr(self.backend, "name", None) == "sagemaker"
            and hasattr(self.backend, "deploy")
        )

    def deploy(self) -> None:
        """Deploy the top-ranked recommendation through the SageMaker backend."""
        if not self._can_deploy() or not self.best_id:
            self._kind, self.message = (
                "error",
                "Deploy needs a finished SageMaker job with a recommendation.",
            )
            return
        try:
            endpoint = self.backend.deploy(self.best_id, job=self.result.get("JobName"))
            self._kind, self.message = "ok", f"Deploying endpoint {endpoint}."
        except Exception as exc:
            self._kind, self.message = "error", f"Deploy failed: {readable_error(exc)}"
