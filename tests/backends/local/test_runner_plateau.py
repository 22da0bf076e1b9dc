"""The plateau finder on synthetic load curves."""

from __future__ import annotations

import random

import pytest

from irkit.load import knee as pl

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel


def curve(rps, p95=None, errors=None):
    p95 = p95 or [10.0] * len(rps)
    errors = errors or [0] * len(rps)
    return [
        {"step": i, "users": i + 1, "rps": r, "requests": int(r * 10), "errors": e,
         "p50_ms": p / 2, "p95_ms": p, "p99_ms": p * 1.2}
        for i, (r, p, e) in enumerate(zip(rps, p95, errors, strict=True))
    ]


def test_levelling_out_curve_finds_the_knee():
    steps = curve([10, 20, 30, 31, 30.5, 31.2], p95=[10, 11, 12, 40, 60, 80])
    result = pl.find_plateau(steps)
    assert result.reason == pl.REASON_LEVELLED
    assert result.step_index == 2
    # steps without windows: the knee is the first within 5% of the best, read at its own level
    assert result.max_invocations == 30 * 60 and result.ci_per_min is None and result.stable is None
    assert result.model_latency_ms == 12


def windowed(levels, p95=None):
    """STAIRS steps whose windows hold these throughputs (one list per step)."""
    p95 = p95 or [100.0 * (i + 1) for i in range(len(levels))]
    return [{"step": i, "users": i + 1, "rps": sum(w) / len(w), "requests": 100, "errors": 0, "p95_ms": p,
             "stable": True, "windows": [{"rps": r} for r in w]}
            for i, (w, p) in enumerate(zip(levels, p95, strict=True))]


def test_knee_is_read_at_its_own_windows_with_an_interval():
    # 1 user is measurably below 2; 2, 3 and 4 cannot be told apart: the knee is 2 users
    steps = windowed([[9.0, 9.1, 8.9], [9.8, 9.75, 9.85], [9.9, 9.8, 9.85], [9.82, 9.9, 9.86]])
    result = pl.find_plateau(steps)
    assert result.step_index == 1 and result.users == 2 and result.stable is True
    assert result.max_invocations == round(9.8 * 60)  # the knee's mean, not the best step's
    lo, hi = result.ci_per_min
    assert lo < 9.8 * 60 < hi and hi - lo < 20
    # read at 2 users, never at 4 where it only queues; 1 user is 7% under the best, inside the
    # noise band, so the reading leans towards it: (0.95 - 9/9.86) / 0.05 of the way from 1 to 2
    share = (0.95 - 9.0 / 9.86) / 0.05
    assert result.model_latency_ms == pytest.approx(100 + share * 100, abs=0.01)
    assert result.latency_users == pytest.approx(1 + share, abs=0.01)


def test_one_lucky_window_does_not_move_the_knee():
    # step 2 is "best" only through one lucky window: its interval overlaps step 1's, so 1 is the knee
    steps = windowed([[9.5, 9.55, 9.6], [9.6, 9.7, 10.6], [9.55, 9.6, 9.5]])
    result = pl.find_plateau(steps)
    assert result.step_index == 0 and result.model_latency_ms == 100


def test_latency_crossing_stops_before_the_breaking_step():
    steps = curve([10, 20, 30, 40], p95=[50, 80, 120, 200])
    result = pl.find_plateau(steps, threshold_ms=100)
    assert result.reason == pl.REASON_THRESHOLD
    assert result.step_index == 1
    assert result.max_invocations == 20 * 60
    assert result.model_latency_ms == 80


def test_p99_threshold_reads_p99():
    steps = curve([10, 20, 30], p95=[50, 80, 90])  # p99 = 60, 96, 108
    assert pl.find_plateau(steps, threshold_ms=100, percentile="P99").step_index == 1
    assert pl.find_plateau(steps, threshold_ms=100, percentile="P95").step_index == 2


def test_error_step_breaks_the_slo():
    steps = curve([10, 20, 25], errors=[0, 0, 200])
    result = pl.find_plateau(steps)
    assert result.reason == pl.REASON_ERRORS and result.step_index == 1


def test_never_saturating_curve_is_a_lower_bound():
    steps = curve([10, 20, 30, 40, 50])
    result = pl.find_plateau(steps)
    assert result.reason == pl.REASON_NOT_SATURATED
    assert result.step_index == 4 and result.max_invocations == 3000


def test_noisy_plateau_is_stable_and_not_fooled_by_one_dip():
    rng = random.Random(7)
    true_level = 100.0
    rps = [25, 50, 75, 48] + [true_level * (1 + rng.uniform(-0.03, 0.03)) for _ in range(8)]
    result = pl.find_plateau(curve(rps))
    assert result.reason == pl.REASON_LEVELLED
    assert abs(result.max_invocations - true_level * 60) / (true_level * 60) < 0.03
    assert result.step_index == 4
    # one dip (step 3) is not two steps without growth
    assert pl.stop_reason(curve(rps[:4]), flat_invocations="Stop") is None


def test_first_step_over_threshold_has_no_plateau():
    result = pl.find_plateau(curve([10, 20], p95=[500, 600]), threshold_ms=100)
    assert not result.found and result.max_invocations == 0 and result.reason == pl.REASON_THRESHOLD


def test_empty_curve():
    assert pl.find_plateau([]).reason == pl.REASON_NO_DATA


@pytest.mark.parametrize(
    ("rps", "kwargs", "expected"),
    [
        ([10, 20, 30], {"flat_invocations": "Stop"}, None),
        ([10, 20, 20.5, 20.2], {"flat_invocations": "Stop"}, pl.REASON_LEVELLED),
        ([10, 20, 20.5, 20.2], {"flat_invocations": "Continue"}, None),
        ([10, 20], {"max_invocations": 1200}, pl.REASON_MAX_INVOCATIONS),
        ([10, 20], {"max_invocations": 1300}, None),
    ],
)
def test_stop_reason(rps, kwargs, expected):
    assert pl.stop_reason(curve(rps), **kwargs) == expected


