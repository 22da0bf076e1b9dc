"""JobSpec as a value: files, round trips, configurations, traffic, job type; local profiles, prices."""

from __future__ import annotations

import json

import pytest
from ir_examples import ADVANCED_SPEC, DEFAULT_SPEC

from irkit.errors import SpecError
from irkit.instances import catalog, estimated_local_price, local_instance_types, local_profile
from irkit.pricing import PriceUnknownError, price
from irkit.spec import (
    Configuration,
    HyperparameterRange,
    JobSpec,
    LatencyThreshold,
    Phase,
    load_spec,
)

LOCAL_YAML = """
job_name: local-advanced
framework: tensorflow
sample_payload_url: irkit-work/payload.tar.gz
supported_content_types: [application/json]
hyperparameter_ranges:
  - instance_types: [local.cpu1, local.cpu2]
    OMP_NUM_THREADS: [1, 2]
    SAGEMAKER_TFS_ENABLE_BATCHING: ["true", "false"]
phases:
  - {duration_in_seconds: 5, initial_number_of_users: 1, spawn_rate: 1}
model_latency_thresholds:
  - {percentile: P99, value_in_milliseconds: 250}
instance_prices: {local.cpu1: 0.05}
open_loop: {rates_per_second: [2, 4.5], duration_in_seconds: 3}
"""


def test_yaml_and_json_files_load_the_same_spec(tmp_path):
    yaml_path = tmp_path / "job.yaml"
    yaml_path.write_text(LOCAL_YAML)
    spec = load_spec(yaml_path)
    json_path = tmp_path / "job.json"
    json_path.write_text(json.dumps(spec.to_dict()))
    assert load_spec(str(json_path)) == spec
    assert load_spec(spec) is spec
    assert spec.framework == "TENSORFLOW"
    assert spec.latency_threshold == LatencyThreshold("P99", 250)
    assert spec.open_loop.rates_per_second == (2, 4.5)
    spec.validate(target="local")


def test_broken_file_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("phases: [\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert err.value.field == str(path)
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "missing.yaml")
    assert "missing.yaml" in err.value.field


def test_configurations_expand_every_env_combination(tmp_path):
    spec = JobSpec.from_dict(__import__("yaml").safe_load(LOCAL_YAML))
    configs = spec.configurations()
    assert len(configs) == 2 * 2 * 2
    assert configs[0] == Configuration(
        "local.cpu1+OMP_NUM_THREADS=1+SAGEMAKER_TFS_ENABLE_BATCHING=true",
        "local.cpu1",
        {"OMP_NUM_THREADS": "1", "SAGEMAKER_TFS_ENABLE_BATCHING": "true"},
    )
    assert len({c.config_id for c in configs}) == len(configs)
    assert {c.instance_type for c in configs} == {"local.cpu1", "local.cpu2"}
    assert {tuple(c.environment.values()) for c in configs if c.instance_type == "local.cpu2"} == {
        ("1", "true"),
        ("1", "false"),
        ("2", "true"),
        ("2", "false"),
    }


def test_default_job_configurations_and_type():
    spec = JobSpec.from_dict(DEFAULT_SPEC)
    assert spec.job_type == "Default"
    assert spec.traffic() is None
    assert [c.instance_type for c in spec.configurations()] == DEFAULT_SPEC[
        "supported_instance_types"
    ]
    assert all(dict(c.environment) == {} for c in spec.configurations())


def test_traffic_pattern_and_advanced_type():
    spec = JobSpec.from_dict(ADVANCED_SPEC)
    traffic = spec.traffic()
    assert traffic.traffic_type == "PHASES"
    assert traffic.phases[1] == Phase(120, 6, 2)
    stairs = spec.replace(
        phases=(),
        stairs={"duration_in_seconds": 60, "number_of_steps": 3, "users_per_step": 2},
        traffic_type=None,
    )
    assert (
        stairs.traffic().traffic_type == "STAIRS" and stairs.traffic().stairs.number_of_steps == 3
    )
    only_threshold = JobSpec(
        model_latency_thresholds=[{"percentile": "P95", "value_in_milliseconds": 10}]
    )
    assert only_threshold.job_type == "Advanced"


