"""irkit.spec.trace: reading traces in each form, scaling and compressing them, even send times, the spec key."""

from __future__ import annotations

import json

import pytest

from irkit.errors import SpecError
from irkit.spec import JobSpec
from irkit.spec.trace import (
    FORM_CLOUDWATCH,
    FORM_COUNTS,
    FORM_TIMESTAMPS,
    Trace,
    TraceSettings,
    even_send_times,
    read_trace,
    replay_plan,
)


def test_per_second_counts_with_and_without_header():
    assert read_trace("second,requests\n0,10\n1,20\n3,5\n").rates == (10, 20, 0, 5)  # second 2 is missing: 0
    plain = read_trace("5\n6\n7\n")
    assert (plain.rates, plain.bin_s, plain.form) == ((5, 6, 7), 1.0, FORM_COUNTS)


def test_per_minute_counts():
    by_header = read_trace("minute,requests\n0,600\n1,1200\n")
    assert (by_header.rates, by_header.bin_s) == ((10, 20), 60.0)
    counts_only = read_trace("requests_per_minute\n600\n1200\n")
    assert (counts_only.rates, counts_only.bin_s) == ((10, 20), 60.0)
    told = read_trace("requests\n600\n1200\n", bin_seconds=60)
    assert told.rates == (10, 20) and told.per_minute() == [600, 1200]


def test_cloudwatch_csv_unsorted_iso_times_with_a_gap():
    text = ("Timestamp,Sum\n2026-01-02T03:05:00Z,600\n2026-01-02T03:04:00Z,1200\n"
            "2026-01-02T03:07:00Z,60\n")
    trace = read_trace(text)
    assert trace.bin_s == 60 and trace.rates == (20, 10, 0, 1)
    assert trace.start == "2026-01-02T03:04:00Z" and trace.per_minute() == [1200, 600, 0, 60]


def test_cloudwatch_json_exports():
    stats = {"Label": "Invocations", "Datapoints": [
        {"Timestamp": "2026-01-02T03:05:00+00:00", "Sum": 120.0, "Unit": "None"},
        {"Timestamp": "2026-01-02T03:04:00+00:00", "Sum": 60.0, "Unit": "None"}]}
    trace = read_trace(json.dumps(stats))
    assert (trace.form, trace.bin_s, trace.rates) == (FORM_CLOUDWATCH, 60.0, (1.0, 2.0))
    data = {"MetricDataResults": [{"Id": "m1", "Timestamps": ["2026-01-02T03:04:00Z", "2026-01-02T03:05:00Z"],
                                   "Values": [300, 600]}]}
    assert read_trace(json.dumps(data)).rates == (5, 10)


def test_request_timestamps_are_binned_per_second():
    trace = read_trace("timestamp\n100.1\n100.5\n101.2\n103.9\n")
    assert (trace.form, trace.rates) == (FORM_TIMESTAMPS, (2, 1, 0, 1))
    iso = read_trace("timestamp\n2026-01-02T03:04:00.2Z\n2026-01-02T03:04:00.9Z\n2026-01-02T03:04:01.5Z\n")
    assert iso.rates == (2, 1)


def test_files_and_their_errors_name_file_and_line(tmp_path):
    good = tmp_path / "t.csv"
    good.write_text("second,requests\n0,3\n1,4\n")
    assert read_trace(good).total_requests == 7
    bad = tmp_path / "bad.csv"
    bad.write_text("second,requests\n0,3\n1,lots\n")
    with pytest.raises(SpecError, match=r"bad\.csv:3: request count 'lots'"):
        read_trace(bad)
    with pytest.raises(SpecError, match="trace file not found"):
        read_trace(tmp_path / "missing.csv")
    zero = tmp_path / "zero.csv"
    zero.write_text("requests\n0\n0\n")
    with pytest.raises(SpecError, match="no request"):
        read_trace(zero)
    with pytest.raises(SpecError, match="trace:2: .yesterday. is neither seconds"):
        read_trace("timestamp,requests\nyesterday,3\n")
    with pytest.raises(SpecError, match="CloudWatch"):
        read_trace('{"foo": 1}')


def test_scale_compress_and_resample():
    trace = Trace((10, 20, 30, 40), 1.0)
    plan = replay_plan(trace, time_scale=2, rate_scale=0.5)
    assert plan.rates == (5, 10, 15, 20) and plan.window_s == 0.5 and plan.trace_bin_s == 1.0
    assert plan.open_loop().to_dict() == {"rates_per_second": [5, 10, 15, 20], "duration_in_seconds": 0.5}
    assert plan.load_config() == {"arrivals": "even", "time_scale": 2.0}
    assert trace.resampled(2).rates == (15, 35)
    long = replay_plan(Trace((1.0,) * 100, 1.0), max_windows=30)
    assert len(long.rates) == 25 and long.window_s == 4 and long.notes
    with pytest.raises(SpecError, match="time_scale"):
        replay_plan(trace, time_scale=0)


def test_even_send_times_follow_the_counts_and_carry_fractions():
    sends = list(even_send_times([4, 2, 0, 1], 1.0))
    assert [w for _, w in sends] == [0, 0, 0, 0, 1, 1, 3]
    assert [t for t, _ in sends][:4] == [0.125, 0.375, 0.625, 0.875]
    halves = list(even_send_times([0.5] * 4, 1.0))  # one request every two windows
    assert halves == [(1.0, 1), (3.0, 3)]
    both = sorted(list(even_send_times([4, 2], 1.0, 2, 0)) + list(even_send_times([4, 2], 1.0, 2, 1)))
    assert both == list(even_send_times([4, 2], 1.0))  # two generators share the schedule exactly


def test_minutes_above():
    trace = read_trace("minute,requests\n0,100\n1,900\n2,300\n")
    assert trace.minutes_above(250) == [1, 2] and trace.minutes_above(250, rate_scale=0.5) == [1]


def test_spec_traffic_type_trace(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("second,requests\n0,3\n1,4\n")
    spec = JobSpec.from_dict({"supported_instance_types": ["local.cpu1"],
                              "trace": {"path": str(path), "time_scale": 2}})
    assert spec.traffic_type == "TRACE" and spec.trace == TraceSettings(str(path), 2.0)
    assert spec.validate("local") is spec
    assert JobSpec.from_dict(spec.to_dict()) == spec
    assert spec.trace.plan().window_s == 0.5
    with pytest.raises(SpecError) as err:
        spec.validate("sagemaker")
    assert err.value.field == "trace"
    with pytest.raises(SpecError, match="needs a trace block"):
        JobSpec.from_dict({"traffic_type": "TRACE"})
    with pytest.raises(SpecError) as err:
        JobSpec.from_dict({"trace": str(path), "stairs": {"duration_in_seconds": 5, "number_of_steps": 2,
                                                          "users_per_step": 1}})
    assert err.value.field == "traffic_type"
    with pytest.raises(SpecError) as err:
        JobSpec.from_dict({"trace": {"path": str(path), "speed": 3}})
    assert err.value.field == "trace.speed"
    missing = JobSpec.from_dict({"supported_instance_types": ["local.cpu1"], "trace": str(tmp_path / "no.csv")})
    with pytest.raises(SpecError) as err:
        missing.validate("local")
    assert err.value.field == "trace.path" and "not found" in str(err.value)
