"""benchmark_endpoint against moto's server: describe, pre-flight, Locust's boto3 users, result schema."""

from __future__ import annotations

import json

import pytest
from endpoint_helpers import (
    canned_results,
    marked_processes,
    runtime_backend,
    runtime_requests,
    spec_dict,
)

from irkit.backends.sagemaker.endpoint_bench import benchmark_endpoint
from irkit.store import Store

pytestmark = pytest.mark.slow


def test_multi_model_endpoint_benchmark(moto_url, aws_clients, endpoint, payload, mark, tmp_path):
    models = ["a.tar.gz", "b.tar.gz", "c.tar.gz"]
    spec = spec_dict(payload, target_models={"models": models, "distribution": "zipf", "exponent": 1.5})
    store = Store(tmp_path / "irkit.db")
    canned = [json.dumps({"predictions": [[float(i)]]}) for i in range(len(models))]
    canned_results(moto_url, canned)  # one canned answer per distinct request, i.e. per target model
    streamed = []
    result = benchmark_endpoint(spec, endpoint, clients=aws_clients, store=store, on_step=streamed.append)

    assert result["Status"] == "COMPLETED", (result.get("FailureReason"), result["irkit"]["steps"])
    ext = result["irkit"]
    assert ext["backend"] == "sagemaker"
    assert ext["endpoint"]["instance_type"] == "ml.c5.xlarge" and ext["endpoint"]["instance_count"] == 2
    assert result["InputConfig"]["Endpoints"] == [{"EndpointName": endpoint}]
    perf = result["EndpointPerformances"][0]
    assert perf["EndpointInfo"]["EndpointName"] == endpoint
    assert perf["Metrics"]["MaxInvocations"] > 0 and perf["Metrics"]["ModelLatency"] >= 0
    # steps streamed as they finished, and kept in the store
    assert [s["step"] for s in streamed] == [0, 1]
    assert len(store.steps(ext["job_id"])) == 2
    assert all(s["requests"] > 0 and s["errors"] == 0 for s in ext["steps"])
    # every request carried a TargetModel over HTTP: moto saw each model's header
    seen = {r.get("x-amzn-sagemaker-target-model") for r in runtime_requests()}
    assert seen == set(models)
    answers = {body for per_endpoint in runtime_backend().results.values() for body, *_ in per_endpoint.values()}
    assert answers == set(canned)  # each model was answered from the canned queue, over HTTP
    # per-model breakdown: Zipf order, cold fields unknown on SageMaker
    per_model = ext["per_model"]
    assert {e["model"] for e in per_model} == set(models)
    totals = {m: sum(e["requests"] for e in per_model if e["model"] == m) for m in models}
    assert totals["a.tar.gz"] > totals["b.tar.gz"] > totals["c.tar.gz"]
    assert sum(totals.values()) == sum(s["requests"] for s in ext["steps"])
    unknown = ("cold_requests", "cold_p50_ms", "cold_p99_ms", "warm_p50_ms", "warm_p99_ms", "hit_rate", "loads")
    assert all(e[k] is None for e in per_model for k in unknown)
    assert all(e["p50_ms"] is not None for e in per_model)
    assert not marked_processes(mark)
    # downstream: the tidy frames read it from the store like any job
    from irkit.results import steps_frame, to_frame

    frame = to_frame(ext["job_id"], store=store)
    assert list(frame["backend"]) == ["sagemaker"] and frame["max_invocations"].iloc[0] == \
        perf["Metrics"]["MaxInvocations"]
    steps = steps_frame(ext["job_id"], store=store)
    assert len(steps) == 2 and set(steps["instance_type"]) == {"ml.c5.xlarge"}
    # per-model frame and charts: latency per model; no cold/warm or hit-rate chart without cache state
    from irkit.results.charts.models import model_charts
    from irkit.results.per_model import model_summary

    summary = model_summary(result)
    assert list(summary["model"]) == models  # most requested first: the Zipf order
    assert summary["hit_rate"].isna().all() and summary["cold_p50_ms"].isna().all()
    assert set(model_charts(result)) == {"model_latency"}
