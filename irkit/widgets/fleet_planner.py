"""FleetPlanner: "Plan your fleet" for a result: peak, SLO, headroom and an optional trace upload.

Every change re-plans with ``irkit.results.plan.plan_fleet`` (pure arithmetic: no process, no AWS
call, no network) and shows the answer's sentence, the plans table (the report's), the autoscaling
policy and the charts (``irkit.results.charts.fleet``). Replaying the trace against the plan starts
servers, so it is ``irkit plan --validate``'s job, not the panel's; the panel shows the command.
"""

from __future__ import annotations

import html
import shlex
from typing import Any

import ipywidgets as w
import traitlets

from ._common import Panel, chart_html, message_html, readable_error

PERCENTILE_CHOICES = ("P95", "P99")


def uploaded_text(value: Any) -> tuple[str, str] | None:
    """(file name, text) of a FileUpload's value (ipywidgets 8 tuple or 7 dict), None when empty."""
    items = list(value.values()) if isinstance(value, dict) else list(value or ())
    if not items:
        return None
    item = items[0]
    name = item.get("name") or (item.get("metadata") or {}).get("name") or "trace.csv"
    content = item.get("content", b"")
    data = content.tobytes() if hasattr(content, "tobytes") else bytes(content)
    return str(name), data.decode("utf-8-sig", "replace")


class FleetPlanner(Panel):
    """Plans a fleet for ``result`` (a Describe-shaped dict) at ``peak_rps`` and the SLO."""

    result: Any = traitlets.Dict(allow_none=True, default_value=None)
    peak_rps = traitlets.Float(10.0, help="peak requests per second (0 with a trace: the trace's peak)")
    percentile = traitlets.Enum(PERCENTILE_CHOICES, default_value="P95")
    slo_ms = traitlets.Float(200.0, help="latency objective in milliseconds at the percentile")
    headroom = traitlets.Float(0.25, help="share of each instance's MaxInvocations kept spare, 0-0.9")
    hours_per_month = traitlets.Float(730.0)
    trace_name = traitlets.Unicode("")
    trace_text = traitlets.Unicode("")
    message = traitlets.Unicode("")

    def __init__(self, result: dict[str, Any] | None = None, *, show_charts: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.show_charts = show_charts
        self.answer: Any = None
        style = {"description_width": "150px"}
        self.peak_input = w.BoundedFloatText(description="Peak requests/s", min=0.0, max=1e7, step=1.0,
                                             style=style, layout=w.Layout(width="280px"))
        self.percentile_input = w.Dropdown(description="SLO percentile", options=list(PERCENTILE_CHOICES),
                                           style=style, layout=w.Layout(width="280px"))
        self.slo_input = w.BoundedFloatText(description="SLO latency (ms)", min=1.0, max=1e6, step=10.0,
                                            style=style, layout=w.Layout(width="280px"))
        self.headroom_input = w.FloatSlider(description="Headroom", min=0.0, max=0.9, step=0.05,
                                            readout_format=".0%", continuous_update=False, style=style,
                                            layout=w.Layout(width="420px"))
        self.upload = w.FileUpload(accept=".csv,.json,.txt", multiple=False, description="Trace (optional)",
                                   layout=w.Layout(width="200px"))
        self.clear_button = w.Button(description="No trace", icon="times", layout=w.Layout(width="110px"))
        self.trace_label = w.HTML()
        self.card_html = w.HTML()
        self.table_html = w.HTML()
        self.charts_html = w.HTML()
        self.message_html = w.HTML()
        for control, name in ((self.peak_input, "peak_rps"), (self.percentile_input, "percentile"),
                              (self.slo_input, "slo_ms"), (self.headroom_input, "headroom")):
            self._link((self, name), (control, "value"))
        self._observe(self.upload, self._on_upload, "value")
        self._on_click(self.clear_button, self._on_clear)
        self._observe(self, self._replan, ["result", "peak_rps", "percentile", "slo_ms", "headroom",
                                           "hours_per_month", "trace_text"])
        self._observe(self, self._show_message, "message")
        self.box = w.VBox([
            w.HTML("<div style='color:#555'>How many instances serve your peak within the latency objective, "
                   "what they cost a month, and the autoscaling policy. Upload a traffic trace (requests per "
                   "second or minute, request timestamps, or a CloudWatch Invocations export) to size the "
                   "quiet hours and price autoscaling.</div>"),
            w.HBox([self.peak_input, self.percentile_input, self.slo_input]),
            self.headroom_input,
            w.HBox([self.upload, self.clear_button, self.trace_label]),
            self.message_html, self.card_html, self.table_html, self.charts_html,
        ])
        if result is not None:
            self.result = result
        else:
            self._replan()

    # ---- handlers -------------------------------------------------------------------------
    def _on_upload(self, change: Any) -> None:
        got = uploaded_text(change["new"])
        if got is not None:
            self.trace_name, self.trace_text = got

    def _on_clear(self, _button: Any = None) -> None:
        self.trace_name, self.trace_text = "", ""

    def _show_message(self, change: Any) -> None:
        self.message_html.value = message_html(change["new"])

    def _replan(self, _change: Any = None) -> None:
        from irkit.results.plan import plan_fleet
        from irkit.spec.trace import read_trace

        self.trace_label.value = (f"<span style='color:#555'>{html.escape(self.trace_name)}</span>"
                                  if self.trace_name else "")
        if not self.result:
            self.answer = None
            self.card_html.value = "<div style='color:#555'>Run a job (or load a result) to plan its fleet.</div>"
            self.table_html.value = self.charts_html.value = ""
            return
        try:
            trace = read_trace(self.trace_text, name=self.trace_name or "trace") if self.trace_text else None
            self.answer = plan_fleet(self.result, peak_rps=self.peak_rps or None, slo=(self.percentile, self.slo_ms),
                                     headroom=self.headroom, hours_per_month=self.hours_per_month, trace=trace)
        except Exception as exc:  # noqa: BLE001 - every input problem is shown, never raised into the kernel
            self.answer = None
            self.message = readable_error(exc)
            return
        self.message = ""
        self._render()

    def _render(self) -> None:
        from irkit.results.report_fleet import fleet_section

        answer = self.answer
        section, charts = fleet_section(answer, heading=False)
        self.card_html.value = ""
        self.table_html.value = section + self._command_html()
        self.charts_html.value = "".join(chart_html(c) for c in charts.values()) if self.show_charts else ""

    def _command_html(self) -> str:
        job = (self.result or {}).get("JobName") or "JOB"
        command = ["irkit", "plan", str(job), "--peak-rps", f"{self.answer.peak_rps:g}", "--slo",
                   f"{self.percentile}:{self.slo_ms:g}", "--headroom", f"{self.headroom:g}"]
        if self.trace_name:
            command += ["--trace", self.trace_name, "--validate"]
        return (f"<div style='color:#555;font-size:0.9em'>From a terminal, with the SageMaker policy beside irkit's "
                f"and a trace replay against the plan: <code>{html.escape(shlex.join(command))}</code></div>")
