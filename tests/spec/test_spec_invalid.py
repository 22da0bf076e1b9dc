"""Every invalid spec is refused before any call, and the error names the field at fault."""

from __future__ import annotations

import copy

import pytest
from ir_examples import ADVANCED_SPEC, PACKAGE_ARN, ROLE

from irkit.errors import SpecError
from irkit.spec import JobSpec

PHASE = {"duration_in_seconds": 120, "initial_number_of_users": 1, "spawn_rate": 1}


def _with(**changes):
    spec = copy.deepcopy(ADVANCED_SPEC)
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


# (id, spec dict, field named in the error) -- refused by from_dict, whatever the target
INVALID_ANYWHERE = [
    ("unknown-key", _with(max_test=3), "max_test"),
    ("unknown-phase-key", _with(phases=[{**PHASE, "users": 3}]), "phases[0].users"),
    ("job-name-pattern", _with(job_name="bad_name!"), "job_name"),
    ("job-name-too-long", _with(job_name="a" * 65), "job_name"),
    ("duration-over-18000", _with(job_duration_in_seconds=18001), "job_duration_in_seconds"),
    ("framework", _with(framework="MXNET"), "framework"),
    ("payload-not-targz", _with(sample_payload_url="s3://b/payload.zip"), "sample_payload_url"),
    (
        "instance-type-enum",
        _with(supported_instance_types=["ml.c5.huge"]),
        "supported_instance_types[0]",
    ),
    (
        "range-instance-type",
        _with(hyperparameter_ranges=[{"instance_types": ["m5.xlarge"]}]),
        "hyperparameter_ranges[0].instance_types[0]",
    ),
    (
        "range-missing-instance-types",
        _with(hyperparameter_ranges=[{"OMP_NUM_THREADS": [1]}]),
        "hyperparameter_ranges[0].instance_types",
    ),
    (
        "too-many-env-values",
        _with(
            hyperparameter_ranges=[
                {"instance_types": ["ml.c5.xlarge"], "OMP_NUM_THREADS": [1, 2, 3, 4]}
            ]
        ),
        "hyperparameter_ranges[0].OMP_NUM_THREADS",
    ),
    (
        "too-many-env-ranges",
        _with(
            hyperparameter_ranges=[
                {"instance_types": ["ml.c5.xlarge"], **{f"V{i}": [1] for i in range(6)}}
            ]
        ),
        "hyperparameter_ranges[0]",
    ),
    (
        "too-many-endpoint-configs",
        _with(
            hyperparameter_ranges=[
                {
                    "instance_types": [
                        "ml.c5.large",
                        "ml.c5.xlarge",
                        "ml.c5.2xlarge",
                        "ml.c5.4xlarge",
                        "ml.c5.9xlarge",
                        "ml.c5.18xlarge",
                        "ml.m5.large",
                        "ml.m5.xlarge",
                        "ml.m5.2xlarge",
                        "ml.m5.4xlarge",
                        "ml.m5.12xlarge",
                    ]
                }
            ]
        ),
        "hyperparameter_ranges",
    ),
    (
        "two-thresholds",
        _with(
            model_latency_thresholds=[
                {"percentile": "P95", "value_in_milliseconds": 100},
                {"percentile": "P99", "value_in_milliseconds": 200},
            ]
        ),
        "model_latency_thresholds",
    ),
    (
        "percentile",
        _with(model_latency_thresholds=[{"percentile": "P50", "value_in_milliseconds": 100}]),
        "model_latency_thresholds[0].percentile",
    ),
    (
        "users-per-step",
        _with(
            phases=None,
            stairs={"duration_in_seconds": 120, "number_of_steps": 3, "users_per_step": 4},
        ),
        "stairs.users_per_step",
    ),
    ("spawn-rate-negative", _with(phases=[{**PHASE, "spawn_rate": -1}]), "phases[0].spawn_rate"),
    (
        "initial-users-zero",
        _with(phases=[{**PHASE, "initial_number_of_users": 0}]),
        "phases[0].initial_number_of_users",
    ),
    (
        "phase-duration-not-int",
        _with(phases=[{**PHASE, "duration_in_seconds": "2m"}]),
        "phases[0].duration_in_seconds",
    ),
    ("traffic-type", _with(traffic_type="RAMP"), "traffic_type"),
    ("stairs-type-without-stairs", _with(traffic_type="STAIRS"), "stairs"),
    ("parallel-over-max-tests", _with(max_tests=2, max_parallel_tests=3), "max_parallel_tests"),
    ("flat-invocations", _with(flat_invocations="Halt"), "flat_invocations"),
    (
        "serverless-memory",
        _with(serverless_configs=[{"memory_size_in_mb": 1000, "max_concurrency": 1}]),
        "serverless_configs[0].memory_size_in_mb",
    ),
    (
        "local-price-for-ml-type",
        _with(instance_prices={"ml.c5.xlarge": 0.2}),
        "instance_prices.ml.c5.xlarge",
    ),
    (
        "open-loop-rate",
        _with(open_loop={"rates_per_second": [0], "duration_in_seconds": 5}),
        "open_loop.rates_per_second[0]",
    ),
]


