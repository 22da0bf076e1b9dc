"""The runtime axis in the spec: IRKIT_RUNTIME / IRKIT_PRECISION are checked by name, per target."""

from __future__ import annotations

import pytest

from irkit.errors import SpecError
from irkit.serve.settings import ServerSettings
from irkit.spec import JobSpec, runtimes
from irkit.spec.runtimes import RuntimeChoice, RuntimeChoiceError, runtime_choice

ROLE = "arn:aws:iam::123456789012:role/ir"
BF16_FLAGS = ("fpu", "avx512f", "avx512_bf16")
NO_BF16_FLAGS = ("fpu", "avx2", "avx512f")
EXAMPLE_RANGES = [
    {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["tensorflow"]},
    {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["openvino"], "IRKIT_PRECISION": ["fp32", "bf16"]},
]


def _spec(ranges):
    return JobSpec.from_dict({"job_name": "runtimes", "hyperparameter_ranges": ranges})


def test_defaults_and_choices():
    assert runtime_choice({}) == RuntimeChoice("tensorflow", "fp32")
    assert runtime_choice({}).is_reference
    assert runtime_choice({"IRKIT_RUNTIME": "OpenVINO "}) == RuntimeChoice("openvino", "fp32")
    choice = runtime_choice({"IRKIT_RUNTIME": "openvino", "IRKIT_PRECISION": "bf16"}, flags=BF16_FLAGS)
    assert choice == RuntimeChoice("openvino", "bf16") and not choice.is_reference
    assert runtime_choice({"IRKIT_RUNTIME": "openvino", "IRKIT_PRECISION": "bf16"}, flags=["amx_bf16"])


@pytest.mark.parametrize(("env", "flags", "variable", "words"), [
    ({"IRKIT_RUNTIME": "onnx"}, BF16_FLAGS, "IRKIT_RUNTIME", "not a runtime"),
    ({"IRKIT_PRECISION": "int8"}, BF16_FLAGS, "IRKIT_PRECISION", "not a precision"),
    ({"IRKIT_PRECISION": "bf16"}, BF16_FLAGS, "IRKIT_PRECISION", "needs IRKIT_RUNTIME=openvino"),
    ({"IRKIT_RUNTIME": "tensorflow", "IRKIT_PRECISION": "bf16"}, BF16_FLAGS, "IRKIT_PRECISION", "fp32 only"),
    ({"IRKIT_RUNTIME": "openvino", "IRKIT_PRECISION": "bf16"}, NO_BF16_FLAGS, "IRKIT_PRECISION", "AVX512_BF16"),
])
def test_refused_by_name(env, flags, variable, words):
    with pytest.raises(RuntimeChoiceError) as info:
        runtime_choice(env, flags=flags)
    assert info.value.variable == variable and words in str(info.value)


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16\n\nprocessor\t: 1\n")
    flags = runtimes.cpu_flags(cpuinfo)
    assert {"avx512f", "avx512_bf16"} <= flags
    assert runtimes.bf16_supported(flags)
    assert not runtimes.bf16_supported(runtimes.cpu_flags(tmp_path / "missing"))


def test_example_spec_expands_to_three_configs():
    spec = _spec(EXAMPLE_RANGES)
    assert [c.config_id for c in spec.configurations()] == [
        "local.cpu1+IRKIT_RUNTIME=tensorflow",
        "local.cpu1+IRKIT_PRECISION=fp32+IRKIT_RUNTIME=openvino",
        "local.cpu1+IRKIT_PRECISION=bf16+IRKIT_RUNTIME=openvino",
    ]
    runtimes.check_for_local(spec, flags=BF16_FLAGS)  # valid where the CPU has bf16


def test_examples_file_is_the_issue_job():
    from pathlib import Path

    spec = JobSpec.from_file(Path(__file__).parents[2] / "examples" / "runtimes-local.yaml")
    assert [r.to_dict() for r in spec.hyperparameter_ranges] == EXAMPLE_RANGES
    runtimes.check_for_local(spec, flags=BF16_FLAGS)


@pytest.mark.parametrize(("ranges", "flags", "field", "words"), [
    ([{"instance_types": ["local.cpu1"], "IRKIT_PRECISION": ["bf16"]}], BF16_FLAGS,
     "hyperparameter_ranges[0].IRKIT_PRECISION", "add IRKIT_RUNTIME: [openvino]"),
    ([EXAMPLE_RANGES[0], {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["tensorflow", "openvino"],
                          "IRKIT_PRECISION": ["bf16"]}], BF16_FLAGS,
     "hyperparameter_ranges[1].IRKIT_PRECISION", "fp32 only"),
    (EXAMPLE_RANGES, NO_BF16_FLAGS, "hyperparameter_ranges[1].IRKIT_PRECISION", "AVX512_BF16"),
    ([{"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["tvm"]}], BF16_FLAGS,
     "hyperparameter_ranges[0].IRKIT_RUNTIME", "not a runtime"),
])
def test_local_validation_names_the_field(ranges, flags, field, words):
    with pytest.raises(SpecError) as info:
        runtimes.check_for_local(_spec(ranges), flags=flags)
    assert info.value.field == field and words in str(info.value)


def test_validate_local_runs_the_runtime_rules():
    with pytest.raises(SpecError) as info:
        _spec([{"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["tvm"]}]).validate("local")
    assert info.value.field == "hyperparameter_ranges[0].IRKIT_RUNTIME"


@pytest.mark.parametrize("variable", ["IRKIT_RUNTIME", "IRKIT_PRECISION"])
def test_sagemaker_rendering_is_refused_pointing_to_local_and_neo(variable):
    values = {"IRKIT_RUNTIME": ["openvino"], "IRKIT_PRECISION": ["fp32"]}
    spec = _spec([{"instance_types": ["ml.c5.large"], variable: values[variable]}])
    with pytest.raises(SpecError) as info:
        spec.to_request(model_name="m", role_arn=ROLE)
    assert info.value.field == f"hyperparameter_ranges[0].{variable}"
    assert "--backend local" in str(info.value) and "CompilationJobName" in str(info.value)
    # an ordinary env parameter still renders
    ok = _spec([{"instance_types": ["ml.c5.large"], "OMP_NUM_THREADS": ["1"]}])
    assert ok.to_request(model_name="m", role_arn=ROLE)["JobName"] == "runtimes"


def test_server_settings_read_the_axis():
    settings = ServerSettings.from_env({"IRKIT_RUNTIME": "openvino", "OMP_NUM_THREADS": "1"})
    assert (settings.runtime, settings.precision, settings.omp_threads) == ("openvino", "fp32", 1)
    assert ServerSettings.from_env({}).runtime == "tensorflow"
    from irkit.errors import BackendError

    with pytest.raises(BackendError, match="IRKIT_PRECISION: bf16 needs IRKIT_RUNTIME=openvino"):
        ServerSettings.from_env({"IRKIT_PRECISION": "bf16"})


def test_config_ids_survive_the_store_round_trip():
    """The store keeps JSON with sorted keys; a config id must not depend on the env's key order, or a
    job process would test configs the submit never planned."""
    import json

    spec = _spec(EXAMPLE_RANGES)
    stored = JobSpec.from_dict(json.loads(json.dumps(spec.to_dict(), sort_keys=True)))
    assert [c.config_id for c in stored.configurations()] == [c.config_id for c in spec.configurations()]
