"""Charts and the report's "Plan your fleet" section over plans and replays (no process runs)."""

from __future__ import annotations

import json

from irkit.backends.local.validate import MODE_SHARE, Validation
from irkit.load.replay import summarize_replay
from irkit.results.charts.fleet import fleet_charts, plan_costs, replay_timeline, trace_capacity
from irkit.results.plan import plan_fleet
from irkit.results.report import render_html, write_report

TRACE = "minute,requests\n0,300\n1,1200\n2,2400\n3,600\n"


def _layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def _steps():
    steps = []
    for i in range(8):  # 30 s of trace each: minutes 0-3; the burst in minute 2
        burst = i in (4, 5)
        steps.append({"step": i, "start_s": i * 0.5, "duration_s": 0.5, "target_rps": 30 if burst else 10,
                      "sent": 15 if burst else 5, "requests": 10 if burst else 5, "errors": 0,
                      "goodput_rps": 4 if burst else 10, "p95_ms": 450 if burst else 60, "late": 0, "dropped": 0,
                      "trace_s": i * 30})
    return steps


def test_plan_costs_marks_the_best_and_the_slo(local_result):
    answer = plan_fleet(local_result, peak_rps=50, slo="P95:150")
    spec = plan_costs(answer).to_dict()  # validates against the Vega-Lite schema
    texts = json.dumps(spec)
    assert "best: 3 x" in texts and '"slo": 150.0' in texts
    assert "Cost per month for 50 req/s" in texts


def test_plan_costs_says_closest_when_nothing_meets(local_result):
    answer = plan_fleet(local_result, peak_rps=50, slo="P95:100")
    assert "closest (misses the SLO)" in json.dumps(plan_costs(answer).to_dict())


def test_trace_capacity_draws_the_fleets_lines(local_result):
    answer = plan_fleet(local_result, slo="P95:200", trace=TRACE)
    chart = trace_capacity(answer.loaded_trace, answer.chosen)
    text = json.dumps(chart.to_dict())
    assert "capacity: " in text and "target: " in text and "peak 40 req/s" in text
    assert set(fleet_charts(answer)) == {"plan_costs", "trace_capacity"}


def test_replay_timeline_shades_the_broken_minutes():
    report = summarize_replay(_steps(), slo_ms=200)
    assert report.violated_minutes == [2]
    spec = replay_timeline(report).to_dict()
    assert len(spec["vconcat"]) == 2
    text = json.dumps(spec)
    assert "broken in 1 minute(s)" in text and '"start": 2.0' not in text  # seconds axis: minute 2 = 120 s
    assert '"start": 120.0' in text


def test_report_has_a_plan_your_fleet_section(local_result, tmp_path):
    answer = plan_fleet(local_result, slo="P95:200", trace=TRACE)
    report = summarize_replay(_steps(), slo_ms=200)
    validation = Validation("local.cpu1", "r", 1, MODE_SHARE, 1, 1.0, 60.0, report,
                            {"over_capacity": [2], "over_target": [2], "queueing": [2]})
    path = write_report(local_result, tmp_path, plan=answer, validation=validation)
    page = path.read_text()
    assert "<h2>Plan your fleet</h2>" in page and "<td>best</td>" in page
    assert "target tracking on SageMakerVariantInvocationsPerInstance" in page
    assert "Trace replay: the SLO NOT held" in page
    for name in ("plan_costs", "trace_capacity", "replay_timeline"):
        assert f"id='chart-{name}'" in page and (tmp_path / f"{name}.png").stat().st_size > 0


def test_report_without_a_plan_says_how_to_get_one(local_result):
    page = render_html(local_result)
    assert "<h2>Plan your fleet</h2>" in page and "irkit plan JOB --peak-rps R" in page
    assert "chart-plan_costs" not in page


def test_a_trace_jobs_own_replay_is_shown(local_result, capsys, tmp_path):
    """A traffic_type: TRACE job's steps carry trace_s and threshold_ms: the report and irkit plan show the replay."""
    from irkit.cli import main
    from irkit.load.replay import job_replays

    steps = [{**s, "config_id": "local.cpu1", "threshold_ms": 200} for s in _steps()]
    result = {**local_result, "irkit": {**local_result["irkit"], "steps": steps}}
    replays = job_replays(result)
    assert list(replays) == ["local.cpu1"] and replays["local.cpu1"].violated_minutes == [2]
    page = render_html(result)
    assert "<h2>Trace replay</h2>" in page and "id='chart-job_replay_0'" in page
    path = tmp_path / "trace-job.json"
    path.write_text(json.dumps(result))
    main(["plan", str(path), "--peak-rps", "10", "--slo", "P95:200"])
    assert "the job replayed a trace on local.cpu1" in capsys.readouterr().out