def test_spec_is_frozen_and_replace_checks():
    spec = JobSpec.from_dict(ADVANCED_SPEC)
    with pytest.raises(AttributeError):
        spec.job_name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.hyperparameter_ranges[0].environment["X"] = ("1",)  # type: ignore[index]
    with pytest.raises(SpecError) as err:
        spec.replace(max_invocations=0)
    assert err.value.field == "max_invocations"
    assert JobSpec.from_dict(spec.to_dict()) == spec
    assert hash(spec) == hash(JobSpec.from_dict(spec.to_dict()))


def test_python_construction_matches_file_form():
    built = JobSpec(
        job_name="py",
        supported_instance_types=("local.cpu1",),
        hyperparameter_ranges=(HyperparameterRange(("local.cpu1",), {"OMP_NUM_THREADS": ("1",)}),),
    )
    assert built == JobSpec.from_dict(
        {
            "job_name": "py",
            "supported_instance_types": ["local.cpu1"],
            "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": [1]}],
        }
    )


def test_with_job_name_fills_only_missing_names():
    named = JobSpec(job_name="keep-me")
    assert named.with_job_name() is named
    fresh = JobSpec().with_job_name()
    assert (
        fresh.job_name.startswith("irkit-") and fresh.job_name != JobSpec().with_job_name().job_name
    )


def test_local_profile_estimate_and_override():
    names = local_instance_types()
    assert names[0] == "local.cpu1"
    one = local_profile("local.cpu1")
    assert one.price_is_estimate and len(one.cpus) == 1
    assert one.price_per_hour == pytest.approx(price("ml.c5.large") / 2)
    last = local_profile(names[-1])
    assert last.price_per_hour == pytest.approx(len(names) * one.price_per_hour)
    overridden = local_profile("local.cpu1", {"local.cpu1": 0.5})
    assert overridden.price_per_hour == 0.5 and not overridden.price_is_estimate
    assert estimated_local_price(4) == pytest.approx(4 * one.price_per_hour)
    for bad in ("local.cpu0", "ml.c5.large", f"local.cpu{len(names) + 1}"):
        with pytest.raises(SpecError) as err:
            local_profile(bad)
        assert err.value.field == "instance_type"


def test_catalog_covers_the_families_with_prices():
    items = {i.instance_type: i for i in catalog()}
    for family in ("c5", "c6i", "c7g", "m5", "m6i", "r5", "g4dn", "g5", "inf1", "inf2"):
        assert any(name.startswith(f"ml.{family}.") for name in items), family
    assert items["ml.c5.xlarge"].vcpus == 4 and items["ml.g4dn.xlarge"].gpus == 1
    assert all(i.price_per_hour and i.price_per_hour > 0 for i in items.values())
    # bigger sizes of a family cost more
    assert items["ml.c5.2xlarge"].price_per_hour > items["ml.c5.xlarge"].price_per_hour
    with pytest.raises(PriceUnknownError):
        price("ml.c5.xlarge", region="mars-1")


def test_instance_enum_snapshot_matches_botocore():
    botocore_session = pytest.importorskip("botocore.session")
    from irkit.spec.fields import sagemaker_instance_types

    shape = (
        botocore_session.get_session()
        .get_service_model("sagemaker")
        .shape_for("ProductionVariantInstanceType")
    )
    assert set(shape.enum) == set(sagemaker_instance_types())


def test_docs_example_spec_renders_for_sagemaker():
    import re
    from pathlib import Path

    import yaml
    from ir_examples import PACKAGE_ARN, ROLE

    text = (Path(__file__).resolve().parents[2] / "docs" / "sagemaker.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    spec = JobSpec.from_dict(yaml.safe_load(block))
    request = spec.to_request(model_package_version_arn=PACKAGE_ARN, role_arn=ROLE)
    assert request["JobType"] == "Advanced"
    assert len(request["InputConfig"]["EndpointConfigurations"]) == 2
    assert len(spec.configurations()) == 6
