from __future__ import annotations

import json

import vl_convert as vlc

from irkit.results import charts, steps_frame, to_frame
from irkit.results.history import trend
from irkit.results.ranking import recommend
from irkit.spec import JobSpec


def _layers(spec):
    return spec.get("layer") or [c for v in spec.get("vconcat", []) for c in (v.get("layer") or [v])]


def test_cost_vs_latency_marks_front_and_recommendation(sagemaker_result):
    frame = to_frame(sagemaker_result)
    ranked = recommend(frame, cost=5, latency=1, throughput=1)
    spec = charts.cost_vs_latency(frame, ranked=ranked).to_dict(validate=True)
    assert spec["width"] <= 480
    text = json.dumps(spec)
    assert "model latency (ms)" in text and "cost per 1M inferences ($)" in text
    ring = [layer for layer in _layers(spec) if layer.get("mark", {}).get("color") == charts.RECOMMENDED_COLOR
            and layer["mark"].get("type") == "point"]
    assert len(ring) == 1
    ring_data = spec["datasets"][ring[0]["data"]["name"]]
    assert [row["config"] for row in ring_data] == [ranked["config"].iloc[0]]
    front = [layer for layer in _layers(spec) if layer.get("mark", {}).get("type") == "line"]
    assert front and "pareto" in json.dumps(front[0]["transform"])
    assert any("tooltip" in layer.get("encoding", {}) for layer in _layers(spec))


def test_bars_coloured_by_instance_type_same_colours_as_scatter(sagemaker_result):
    frame = to_frame(sagemaker_result)
    bars = charts.max_invocations_bars(frame).to_dict(validate=True)
    scatter = charts.cost_vs_latency(frame).to_dict(validate=True)
    bar_color = _layers(bars)[0]["encoding"]["color"]
    dot_color = [layer for layer in _layers(scatter) if "color" in layer.get("encoding", {})][0]["encoding"]["color"]
    assert bar_color["field"] == "instance_type"
    colours = dict(zip(bar_color["scale"]["domain"], bar_color["scale"]["range"], strict=True))
    for name, colour in zip(dot_color["scale"]["domain"], dot_color["scale"]["range"], strict=True):
        assert colours[name] == colour
    assert "max invocations (requests/min)" in json.dumps(bars)


def test_step_curves_and_threshold(local_result):
    spec = charts.step_curves(steps_frame(local_result), threshold_ms=200).to_dict(validate=True)
    text = json.dumps(spec)
    assert "concurrent users" in text and "throughput (req/s)" in text and "latency (ms)" in text
    assert '"slo": 200.0' in text


def test_traffic_preview_phases_per_minute_and_stairs():
    phases = JobSpec.from_dict({"phases": [{"duration_in_seconds": 120, "initial_number_of_users": 2,
                                            "spawn_rate": 3}]})
    spec = charts.traffic_preview(phases).to_dict(validate=True)
    values = spec["datasets"][spec["data"]["name"]]
    assert [(v["seconds"], v["users"]) for v in values] == [(0.0, 2.0), (120.0, 8.0)]  # +3 users/min
    stairs = charts.traffic_preview(JobSpec.from_dict(
        {"stairs": {"duration_in_seconds": 10, "number_of_steps": 3, "users_per_step": 2}}).traffic())
    values = stairs.to_dict()["datasets"][stairs.to_dict()["data"]["name"]]
    assert max(v["users"] for v in values) == 6 and max(v["seconds"] for v in values) == 30


def test_history_trend(sagemaker_result, local_result):
    from irkit.results.history import import_result

    import_result(local_result)
    later = json.loads(json.dumps(local_result))
    later["JobArn"] += "-2"
    later["CreationTime"] = "2024-05-04T08:00:00+00:00"
    import_result(later)
    frame = trend()
    assert len(set(frame["job_id"])) == 2
    spec = charts.history_trend(frame).to_dict(validate=True)
    assert spec["encoding"]["x"]["field"] == "created"


def test_one_png_render(local_result, tmp_path):
    png = vlc.vegalite_to_png(charts.cost_vs_latency(to_frame(local_result)).to_dict(), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
