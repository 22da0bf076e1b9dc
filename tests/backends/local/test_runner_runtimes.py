"""A real local job over the runtime axis: TensorFlow, then OpenVINO fp32 (and bf16 where the CPU has
it), on a model trained in the test; every OpenVINO config records its fidelity against TensorFlow."""

from __future__ import annotations

import pytest

from irkit import states
from irkit.backends.local.backend import LocalBackend
from irkit.spec.runtimes import bf16_supported

pytestmark = pytest.mark.slow

STAIRS = {"duration_in_seconds": 2, "number_of_steps": 2, "users_per_step": 1}


def test_runtime_axis_job_records_fidelity(patch_model):
    model, payload, _ = patch_model
    precisions = ["fp32", "bf16"] if bf16_supported() else ["fp32"]
    spec = {"job_name": "runtimes-e2e", "stairs": STAIRS, "supported_content_types": ["application/x-npy"],
            "hyperparameter_ranges": [
                {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["tensorflow"]},
                {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["openvino"], "IRKIT_PRECISION": precisions}]}
    backend = LocalBackend()
    handle = backend.submit(spec, model=model, payload=payload)
    result = backend.wait(handle, progress=False, poll_s=0.5, timeout_s=400)
    assert result["Status"] == states.COMPLETED, result.get("FailureReason")
    configs = {c["config_id"]: c for c in result["irkit"]["configs"]}
    assert len(configs) == 1 + len(precisions), [(c["config_id"], c["status"], c["failure_reason"]) for c in configs.values()]
    assert "fidelity" not in configs["local.cpu1+IRKIT_RUNTIME=tensorflow"]  # the reference itself
    for precision in precisions:
        config = configs[f"local.cpu1+IRKIT_PRECISION={precision}+IRKIT_RUNTIME=openvino"]
        assert config["status"] == states.COMPLETED, config["failure_reason"]
        fid = config["fidelity"]
        assert fid["samples"] >= 96 and "payload:sample.npy" in fid["probes"]
        assert fid["top1_agreement"] >= (1.0 if precision == "fp32" else 0.9)
        assert fid["top5_agreement"] >= 0.99 and fid["cosine"] > 0.999
        assert fid["max_abs_diff"] < (1e-4 if precision == "fp32" else 0.1)
    envs = [{p["Key"]: p["Value"] for p in r["ModelConfiguration"]["EnvironmentParameters"]}
            for r in result["InferenceRecommendations"]]
    assert sorted(e["IRKIT_RUNTIME"] for e in envs) == ["openvino"] * len(precisions) + ["tensorflow"]
