"""to_request reproduces the SDK's right_size request; from_request reads it back; botocore accepts it."""

from __future__ import annotations

import copy
from unittest import mock

import pytest
from ir_examples import (
    ADVANCED_REQUEST,
    ADVANCED_SPEC,
    DEFAULT_REQUEST,
    DEFAULT_SPEC,
    PACKAGE_ARN,
    ROLE,
)

from irkit.errors import SpecError
from irkit.spec import JobSpec


def _render(spec_dict):
    return JobSpec.from_dict(spec_dict).to_request(
        model_package_version_arn=PACKAGE_ARN, role_arn=ROLE
    )


def test_default_job_renders_the_literal_request():
    spec = JobSpec.from_dict(DEFAULT_SPEC)
    assert spec.job_type == "Default"
    assert _render(DEFAULT_SPEC) == DEFAULT_REQUEST


def test_advanced_job_renders_the_literal_request():
    spec = JobSpec.from_dict(ADVANCED_SPEC)
    assert spec.job_type == "Advanced"
    assert _render(ADVANCED_SPEC) == ADVANCED_REQUEST


def _sdk_request(spec_dict):
    """What sagemaker 2.x Model.right_size sends, captured from a mocked session."""
    pytest.importorskip("sagemaker")
    from sagemaker.inference_recommender.inference_recommender_mixin import (
        ModelLatencyThreshold,
        Phase,
    )
    from sagemaker.model import ModelPackage
    from sagemaker.parameter import CategoricalParameter
    from sagemaker.session import Session

    session = mock.MagicMock()
    session.boto_region_name = "us-east-1"
    session.sagemaker_config = {}
    model = ModelPackage(role=ROLE, model_package_arn=PACKAGE_ARN, sagemaker_session=session)
    kwargs = {k: v for k, v in spec_dict.items()}
    if "hyperparameter_ranges" in kwargs:
        kwargs["hyperparameter_ranges"] = [
            {k: CategoricalParameter(v) for k, v in r.items()}
            for r in kwargs["hyperparameter_ranges"]
        ]
    if "phases" in kwargs:
        kwargs["phases"] = [
            Phase(p["duration_in_seconds"], p["initial_number_of_users"], p["spawn_rate"])
            for p in kwargs["phases"]
        ]
    if "model_latency_thresholds" in kwargs:
        kwargs["model_latency_thresholds"] = [
            ModelLatencyThreshold(t["percentile"], t["value_in_milliseconds"])
            for t in kwargs["model_latency_thresholds"]
        ]
    model.right_size(**kwargs)
    sent = session.create_inference_recommendations_job.call_args.kwargs
    request = Session._create_inference_recommendations_job_request(
        Session.__new__(Session), job_description="#python-sdk-create", tags=None, **sent
    )
    for key in ("JobDescription", "Tags"):  # the SDK's fixed values, which irkit does not send
        request.pop(key, None)
    return request


@pytest.mark.parametrize("spec_dict", [DEFAULT_SPEC, ADVANCED_SPEC], ids=["default", "advanced"])
def test_request_equals_what_the_sdk_sends(spec_dict):
    assert _render(spec_dict) == _sdk_request(spec_dict)


@pytest.mark.parametrize(
    "request_dict", [DEFAULT_REQUEST, ADVANCED_REQUEST], ids=["default", "advanced"]
)
def test_request_passes_botocore_service_model(request_dict):
    from irkit.backends.sagemaker.request_check import validate_request

    validate_request(copy.deepcopy(request_dict))


def test_service_model_check_names_the_bad_field():
    from irkit.backends.sagemaker.request_check import validate_request

    bad = copy.deepcopy(ADVANCED_REQUEST)
    bad["InputConfig"]["ResourceLimit"]["MaxNumberOfTests"] = "ten"
    with pytest.raises(SpecError) as err:
        validate_request(bad)
    assert "MaxNumberOfTests" in err.value.field


@pytest.mark.parametrize("spec_dict", [DEFAULT_SPEC, ADVANCED_SPEC], ids=["default", "advanced"])
def test_from_request_round_trips(spec_dict):
    spec = JobSpec.from_dict(spec_dict)
    request = spec.to_request(model_package_version_arn=PACKAGE_ARN, role_arn=ROLE)
    back = JobSpec.from_request(request)
    assert back == spec
    assert back.to_request(model_package_version_arn=PACKAGE_ARN, role_arn=ROLE) == request