@pytest.mark.parametrize(
    "spec_dict,field",
    [(s, f) for _, s, f in INVALID_ANYWHERE],
    ids=[i for i, _, _ in INVALID_ANYWHERE],
)
def test_invalid_spec_is_refused_by_name(spec_dict, field):
    with pytest.raises(SpecError) as err:
        JobSpec.from_dict(spec_dict)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}:")


# (id, spec dict, field) -- valid locally, refused when rendered for SageMaker
INVALID_FOR_SAGEMAKER = [
    (
        "short-phase",
        _with(phases=[{**PHASE, "duration_in_seconds": 10}]),
        "phases[0].duration_in_seconds",
    ),
    (
        "long-phase",
        _with(phases=[{**PHASE, "duration_in_seconds": 3601}]),
        "phases[0].duration_in_seconds",
    ),
    (
        "short-stairs",
        _with(
            phases=None,
            stairs={"duration_in_seconds": 30, "number_of_steps": 2, "users_per_step": 1},
        ),
        "stairs.duration_in_seconds",
    ),
    (
        "local-type",
        _with(hyperparameter_ranges=[{"instance_types": ["local.cpu1"]}]),
        "hyperparameter_ranges[0].instance_types[0]",
    ),
    (
        "open-loop",
        _with(open_loop={"rates_per_second": [5], "duration_in_seconds": 5}),
        "open_loop",
    ),
    ("instance-prices", _with(instance_prices={"local.cpu1": 0.05}), "instance_prices"),
    ("job-shorter-than-phases", _with(job_duration_in_seconds=200), "job_duration_in_seconds"),
    ("local-payload", _with(sample_payload_url="/tmp/payload.tar.gz"), "sample_payload_url"),
    ("no-job-name", _with(job_name=None), "job_name"),
]


@pytest.mark.parametrize(
    "spec_dict,field",
    [(s, f) for _, s, f in INVALID_FOR_SAGEMAKER],
    ids=[i for i, _, _ in INVALID_FOR_SAGEMAKER],
)
def test_cloud_rules_apply_only_to_sagemaker(spec_dict, field):
    spec = JobSpec.from_dict(spec_dict)  # accepted as a spec
    with pytest.raises(SpecError) as err:
        spec.to_request(model_package_version_arn=PACKAGE_ARN, role_arn=ROLE)
    assert err.value.field == field


def test_local_target_refuses_sagemaker_types_and_serverless():
    spec = JobSpec.from_dict(ADVANCED_SPEC)
    with pytest.raises(SpecError) as err:
        spec.validate(target="local")
    assert err.value.field == "hyperparameter_ranges[0].instance_types[0]"
    serverless = JobSpec.from_dict(
        {
            "supported_instance_types": ["local.cpu1"],
            "serverless_configs": [{"memory_size_in_mb": 2048, "max_concurrency": 2}],
        }
    )
    with pytest.raises(SpecError) as err:
        serverless.validate(target="local")
    assert err.value.field == "serverless_configs"
    with pytest.raises(SpecError) as err:
        JobSpec.from_dict({"supported_instance_types": ["local.cpu999"]}).validate(target="local")
    assert err.value.field == "supported_instance_types[0]"
    with pytest.raises(SpecError) as err:
        spec.validate(target="cloud")
    assert err.value.field == "target"
