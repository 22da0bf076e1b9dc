"""The knee search for real: Locust in a subprocess steered through its control file, against
capacity servers of known C slots x S ms on 127.0.0.1 (bounded: a few seconds per level)."""

from __future__ import annotations

import os
import time

import psutil
import pytest
from helpers_process import marked, wait_gone

from irkit.load.generator import run_load
from irkit.load.knee_search import KneeSearch, KneeSettings
from irkit.serve.capacity import CapacityServer
from irkit.spec import Stairs, TrafficPattern

pytestmark = pytest.mark.slow

SHORT = KneeSettings(window_seconds=1.0, min_requests=10, max_level_seconds=6.0, max_users=16)


def test_knee_search_finds_the_capacity_and_reads_latency_at_the_knee(payload, mark):
    seen = []
    # 2 slots x 50 ms: 40 req/s saturated; slow enough that a busy machine's own overhead stays small
    with CapacityServer(slots=2, service_ms=50) as server:
        search = KneeSearch(SHORT)
        started = time.monotonic()
        result = run_load(server.url, payload, "application/json", None, knee=search,
                          on_step=lambda step: seen.append((time.monotonic(), step)))
        took = time.monotonic() - started
    steps = result.steps
    users = [s["users"] for s in steps]
    assert users[:3] == [1, 2, 4]  # doubling until 4 users add nothing over 2's level
    assert seen[0][0] < started + took - 5  # levels stream out while the search runs
    assert took < 60
    found = search.plateau(steps)
    assert found.reason == "levelled" and found.users in (2, 3)  # the lowest level at capacity
    assert found.max_invocations == pytest.approx(server.capacity_rps * 60, rel=0.1)
    lo, hi = found.ci_per_min
    assert lo <= found.max_invocations <= hi
    assert steps[-1].get("confirm") is True and found.confirmed  # the best level, measured twice
    assert steps[-1]["users"] == found.best_users
    queued = next(s for s in steps if s["users"] == 4)
    assert found.model_latency_ms < queued["p50_ms"]  # read at the knee, not where 4 users only queue
    for step in steps:
        assert step["windows"] and all(w["requests"] >= 10 for w in step["windows"])
        assert isinstance(step["stable"], bool) and step["generator_cpu"] is not None
    assert not marked(mark)


def test_the_generator_is_pinned_to_the_cores_it_is_given(payload, mark):
    cores = sorted(os.sched_getaffinity(0))
    mine = [cores[-1]]
    affinities = []

    def look(step):
        for process in marked(mark):
            try:
                affinities.append(process.cpu_affinity())
            except psutil.Error:
                pass

    traffic = TrafficPattern("STAIRS", (), Stairs(2, 1, 1))
    with CapacityServer(slots=2, service_ms=10) as server:
        run_load(server.url, payload, "application/json", traffic, cpus=mine, on_step=look)
    assert affinities and all(a == mine for a in affinities)
    assert not wait_gone(mark, 5)


def test_stairs_steps_carry_windows_and_stability(payload, mark):
    traffic = TrafficPattern("STAIRS", (), Stairs(5, 2, 1))
    with CapacityServer(slots=4, service_ms=10) as server:
        result = run_load(server.url, payload, "application/json", traffic)
    for step in result.steps:
        assert len(step["windows"]) >= 1
        # completion-aligned window throughputs of a steady server agree closely with the step's rps
        for window in step["windows"]:
            assert window["rps"] == pytest.approx(step["rps"], rel=0.25)
        assert step["stable"] in (True, False, None)


def test_open_loop_reports_achieved_against_target(payload, mark):
    open_loop = {"rates_per_second": [50], "duration_in_seconds": 3}
    with CapacityServer(slots=8, service_ms=5) as server:
        result = run_load(server.url, payload, "application/json", None, open_loop=open_loop)
    step = result.steps[0]
    assert step["target_rps"] == 50 and step["achieved_rps"] == pytest.approx(50, rel=0.3)
    assert "late" in step and "dropped" in step


def test_knee_search_with_workers_merges_their_ticks(payload, mark):
    with CapacityServer(slots=2, service_ms=50) as server:
        search = KneeSearch(KneeSettings(window_seconds=1.0, min_requests=10, max_level_seconds=6.0, max_users=8))
        result = run_load(server.url, payload, "application/json", None, knee=search, workers=2)
    assert [s["users"] for s in result.steps][:3] == [1, 2, 4]
    found = search.plateau(result.steps)
    assert found.users in (2, 3)
    assert found.max_invocations == pytest.approx(server.capacity_rps * 60, rel=0.1)
    # 2 users: one on each worker; only both workers' ticks added up reach the capacity
    assert result.steps[1]["rps"] == pytest.approx(server.capacity_rps, rel=0.15)
    assert not wait_gone(mark, 5)
