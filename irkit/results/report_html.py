"""HTML pieces of the report: the page shell, the recommendation card, tables. Pure string building.

Numbers are formatted by their metric's record (``irkit.results.metrics``), so a table cell, the card
and the CLI show a metric the same way.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from irkit.results.confidence import MAX_INVOCATIONS_HI, MAX_INVOCATIONS_LO, flags, format_interval
from irkit.results.metrics import (
    COST_PER_HOUR,
    COST_PER_MILLION,
    MAX_INVOCATIONS,
    METRICS,
    MODEL_LATENCY_MS,
    derived_value,
    metric,
)
from irkit.results.ranking import importance_text

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 1.5em auto;
       max-width: 980px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.meta { color: #555; font-size: 0.9em; }
.card { border: 2px solid #1b5e20; background: #f1f8e9; border-radius: 6px; padding: 0.8em 1em; }
.card .pick { font-size: 1.35em; font-weight: bold; }
.card.none { border-color: #999; background: #f5f5f5; }
.notes li { margin: 0.2em 0; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.first { background: #e8f5e9; font-weight: bold; }
.chart { margin: 0.5em 0 1em; }
.flag { color: #b35806; }
.card .tie, .card .flag { margin-top: 0.4em; }
"""


def _fmt(value: Any, column: str) -> tuple[str, bool]:
    """(text, is_number) for one table cell; a metric column uses its record's format."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-", False
    if isinstance(value, bool) or str(value) in ("True", "False"):
        return ("yes" if str(value) == "True" else "no"), False
    if isinstance(value, str) or not hasattr(value, "__float__"):
        return html.escape(str(value)), False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value)), False
    if math.isnan(number):
        return "-", False
    if column in METRICS:
        return METRICS[column].format(number), True
    if number == int(number):
        return f"{int(number):,}", True
    return f"{number:,.1f}", True


def table(frame: Any, columns: Mapping[str, str], *, highlight_first: bool = False,
          classes: Mapping[str, str] | None = None) -> str:
    """An HTML table of ``frame``'s ``columns`` (name -> header); missing columns are skipped.

    ``classes``: column -> CSS class of its cells (``flag`` for warnings).
    """
    classes = classes or {}
    shown = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{html.escape(columns[c])}</th>" for c in shown)
    rows = []
    for i, record in enumerate(frame[shown].to_dict("records")):
        cells = []
        for column in shown:
            text, numeric = _fmt(record[column], column)
            css = " ".join(c for c in ("num" if numeric else "", classes.get(column, "")) if c)
            cells.append(f"<td class='{css}'>{text}</td>" if css else f"<td>{text}</td>")
        css = " class='first'" if highlight_first and i == 0 else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def recommendation_card(rec: Mapping[str, Any] | None, importance: Mapping[str, int],
                        ties: Sequence[str] = ()) -> str:
    """The recommendation in one sentence, with the importances it was ranked with.

    With the quality columns: MaxInvocations' 95% interval and the pick's measurement warnings;
    ``ties``: sentences about the configurations tied with it within measurement noise.
    """
    ranked_with = html.escape(importance_text(importance))
    if rec is None:
        return ("<div class='card none'><div>Recommendation</div><div class='pick'>none</div>"
                "<div>No configuration produced a usable recommendation "
                f"(ranked with {ranked_with}).</div></div>")
    tput, lat, cph, cpm = (metric(c) for c in (MAX_INVOCATIONS, MODEL_LATENCY_MS, COST_PER_HOUR, COST_PER_MILLION))
    span = format_interval(rec.get(MAX_INVOCATIONS_LO), rec.get(MAX_INVOCATIONS_HI), tput.fmt, "\u2013")
    span_text = f" (95% interval {span})" if span else ""
    extras = "".join(f"<div class='flag'>&#9888; {html.escape(flag)}</div>" for flag in flags(rec))
    extras += "".join(f"<div class='tie'>&#8776; {html.escape(tie)}</div>" for tie in ties)
    return (
        f"<div class='card'><div>Recommendation (ranked with {ranked_with})</div>"
        f"<div class='pick'>{html.escape(str(rec.get('config')))}</div>"
        f"<div>Serves up to <b>{tput.with_unit(rec.get(MAX_INVOCATIONS))}</b>{span_text} "
        f"at <b>{lat.with_unit(rec.get(MODEL_LATENCY_MS))}</b> {lat.label}, "
        f"for <b>{cph.with_unit(rec.get(COST_PER_HOUR))}</b> "
        f"({cpm.with_unit(derived_value(rec, COST_PER_MILLION))} per million inferences).</div>"
        f"{extras}<div class='meta'>RecommendationId: {html.escape(str(rec.get('recommendation_id')))}</div></div>"
    )


def page(result: Mapping[str, Any], body: str, bundle: str, embed: str) -> str:
    """The whole page: head with the inlined Vega bundle, job header, body, chart embedding."""
    name = html.escape(str(result.get("JobName", "job")))
    extra = result.get("irkit") or {}
    backend = extra.get("backend") or ("local" if str(result.get("JobArn", "")).startswith("arn:irkit") else "sagemaker")
    meta = " · ".join(html.escape(str(x)) for x in (
        f"status {result.get('Status', '?')}", f"backend {backend}", f"type {result.get('JobType', '?')}",
        f"created {result.get('CreationTime', '?')}",
    ))
    # JSON inside <script>: "</" would end the tag early
    safe_bundle = bundle.replace("</script", "<\\/script")
    safe_embed = embed.replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>irkit report: {name}</title>"
        f"<style>{_CSS}</style>\n<script>\n{safe_bundle}\n</script></head>\n<body>"
        f"<h1>Right-size report: {name}</h1><div class='meta'>{meta}</div>\n{body}\n"
        f"<script>\n{safe_embed}\n</script>\n<p class='meta'>Made by irkit.</p></body></html>\n"
    )
