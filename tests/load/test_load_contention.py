"""Others on the server's cores: read off the STEP fields the server's usage sample leaves (pure)."""

from __future__ import annotations

import pytest

from irkit.load import contention

pytestmark = pytest.mark.fast


def step(busy, own, *, steal=0.0, cores=1, generator=None):
    return {"server_cores_busy": busy, "server_cpu": own, "server_cores_steal": steal, "server_cores": cores,
            "generator_cpu": generator}


def test_others_are_what_ran_on_the_servers_cores_besides_the_server():
    assert contention.step_others(step(99.0, 48.0), False) == pytest.approx(51.0)
    assert contention.step_others(step(97.0, 96.0), False) == pytest.approx(1.0)
    assert contention.step_others({"server_cpu": 50.0}, False) is None


def test_a_generator_on_the_same_cores_is_not_counted_as_others():
    # two cores, Locust took 40% of one core (20% of the two): that is reported as the generator's
    assert contention.step_others(step(90.0, 70.0, cores=2, generator=40.0), True) == pytest.approx(0.0)
    assert contention.step_others(step(90.0, 70.0, cores=2, generator=40.0), False) == pytest.approx(20.0)


def test_record_reads_the_worst_of_the_levels_maxinvocations_rests_on():
    steps = [step(40.0, 39.0), step(99.0, 48.0, steal=2.0), step(98.0, 97.0)]
    assert contention.record(steps, [2]) == {"others_percent": 1.0, "steal_percent": 0.0}
    assert contention.record(steps, [1, 2, 2]) == {"others_percent": 51.0, "steal_percent": 2.0}
    assert contention.record([{"server_cpu": 90.0}], [0]) is None  # an existing endpoint: not known


def test_warning_over_the_limit_only():
    assert contention.warning({"others_percent": 10.0, "steal_percent": 2.0}) is None
    assert contention.warning(None) is None
    text = contention.warning({"others_percent": 51.0, "steal_percent": 0.0})
    assert "other processes took 51% of the server's cores" in text and "quieter machine" in text
    assert "hypervisor" in contention.warning({"others_percent": 10.0, "steal_percent": 12.0})
