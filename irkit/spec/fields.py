"""Checks and coercions for job spec fields. Every failure is a SpecError naming the dotted field.

The service rules here are the ones botocore's Stubber does not enforce (enums, maxima,
patterns), copied from the SageMaker service model and the Inference Recommender docs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from irkit.errors import SpecError

JOB_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}")
ENV_NAME_PATTERN = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FRAMEWORK_VERSION_PATTERN = re.compile(r"[0-9]\.[A-Za-z0-9.-]+")
ENDPOINT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
LOCAL_INSTANCE_PATTERN = re.compile(r"local\.cpu([1-9][0-9]*)")

FRAMEWORKS = ("TENSORFLOW", "PYTORCH", "XGBOOST", "SAGEMAKER-SCIKIT-LEARN")
TRAFFIC_TYPES = ("PHASES", "STAIRS", "TRACE")  # TRACE: local only (spec/trace.py)
PERCENTILES = ("P95", "P99")
FLAT_INVOCATIONS = ("Continue", "Stop")
ENDPOINT_TYPES = ("RealTime", "Serverless")

MAX_JOB_DURATION_S = 18_000
MAX_ENDPOINT_CONFIGURATIONS = 10
MAX_ENV_RANGES = 5
MAX_ENV_VALUES = 3
MAX_USERS_PER_STEP = 3
MAX_KNEE_USERS = 1024  # knee_search.max_users: the most users a local search may reach
CLOUD_MIN_PHASE_S = 120
CLOUD_MAX_PHASE_S = 3600
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)


@lru_cache(maxsize=1)
def sagemaker_instance_types() -> frozenset[str]:
    """botocore's ProductionVariantInstanceType enum, snapshotted in irkit/data (no botocore import)."""
    text = resources.files("irkit").joinpath("data", "sagemaker_instance_types.json").read_text()
    return frozenset(json.loads(text)["instance_types"])


def local_cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def is_local_instance_type(name: str) -> bool:
    return LOCAL_INSTANCE_PATTERN.fullmatch(name) is not None


def check_instance_type(field: str, value: Any, target: str | None = None) -> str:
    """A SageMaker instance type (botocore enum) or, for the local backend, ``local.cpuN``."""
    name = as_str(field, value)
    local = LOCAL_INSTANCE_PATTERN.fullmatch(name)
    if local:
        if target == "sagemaker":
            raise SpecError(
                field, f"{name!r} is a local instance type; SageMaker needs an ml.* type"
            )
        cpus = int(local.group(1))
        if target == "local" and cpus > local_cpu_count():
            raise SpecError(
                field, f"{name!r} asks for {cpus} CPUs but this machine has {local_cpu_count()}"
            )
        return name
    if name not in sagemaker_instance_types():
        raise SpecError(
            field,
            f"unknown instance type {name!r}; use an ml.* type such as ml.c5.xlarge or local.cpuN",
        )
    if target == "local":
        raise SpecError(
            field,
            f"{name!r} is a SageMaker instance type; the local backend runs local.cpu1..local.cpu{local_cpu_count()}",
        )
    return name


def as_str(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(field, f"expected a non-empty string, got {value!r}")
    return value


def as_int(field: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise SpecError(field, f"expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise SpecError(field, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SpecError(field, f"must be <= {maximum}, got {value}")
    return value


def as_number(field: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(field, f"expected a number, got {value!r}")
    if value < minimum:
        raise SpecError(field, f"must be >= {minimum}, got {value}")
    return float(value) if isinstance(value, float) else value


def as_list(field: str, value: Any, min_len: int = 0, max_len: int | None = None) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise SpecError(field, f"expected a list, got {type(value).__name__}")
    items = list(value)
    if len(items) < min_len:
        raise SpecError(field, f"needs at least {min_len} item(s), got {len(items)}")
    if max_len is not None and len(items) > max_len:
        raise SpecError(field, f"allows at most {max_len} item(s), got {len(items)}")
    return items


def as_mapping(field: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(field, f"expected a mapping, got {type(value).__name__}")
    return value


def as_choice(field: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise SpecError(field, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def as_env_value(field: str, value: Any) -> str:
    """Env values are strings in the API; YAML numbers are accepted and turned into strings."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(field, f"expected a string or number, got {value!r}")
    text = str(value)
    if not text:
        raise SpecError(field, "must not be empty")
    return text


def check_keys(
    field: str, data: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str] = ()
) -> None:
    for key in data:
        if key not in allowed:
            where = f"{field}.{key}" if field else str(key)
            raise SpecError(where, f"unknown key; allowed keys are: {', '.join(allowed)}")
    for key in required:
        if key not in data:
            where = f"{field}.{key}" if field else key
            raise SpecError(where, "is required")


def check_job_name(value: Any) -> str:
    name = as_str("job_name", value)
    if len(name) > 64 or not JOB_NAME_PATTERN.fullmatch(name):
        raise SpecError("job_name", f"{name!r} must match [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,63}}")
    return name
