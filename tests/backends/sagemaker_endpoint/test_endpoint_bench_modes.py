"""The runtime user under Locust's distributed mode (master + workers) and in open loop, against moto."""

from __future__ import annotations

import pytest
from endpoint_helpers import marked_processes, runtime_requests, spec_dict

from irkit.backends.sagemaker.endpoint_bench import benchmark_endpoint

pytestmark = pytest.mark.slow

MODELS = ["a.tar.gz", "b.tar.gz", "c.tar.gz", "d.tar.gz"]


def _totals(result):
    per_model = result["irkit"]["per_model"]
    return {m: sum(e["requests"] for e in per_model if e["model"] == m) for m in MODELS}


def test_workers_merge_per_model_figures(aws_clients, endpoint, payload, mark):
    spec = spec_dict(payload, target_models={"models": MODELS, "weights": [4, 2, 1, 1]})
    result = benchmark_endpoint(spec, endpoint, clients=aws_clients, workers=2, seed=3)
    assert result["Status"] == "COMPLETED", result.get("FailureReason")
    assert result["irkit"]["workers"] == 2
    steps = result["irkit"]["steps"]
    assert len(steps) == 2 and all(s["requests"] > 0 for s in steps)
    totals = _totals(result)
    # the master added every worker's per-model tallies: they account for every request
    assert sum(totals.values()) == sum(s["requests"] for s in steps)
    assert totals["a.tar.gz"] > totals["c.tar.gz"] and totals["a.tar.gz"] > totals["d.tar.gz"]
    assert {r.get("x-amzn-sagemaker-target-model") for r in runtime_requests()} == set(MODELS)
    assert not marked_processes(mark)


def test_open_loop_invokes_at_the_scheduled_rate(aws_clients, endpoint, payload, mark):
    spec = spec_dict(payload, stairs=None, open_loop={"rates_per_second": [15, 30], "duration_in_seconds": 2},
                     target_models={"models": MODELS[:2]})
    result = benchmark_endpoint(spec, endpoint, clients=aws_clients)
    assert result["Status"] == "COMPLETED", result.get("FailureReason")
    assert result["irkit"]["load_mode"] == "open"
    steps = result["irkit"]["steps"]
    assert [s["target_rps"] for s in steps] == [15, 30]
    for step in steps:  # Poisson arrivals: within a loose band of the target over 2 s
        assert step["requests"] == pytest.approx(2 * step["target_rps"], rel=0.6)
        assert step["errors"] == 0 and step["dropped"] == 0
    assert sum(_totals(result).values()) == sum(s["requests"] for s in steps)
    assert not marked_processes(mark)