def test_stairs_serverless_and_extensions_round_trip():
    spec = JobSpec.from_dict(
        {
            "job_name": "stairs-job",
            "framework": "PYTORCH",
            "framework_version": "2.1",
            "domain": "COMPUTER_VISION",
            "task": "IMAGE_CLASSIFICATION",
            "nearest_model_name": "resnet50",
            "stairs": {"duration_in_seconds": 300, "number_of_steps": 4, "users_per_step": 3},
            "flat_invocations": "Stop",
            "endpoint_type": "RealTime",
            "hyperparameter_ranges": [
                {"instance_types": ["ml.g4dn.xlarge"]},
                {"instance_types": ["ml.c5.large"], "OMP_NUM_THREADS": [1]},
            ],
            "serverless_configs": [{"memory_size_in_mb": 2048, "max_concurrency": 5}],
            "endpoints": ["existing-endpoint"],
        }
    )
    request = spec.to_request(model_name="my-model", role_arn=ROLE)
    assert request["InputConfig"]["TrafficPattern"] == {
        "TrafficType": "STAIRS",
        "Stairs": {"DurationInSeconds": 300, "NumberOfSteps": 4, "UsersPerStep": 3},
    }
    assert request["InputConfig"]["EndpointConfigurations"] == [
        {"InstanceType": "ml.g4dn.xlarge"},
        {
            "InstanceType": "ml.c5.large",
            "EnvironmentParameterRanges": {
                "CategoricalParameterRanges": [{"Name": "OMP_NUM_THREADS", "Value": ["1"]}]
            },
        },
        {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}},
    ]
    assert request["StoppingConditions"] == {"FlatInvocations": "Stop"}
    assert request["InputConfig"]["ContainerConfig"]["Domain"] == "COMPUTER_VISION"
    assert request["InputConfig"]["Endpoints"] == [{"EndpointName": "existing-endpoint"}]
    from irkit.backends.sagemaker.request_check import validate_request

    validate_request(request)
    assert JobSpec.from_request(request) == spec


def test_exactly_one_model_target():
    spec = JobSpec.from_dict(DEFAULT_SPEC)
    with pytest.raises(SpecError) as err:
        spec.to_request(model_name="m", model_package_version_arn=PACKAGE_ARN, role_arn=ROLE)
    assert err.value.field == "model_name"
    with pytest.raises(SpecError) as err:
        spec.to_request(model_name="m", role_arn="not-a-role")
    assert err.value.field == "role_arn"


def test_unsupported_request_key_is_named():
    bad = copy.deepcopy(DEFAULT_REQUEST)
    bad["InputConfig"]["VpcConfig"] = {"SecurityGroupIds": ["sg-1"], "Subnets": ["s-1"]}
    with pytest.raises(SpecError) as err:
        JobSpec.from_request(bad)
    assert err.value.field == "InputConfig.VpcConfig"


def test_every_spec_key_is_in_the_field_table_or_local_only():
    """A new spec key must be given a request row (irkit.spec.request.FIELDS) or be declared local-only."""
    from dataclasses import fields

    from irkit.spec.request import FIELDS, REQUEST_KEYS, SPEC
    from irkit.spec.validate import LOCAL_ONLY_KEYS

    spec_keys = {f.name for f in fields(JobSpec)}
    not_sent = spec_keys - set(REQUEST_KEYS)
    assert not_sent == {*LOCAL_ONLY_KEYS, "target_models"}, "add the key to request.FIELDS or LOCAL_ONLY_KEYS"
    assert {f.key for f in FIELDS if f.source == SPEC} <= spec_keys
    paths = [f.path for f in FIELDS]
    shared = {p for p in paths if paths.count(p) > 1}
    assert shared == {"InputConfig.EndpointConfigurations"}  # the one list two keys fill


def test_advanced_keys_come_from_the_table():
    from irkit.spec import ADVANCED_KEYS

    assert set(ADVANCED_KEYS) == {
        "hyperparameter_ranges", "phases", "stairs", "max_invocations", "model_latency_thresholds",
        "flat_invocations", "max_tests", "max_parallel_tests", "serverless_configs"}  # the SDK's, plus ours


