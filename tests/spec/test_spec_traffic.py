"""IR's traffic arithmetic (irkit.spec.traffic) checked against the service's semantics, without running anything."""

from __future__ import annotations

import pytest

from irkit.spec import Phase, Stairs, TrafficPattern
from irkit.spec import traffic as shapes

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel


def phases(*triples):
    return TrafficPattern("PHASES", tuple(Phase(d, u, r) for d, u, r in triples))


def stairs(duration, steps, per_step):
    return TrafficPattern("STAIRS", (), Stairs(duration, steps, per_step))


def test_phase_spawn_rate_is_users_per_minute():
    traffic = phases((120, 2, 3))  # 2 users, +3 users per minute, for 2 minutes
    assert shapes.users_at(traffic, 0) == 2
    assert shapes.users_at(traffic, 19.9) == 2
    assert shapes.users_at(traffic, 20) == 3  # 3 per minute = one every 20 s
    assert shapes.users_at(traffic, 60) == 5
    assert shapes.users_at(traffic, 119.9) == 7
    assert shapes.users_at(traffic, 120) is None
    assert shapes.locust_spawn_rate(3) == pytest.approx(0.05)  # Locust's unit is users per second


def test_each_phase_restarts_at_its_initial_users():
    traffic = phases((60, 1, 60), (30, 10, 0))
    assert shapes.users_at(traffic, 59) == 1 + 59
    assert shapes.users_at(traffic, 60) == 10  # second phase starts at its own initial count
    assert shapes.users_at(traffic, 89) == 10
    assert shapes.total_seconds(traffic) == 90
    assert shapes.users_at(traffic, 90) is None


def test_stairs_step_k_has_k_times_users_per_step():
    traffic = stairs(30, 4, 2)
    assert [shapes.users_at(traffic, t) for t in (0, 29.9, 30, 61, 119.9)] == [2, 2, 4, 6, 8]
    assert shapes.users_at(traffic, 120) is None
    assert shapes.total_seconds(traffic) == 120


def test_tick_returns_users_and_a_rate_that_lands_at_once_then_none():
    traffic = stairs(10, 2, 3)
    users, rate = shapes.tick(traffic, 12)
    assert users == 6 and rate >= users  # the jump to 6 lands within one 1 s tick
    assert shapes.tick(traffic, 20) is None


def test_stair_windows_one_per_step():
    windows = shapes.step_windows(stairs(15, 3, 1))
    assert [(w.index, w.start_s, w.duration_s, w.users) for w in windows] == [
        (0, 0, 15, 1), (1, 15, 15, 2), (2, 30, 15, 3)]


def test_phase_windows_split_long_phases_and_keep_short_ones_whole():
    windows = shapes.step_windows(phases((25, 1, 6), (4, 5, 0)), window_s=10)
    assert [(w.start_s, w.duration_s, w.phase) for w in windows] == [
        (0, 10, 0), (10, 10, 0), (20, 5, 0), (25, 4, 1)]
    # users = the most users in the window: 1 + 6/min -> +1 every 10 s
    assert [w.users for w in windows] == [1, 2, 3, 5]


def test_dict_traffic_works_like_the_spec_objects():
    as_dict = {"phases": [{"duration_in_seconds": 120, "initial_number_of_users": 2, "spawn_rate": 3}]}
    assert shapes.users_at(as_dict, 60) == shapes.users_at(phases((120, 2, 3)), 60)


def test_open_loop_windows_carry_the_rate():
    windows = shapes.open_loop_windows({"rates_per_second": [5, 10.5], "duration_in_seconds": 4}, generators=2)
    assert [(w.start_s, w.duration_s, w.target_rps, w.users) for w in windows] == [(0, 4, 5, 2), (4, 4, 10.5, 2)]


def test_window_index_finds_the_window_or_none_after_the_end():
    windows = shapes.step_windows(stairs(5, 2, 1))
    assert shapes.window_index(windows, -0.1) == 0
    assert shapes.window_index(windows, 4.99) == 0
    assert shapes.window_index(windows, 5.0) == 1
    assert shapes.window_index(windows, 10.0) is None


def test_shapes_does_not_import_locust():
    import sys

    assert "locust" not in sys.modules or not hasattr(shapes, "locust")
    source = open(shapes.__file__, encoding="utf-8").read()
    assert "import locust" not in source and "from locust" not in source


def test_phase_users_are_the_floor_of_the_ramp_the_timeline_draws():
    traffic = phases((45, 2, 2), (30, 5, 7))  # 45 s at +2/min ends between two users
    points = shapes.timeline(traffic)
    assert [tuple(p) for p in points] == [
        (0.0, 2.0, "phase 1"), (45.0, 3.5, "phase 1"), (45.0, 5.0, "phase 2"), (75.0, 8.5, "phase 2")]
    for (t0, u0, _), (t1, u1, _) in zip(points[::2], points[1::2], strict=True):
        for k in range(1, 40):
            t = t0 + (t1 - t0) * k / 40
            line = u0 + (u1 - u0) * (t - t0) / (t1 - t0)
            assert shapes.users_at(traffic, t) == int(line + 1e-9)


def test_stairs_timeline_is_flat_per_step_and_matches_the_windows():
    traffic = stairs(20, 3, 2)
    points = shapes.timeline(traffic)
    assert [tuple(p) for p in points] == [
        (0.0, 2.0, "step 1"), (20.0, 2.0, "step 1"), (20.0, 4.0, "step 2"), (40.0, 4.0, "step 2"),
        (40.0, 6.0, "step 3"), (60.0, 6.0, "step 3")]
    assert points[-1].seconds == shapes.total_seconds(traffic)


def test_default_traffic_is_the_default_stairs_and_a_default_job_runs_no_fixed_traffic():
    from irkit.spec import JobSpec

    default = shapes.default_traffic()
    assert default.traffic_type == "STAIRS" and default.stairs.to_dict() == shapes.DEFAULT_STAIRS
    assert shapes.job_traffic(JobSpec.from_dict({"supported_instance_types": ["local.cpu1"]})) is None
    spec = JobSpec.from_dict({"phases": [{"duration_in_seconds": 30, "initial_number_of_users": 1, "spawn_rate": 2}]})
    assert shapes.job_traffic(spec) == spec.traffic()


def test_run_seconds_counts_open_loop_rates_else_the_traffic():
    assert shapes.run_seconds(stairs(15, 4, 1)) == 60
    assert shapes.run_seconds(None) == 0.0
    assert shapes.run_seconds(stairs(15, 4, 1), {"rates_per_second": [1, 2, 3], "duration_in_seconds": 5}) == 15
