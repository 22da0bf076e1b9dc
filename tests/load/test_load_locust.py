"""Real Locust runs (a few seconds each) against capacity servers of known C slots x S ms on 127.0.0.1."""

from __future__ import annotations

import threading
import time

import pytest
from helpers_process import marked, wait_gone

from irkit.errors import BackendError
from irkit.load.generator import run_load
from irkit.serve.capacity import CapacityServer
from irkit.spec import Phase, Stairs, TrafficPattern

pytestmark = pytest.mark.slow


def stairs(duration, steps, per_step):
    return TrafficPattern("STAIRS", (), Stairs(duration, steps, per_step))


def test_stairs_against_a_known_capacity(payload, mark):
    arrivals = []
    with CapacityServer(slots=2, service_ms=20) as server:
        result = run_load(server.url, payload, "application/json", stairs(3, 3, 1), latency_threshold_ms=30,
                          on_step=lambda step: arrivals.append(time.monotonic()))
        ended = time.monotonic()
    steps = result.steps
    assert result.mode == "closed" and [s["step"] for s in steps] == [0, 1, 2]
    assert [s["users"] for s in steps] == [1, 2, 3]
    assert arrivals[0] < ended - 3  # steps stream out while the test runs
    # One user: one request per 20 ms; p50 near the service time.
    assert steps[0]["rps"] == pytest.approx(50, rel=0.15)
    assert steps[0]["p50_ms"] == pytest.approx(20, abs=3)
    # Three users on two slots: throughput levels at the capacity, 100 req/s, and they queue.
    assert steps[2]["rps"] == pytest.approx(server.capacity_rps, rel=0.1)
    assert steps[2]["p95_ms"] > 30
    assert steps[2]["goodput_rps"] < steps[2]["rps"]  # queued requests miss the 30 ms threshold
    assert all(s["errors"] == 0 for s in steps)
    assert sum(s["requests"] for s in steps) <= server.served
    assert not marked(mark)


def test_phases_are_reported_in_windows(payload, mark):
    traffic = TrafficPattern("PHASES", (Phase(4, 1, 30),))  # 1 user, +30 users/min: 3 at the end
    with CapacityServer(slots=8, service_ms=10) as server:
        result = run_load(server.url, payload, "application/json", traffic, window_s=2)
    assert [(s["start_s"], s["users"], s["phase"]) for s in result.steps] == [(0, 1, 0), (2, 2, 0)]
    # rps grows with users (each user ~100 req/s on a free 10 ms server)
    assert result.steps[1]["rps"] > result.steps[0]["rps"] * 1.2


def test_open_loop_shows_a_stall_in_p99(payload, mark):
    open_loop = {"rates_per_second": [40, 40], "duration_in_seconds": 2.5}
    with CapacityServer(slots=8, service_ms=10, stall_at_s=1.0, stall_s=1.0) as stalled:
        stalled_run = run_load(stalled.url, payload, "application/json", None, open_loop=open_loop)
    with CapacityServer(slots=8, service_ms=10) as healthy:
        healthy_run = run_load(healthy.url, payload, "application/json", None, open_loop=open_loop)
    assert stalled_run.mode == "open" and len(stalled_run.steps) == 2
    assert all("late" in s and "dropped" in s and s["target_rps"] == 40 for s in stalled_run.steps)
    worst = max(s["p99_ms"] for s in stalled_run.steps)
    assert worst > 600  # requests scheduled during the 1 s stall wait for it
    assert max(s["p99_ms"] for s in healthy_run.steps) < 300
    total = sum(s["requests"] for s in healthy_run.steps)
    assert total == pytest.approx(40 * 5, rel=0.3)  # Poisson at 40/s for 5 s


def test_two_workers_merge_their_histograms(payload, mark):
    with CapacityServer(slots=2, service_ms=20) as server:
        result = run_load(server.url, payload, "application/json", stairs(3, 2, 2), workers=2)
        served = server.served
    assert [s["users"] for s in result.steps] == [2, 4]
    merged = sum(s["requests"] for s in result.steps)
    assert merged > 0.8 * served  # every worker's requests reach the master's steps
    assert result.steps[1]["rps"] == pytest.approx(server.capacity_rps, rel=0.15)
    assert result.steps[1]["p50_ms"] == pytest.approx(40, abs=6)  # 4 users on 2 slots: wait one turn
    assert not wait_gone(mark, 5)


def test_stop_event_ends_the_run_and_reaps_locust(payload, mark):
    stop = threading.Event()
    with CapacityServer(slots=2, service_ms=10) as server:
        started = time.monotonic()
        result = run_load(server.url, payload, "application/json", stairs(2, 10, 1), workers=1,
                          stop_event=stop, on_step=lambda step: stop.set())
        took = time.monotonic() - started
    assert result.stopped_early and len(result.steps) == 1
    assert took < 12  # 20 s of traffic cut after the first step
    assert not marked(mark)


def test_on_step_returning_false_stops(payload, mark):
    with CapacityServer(slots=2, service_ms=10) as server:
        result = run_load(server.url, payload, "application/json", stairs(2, 10, 1),
                          on_step=lambda step: False)
    assert result.stopped_early and len(result.steps) == 1
    assert not marked(mark)


def test_unreachable_server_counts_errors(payload, mark):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    result = run_load(f"http://127.0.0.1:{port}", payload, "application/json", stairs(2, 1, 1))
    assert result.steps[0]["errors"] == result.steps[0]["requests"] > 0
    assert result.steps[0]["p50_ms"] is None


def test_missing_payload_is_a_backend_error(tmp_path):
    with pytest.raises(BackendError, match="payload"):
        run_load("http://127.0.0.1:9", tmp_path / "nope.json", "application/json", stairs(2, 1, 1))
