"""ResultsExplorer: importance sliders re-rank live; recommendation card, charts, Deploy, report download."""

from __future__ import annotations

import base64
import html
import threading
from typing import Any

import ipywidgets as w
import traitlets

from irkit.results.ranking import DEFAULT_IMPORTANCES, IMPORTANCE_LEVELS

from . import _results_view as view
from ._common import Panel, chart_html, message_html, readable_error


def _slider(description: str) -> w.IntSlider:
    """An importance slider (1-5) with its own Layout: a shared Layout model would tie their display."""
    return w.IntSlider(
        description=description,
        min=IMPORTANCE_LEVELS[0],
        max=IMPORTANCE_LEVELS[-1],
        step=1,
        continuous_update=False,
        style={"description_width": "90px"},
        layout=w.Layout(width="340px"),
    )


class ResultsExplorer(Panel):
    """Shows a Describe-shaped ``result``. Importances are 1-5 as in ``irkit.results.ranking``.

    The pick is ``ranking.recommend``'s (``DEFAULT_IMPORTANCES`` until a slider moves), and the card
    names the importances it was ranked with.

    ``backend`` is needed only for Deploy, which is offered for SageMaker results.
    """

    result: Any = traitlets.Dict(allow_none=True, default_value=None)
    cost_weight = traitlets.Int(DEFAULT_IMPORTANCES["cost"])
    latency_weight = traitlets.Int(DEFAULT_IMPORTANCES["latency"])
    throughput_weight = traitlets.Int(DEFAULT_IMPORTANCES["throughput"])
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
        self.cost_slider = _slider("Low cost")
        self.latency_slider = _slider("Low latency")
        self.throughput_slider = _slider("Throughput")
        self.card_html = w.HTML(view.card_html(None))
        self.table_html = w.HTML()
        self.charts_html = w.HTML()
        self.deploy_button = w.Button(
            description="Deploy this",
            icon="cloud-upload",
            button_style="primary",
            tooltip="Create a SageMaker endpoint with the recommended configuration",
        )
        self.report_button = w.Button(
            description="Make the report",
            icon="file",
            tooltip="Build a self-contained HTML report with the current ranking",
        )
        self.download_html = w.HTML()
        self.message_html = w.HTML()
        self.sliders = w.VBox(
            [
                w.HTML(
                    "<b>What matters most?</b> <span style='color:#555'>Move a slider to re-rank the "
                    "configurations (1 = matters little, 5 = matters most).</span>"
                ),
                self.cost_slider,
                self.latency_slider,
                self.throughput_slider,
            ]
        )
        self.actions = w.HBox([self.deploy_button, self.report_button, self.download_html])
        self.box = w.VBox(
            [
                self.card_html,
                self.actions,
                self.message_html,
                self.sliders,
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
        self._on_click(self.report_button, lambda _b: self.make_report(background=True))
        self.result = result
        self._on_result(None)

    def _on_result(self, _change: Any) -> None:
        self._kind, self.message = "error", ""
        self.download_html.value = ""
        has_result = bool(self.result)
        for part in (self.actions, self.sliders):
            part.layout.display = None if has_result else "none"
        self.deploy_button.layout.display = None if self._can_deploy() else "none"
        self._rerank(None, charts=True)
        if has_result and (self.ranked is None or self.ranked.empty):
            reason = (
                self.result.get("FailureReason")
                or "no configuration met the latency threshold or finished"
            )
            self.message = f"No recommendation: {reason}"

    def _rerank(self, _change: Any, charts: bool = False) -> None:
        self.download_html.value = ""  # a report made before no longer matches the ranking
        try:
            self.ranked = (
                view.ranked_frame(
                    self.result, self.cost_weight, self.latency_weight, self.throughput_weight
                )
                if self.result
                else None
            )
        except Exception as exc:
            self.ranked = None
            self._kind, self.message = "error", f"Cannot rank this result: {readable_error(exc)}"
        ranked = self.ranked
        self.best_id = (
            "" if ranked is None or ranked.empty else str(ranked.iloc[0]["recommendation_id"])
        )
        self.card_html.value = view.card_html(ranked, self.importances)
        self.table_html.value = view.table_html(ranked) if self.result else ""
        if self.show_charts and self.result:
            try:  # the charts mark the recommended row, so they follow the ranking
                self.charts_html.value = "".join(
                    chart_html(c) for c in view.charts(self.result, ranked)
                )
            except Exception as exc:
                self.charts_html.value = message_html(
                    f"charts unavailable: {readable_error(exc)}", "note"
                )
        elif not self.result:
            self.charts_html.value = ""

    @property
    def importances(self) -> dict[str, int]:
        """The importances the sliders set: ``{"cost": 3, "latency": 3, "throughput": 3}``."""
        return {"cost": self.cost_weight, "latency": self.latency_weight, "throughput": self.throughput_weight}

    def make_report(self, background: bool = False) -> None:
        """Build the HTML report (irkit.results.report) and offer it as a download link."""
        if not self.result:
            return
        if background:
            threading.Thread(target=self.make_report, daemon=True).start()
            return
        self.report_button.disabled = True
        self.download_html.value = "<span style='color:#555'>building the report...</span>"
        try:
            page = view.report_html(
                self.result, self.cost_weight, self.latency_weight, self.throughput_weight
            )
            name = html.escape(f"{self.result.get('JobName', 'job')}-report.html")
            data = base64.b64encode(page.encode()).decode()
            self.download_html.value = (
                f"<a download='{name}' href='data:text/html;base64,{data}' "
                "style='margin-left:1em;color:#0b57d0;text-decoration:underline'>"
                f"Save {name}</a>"
            )
        except Exception as exc:
            self.download_html.value = ""
            self._kind, self.message = "error", f"Report failed: {readable_error(exc)}"
        finally:
            self.report_button.disabled = False

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
