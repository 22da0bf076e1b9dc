"""Stable windows (windows.py) and the throughput estimator (estimate.py) on synthetic ticks."""

from __future__ import annotations

import pytest

from irkit.load import estimate, windows
from irkit.load.hdr import StepTally


def tick(k, requests, last_done=None, *, level=0, settled=True, p50=10.0, duration=0.5, histogram=None):
    start = k * duration
    out = {"tick": k, "start_s": start, "duration_s": duration, "requests": requests, "errors": 0,
           "last_done_s": start + duration - 0.01 if last_done is None else last_done, "level": level,
           "settled": settled, "p50_ms": p50, "p95_ms": p50 * 2, "p99_ms": p50 * 3}
    if histogram is not None:
        out["histogram"] = histogram
    return out


RULE = windows.WindowRule(window_seconds=1.0, min_requests=10, tolerance=0.10, max_level_seconds=6.0)


def test_windows_span_the_window_length_and_hold_enough_requests():
    ticks = [tick(k, 8) for k in range(7)]  # 8 per 0.5 s tick: 16 per second
    groups, filling = windows.group_windows(ticks, RULE)
    assert [len(g) for g in groups] == [2, 2, 2] and len(filling) == 1
    slow = [tick(k, 3) for k in range(8)]  # 3 per tick: a window needs 4 ticks (12 >= 10 requests)
    groups, _ = windows.group_windows(slow, RULE)
    assert [len(g) for g in groups] == [4, 4]


def test_unsettled_ticks_gaps_and_other_levels_break_a_window():
    ticks = [tick(0, 8, settled=False), tick(1, 8), tick(2, 8, level=1), tick(3, 8, level=1), tick(5, 8, level=1),
             tick(6, 8, level=1)]
    groups, _ = windows.group_windows(ticks, RULE)
    assert [[t["tick"] for t in g] for g in groups] == [[2, 3], [5, 6]]


def test_completion_aligned_rate_has_no_edge_noise():
    # One user, one answer every 70 ms: windows of 1 s hold 14 or 15 answers; counting per span
    # would read 14 or 15 req/s, the aligned rate reads 14.29 every time.
    done = [0.07 * i for i in range(1, 80)]
    ticks = []
    for k in range(10):
        inside = [d for d in done if k * 0.5 <= d < (k + 1) * 0.5]
        ticks.append(tick(k, len(inside), max(inside)))
    groups, _ = windows.group_windows(ticks, windows.WindowRule(window_seconds=1.0, min_requests=5))
    made = windows.make_windows(groups)
    counts = {w.requests for w in made}
    assert len(counts) == 2  # the raw counts do jitter
    for w in made[1:]:
        assert w.rps == pytest.approx(1 / 0.07, rel=1e-6)


def test_a_stall_between_windows_is_not_lost():
    a = [tick(0, 10, 0.49), tick(1, 10, 0.99)]
    b = [tick(2, 1, 1.01), tick(3, 10, 1.99)]  # almost nothing until 1.5 s, then 10 at once
    first, second = windows.make_windows([a, b])
    assert second.rps == pytest.approx(11 / 1.0, rel=1e-6)  # 11 answers since the last one at 0.99 s


def test_stability_rule_and_counted_windows():
    def w(rps, p50=10.0):
        return windows.Window(0.0, 1.0, int(rps), 0, rps, p50, p50, p50)

    settling = [w(50), w(80), w(100), w(98), w(102)]
    assert windows.is_stable(settling, RULE)
    counted, stable = windows.counted_windows(settling, RULE)
    assert stable and [x.rps for x in counted] == [100, 98, 102]  # the ramp is dropped
    assert not windows.is_stable([w(100), w(100), w(100, p50=14)], RULE)  # latency disagrees
    assert not windows.is_stable([w(100), w(100)], RULE)  # too few
    assert windows.level_state([w(100), w(130)], 3.0, RULE) == windows.STATE_MEASURING
    assert windows.level_state([w(100), w(130)], 6.0, RULE) == windows.STATE_UNSTABLE
    assert windows.level_state(settling, 3.0, RULE) == windows.STATE_STABLE
    three = [w(100), w(98), w(102)]  # agreeing, but the interval wants min_windows (5) of them
    assert windows.level_state(three, 3.0, RULE) == windows.STATE_MEASURING
    assert windows.level_state(three, 6.0, RULE) == windows.STATE_STABLE  # at the cap, settled is enough
    counted, stable = windows.counted_windows([w(100), w(130)], RULE)
    assert not stable and len(counted) == 2


