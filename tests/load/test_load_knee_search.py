"""The knee search controller and driver against a simulated server (no Locust, no sockets)."""

from __future__ import annotations

import random

import pytest
from sim_server import SimServer

from irkit.load import knee
from irkit.load.knee_search import WARMUP_S, KneeDriver, KneeSearch, KneeSettings

FAST = KneeSettings(window_seconds=1.0, min_requests=10, max_level_seconds=8.0)


def search(sim: SimServer, settings: KneeSettings = FAST, **kwargs):
    """Drive a KneeDriver with the simulated server's ticks until it stops; (driver, plateau, seconds)."""
    controls: list[dict] = []
    driver = KneeDriver(KneeSearch(settings, **kwargs), controls.append)
    driver.start()
    t = 0.0
    while not driver.done:
        assert t < 600, "the search did not end"
        users, level = driver.users, driver.level
        sim.measured.append(users)
        for item in sim.ticks(users, level, t, settings.max_level_seconds + 1 + WARMUP_S):
            t = item["start_s"] + item["duration_s"]
            if driver.on_tick(item):
                break
    assert controls[-1]["stop"] is True
    assert [c["users"] for c in controls[:-1]] == sim.measured
    return driver, driver.search.plateau(driver.steps), t


def test_finds_the_knee_of_a_saturating_server_and_reads_latency_there():
    sim = SimServer(slots=3, service_ms=20, overhead_ms=0.2, noise=0.01)
    driver, found, seconds = search(sim)
    # doubling, one bisection step between 2 and 4, then the best level (3, 4 and 8 all serve at
    # capacity; whichever read highest) measured again
    assert sim.measured[:5] == [1, 2, 4, 8, 3] and len(sim.measured) == 6 and sim.measured[5] in (3, 4, 8)
    assert driver.steps[-1]["confirm"] is True and not any(s.get("confirm") for s in driver.steps[:-1])
    assert found.reason == knee.REASON_LEVELLED and found.users == 3
    assert found.best_users == sim.measured[5] and found.confirmed is True
    assert found.max_invocations == pytest.approx(sim.capacity_rps * 60, rel=0.02)
    lo, hi = found.ci_per_min
    assert lo <= sim.capacity_rps * 60 <= hi and hi - lo < 0.1 * found.max_invocations
    assert found.model_latency_ms == pytest.approx(sim.latency_ms(3) * 1.1, rel=0.02)  # p95, not 8 users' queue
    assert found.stable is True and all(s["stable"] for s in driver.steps)
    assert seconds < 6 * 7 + WARMUP_S  # each level takes its five 1 s windows (and a ramp tick)


def test_the_highest_level_inside_the_latency_slo():
    sim = SimServer(slots=2, service_ms=20, overhead_ms=0.2, noise=0.01)
    _, found, _ = search(sim, threshold_ms=30)  # p95 = 1.1 x latency: 4 users (44 ms) and 3 (33 ms) break it
    assert sim.measured == [1, 2, 4, 3, 2]  # ... and 2 again, the best level inside the SLO
    assert found.reason == knee.REASON_THRESHOLD and found.users == 2 and found.confirmed
    assert found.max_invocations == pytest.approx(sim.rps(2) * 60, rel=0.02)


def test_errors_end_the_doubling_and_bisection_finds_the_edge():
    sim = SimServer(slots=8, service_ms=20, overhead_ms=0.2, noise=0.01, errors_from=6)
    _, found, _ = search(sim)
    assert sim.measured == [1, 2, 4, 8, 6, 5, 5]
    assert found.reason == knee.REASON_ERRORS and found.users == 5


def test_still_growing_at_max_users_is_a_lower_bound():
    sim = SimServer(slots=16, service_ms=20, noise=0.01)
    _, found, _ = search(sim, KneeSettings(max_users=6, window_seconds=1.0, max_level_seconds=8.0))
    assert sim.measured == [1, 2, 4, 6, 6]  # a lower bound, and a confirmed one
    assert found.reason == knee.REASON_NOT_SATURATED and found.users == 6


def test_max_invocations_stops_the_search():
    sim = SimServer(slots=16, service_ms=20, noise=0.01)
    _, found, _ = search(sim, max_invocations=int(sim.rps(4) * 60 * 0.95))
    assert sim.measured == [1, 2, 4, 3, 4]
    assert found.reason == knee.REASON_MAX_INVOCATIONS


def test_no_level_inside_the_slo():
    sim = SimServer(slots=1, service_ms=20, noise=0.01)
    _, found, _ = search(sim, threshold_ms=5)
    assert sim.measured == [1] and not found.found and found.reason == knee.REASON_THRESHOLD


def test_a_level_that_never_settles_is_marked_unstable():
    sim = SimServer(slots=2, service_ms=20, noise=0.4, seed=3)
    driver, found, _ = search(sim, KneeSettings(max_users=2, window_seconds=1.0, max_level_seconds=4.0))
    assert any(not s["stable"] for s in driver.steps)
    unstable = [s for s in driver.steps if not s["stable"]][0]
    assert "did not settle" in unstable["warnings"][0]
    assert found.stable is (driver.steps[found.step_index]["stable"])


