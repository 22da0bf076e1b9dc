"""S3 upload, SageMaker Model, and the Model Registry (model package group + version)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from irkit._lazy import optional_import
from irkit.backends.sagemaker.clients import AwsClients, error_message
from irkit.errors import BackendError, SpecError

DEFAULT_FRAMEWORK_VERSION = "2.19"  # newest TF Serving image sagemaker 2.257 knows
# SageMaker image-URI framework names for the IR framework values.
IMAGE_FRAMEWORKS = {
    "TENSORFLOW": "tensorflow",
    "PYTORCH": "pytorch",
    "XGBOOST": "xgboost",
    "SAGEMAKER-SCIKIT-LEARN": "sklearn",
}


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise SpecError("s3_uri", f"{uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def upload_file(clients: AwsClients, path: str | Path, bucket: str, key: str | None = None) -> str:
    """Upload a local file to s3://bucket/key (key defaults to the file name) and return its URI."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(
            "path",
            f"{path} does not exist; build it first (notebooks/02_package.ipynb or irkit package)",
        )
    key = key or path.name
    try:
        clients.s3.upload_file(str(path), bucket, key)
    except Exception as exc:
        raise BackendError(
            f"uploading {path} to s3://{bucket}/{key} failed: {error_message(exc)}"
        ) from exc
    return f"s3://{bucket}/{key}"


def upload_artifacts(
    clients: AwsClients, workdir: str | Path, bucket: str, prefix: str = "irkit"
) -> dict[str, str]:
    """Upload ``{workdir}/model.tar.gz`` and ``{workdir}/payload.tar.gz``; return their S3 URIs."""
    workdir = Path(workdir)
    prefix = prefix.strip("/")
    return {
        "model_data_url": upload_file(
            clients, workdir / "model.tar.gz", bucket, f"{prefix}/model.tar.gz"
        ),
        "sample_payload_url": upload_file(
            clients, workdir / "payload.tar.gz", bucket, f"{prefix}/payload.tar.gz"
        ),
    }


def image_uri(
    framework: str = "TENSORFLOW",
    framework_version: str | None = None,
    region: str = "us-east-1",
    instance_type: str = "ml.c5.xlarge",
) -> str:
    """The inference container image for the framework version, from ``sagemaker.image_uris``."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    image_uris = optional_import("sagemaker.image_uris")
    name = IMAGE_FRAMEWORKS.get((framework or "TENSORFLOW").upper())
    if name is None:
        raise SpecError("framework", f"no inference image known for {framework!r}")
    try:
        return image_uris.retrieve(
            name,
            region,
            version=framework_version or DEFAULT_FRAMEWORK_VERSION,
            image_scope="inference",
            instance_type=instance_type,
        )
    except ValueError as exc:
        raise SpecError("framework_version", f"{framework_version!r}: {exc}") from exc


def create_model(
    clients: AwsClients,
    model_name: str,
    role_arn: str,
    image: str,
    model_data_url: str,
    environment: dict[str, str] | None = None,
) -> str:
    """CreateModel with one container; returns the model ARN."""
    container: dict[str, Any] = {"Image": image, "ModelDataUrl": model_data_url}
    if environment:
        container["Environment"] = dict(environment)
    try:
        response = clients.sagemaker.create_model(
            ModelName=model_name, ExecutionRoleArn=role_arn, PrimaryContainer=container
        )
    except Exception as exc:
        raise BackendError(f"CreateModel {model_name} failed: {error_message(exc)}") from exc
    return response["ModelArn"]


def ensure_model_package_group(
    clients: AwsClients, group_name: str, description: str = "irkit models"
) -> str:
    """The group's ARN, creating the group when it does not exist yet."""
    sm = clients.sagemaker
    try:
        return sm.describe_model_package_group(ModelPackageGroupName=group_name)[
            "ModelPackageGroupArn"
        ]
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code not in ("ValidationException", "ResourceNotFound"):
            raise BackendError(
                f"DescribeModelPackageGroup {group_name} failed: {error_message(exc)}"
            ) from exc
    try:
        return sm.create_model_package_group(
            ModelPackageGroupName=group_name, ModelPackageGroupDescription=description
        )["ModelPackageGroupArn"]
    except Exception as exc:
        raise BackendError(
            f"CreateModelPackageGroup {group_name} failed: {error_message(exc)}"
        ) from exc


def model_package_request(
    group_name: str,
    image: str,
    model_data_url: str,
    spec: Any,
    description: str = "registered by irkit",
) -> dict[str, Any]:
    """CreateModelPackage kwargs carrying the spec's Domain, Task, payload, framework and instance types."""
    if not spec.sample_payload_url:
        raise SpecError("sample_payload_url", "is required to register a model package")
    container: dict[str, Any] = {"Image": image, "ModelDataUrl": model_data_url}
    if spec.framework:
        container["Framework"] = spec.framework
    if spec.framework_version:
        container["FrameworkVersion"] = spec.framework_version
    if spec.nearest_model_name:
        container["NearestModelName"] = spec.nearest_model_name
    instance_types = [t for t in spec.instance_types() if t.startswith("ml.")] or ["ml.c5.xlarge"]
    content_types = list(spec.supported_content_types) or ["application/json"]
    return {
        "ModelPackageGroupName": group_name,
        "ModelPackageDescription": description,
        "Domain": spec.domain or "COMPUTER_VISION",
        "Task": spec.task or "IMAGE_CLASSIFICATION",
        "SamplePayloadUrl": spec.sample_payload_url,
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {
            "Containers": [container],
            "SupportedContentTypes": content_types,
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": instance_types,
        },
    }


def register_model_package(
    clients: AwsClients,
    group_name: str,
    image: str,
    model_data_url: str,
    spec: Any,
    description: str = "registered by irkit",
) -> str:
    """Create the group if missing, then a model package version; return the version's ARN."""
    ensure_model_package_group(clients, group_name)
    request = model_package_request(group_name, image, model_data_url, spec, description)
    try:
        return clients.sagemaker.create_model_package(**request)["ModelPackageArn"]
    except Exception as exc:
        raise BackendError(
            f"CreateModelPackage in {group_name} failed: {error_message(exc)}"
        ) from exc
