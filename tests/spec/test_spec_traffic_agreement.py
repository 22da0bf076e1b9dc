"""The chart preview, the traffic panel and the local runner all read IR's traffic off irkit.spec.traffic.

For a PHASES spec and a STAIRS spec, each consumer gives what spec/traffic gives: the preview draws ``timeline``, the runner runs ``job_traffic`` for
``total_seconds`` (+ its margin) in ``step_windows``, and the local job writes IR's TrafficPattern
casing from the same request table as ``to_request``. A Default spec (no traffic) has no fixed
shape: the runner searches the knee, and the preview says so. No server or Locust runs here.
"""

from __future__ import annotations

import sys
import threading
from types import SimpleNamespace

import pytest

from irkit.spec import JobSpec
from irkit.spec import traffic as shapes
from irkit.spec.request import traffic_request

PHASES_SPEC = {
    "supported_instance_types": ["local.cpu1"],
    "phases": [
        {"duration_in_seconds": 45, "initial_number_of_users": 2, "spawn_rate": 2},
        {"duration_in_seconds": 30, "initial_number_of_users": 5, "spawn_rate": 7},
    ],
}
STAIRS_SPEC = {
    "supported_instance_types": ["local.cpu1"],
    "stairs": {"duration_in_seconds": 20, "number_of_steps": 3, "users_per_step": 2},
}
DEFAULT_SPEC = {"supported_instance_types": ["local.cpu1"]}
SPECS = pytest.mark.parametrize("spec_dict", [PHASES_SPEC, STAIRS_SPEC], ids=["phases", "stairs"])


@SPECS
def test_chart_preview_draws_the_spec_traffic_timeline(spec_dict):
    pytest.importorskip("altair")
    pytest.importorskip("pandas")
    from irkit.results import charts

    spec = JobSpec.from_dict(spec_dict)
    expected = [(p.seconds, p.users, p.segment) for p in shapes.timeline(shapes.job_traffic(spec))]
    for source in (spec, spec_dict):
        chart = charts.traffic_preview(source).to_dict()
        values = chart["datasets"][chart["data"]["name"]]
        assert [(v["seconds"], v["users"], v["segment"]) for v in values] == expected
    assert expected[-1][0] == shapes.total_seconds(shapes.job_traffic(spec))


@SPECS
def test_traffic_panel_points_are_the_timeline(spec_dict):
    pytest.importorskip("ipywidgets")
    from irkit.widgets.traffic import users_over_time

    spec = JobSpec.from_dict(spec_dict)
    traffic = shapes.job_traffic(spec)
    points = users_over_time(traffic.traffic_type, [p.to_dict() for p in traffic.phases],
                             traffic.stairs.to_dict() if traffic.stairs else {})
    assert points == [{"seconds": p.seconds, "users": p.users} for p in shapes.timeline(traffic)]


@SPECS
def test_runner_runs_the_spec_traffic_for_its_length(spec_dict, tmp_path):
    from irkit.backends.lifecycle import load_settings
    from irkit.load.drive import ConfigOutcome, drive_load

    spec = JobSpec.from_dict(spec_dict)
    payload = tmp_path / "sample.json"
    payload.write_text("[[0.5]]")
    settings = load_settings(spec, {"payload_path": str(payload)}, tmp_path)
    assert settings.traffic == shapes.job_traffic(spec)

    calls = []

    def fake_load(url, payload_path, content_type, traffic, **kwargs):
        calls.append((traffic, kwargs["max_seconds"]))
        steps = [{"step": w.index, "users": w.users, "start_s": w.start_s, "duration_s": w.duration_s,
                  "requests": 10, "errors": 0, "rps": 1.0 + w.index, "p95_ms": 5.0}
                 for w in shapes.step_windows(traffic)]
        return SimpleNamespace(mode="closed", warnings=[], steps=steps)

    outcome = ConfigOutcome("c", "local.cpu1", {})
    drive_load("http://127.0.0.1:1", outcome, settings, threading.Event(), None, fake_load, None)
    (traffic, max_seconds), = calls
    margin = sys.modules[drive_load.__module__].LOAD_MARGIN_S
    assert traffic == shapes.job_traffic(spec)
    assert max_seconds == pytest.approx(shapes.total_seconds(traffic) + margin)
    # the windows the runner's steps come in: the last one ends where the timeline ends
    windows = shapes.step_windows(traffic)
    assert windows[-1].end_s == shapes.timeline(traffic)[-1].seconds
    for w in windows:  # a window's users: the most the load shape had in it
        assert w.users == shapes.users_at(traffic, w.end_s - 1e-3)
    assert [s["users"] for s in outcome.steps] == [w.users for w in windows]


@pytest.mark.parametrize("spec_dict", [PHASES_SPEC, STAIRS_SPEC], ids=["phases", "stairs"])
def test_local_job_writes_the_request_tables_traffic_casing(spec_dict):
    from irkit.load.describe import input_config

    spec = JobSpec.from_dict(spec_dict)
    written = input_config(spec, {"model_path": "m.tar.gz", "payload_path": "p.tar.gz"})["TrafficPattern"]
    assert written == traffic_request(spec) == traffic_request(spec.traffic())
    cloud = JobSpec.from_dict({**spec_dict, "supported_instance_types": ["ml.c5.xlarge"], "job_name": "j",
                               "phases": [{**p, "duration_in_seconds": 120} for p in spec_dict.get("phases", ())],
                               **({"stairs": {**spec_dict["stairs"], "duration_in_seconds": 120}}
                                  if "stairs" in spec_dict else {})})
    request = cloud.to_request(model_name="m", role_arn="arn:aws:iam::123456789012:role/R")
    assert request["InputConfig"]["TrafficPattern"] == traffic_request(cloud)
    assert set(written) == set(request["InputConfig"]["TrafficPattern"])


def test_default_job_writes_no_traffic_pattern():
    from irkit.load.describe import input_config

    spec = JobSpec.from_dict(DEFAULT_SPEC)
    assert traffic_request(spec) is None
    assert "TrafficPattern" not in input_config(spec, {"model_path": "m", "payload_path": "p"})


def test_a_default_job_searches_the_knee_and_has_no_preview(tmp_path):
    from irkit.backends.lifecycle import load_settings
    from irkit.errors import SpecError

    spec = JobSpec.from_dict(DEFAULT_SPEC)
    assert shapes.job_traffic(spec) is None
    payload = tmp_path / "sample.json"
    payload.write_text("[[0.5]]")
    settings = load_settings(spec, {"payload_path": str(payload)}, tmp_path)
    assert settings.traffic is None and settings.searches_knee
    pytest.importorskip("altair")
    pytest.importorskip("pandas")
    from irkit.results import charts

    with pytest.raises(SpecError, match="knee search") as err:
        charts.traffic_preview(spec)
    assert err.value.field == "traffic"
