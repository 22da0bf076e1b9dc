"""Trace replay (irkit.load.replay) for real: Locust in open loop against capacity servers on 127.0.0.1."""

from __future__ import annotations

import pytest
from helpers_process import marked

from irkit.load.replay import replay_trace, summarize_replay
from irkit.serve.capacity import CapacityServer
from irkit.spec.trace import read_trace, replay_plan

COUNTS = [20, 40, 10, 30, 25, 0, 50, 20]  # requests per second


@pytest.mark.slow
def test_replay_sends_the_traces_per_second_counts(payload, mark):
    trace = read_trace("second,requests\n" + "\n".join(f"{i},{c}" for i, c in enumerate(COUNTS)))
    with CapacityServer(slots=8, service_ms=5) as server:  # 1600 req/s: never the bottleneck
        report = replay_trace(server.url, payload, "application/json", replay_plan(trace), slo_ms=100)
        served = server.served
    assert [w["expected"] for w in report.windows] == COUNTS
    for window, count in zip(report.windows, COUNTS, strict=True):
        assert window["sent"] == count  # the generator sends exactly what the trace says
        assert abs(window["requests"] - count) <= max(1, 0.02 * count)  # answered within 2% (or one request)
    total = sum(COUNTS)
    assert report.totals["sent"] == total and served == total
    assert report.totals["achieved_ratio"] == pytest.approx(1.0, abs=0.02)
    assert report.totals["dropped"] == 0 and report.held
    assert report.minutes[0]["minute"] == 0 and report.minutes[0]["held"]
    assert not marked(mark)


@pytest.mark.slow
def test_a_compressed_per_minute_trace_keeps_its_rates(payload, mark):
    trace = read_trace("minute,requests\n0,600\n1,1200\n2,300\n")  # 10, 20, 5 req/s
    plan = replay_plan(trace, time_scale=30)  # each minute plays in 2 s
    with CapacityServer(slots=4, service_ms=5) as server:
        report = replay_trace(server.url, payload, "application/json", plan, slo_ms=100)
    assert [m["minute"] for m in report.minutes] == [0, 1, 2]
    assert [m["target_rpm"] for m in report.minutes] == pytest.approx([600, 1200, 300])
    for minute in report.minutes:
        assert minute["achieved_rpm"] == pytest.approx(minute["target_rpm"], rel=0.05)
    assert report.totals["sent"] == 70  # 2 s x (10 + 20 + 5)
    assert [w["trace_s"] for w in report.windows] == [0, 60, 120]


def test_summary_counts_violations_per_trace_minute():
    steps = [  # two trace minutes of two windows each (time_scale 30: 1 s windows = 30 s of trace)
        {"step": 0, "start_s": 0, "duration_s": 1, "target_rps": 10, "sent": 10, "requests": 10, "errors": 0,
         "goodput_rps": 10, "p95_ms": 20, "late": 0, "dropped": 0},
        {"step": 1, "start_s": 1, "duration_s": 1, "target_rps": 10, "sent": 10, "requests": 10, "errors": 0,
         "goodput_rps": 10, "p95_ms": 30, "late": 0, "dropped": 0},
        {"step": 2, "start_s": 2, "duration_s": 1, "target_rps": 20, "sent": 20, "requests": 18, "errors": 1,
         "goodput_rps": 12, "p95_ms": 400, "late": 3, "dropped": 0},
        {"step": 3, "start_s": 3, "duration_s": 1, "target_rps": 20, "sent": 20, "requests": 20, "errors": 0,
         "goodput_rps": 20, "p95_ms": 90, "late": 0, "dropped": 0},
    ]
    report = summarize_replay(steps, slo_ms=100, time_scale=30)
    first, second = report.minutes
    assert first["held"] and first["violations"] == 0 and first["target_rpm"] == 600
    assert second["violations"] == 6 and second["violation_share"] == pytest.approx(6 / 38, abs=1e-4)
    assert not second["held"] and report.violated_minutes == [1] and not report.held
    assert second["worst_p95_ms"] == 400 and report.totals["late"] == 3
    assert "broken in 1 of 2 trace minute(s): minute 1" in report.text()
    assert report.to_dict()["held"] is False