def test_window_latency_merges_histograms_exactly():
    fast, slow = StepTally(), StepTally()
    for _ in range(90):
        fast.record(10.0, False, None)
    for _ in range(10):
        slow.record(100.0, False, None)
    ticks = [tick(0, 90, histogram=fast.encode()["histogram"]), tick(1, 10, histogram=slow.encode()["histogram"])]
    window = windows.window_from_ticks(ticks)
    assert window.p50_ms == pytest.approx(10.0, rel=0.01)
    assert window.p95_ms == pytest.approx(100.0, rel=0.01)  # not an average of the two ticks' p95


def test_t_interval_matches_the_textbook():
    interval = estimate.mean_interval([10.0, 12.0, 14.0])
    assert interval.mean == 12.0
    assert interval.hi - 12.0 == pytest.approx(4.303 * 2.0 / 3 ** 0.5, rel=1e-3)
    assert not estimate.mean_interval([5.0]).known
    assert estimate.t_quantile(1000) == 1.96 and estimate.t_quantile(35) == estimate.t_quantile(30)
    assert estimate.per_minute(interval) == [int(interval.lo * 60), int(interval.hi * 60) + 1]


def level(users, rps_values):
    step = {"users": users, "rps": sum(rps_values) / len(rps_values), "requests": 100,
            "windows": [{"rps": r} for r in rps_values]}
    return estimate.level_estimate(users, step)


def test_levels_are_told_apart_only_beyond_noise():
    assert estimate.told_apart(level(1, [90, 91, 89]), level(2, [100, 101, 99]))
    assert not estimate.told_apart(level(1, [90, 110, 95]), level(2, [100, 101, 99]))  # wide: overlap
    assert not estimate.told_apart(level(1, [98.5, 98.6, 98.4]), level(2, [100, 100.1, 99.9]))  # < 2%
    no_windows = estimate.level_estimate(0, {"users": 1, "rps": 96.0})
    assert not estimate.told_apart(no_windows, level(2, [100, 100, 100]))  # within the 5% fallback
    assert estimate.told_apart(estimate.level_estimate(0, {"users": 1, "rps": 90.0}), level(2, [100, 100, 100]))


def test_knee_level_is_the_first_that_cannot_be_told_apart_from_the_best():
    levels = [level(1, [50, 51, 49]), level(2, [97, 99, 98]), level(3, [100, 99, 101]), level(4, [101, 100, 100])]
    assert estimate.knee_level(levels).users == 2


def _level(index: int, users: int, window_rps: list[float]) -> estimate.LevelEstimate:
    return estimate.level_estimate(index, {"users": users, "rps": sum(window_rps) / len(window_rps),
                                           "windows": [{"rps": r, "requests": 50} for r in window_rps]})


def test_wide_intervals_never_let_the_knee_slide_far_below_the_best():
    """A noisy best level (wide interval) overlapping a much lower one must not make them equal."""
    low = _level(0, 2, [18.0, 21.0, 16.0, 22.0])  # ~19 req/s
    best = _level(1, 4, [40.0, 22.0, 33.0, 25.0])  # ~30 req/s, an interval wide enough to overlap
    assert best.rps.lo < low.rps.hi  # the intervals overlap...
    assert estimate.told_apart(low, best)  # ...but 37% apart is a real difference
    assert estimate.knee_level([low, best]) is best
    near = _level(2, 3, [29.0, 31.0, 27.0, 30.0])  # within 10% and overlapping: the same
    assert estimate.knee_level([low, near, best]) is near
