"""Per-target tallies: cold/warm/unknown filing, hit rate, worker -> master merge, result flattening."""

from __future__ import annotations

import pytest

from irkit.load.model_tally import (
    ModelTally,
    StepModels,
    answer_cache_state,
    flatten_per_model,
    target_headers,
)

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel


class _Answer:
    def __init__(self, headers):
        self.headers = headers


def test_cold_warm_and_hit_rate():
    tally = ModelTally()
    tally.record(200.0, False, "miss", 180.0)  # the load
    for ms in (5.0, 6.0, 7.0):
        tally.record(ms, False, "hit", None)
    tally.record(50.0, False, "miss", None)  # waited on another request's load: cold, but not the load
    tally.record(1.0, True, "hit", None)  # failed: counted, no latency
    entry = tally.entry("a.tar.gz", None)
    assert entry["requests"] == 6 and entry["errors"] == 1
    assert entry["cold_requests"] == 2 and entry["loads"] == 1
    assert entry["cold_p50_ms"] == pytest.approx(50.0, rel=1e-3)
    assert entry["cold_p99_ms"] == pytest.approx(200.0, rel=1e-3)
    assert entry["warm_p50_ms"] == pytest.approx(6.0, rel=1e-3)
    assert entry["warm_p99_ms"] == pytest.approx(7.0, rel=1e-3)
    assert entry["p99_ms"] == pytest.approx(200.0, rel=1e-3)
    assert entry["hit_rate"] == pytest.approx(4 / 6, abs=1e-4)
    assert entry["load_ms_mean"] == pytest.approx(180.0)


def test_no_cache_headers_leave_cold_fields_null():
    tally = ModelTally()
    for ms in (10.0, 20.0):
        tally.record(ms, False, None, None)
    entry = tally.entry(None, "host-1")
    assert entry["target"] == "host-1"
    assert entry["p50_ms"] == pytest.approx(10.0, rel=1e-3)
    for key in ("cold_requests", "loads", "cold_p50_ms", "cold_p99_ms", "warm_p50_ms", "warm_p99_ms", "hit_rate"):
        assert entry[key] is None, key


def test_worker_tallies_merge_into_the_master():
    master, worker = StepModels(), StepModels()
    master.record("a.tar.gz", None, 100.0, False, "miss", 90.0)
    worker.record("a.tar.gz", None, 4.0, False, "hit")
    worker.record("b.tar.gz", None, 120.0, False, "miss", 110.0)
    master.merge_encoded(worker.encode())
    entries = {e["model"]: e for e in master.entries()}
    assert entries["a.tar.gz"]["requests"] == 2 and entries["a.tar.gz"]["hit_rate"] == 0.5
    assert entries["a.tar.gz"]["warm_p50_ms"] == pytest.approx(4.0, rel=1e-3)
    assert entries["b.tar.gz"]["cold_requests"] == 1
    assert [e["model"] for e in master.entries()] == ["a.tar.gz", "b.tar.gz"]  # most requests first


def test_headers_in_and_out():
    assert answer_cache_state(_Answer({"X-Irkit-Model-Cache": "HIT"})) == ("hit", None)
    assert answer_cache_state(_Answer({"X-Irkit-Model-Cache": "miss", "X-Irkit-Model-Load-Ms": "12.5"})) == (
        "miss", 12.5)
    assert answer_cache_state({"ResponseMetadata": {}}) == (None, None)
    assert answer_cache_state(None) == (None, None)
    assert target_headers("a.tar.gz", "h1") == {"X-Amzn-SageMaker-Target-Model": "a.tar.gz",
                                                "X-Amzn-SageMaker-Target-Container-Hostname": "h1"}
    assert target_headers(None, None) == {}


def test_flatten_adds_config_and_step():
    steps = [{"config_id": "c1", "step": 0, "per_model": [{"model": "a", "requests": 3}]},
             {"config_id": "c1", "step": 1}]
    assert flatten_per_model(steps) == [{"config_id": "c1", "step": 0, "model": "a", "requests": 3}]
