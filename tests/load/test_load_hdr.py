"""Per-step tallies: exact percentiles, goodput, and merging across processes by adding histograms."""

from __future__ import annotations

import random

import pytest

from irkit.load.hdr import StepTally

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel


def test_percentiles_are_exact_to_three_significant_digits():
    tally = StepTally()
    for ms in range(1, 101):  # 1..100 ms
        tally.record(float(ms), failed=False, threshold_ms=None)
    step = tally.step_dict(duration_s=2.0)
    assert step["p50_ms"] == pytest.approx(50, rel=1e-3)
    assert step["p99_ms"] == pytest.approx(99, rel=1e-3)
    assert step["max_ms"] == pytest.approx(100, rel=1e-3)
    assert step["rps"] == 50 and step["requests"] == 100


def test_errors_are_counted_but_not_timed_and_goodput_uses_the_threshold():
    tally = StepTally()
    for ms in (10, 20, 30, 40):
        tally.record(ms, failed=False, threshold_ms=25)
    tally.record(1, failed=True, threshold_ms=25)
    step = tally.step_dict(duration_s=1.0)
    assert step["requests"] == 5 and step["errors"] == 1
    assert step["goodput_rps"] == 2  # 10 and 20 ms are within 25 ms
    assert step["p50_ms"] == pytest.approx(20, rel=1e-3)


def test_merged_worker_tallies_equal_one_tally_of_everything():
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 0.8) for _ in range(3000)]
    whole, parts = StepTally(), [StepTally(), StepTally(), StepTally()]
    for i, ms in enumerate(values):
        whole.record(ms, failed=False, threshold_ms=40)
        parts[i % 3].record(ms, failed=False, threshold_ms=40)
    parts[1].late, parts[2].dropped = 4, 2
    merged = StepTally()
    for part in parts:
        merged.merge_encoded(part.encode())
    a, b = merged.step_dict(3.0), whole.step_dict(3.0)
    for key in ("requests", "rps", "goodput_rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"):
        assert a[key] == b[key], key
    assert (merged.late, merged.dropped) == (4, 2)


def test_empty_step_has_no_percentiles():
    step = StepTally().step_dict(1.0)
    assert step["requests"] == 0 and step["p95_ms"] is None and step["rps"] == 0


def test_run_warns_when_the_generator_cpu_is_over_90_percent(tmp_path):
    from irkit.load.generator import LoadResult, _finish

    hot = LoadResult(steps=[{"generator_cpu": 40.0}, {"generator_cpu": 97.5}])
    _finish(hot, tmp_path / "locust.log", 0)
    assert len(hot.warnings) == 1 and "98%" in hot.warnings[0]
    calm = LoadResult(steps=[{"generator_cpu": 89.0}])
    _finish(calm, tmp_path / "locust.log", 0)
    assert calm.warnings == []