def test_next_users_depends_only_on_what_was_measured():
    sim = SimServer(slots=3, service_ms=20, overhead_ms=0.2, noise=0.01)
    driver, _, _ = search(sim)
    steps = list(driver.steps)
    shuffled = steps[:]
    random.Random(5).shuffle(shuffled)
    controller = KneeSearch(FAST)
    assert controller.next_users(steps) is None and controller.next_users(shuffled) is None
    assert controller.next_users(steps[:3]) == 8 and controller.next_users(steps[:4]) == 3
    assert controller.next_users(steps[:5]) == steps[5]["users"]  # the search is done: confirm the best level


def test_settings_from_a_mapping_or_none():
    assert KneeSettings.from_value(None) == KneeSettings()
    given = KneeSettings.from_value({"max_users": 8, "window_seconds": 1.5})
    assert given.max_users == 8 and given.window_seconds == 1.5 and given.min_requests == KneeSettings().min_requests
    assert given.rule().window_seconds == 1.5


def _level(users, rates, p95=100.0, **extra):
    return {"users": users, "rps": sum(rates) / len(rates), "requests": 100, "errors": 0, "p95_ms": p95,
            "stable": True, "windows": [{"rps": r} for r in rates], **extra}


def test_a_confirmed_level_loses_the_lucky_reading_and_stays_chosen():
    # 4 users read 3% high once; its second measurement reads like 2 and 3: MaxInvocations is 4's
    # mean over both (not the lucky first reading), and 3's slightly higher single reading is noise
    steps = [_level(1, [6.0, 6.1, 5.9]), _level(2, [9.9, 10.0, 10.1]), _level(4, [10.3, 10.35, 10.25]),
             _level(3, [10.1, 10.15, 10.05]), _level(4, [9.95, 10.0, 10.05], confirm=True)]
    controller = KneeSearch(FAST)
    assert controller.next_users(steps) is None
    found = controller.plateau(steps)
    assert found.confirmed and found.best_users == 4 and found.users == 2
    assert found.max_invocations == round((10.3 + 10.0) / 2 * 60)
    lo, hi = found.ci_per_min
    assert lo < found.max_invocations < hi


def test_a_level_measurably_above_the_confirmed_one_is_confirmed_too():
    steps = [_level(1, [6.0, 6.1, 5.9]), _level(2, [9.0, 9.1, 8.9]), _level(4, [9.5, 9.55, 9.45]),
             _level(3, [9.2, 9.3, 9.1]), _level(4, [6.8, 6.85, 6.75], confirm=True)]
    controller = KneeSearch(FAST)
    assert controller.next_users(steps) == 3  # 3 now reads > 10% above 4's merged mean
    steps.append(_level(3, [9.25, 9.2, 9.3], confirm=True))
    assert controller.next_users(steps) is None  # two re-measures at most
    found = controller.plateau(steps)
    assert found.confirmed and found.best_users == 3


def test_a_level_measured_twice_has_an_interval_that_holds_both_measurements():
    # the two measurements of 4 users disagree (the machine drifted between them) by more than either
    # one's windows would say: the interval holds both means, not just the windows' t-interval
    first, second = [10.6, 10.61, 10.59] * 3, [10.0, 10.01, 9.99] * 3
    steps = [_level(1, [6.0, 6.1, 5.9]), _level(2, [9.9, 10.0, 10.1]), _level(4, first),
             _level(4, second, confirm=True)]
    from irkit.load.estimate import mean_interval

    windows = mean_interval(first + second)
    assert windows.lo > 10.0 and windows.hi < 10.6  # 18 windows alone would claim +-1.6%
    found = KneeSearch(FAST).plateau(steps)
    lo, hi = found.ci_per_min
    assert found.confirmed and lo <= 10.0 * 60 and hi >= 10.6 * 60


def test_a_peak_between_two_powers_of_two_is_found():
    # a batched server that thrashes past 6 users: 4 -> 35, 6 -> 39, 8 -> 30 req/s
    curve = {1: 17.8, 2: 22.9, 3: 27.3, 4: 35.3, 5: 37.0, 6: 39.0, 7: 36.0, 8: 29.9}
    controller = KneeSearch(FAST)
    steps, order = [], []
    while (users := controller.next_users(steps)) is not None:
        assert len(order) < 12
        order.append(users)
        rate = curve[users]
        steps.append(_level(users, [rate * 0.99, rate, rate * 1.01], confirm=users in order[:-1]))
    assert order[:4] == [1, 2, 4, 8]  # 8 falls below 4: the doubling ends
    assert 6 in order and order[-1] == 6  # found between 4 and 8, and confirmed
    found = controller.plateau(steps)
    assert found.best_users == 6 and found.max_invocations == round(39.0 * 60)


def test_a_flat_plateau_sends_no_peak_search():
    # 8 users reads 2% under 4: noise, not a fall; nothing between them is measured
    curve = {1: 10.0, 2: 19.0, 4: 30.0, 8: 29.4, 3: 28.5}
    controller = KneeSearch(FAST)
    steps, order = [], []
    while (users := controller.next_users(steps)) is not None:
        order.append(users)
        steps.append(_level(users, [curve[users] * 0.99, curve[users], curve[users] * 1.01],
                            confirm=users in order[:-1]))
    assert 6 not in order and 5 not in order


def test_the_first_seconds_warm_up_and_are_not_measured():
    sim = SimServer(slots=3, service_ms=20, overhead_ms=0.2, noise=0.01)
    driver, _, _ = search(sim)
    first = driver.steps[0]
    assert first["users"] == 1 and first["windows"]
    assert min(w["start_s"] for w in first["windows"]) >= WARMUP_S - 1e-6  # nothing from the warm-up