def test_stop_reason_on_threshold():
    assert pl.stop_reason(curve([10, 20], p95=[10, 300]), threshold_ms=100) == pl.REASON_THRESHOLD


def test_slo_failure_says_what_was_measured_and_what_to_change(tmp_path):
    from irkit.backends.lifecycle import slo_failure
    from irkit.load.drive import ConfigOutcome, LoadSettings

    outcome = ConfigOutcome("local.cpu1", "local.cpu1", {}, plateau_reason="latency_threshold",
                            steps=[{"step": 0, "users": 1, "requests": 40, "errors": 0, "p95_ms": 4321.0}])
    settings = LoadSettings(payload_path=tmp_path / "p.json", content_type="application/json", traffic=None,
                            threshold_ms=1000, percentile="P95")
    reason = slo_failure(outcome, settings)
    assert "P95 was 4,321 ms" in reason and "1,000 ms threshold" in reason and "cold model" not in reason
    errors = ConfigOutcome("c", "local.cpu1", {}, plateau_reason="errors",
                           steps=[{"step": 0, "users": 2, "requests": 10, "errors": 9}])
    assert "9 of 10 requests failed at 2 user(s)" in slo_failure(errors, settings)


def test_the_jobs_seed_reaches_the_load(tmp_path):
    from irkit.backends.lifecycle import load_settings
    from irkit.spec import load_spec

    payload = tmp_path / "p.json"
    payload.write_text("[[0.0]]")
    spec = load_spec({"job_name": "s", "supported_instance_types": ["local.cpu1"],
                      "target_models": {"models": ["a", "b"], "distribution": "uniform"}})
    assert load_settings(spec, {"payload_path": str(payload), "seed": 7}, tmp_path).seed == 7
    assert load_settings(spec, {"payload_path": str(payload)}, tmp_path).seed == 0


def test_stability_is_that_of_the_knee_and_the_best_step():
    from pathlib import Path

    from irkit.load.drive import ConfigOutcome, LoadSettings, read_knee

    steps = windowed([[9.0, 9.1, 8.9], [9.8, 9.75, 9.85], [9.9, 9.8, 9.85], [7.0, 9.0, 5.0]])
    steps[3]["stable"] = False  # an overloaded last step that never settled decides nothing
    settings = LoadSettings(Path("p.json"), "application/json", traffic="stairs")
    outcome = ConfigOutcome("c", "local.cpu1", {}, steps=steps)
    read_knee(outcome, settings)
    assert outcome.knee_users == 2 and outcome.stable is True
    steps[1]["stable"] = False  # the knee itself did not settle
    outcome = ConfigOutcome("c", "local.cpu1", {}, steps=steps)
    read_knee(outcome, settings)
    assert outcome.stable is False


def test_model_latency_moves_continuously_across_the_five_percent_line():
    # one core: 1 user at 63 ms, 2 users at 118 ms with 3-7% more throughput. Whichever side of the
    # 5% line 1 user lands on, ModelLatency moves a little, never from 63 to 118 ms.
    readings = []
    for one in (9.7, 9.55, 9.5, 9.45, 9.3, 9.1, 8.9):
        steps = windowed([[one, one + 0.01, one - 0.01], [10.0, 10.01, 9.99]], p95=[63.0, 118.0])
        readings.append(pl.find_plateau(steps).model_latency_ms)
    assert readings[0] == 63.0 and readings[-1] == 118.0
    assert all(b >= a for a, b in zip(readings, readings[1:], strict=False))
    assert max(b - a for a, b in zip(readings, readings[1:], strict=False)) < 0.45 * (118 - 63)
    assert readings[2] == pytest.approx(63.0, abs=1.0) and readings[3] == pytest.approx(63 + 0.1 * 55, abs=1.0)


def test_stairs_keep_the_knees_own_mean():
    # a level measured once: MaxInvocations is the knee's mean, not the best step's (which reads high)
    steps = windowed([[9.0, 9.1, 8.9], [9.8, 9.75, 9.85], [10.2, 10.3, 10.25]])
    result = pl.find_plateau(steps)
    assert result.confirmed is False and result.max_invocations == round(9.8 * 60) and result.best_users == 3


def test_others_on_the_servers_cores_at_the_knee_are_recorded_and_warned():
    from pathlib import Path

    from irkit.load.drive import ConfigOutcome, LoadSettings, read_knee

    steps = windowed([[9.0, 9.1, 8.9], [9.8, 9.75, 9.85], [9.9, 9.8, 9.85]])
    for step, (busy, own) in zip(steps, [(60.0, 55.0), (99.0, 50.0), (99.5, 52.0)], strict=True):
        step.update(server_cores_busy=busy, server_cpu=own, server_cores_steal=0.5, server_cores=1)
    settings = LoadSettings(Path("p.json"), "application/json", traffic="stairs")
    outcome = ConfigOutcome("c", "local.cpu1", {}, steps=steps)
    read_knee(outcome, settings)
    assert outcome.knee_users == 2 and outcome.contention == {"others_percent": 49.0, "steal_percent": 0.5}
    assert any("other processes took 50% of the server's cores" in w for w in outcome.warnings)
    for step in steps:
        step["server_cores_busy"] = step["server_cpu"] + 3.0
    outcome = ConfigOutcome("c", "local.cpu1", {}, steps=steps)
    read_knee(outcome, settings)
    assert outcome.contention["others_percent"] == 3.0 and not outcome.warnings
