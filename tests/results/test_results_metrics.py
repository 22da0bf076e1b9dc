"""One record per metric, and the modules that show or judge a metric read it."""

from __future__ import annotations

import copy
import json
import math

import pytest

import irkit.results as R
from irkit.results import charts
from irkit.results.compare import regressions
from irkit.results.metrics import (
    COST_PER_HOUR,
    COST_PER_MILLION,
    DESCRIBE_METRICS,
    MAX_INVOCATIONS,
    METRICS,
    MODEL_LATENCY_MS,
    MetricError,
    add_derived,
    metric,
)
from irkit.results.ranking import GOAL_METRICS, OBJECTIVES, rank
from irkit.results.report import render_html
from irkit.results.summary import summary_text


def test_every_describe_metric_is_a_frame_column(sagemaker_result):
    frame = R.to_frame(sagemaker_result)
    keys = {m.describe_key for m in DESCRIBE_METRICS}
    assert keys == {"CostPerHour", "CostPerInference", "MaxInvocations", "ModelLatency", "CpuUtilization",
                    "MemoryUtilization", "ModelSetupTime"}
    rec = sagemaker_result["InferenceRecommendations"][0]
    row = frame.set_index(R.RECOMMENDATION_ID).loc[rec["RecommendationId"]]
    for m in DESCRIBE_METRICS:
        assert m.column in frame.columns and frame[m.column].dtype == "float64"
        if m.describe_key in rec["Metrics"]:
            assert row[m.column] == pytest.approx(rec["Metrics"][m.describe_key])
    # the steps frame's metrics have records too
    assert {R.RPS, R.GOODPUT_RPS, R.P50_MS, R.P99_MS, R.ERROR_RATE} <= set(METRICS)


def test_format_units_and_unknown_names():
    assert metric(MAX_INVOCATIONS).format(1396.4) == "1,396"
    assert metric(MAX_INVOCATIONS).with_unit(1396.4) == "1,396 requests/min"
    assert metric(COST_PER_HOUR).with_unit(0.085) == "$0.0850/hour"
    assert metric(R.CPU_UTILIZATION).with_unit(98.6) == "99%"
    assert metric(MODEL_LATENCY_MS).format(float("nan")) == "-" and metric(MODEL_LATENCY_MS).format(None) == "-"
    assert metric(MODEL_LATENCY_MS).title == "model latency (ms)"
    with pytest.raises(MetricError, match="'latency'"):
        metric("latency")
    frame = add_derived(R.to_frame({"InferenceRecommendations": [
        {"Metrics": {"CostPerInference": 2e-6}, "EndpointConfiguration": {"InstanceType": "ml.c5.large"}}]}))
    assert frame[COST_PER_MILLION].iloc[0] == pytest.approx(2.0)


def test_ranking_reads_the_direction_from_the_records(monkeypatch):
    assert OBJECTIVES == {c: metric(c).higher_is_better for c in GOAL_METRICS.values()}
    frame = R.to_frame({"InferenceRecommendations": [
        {"RecommendationId": rid, "Metrics": {"CostPerInference": 1.0, "ModelLatency": 10, "MaxInvocations": rpm},
         "EndpointConfiguration": {"InstanceType": f"ml.{rid}"}} for rid, rpm in (("a", 100), ("b", 900))]})
    assert rank(frame, cost=1, latency=1, throughput=5)[R.CONFIG].iloc[0] == "ml.b"
    monkeypatch.setitem(OBJECTIVES, MAX_INVOCATIONS, False)  # flip the record's direction: the pick flips
    assert rank(frame, cost=1, latency=1, throughput=5)[R.CONFIG].iloc[0] == "ml.a"


def test_compare_reports_in_the_records_words(sagemaker_result):
    current = copy.deepcopy(sagemaker_result)
    ms = current["InferenceRecommendations"][0]["Metrics"]["ModelLatency"]
    current["InferenceRecommendations"][0]["Metrics"]["ModelLatency"] = ms * 2
    (found,) = regressions(sagemaker_result, current, 10)
    lat = metric(MODEL_LATENCY_MS)
    assert found.metric == MODEL_LATENCY_MS
    assert f"{lat.label} rose 100.0% ({lat.format(ms)} -> {lat.format(ms * 2)} {lat.unit})" in found.message


def test_charts_report_and_summary_use_the_records(sagemaker_result, local_result):
    spec = json.dumps(charts.cost_vs_latency(R.to_frame(sagemaker_result)).to_dict())
    for column in (MODEL_LATENCY_MS, COST_PER_MILLION, MAX_INVOCATIONS, COST_PER_HOUR):
        assert metric(column).title in spec
    assert metric(MAX_INVOCATIONS).fmt in spec
    page = render_html(sagemaker_result)
    for column in (COST_PER_HOUR, COST_PER_MILLION, MAX_INVOCATIONS, MODEL_LATENCY_MS):
        assert f"<th>{metric(column).title}</th>" in page
    text = summary_text(local_result)
    header = next(line for line in text.splitlines() if "configuration" in line)
    for column in (MAX_INVOCATIONS, MODEL_LATENCY_MS, COST_PER_HOUR, COST_PER_MILLION):
        assert metric(column).header in header
    best = R.to_frame(local_result).set_index(R.CONFIG).loc["local.cpu2+OMP_NUM_THREADS=2"]
    assert metric(MAX_INVOCATIONS).format(best[MAX_INVOCATIONS]) in text
    assert not math.isnan(best[MAX_INVOCATIONS])
