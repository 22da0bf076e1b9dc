"""The local-only ``knee_search`` key: parsed and checked, round-tripped, refused for SageMaker."""

from __future__ import annotations

import pytest
from ir_examples import ADVANCED_SPEC, PACKAGE_ARN, ROLE

from irkit.errors import SpecError
from irkit.spec import JobSpec, KneeSearch

LOCAL = {"job_name": "knee", "supported_instance_types": ["local.cpu1"]}


def test_knee_search_is_parsed_and_round_trips():
    spec = JobSpec.from_dict({**LOCAL, "knee_search": {"max_users": 8, "window_seconds": 1.5, "stability": 0.05,
                                                       "min_requests": 20, "max_level_seconds": 9}})
    assert spec.knee_search == KneeSearch(8, 1.5, 0.05, 20, 9.0)
    assert JobSpec.from_dict(spec.to_dict()) == spec
    spec.validate("local")
    bare = JobSpec.from_dict({**LOCAL, "knee_search": {}})
    assert bare.knee_search == KneeSearch() and bare.to_dict()["knee_search"] == {}
    assert JobSpec.from_dict({**LOCAL, "knee_search": True}).knee_search == KneeSearch()
    assert JobSpec.from_dict(LOCAL).knee_search is None  # still searched locally: it is the default


def test_knee_search_settings_reach_the_engine():
    from irkit.load.knee_search import KneeSettings

    settings = KneeSettings.from_value(KneeSearch(max_users=8, stability=0.05))
    assert settings.max_users == 8 and settings.stability == 0.05
    assert settings.window_seconds == KneeSettings().window_seconds  # unset: the engine's default


@pytest.mark.parametrize(
    ("knee", "field"),
    [
        ({"max_users": 0}, "knee_search.max_users"),
        ({"users": 4}, "knee_search.users"),
        ({"stability": 10}, "knee_search.stability"),
        ({"window_seconds": 0.1}, "knee_search.window_seconds"),
        ({"min_requests": 0}, "knee_search.min_requests"),
        ({"window_seconds": 2, "max_level_seconds": 5}, "knee_search.max_level_seconds"),
        ("fast", "knee_search"),
    ],
)
def test_bad_knee_search_names_the_field(knee, field):
    with pytest.raises(SpecError) as err:
        JobSpec.from_dict({**LOCAL, "knee_search": knee})
    assert err.value.field == field


@pytest.mark.parametrize("traffic", [
    {"stairs": {"duration_in_seconds": 10, "number_of_steps": 2, "users_per_step": 1}},
    {"phases": [{"duration_in_seconds": 10, "initial_number_of_users": 1, "spawn_rate": 1}]},
    {"open_loop": {"rates_per_second": [5], "duration_in_seconds": 5}},
])
def test_knee_search_and_fixed_traffic_exclude_each_other(traffic):
    with pytest.raises(SpecError) as err:
        JobSpec.from_dict({**LOCAL, "knee_search": {}, **traffic})
    assert err.value.field == "knee_search"


def test_sagemaker_refuses_knee_search_naming_it():
    data = {k: v for k, v in ADVANCED_SPEC.items() if k != "phases"}
    spec = JobSpec.from_dict({**data, "knee_search": {"max_users": 8}})
    with pytest.raises(SpecError) as err:
        spec.validate("sagemaker")
    assert err.value.field == "knee_search"
    with pytest.raises(SpecError) as err:
        spec.to_request(model_package_version_arn=PACKAGE_ARN, role_arn=ROLE)
    assert err.value.field == "knee_search"
