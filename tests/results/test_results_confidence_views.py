"""The interval, ties and measurement flags wherever MaxInvocations is shown: charts, report, CLI tables.

Each view is checked on the measured result (the knee search's fields) and on results without them
(an older local result, a SageMaker job), which must render as before.
"""

from __future__ import annotations

import json

import pytest
import vl_convert as vlc
from results_data import LOCAL_FILE, MEASURED_FILE, SAGEMAKER_FILE

from irkit.cli import main
from irkit.results import charts, report, steps_frame, to_frame
from irkit.results.charts.intervals import FLAG_COLOR
from irkit.results.ranking import recommend
from irkit.results.summary import summary_text


def _layers(spec):
    out = []
    for item in spec.get("layer") or spec.get("vconcat") or [spec]:
        out += _layers(item) if ("layer" in item or "vconcat" in item) else [item]
    return out


def _marks(spec, kind):
    return [layer for layer in _layers(spec) if (layer.get("mark") or {}).get("type") == kind]


def _data(spec, layer):
    return spec["datasets"][layer["data"]["name"]]


def test_bars_carry_error_bars_the_interval_and_the_flags(measured_result):
    ranked = recommend(to_frame(measured_result))
    spec = charts.max_invocations_bars(ranked).to_dict(validate=True)
    (whiskers,) = _marks(spec, "errorbar")
    assert whiskers["encoding"]["x"]["field"] == "max_invocations_lo"
    assert whiskers["encoding"]["x2"]["field"] == "max_invocations_hi"
    rows = {row["config"]: row for row in _data(spec, whiskers)}
    assert (rows["local.cpu1+OMP_NUM_THREADS=1"]["max_invocations_lo"],
            rows["local.cpu1+OMP_NUM_THREADS=1"]["max_invocations_hi"]) == (541, 575)
    (text,) = [m for m in _marks(spec, "text")]
    assert "558 [541-575]" in {row["max_invocations_text"] for row in _data(spec, text)}
    labels = {row["config"]: row["label"] for row in _data(spec, _marks(spec, "bar")[0])}
    assert "\u26a0 unstable" in labels["local.cpu2+OMP_NUM_THREADS=1"]
    assert "\u26a0 generator on server cores (35% CPU)" in labels["local.cpu2+OMP_NUM_THREADS=2"]
    assert "\u26a0" not in labels["local.cpu1+OMP_NUM_THREADS=1"]
    assert "whiskers: 95% interval" in json.dumps(spec["title"])


@pytest.mark.parametrize("path", [LOCAL_FILE, SAGEMAKER_FILE])
def test_charts_without_intervals_look_as_before(path):
    result = json.loads(path.read_text())
    drawn = charts.result_charts(result)
    for name, chart in drawn.items():
        spec = chart.to_dict(validate=True)
        assert not _marks(spec, "errorbar"), name
        assert FLAG_COLOR not in json.dumps(spec), name
    bars = drawn["max_invocations"].to_dict()
    assert _marks(bars, "text")[0]["encoding"]["text"]["field"] == "max_invocations"  # the bare number


def test_cost_vs_latency_has_cost_error_bars_and_flag_text(measured_result):
    spec = charts.cost_vs_latency(to_frame(measured_result)).to_dict(validate=True)
    (whiskers,) = _marks(spec, "errorbar")
    assert whiskers["encoding"]["y"]["field"] == "cost_per_million_lo"
    row = next(r for r in _data(spec, whiskers) if r["config"] == "local.cpu1+OMP_NUM_THREADS=1")
    assert row["cost_per_million_lo"] == pytest.approx(0.0425 / (575 * 60) * 1e6)
    assert row["cost_per_million_hi"] == pytest.approx(0.0425 / (541 * 60) * 1e6)
    flagged = [m for m in _marks(spec, "text") if m["mark"].get("color") == FLAG_COLOR]
    assert flagged and {r["flags"] for r in _data(spec, flagged[0])} == {
        "generator on server cores (35% CPU)", "unstable; generator on server cores (38% CPU)"}
    # the scale holds every whisker
    domain = whiskers["encoding"]["y"]["scale"]["domain"]
    assert domain[0] <= min(r["cost_per_million_lo"] for r in _data(spec, whiskers))
    assert domain[1] >= max(r["cost_per_million_hi"] for r in _data(spec, whiskers))