def test_every_table_row_round_trips():
    """Between them the two examples set every request key; each comes back unchanged."""
    from irkit.backends.sagemaker.request_check import validate_request
    from irkit.spec.request import REQUEST_KEYS

    stairs = {**ADVANCED_SPEC, "job_name": "all-keys", "framework_version": "2.11", "domain": "COMPUTER_VISION",
              "task": "IMAGE_CLASSIFICATION", "nearest_model_name": "resnet50", "endpoint_type": "RealTime",
              "supported_instance_types": ["ml.c5.xlarge"], "traffic_type": "STAIRS", "phases": [],
              "stairs": {"duration_in_seconds": 120, "number_of_steps": 3, "users_per_step": 2},
              "flat_invocations": "Continue", "endpoints": ["an-endpoint"], "max_tests": 3, "max_parallel_tests": 1,
              "hyperparameter_ranges": [{"instance_types": ["ml.c5.xlarge"], "OMP_NUM_THREADS": [1, 2]}],
              "serverless_configs": [{"memory_size_in_mb": 1024, "max_concurrency": 2,
                                      "provisioned_concurrency": 1}]}
    covered = set()
    for spec_dict in (ADVANCED_SPEC, stairs):
        spec = JobSpec.from_dict(spec_dict)
        covered |= set(spec.to_dict())
        request = spec.to_request(model_name="my-model", role_arn=ROLE)
        validate_request(copy.deepcopy(request))
        assert JobSpec.from_request(request) == spec
    assert set(REQUEST_KEYS) <= covered


def test_request_target_reads_the_call_fields():
    from irkit.spec.request import request_target

    request = JobSpec.from_dict(DEFAULT_SPEC).to_request(model_name="my-model", role_arn=ROLE)
    assert request_target(request) == {"model_name": "my-model", "model_package_version_arn": None,
                                       "role_arn": ROLE}


@pytest.mark.parametrize("where, value, field", [
    (("InputConfig", "TrafficPattern"), {"TrafficType": "PHASES", "Phases": [
        {"DurationInSeconds": 120, "InitialNumberOfUsers": 1, "SpawnRate": 1, "Shape": "ramp"}]},
     "InputConfig.TrafficPattern.Phases[0].Shape"),
    (("InputConfig", "EndpointConfigurations"), [{"InstanceType": "ml.c5.xlarge",
                                                  "InferenceSpecificationName": "x"}],
     "InputConfig.EndpointConfigurations[0].InferenceSpecificationName"),
    (("InputConfig", "EndpointConfigurations"), [{"ServerlessConfig": {"MemorySizeInMB": 1024,
                                                                       "MaxConcurrency": 1, "Bursty": 1}}],
     "InputConfig.EndpointConfigurations[0].ServerlessConfig.Bursty"),
    (("InputConfig", "Endpoints"), [{"EndpointName": "e", "Region": "x"}], "InputConfig.Endpoints[0].Region"),
    (("StoppingConditions",), {"MaxInvocations": 1, "Other": 1}, "StoppingConditions.Other"),
    (("InputConfig", "ContainerConfig"), "TENSORFLOW", "InputConfig.ContainerConfig"),
])
def test_unsupported_nested_member_is_named(where, value, field):
    bad = copy.deepcopy(DEFAULT_REQUEST)
    node = bad
    for name in where[:-1]:
        node = node[name]
    node[where[-1]] = value
    with pytest.raises(SpecError) as err:
        JobSpec.from_request(bad)
    assert err.value.field == field


def test_job_type_that_the_fields_contradict_is_named():
    bad = copy.deepcopy(DEFAULT_REQUEST)
    bad["JobType"] = "Advanced"
    with pytest.raises(SpecError) as err:
        JobSpec.from_request(bad)
    assert err.value.field == "JobType" and "Default" in str(err.value)


def test_sdk_defaults_are_sent_and_read_back_as_unset():
    request = JobSpec.from_dict(DEFAULT_SPEC).to_request(model_name="m", role_arn=ROLE)
    container = request["InputConfig"]["ContainerConfig"]
    assert (container["Domain"], container["Task"]) == ("MACHINE_LEARNING", "OTHER")
    back = JobSpec.from_request(request)
    assert back.domain is None and back.task is None
