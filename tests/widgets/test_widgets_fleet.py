"""FleetPlanner without a browser: set values, upload a trace, read the plan it shows."""

from __future__ import annotations

import datetime as dt

from widget_fakes import fake_result

from irkit.widgets import FleetPlanner, RightSizeApp


def upload(name: str, data: bytes) -> tuple[dict, ...]:
    """A FileUpload value as ipywidgets 8 makes it."""
    return ({"name": name, "type": "text/csv", "size": len(data), "content": memoryview(data),
             "last_modified": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)},)


RESULT = fake_result("fleet-job", [("local.cpu1", 0.05, 600, 80), ("local.cpu2", 0.1, 1200, 150)])


def test_the_plan_follows_peak_slo_and_headroom():
    panel = FleetPlanner(RESULT, show_charts=False)
    panel.peak_input.value = 30  # 1800/min: cpu1 450/min -> 4 x .05 = .2; cpu2 900 -> 2 x .1 = .2
    panel.slo_input.value = 100
    best = panel.answer.plans[panel.answer.best]
    assert best.instance_type == "local.cpu1" and best.instances == 4
    assert "best: 4 x local.cpu1" in panel.table_html.value
    panel.headroom_input.value = 0.5  # 1800 / 300 = 6 instances
    assert panel.answer.plans[panel.answer.best].instances == 6
    panel.slo_input.value = 50
    assert panel.answer.best is None and "no configuration meets P95 &lt;= 50 ms" in panel.table_html.value
    assert "irkit plan fleet-job --peak-rps 30 --slo P95:50" in panel.table_html.value
    panel.close()


def test_a_trace_upload_sets_peak_min_capacity_and_the_charts():
    panel = FleetPlanner(RESULT)
    panel.peak_input.value = 0  # with a trace: its peak
    panel.upload.value = upload("day.csv", b"minute,requests\n0,300\n1,1800\n2,600\n")
    assert panel.trace_name == "day.csv" and panel.answer.peak_rps == 30
    best = panel.answer.plans[panel.answer.best]
    assert best.cost_per_month_autoscaled is not None and best.min_capacity == 1
    assert "chart" in panel.charts_html.value and "<svg" in panel.charts_html.value
    assert "--trace day.csv --validate" in panel.table_html.value
    panel.clear_button.click()
    assert panel.trace_text == "" and panel.message  # no peak and no trace: the panel says so
    assert "--peak-rps" in panel.message_html.value
    panel.close()


def test_a_bad_trace_is_a_message_not_an_exception():
    panel = FleetPlanner(RESULT, show_charts=False)
    panel.upload.value = upload("bad.csv", b"x\nlots\n")
    assert "bad.csv" in panel.message_html.value
    panel.close()


def test_the_app_plans_the_result_it_just_got(tmp_path):
    app = RightSizeApp("local", workdir=tmp_path, instance_types=["local.cpu1"])
    app.job.result = RESULT
    assert app.fleet.result == RESULT and app.fleet.answer is not None
    app.close()