def test_step_curves_cross_the_levels_that_never_settled(measured_result):
    spec = charts.step_curves(steps_frame(measured_result)).to_dict(validate=True)
    crosses = [m for m in _marks(spec, "point") if m["mark"].get("shape") == "cross"]
    assert len(crosses) == 1
    assert {(r["config"], r["users"]) for r in _data(spec, crosses[0])} == {
        ("local.cpu2+OMP_NUM_THREADS=1", 2.0), ("local.cpu2+OMP_NUM_THREADS=1", 4.0),
        ("local.cpu2+OMP_NUM_THREADS=1", 3.0)}
    tips = json.dumps(spec)
    assert "measurement windows" in tips and "load generator CPU (%)" in tips


def test_measured_charts_render_offline(measured_result):
    for name, chart in charts.result_charts(measured_result).items():
        assert vlc.vegalite_to_png(chart.to_dict(), scale=1).startswith(b"\x89PNG"), name


def test_report_shows_interval_ties_and_warnings(measured_result, sagemaker_result):
    page = report.render_html(measured_result)
    body = page[page.index("<body><h1>"):]
    assert "(95% interval 541\u2013575)" in body  # the card
    assert "tied within measurement noise" in body and "lower model latency (108 ms vs 121 ms)" in body
    assert "max invocations 95% interval (requests/min)" in body and "<td>541-575</td>" in body
    assert "<td class='flag'>unstable; generator on server cores (38% CPU)</td>" in body
    assert "tied with #2" in body and "tied with #1" in body
    assert "never settled" in body and "shared the server&#x27;s cores (cores 0, 1)" in body
    plain = report.render_html(sagemaker_result)
    plain_body = plain[plain.index("<body><h1>"):]
    assert "95% interval" not in plain_body and "measurement warnings" not in plain_body
    assert "within measurement noise" not in plain_body


def test_endpoint_report_and_summary_show_the_endpoint_interval():
    result = {
        "JobName": "bench", "Status": "COMPLETED", "InferenceRecommendations": [],
        "EndpointPerformances": [{"Metrics": {"MaxInvocations": 580, "ModelLatency": 110},
                                  "EndpointInfo": {"EndpointName": "127-0-0-1-8080"}}],
        "irkit": {"backend": "local", "configs": [
            {"config_id": "endpoint", "status": "COMPLETED", "recommendation_id": None,
             "max_invocations_ci": [566, 594], "stable": False,
             "generator": {"cpu_percent": 9.0, "shares_server_cores": False, "cores": [1]}}]},
    }
    text = summary_text(result)
    assert "endpoint 127-0-0-1-8080: max invocations 580 [566-594] requests/min" in text and "(unstable)" in text
    page = report.render_html(result)
    assert "<td>566-594</td>" in page and "<td class='flag'>unstable</td>" in page


def test_summary_text_interval_notes_and_noise_lines(measured_result, local_result):
    text = summary_text(measured_result)
    lines = text.splitlines()
    assert lines[1].rstrip().endswith("notes")
    row1 = next(ln for ln in lines if ln.startswith(" 1 "))
    assert "local.cpu1 OMP_NUM_THREADS=1" in row1 and "558 [541-575]" in row1 and row1.endswith("tied with #2")
    row4 = next(ln for ln in lines if ln.startswith(" 4 "))
    assert row4.endswith("unstable; generator on server cores (38% CPU)")
    assert any(ln.startswith("noise: ") and "tied within measurement noise" in ln for ln in lines)
    assert any(ln.startswith("warning: local.cpu2+OMP_NUM_THREADS=1: unstable") for ln in lines)
    assert "recommended: local.cpu1+OMP_NUM_THREADS=1" in text
    old = summary_text(local_result)
    assert "[" not in old and "notes" not in old and "noise:" not in old


def test_cli_jobs_show_and_report_with_intervals(capsys, tmp_path):
    assert main(["jobs", "import", str(MEASURED_FILE)]) == 0
    capsys.readouterr()
    assert main(["jobs", "show", "demo-measured"]) == 0
    out = capsys.readouterr().out
    assert "558 [541-575]" in out and "tied with #1" in out and "unstable" in out
    assert "recommended: local.cpu1+OMP_NUM_THREADS=1" in out and "noise: " in out
    assert main(["report", "demo-measured", "--out", str(tmp_path), "--no-png"]) == 0
    assert "tied within measurement noise" in (tmp_path / "report.html").read_text()
