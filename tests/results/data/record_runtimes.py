"""Write runtimes_result.json: a real local job over the runtime axis (run once; the JSON is committed).

The model is tests/patch_model.py's small CNN trained on scikit-image photos, served on local.cpu1 by
TensorFlow, then OpenVINO fp32 and bf16, with short stairs; each OpenVINO config carries the fidelity
measured against TensorFlow. Run from the repository root:
    PYTHONPATH=.:tests python tests/results/data/record_runtimes.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    from patch_model import build_patch_model

    from irkit.backends.local.backend import LocalBackend

    with tempfile.TemporaryDirectory() as tmp:
        model, payload, _ = build_patch_model(Path(tmp) / "patch")
        spec = {"job_name": "runtimes-recorded", "supported_content_types": ["application/x-npy"],
                "stairs": {"duration_in_seconds": 4, "number_of_steps": 3, "users_per_step": 1},
                "hyperparameter_ranges": [
                    {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["tensorflow"]},
                    {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["openvino"],
                     "IRKIT_PRECISION": ["fp32", "bf16"]}]}
        backend = LocalBackend()
        result = backend.wait(backend.submit(spec, model=model, payload=payload), progress=False, timeout_s=600)
    result["irkit"]["model"] = "patch-model/model.tar.gz"  # no temporary path in the committed file
    result["InputConfig"]["ModelUrl"] = "patch-model/model.tar.gz"
    result["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SamplePayloadUrl"] = "patch-model/payload.tar.gz"
    (HERE / "runtimes_result.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
