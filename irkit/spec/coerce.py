"""Field coercion for JobSpec: YAML/Python values in, checked frozen values out (SpecError names the field)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from irkit.errors import SpecError
from irkit.spec.fields import (
    ENDPOINT_NAME_PATTERN,
    ENDPOINT_TYPES,
    FLAT_INVOCATIONS,
    FRAMEWORK_VERSION_PATTERN,
    FRAMEWORKS,
    MAX_JOB_DURATION_S,
    TRAFFIC_TYPES,
    as_choice,
    as_int,
    as_list,
    as_mapping,
    as_number,
    as_str,
    check_instance_type,
    check_job_name,
    is_local_instance_type,
)
from irkit.spec.parts import (
    HyperparameterRange,
    KneeSearch,
    LatencyThreshold,
    OpenLoop,
    Phase,
    ServerlessConfig,
    Stairs,
)
from irkit.spec.targets import coerce_target_models
from irkit.spec.trace import TraceSettings

if TYPE_CHECKING:
    from irkit.spec import JobSpec

DOMAINS = ("COMPUTER_VISION", "NATURAL_LANGUAGE_PROCESSING", "MACHINE_LEARNING")
TASKS = (
    "IMAGE_CLASSIFICATION",
    "OBJECT_DETECTION",
    "TEXT_GENERATION",
    "IMAGE_SEGMENTATION",
    "FILL_MASK",
    "CLASSIFICATION",
    "REGRESSION",
    "OTHER",
)


def _opt(value: Any, check: Any) -> Any:
    return None if value is None else check(value)


def coerce_fields(spec: JobSpec) -> dict[str, Any]:
    s = spec
    out: dict[str, Any] = {
        "job_name": _opt(s.job_name, check_job_name),
        "framework": _opt(
            s.framework,
            lambda v: as_choice("framework", as_str("framework", v).upper(), FRAMEWORKS),
        ),
        "framework_version": _opt(s.framework_version, _check_framework_version),
        "domain": _opt(s.domain, lambda v: as_choice("domain", v, DOMAINS)),
        "task": _opt(s.task, lambda v: as_choice("task", v, TASKS)),
        "nearest_model_name": _opt(s.nearest_model_name, lambda v: as_str("nearest_model_name", v)),
        "sample_payload_url": _opt(s.sample_payload_url, _check_payload_url),
        "supported_content_types": tuple(
            as_str(f"supported_content_types[{i}]", v)
            for i, v in enumerate(as_list("supported_content_types", s.supported_content_types))
        ),
        "supported_instance_types": tuple(
            check_instance_type(f"supported_instance_types[{i}]", v)
            for i, v in enumerate(as_list("supported_instance_types", s.supported_instance_types))
        ),
        "job_duration_in_seconds": _opt(
            s.job_duration_in_seconds,
            lambda v: as_int("job_duration_in_seconds", v, 1, MAX_JOB_DURATION_S),
        ),
        "hyperparameter_ranges": tuple(
            HyperparameterRange.from_value(f"hyperparameter_ranges[{i}]", v)
            for i, v in enumerate(as_list("hyperparameter_ranges", s.hyperparameter_ranges))
        ),
        "traffic_type": _opt(s.traffic_type, lambda v: as_choice("traffic_type", v, TRAFFIC_TYPES))
        or _implied_traffic_type(s),
        "phases": tuple(
            Phase.from_value(f"phases[{i}]", v) for i, v in enumerate(as_list("phases", s.phases))
        ),
        "stairs": _opt(s.stairs, lambda v: Stairs.from_value("stairs", v)),
        "max_invocations": _opt(s.max_invocations, lambda v: as_int("max_invocations", v, 1)),
        "model_latency_thresholds": tuple(
            LatencyThreshold.from_value(f"model_latency_thresholds[{i}]", v)
            for i, v in enumerate(
                as_list("model_latency_thresholds", s.model_latency_thresholds, 0, 1)
            )
        ),
        "flat_invocations": _opt(
            s.flat_invocations, lambda v: as_choice("flat_invocations", v, FLAT_INVOCATIONS)
        ),
        "max_tests": _opt(s.max_tests, lambda v: as_int("max_tests", v, 1)),
        "max_parallel_tests": _opt(
            s.max_parallel_tests, lambda v: as_int("max_parallel_tests", v, 1)
        ),
        "endpoint_type": _opt(
            s.endpoint_type, lambda v: as_choice("endpoint_type", v, ENDPOINT_TYPES)
        ),
        "serverless_configs": tuple(
            ServerlessConfig.from_value(f"serverless_configs[{i}]", v)
            for i, v in enumerate(as_list("serverless_configs", s.serverless_configs))
        ),
        "endpoints": tuple(
            _check_endpoint(f"endpoints[{i}]", v)
            for i, v in enumerate(as_list("endpoints", s.endpoints, 0, 1))
        ),
        "open_loop": _opt(s.open_loop, lambda v: OpenLoop.from_value("open_loop", v)),
        "knee_search": _opt(s.knee_search, lambda v: KneeSearch.from_value("knee_search", v)),
        "instance_prices": MappingProxyType(_check_prices(s.instance_prices)),
        "target_models": coerce_target_models(s.target_models),
        "trace": _opt(s.trace, lambda v: TraceSettings.from_value("trace", v)),
    }
    return out


def _implied_traffic_type(s: JobSpec) -> str | None:
    """PHASES or STAIRS follows from which block is given (the SDK's default is PHASES)."""
    if s.stairs is not None:
        return "STAIRS"
    if s.trace is not None and not s.phases:
        return "TRACE"
    return "PHASES" if s.phases else None


def _check_framework_version(value: Any) -> str:
    text = as_str("framework_version", str(value) if isinstance(value, (int, float)) else value)
    if not 3 <= len(text) <= 10 or not FRAMEWORK_VERSION_PATTERN.fullmatch(text):
        raise SpecError(
            "framework_version", f"{text!r} must look like 2.21 or 2.11.0 (3-10 characters)"
        )
    return text


def _check_payload_url(value: Any) -> str:
    url = as_str("sample_payload_url", str(value) if isinstance(value, Path) else value)
    if not url.endswith(".tar.gz"):
        raise SpecError(
            "sample_payload_url", f"{url!r} must point to a .tar.gz archive of payloads"
        )
    return url


def _check_endpoint(where: str, value: Any) -> str:
    name = as_str(where, value)
    if not ENDPOINT_NAME_PATTERN.fullmatch(name):
        raise SpecError(where, f"{name!r} is not a valid endpoint name")
    return name


def _check_prices(value: Any) -> dict[str, float]:
    prices = as_mapping("instance_prices", value)
    checked = {}
    for name, price in prices.items():
        where = f"instance_prices.{name}"
        if not isinstance(name, str) or not is_local_instance_type(name):
            raise SpecError(where, "prices can be set for local instance types (local.cpuN) only")
        checked[name] = as_number(where, price, minimum=0.0)
    return checked
