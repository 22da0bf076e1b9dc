"""Notebook 03's walk as two calls: ``plan_model_setup`` (the requests, no AWS) and ``prepare_model`` (runs them).

plan = plan_model_setup(spec, workdir="irkit-work", bucket="my-bucket", role_arn=role,
                        model_package_group="resnet50")        # offline: shows what would be sent
setup = prepare_model(clients, plan)                           # uploads, CreateModel, registers
handle = backend.submit(spec.replace(sample_payload_url=setup.sample_payload_url),
                        model_package_version_arn=setup.model_package_version_arn, role_arn=role)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit.backends.sagemaker.clients import DEFAULT_REGION, AwsClients, error_message
from irkit.backends.sagemaker.registry import (
    DEFAULT_FRAMEWORK_VERSION,
    create_model,
    ensure_model_package_group,
    image_uri,
    model_package_request,
    upload_file,
)
from irkit.errors import BackendError
from irkit.spec import JobSpec, load_spec


@dataclass(frozen=True)
class ModelSetupPlan:
    """Everything notebook 03 would send, computed offline."""

    uploads: dict[str, tuple[str, str]]  # what -> (local path, s3 URI)
    create_model: dict[str, Any]
    create_model_package_group: dict[str, Any]
    create_model_package: dict[str, Any]
    spec: JobSpec

    def placeholder_package_arn(self, region: str = DEFAULT_REGION, version: int = 1) -> str:
        """The ARN the first registered version would get, for showing requests offline."""
        account = self.create_model["ExecutionRoleArn"].split(":")[4] or "123456789012"
        group = self.create_model_package_group["ModelPackageGroupName"]
        return f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/{version}"

    def requests(self) -> dict[str, Any]:
        """The would-be calls as plain data, for display."""
        return {
            "S3 uploads": {k: {"from": p, "to": u} for k, (p, u) in self.uploads.items()},
            "CreateModel": self.create_model,
            "CreateModelPackageGroup": self.create_model_package_group,
            "CreateModelPackage": self.create_model_package,
        }


@dataclass(frozen=True)
class ModelSetup:
    """What ``prepare_model`` created."""

    model_data_url: str
    sample_payload_url: str
    image_uri: str
    model_name: str
    model_arn: str
    model_package_group_arn: str
    model_package_version_arn: str
    spec: JobSpec = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "spec"}
        out["spec"] = self.spec.to_dict()
        return out

    def save(self, path: str | Path) -> Path:
        """Write ``{workdir}/registry.json`` (or ``path``) so notebooks 04/05 can pick the model up."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ModelSetup:
        data = json.loads(Path(path).read_text())
        data["spec"] = load_spec(data.get("spec") or {})
        return cls(**data)


def plan_model_setup(
    spec: JobSpec | dict[str, Any] | str,
    *,
    workdir: str | Path,
    bucket: str,
    role_arn: str,
    model_package_group: str,
    model_name: str | None = None,
    prefix: str = "irkit",
    region: str = DEFAULT_REGION,
    instance_type: str | None = None,
) -> ModelSetupPlan:
    """The uploads, CreateModel and registry requests for ``{workdir}/model.tar.gz`` and payload.tar.gz."""
    spec = load_spec(spec)
    workdir = Path(workdir)
    prefix = prefix.strip("/")
    model_url = f"s3://{bucket}/{prefix}/model.tar.gz"
    payload_url = f"s3://{bucket}/{prefix}/payload.tar.gz"
    spec = spec.replace(
        sample_payload_url=payload_url,
        framework=spec.framework or "TENSORFLOW",
        framework_version=spec.framework_version or DEFAULT_FRAMEWORK_VERSION,
    )
    first_type = instance_type or next(iter(spec.instance_types()), None) or "ml.c5.xlarge"
    if first_type.startswith("local."):
        first_type = "ml.c5.xlarge"
    image = image_uri(spec.framework or "TENSORFLOW", spec.framework_version, region, first_type)
    name = (
        model_name or f"{model_package_group}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"[:63]
    )
    return ModelSetupPlan(
        uploads={
            "model": (str(workdir / "model.tar.gz"), model_url),
            "payload": (str(workdir / "payload.tar.gz"), payload_url),
        },
        create_model={
            "ModelName": name,
            "ExecutionRoleArn": role_arn,
            "PrimaryContainer": {"Image": image, "ModelDataUrl": model_url},
        },
        create_model_package_group={
            "ModelPackageGroupName": model_package_group,
            "ModelPackageGroupDescription": "irkit models",
        },
        create_model_package=model_package_request(model_package_group, image, model_url, spec),
        spec=spec,
    )


def prepare_model(clients: AwsClients, plan: ModelSetupPlan) -> ModelSetup:
    """Upload the tarballs, create the Model, create the group if missing and a package version."""
    urls = {}
    for what, (path, uri) in plan.uploads.items():
        bucket, _, key = uri[5:].partition("/")
        urls[what] = upload_file(clients, path, bucket, key)
    container = plan.create_model["PrimaryContainer"]
    model_arn = create_model(
        clients,
        plan.create_model["ModelName"],
        plan.create_model["ExecutionRoleArn"],
        container["Image"],
        container["ModelDataUrl"],
    )
    group_arn = ensure_model_package_group(
        clients,
        plan.create_model_package_group["ModelPackageGroupName"],
        plan.create_model_package_group["ModelPackageGroupDescription"],
    )
    try:
        version_arn = clients.sagemaker.create_model_package(**plan.create_model_package)[
            "ModelPackageArn"
        ]
    except Exception as exc:
        raise BackendError(f"CreateModelPackage failed: {error_message(exc)}") from exc
    return ModelSetup(
        urls["model"],
        urls["payload"],
        container["Image"],
        plan.create_model["ModelName"],
        model_arn,
        group_arn,
        version_arn,
        plan.spec,
    )
