"""Check a request against botocore's SageMaker service model, then the rules botocore skips."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from irkit._lazy import optional_import
from irkit.errors import SpecError


@lru_cache(maxsize=1)
def _service_model() -> Any:
    botocore_session = optional_import("botocore.session")
    return botocore_session.get_session().get_service_model("sagemaker")


def validate_request(
    request: dict[str, Any], operation: str = "CreateInferenceRecommendationsJob"
) -> dict[str, Any]:
    """Raise SpecError naming the first bad field if ``request`` does not fit ``operation``'s input shape.

    botocore checks types, required members, list and integer ranges and string lengths; enum
    values and patterns are checked by irkit.spec before a request is built.
    """
    validate = optional_import("botocore.validate")
    exceptions = optional_import("botocore.exceptions")
    shape = _service_model().operation_model(operation).input_shape
    try:
        validate.validate_parameters(request, shape)
    except exceptions.ParamValidationError as exc:
        report = str(exc.kwargs.get("report", exc))
        first = report.splitlines()[1].strip() if len(report.splitlines()) > 1 else report
        field = (
            first.split(",")[0]
            .removeprefix("Invalid type for parameter ")
            .removeprefix("Invalid length for parameter ")
            .removeprefix("Invalid range for parameter ")
            .removeprefix("Missing required parameter in ")
            .removeprefix("Unknown parameter in ")
            .split(" ")[0]
            .rstrip(":")
        )
        raise SpecError(
            field or "request", f"{operation} request rejected by the service model: {report}"
        ) from exc
    return request


def production_variant_instance_types() -> list[str]:
    """botocore's ProductionVariantInstanceType enum (irkit ships a snapshot of it)."""
    return list(_service_model().shape_for("ProductionVariantInstanceType").enum)
