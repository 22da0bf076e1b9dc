"""JobSpec <-> CreateInferenceRecommendationsJob request, both directions from one field table.

:data:`FIELDS` lists every request member irkit reads or writes: the spec key (or ``to_request``
argument) it comes from, its dotted path in the request, and the :class:`Convert` that turns the
file form into the request form and back. :func:`request_from_spec` and :func:`spec_data_from_request`
walk the same table, and so does :func:`traffic_request` (the TrafficPattern part alone, which the
local backend writes into its own InputConfig). Adding a spec key that IR knows is one row here.

``request_from_spec`` reproduces what ``Model.right_size()`` sends (sagemaker 2.x,
``inference_recommender_mixin.py`` and ``Session._create_inference_recommendations_job_request``)
with two deliberate differences: the SDK's fixed ``JobDescription``/``Tags`` are not sent, and
``Domain``/``Task`` come from the spec (defaulting to the SDK's hard-coded MACHINE_LEARNING/OTHER).
An endpoint configuration with no env ranges carries no ``EnvironmentParameterRanges`` (the SDK
sends an empty list, which the service model's minimum of 1 refuses).

This module imports no JobSpec: ``JobSpec.to_request``/``from_request`` call it with the spec or
build the spec from what it reads, so the two modules form no import cycle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from irkit.errors import SpecError
from irkit.spec.casing import (
    LIST,
    PLAIN,
    Convert,
    endpoint_configurations,
    record,
    records,
    serverless_configurations,
    wrapped,
)

SDK_DEFAULT_DOMAIN = "MACHINE_LEARNING"
SDK_DEFAULT_TASK = "OTHER"
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
MODEL_PACKAGE_ARN_PATTERN = re.compile(
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/\S{1,2048}"
)
MODEL_NAME_PATTERN = re.compile(r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")

# Where a field's value comes from when the request is written.
SPEC = "spec"  # a JobSpec attribute (a file key)
CALL = "call"  # an argument of to_request (the model and the role)
DERIVED = "derived"  # a JobSpec property, checked against the spec on the way back (JobType)

# Request keys that carry nothing a spec needs to keep: accepted and dropped when reading.
IGNORED_REQUEST_KEYS = ("JobDescription", "Tags")
TRAFFIC_PATH = "InputConfig.TrafficPattern"


@dataclass(frozen=True)
class Field:
    """One row of the table: spec ``key`` <-> request ``path`` through ``convert``.

    ``default``: the request value sent when the spec leaves the key unset, and read back as unset.
    ``advanced``: setting the key makes the job Advanced (as in the SDK); see :data:`ADVANCED_KEYS`.
    ``required``: rendering fails naming the key when it is unset.
    ``check``: for ``CALL`` fields, ``check(value) -> error message | None``.
    """

    key: str
    path: str
    convert: Convert = PLAIN
    source: str = SPEC
    default: Any = None
    advanced: bool = False
    required: bool = False
    check: Callable[[Any], str | None] | None = None


def _model_name_problem(value: Any) -> str | None:
    if len(value) > 63 or not MODEL_NAME_PATTERN.fullmatch(value):
        return f"{value!r} is not a valid SageMaker model name"
    return None


def _package_arn_problem(value: Any) -> str | None:
    if not MODEL_PACKAGE_ARN_PATTERN.fullmatch(value):
        return f"{value!r} is not a model package ARN"
    return None


def _role_arn_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not ROLE_ARN_PATTERN.fullmatch(value):
        return f"{value!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/Name)"
    return None


_PHASE = (
    ("duration_in_seconds", "DurationInSeconds"),
    ("initial_number_of_users", "InitialNumberOfUsers"),
    ("spawn_rate", "SpawnRate"),
)
_STAIRS = (
    ("duration_in_seconds", "DurationInSeconds"),
    ("number_of_steps", "NumberOfSteps"),
    ("users_per_step", "UsersPerStep"),
)
_THRESHOLD = (("percentile", "Percentile"), ("value_in_milliseconds", "ValueInMilliseconds"))
_SERVERLESS = (
    ("memory_size_in_mb", "MemorySizeInMB"),
    ("max_concurrency", "MaxConcurrency"),
    ("provisioned_concurrency", "ProvisionedConcurrency"),
)

_INPUT = "InputConfig"
_CONTAINER = "InputConfig.ContainerConfig"
_STOPPING = "StoppingConditions"

# The table. Order is the order of the request's members (the SDK's).
FIELDS: tuple[Field, ...] = (
    Field("job_name", "JobName", required=True),
    Field("job_type", "JobType", source=DERIVED),
    Field("role_arn", "RoleArn", source=CALL, required=True, check=_role_arn_problem),
    Field("model_name", f"{_INPUT}.ModelName", source=CALL, check=_model_name_problem),
    Field("model_package_version_arn", f"{_INPUT}.ModelPackageVersionArn", source=CALL,
          check=_package_arn_problem),
    Field("job_duration_in_seconds", f"{_INPUT}.JobDurationInSeconds"),
    Field("endpoints", f"{_INPUT}.Endpoints", wrapped("EndpointName")),
    Field("domain", f"{_CONTAINER}.Domain", default=SDK_DEFAULT_DOMAIN),
    Field("task", f"{_CONTAINER}.Task", default=SDK_DEFAULT_TASK),
    Field("framework", f"{_CONTAINER}.Framework"),
    Field("sample_payload_url", f"{_CONTAINER}.PayloadConfig.SamplePayloadUrl"),
    Field("supported_content_types", f"{_CONTAINER}.PayloadConfig.SupportedContentTypes", LIST),
    Field("framework_version", f"{_CONTAINER}.FrameworkVersion"),
    Field("nearest_model_name", f"{_CONTAINER}.NearestModelName"),
    Field("supported_instance_types", f"{_CONTAINER}.SupportedInstanceTypes", LIST),
    Field("endpoint_type", f"{_CONTAINER}.SupportedEndpointType"),
    Field("max_invocations", f"{_STOPPING}.MaxInvocations", advanced=True),
    Field("model_latency_thresholds", f"{_STOPPING}.ModelLatencyThresholds", records(_THRESHOLD),
          advanced=True),
    Field("flat_invocations", f"{_STOPPING}.FlatInvocations", advanced=True),
    Field("max_tests", f"{_INPUT}.ResourceLimit.MaxNumberOfTests", advanced=True),
    Field("max_parallel_tests", f"{_INPUT}.ResourceLimit.MaxParallelOfTests", advanced=True),
    Field("traffic_type", f"{TRAFFIC_PATH}.TrafficType"),
    Field("phases", f"{TRAFFIC_PATH}.Phases", records(_PHASE), advanced=True),
    Field("stairs", f"{TRAFFIC_PATH}.Stairs", record(_STAIRS), advanced=True),
    # Both fill InputConfig.EndpointConfigurations, in this order; each reads back its own entries.
    Field("hyperparameter_ranges", f"{_INPUT}.EndpointConfigurations", endpoint_configurations(),
          advanced=True),
    Field("serverless_configs", f"{_INPUT}.EndpointConfigurations",
          serverless_configurations(_SERVERLESS), advanced=True),
)

# Keys whose presence makes the job Advanced, as in the SDK (plus irkit's extensions).
ADVANCED_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.advanced)
# The spec keys the request carries (the rest are local-only, see irkit.spec.validate).
REQUEST_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.source == SPEC)


# ---- spec -> request ---------------------------------------------------------------------------
def request_from_spec(
    spec: Any,
    *,
    model_name: str | None = None,
    model_package_version_arn: str | None = None,
    role_arn: str,
) -> dict[str, Any]:
    """The exact CreateInferenceRecommendationsJob kwargs for ``spec`` (a JobSpec)."""
    if (model_name is None) == (model_package_version_arn is None):
        raise SpecError("model_name", "give exactly one of model_name or model_package_version_arn")
    call = {"model_name": model_name, "model_package_version_arn": model_package_version_arn,
            "role_arn": role_arn}
    for f in FIELDS:
        if f.source == CALL and f.check is not None and (f.required or call[f.key] is not None):
            problem = f.check(call[f.key])
            if problem:
                raise SpecError(f.key, problem)
    spec.validate(target="sagemaker")
    return _render(FIELDS, lambda f: call[f.key] if f.source == CALL else getattr(spec, f.key))


def traffic_request(traffic: Any) -> dict[str, Any] | None:
    """IR's TrafficPattern (``{"TrafficType", "Phases" | "Stairs"}``) of a JobSpec or TrafficPattern.

    None when there is no traffic. The same table rows as :func:`request_from_spec`.
    """
    rows = tuple(f for f in FIELDS if f.path.startswith(TRAFFIC_PATH + "."))
    rendered = _render(rows, lambda f: getattr(traffic, f.key, None))
    return _lookup(rendered, TRAFFIC_PATH)[1]


def _render(rows: tuple[Field, ...], value_of: Callable[[Field], Any]) -> dict[str, Any]:
    request: dict[str, Any] = {}
    for f in rows:
        value = value_of(f)
        if _unset(value):
            if f.required:
                raise SpecError(f.key, "is required to render a SageMaker request")
            if f.default is None:
                continue
            wire = f.default
        else:
            wire = f.convert.to_request(value)
        _put(request, f.path, wire)
    return request


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, (tuple, list)) and not value)


def _put(request: dict[str, Any], path: str, wire: Any) -> None:
    *parents, leaf = path.split(".")
    node = request
    for name in parents:
        node = node.setdefault(name, {})
    if leaf in node and isinstance(node[leaf], list):
        node[leaf].extend(wire)  # several fields share one list (EndpointConfigurations)
    else:
        node[leaf] = wire


# ---- request -> spec ---------------------------------------------------------------------------
def request_target(request: Mapping[str, Any]) -> dict[str, Any]:
    """The model and role a request names: ``model_name``, ``model_package_version_arn``, ``role_arn``."""
    return {f.key: _lookup(request, f.path)[1] for f in FIELDS if f.source == CALL}


def spec_data_from_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """The file-form spec (``JobSpec.from_dict`` input) a request describes.

    Unknown request members are SpecErrors naming their dotted path.
    """
    _refuse_unknown("", request, _tree())
    data: dict[str, Any] = {}
    for f in FIELDS:
        found, wire = _lookup(request, f.path)
        if f.source != SPEC or not found or (f.default is not None and wire == f.default):
            continue
        value = f.convert.from_request(f.path, wire)
        if not _unset(value):
            data[f.key] = value
    return data


def check_derived(request: Mapping[str, Any], spec: Any) -> None:
    """The request's derived members (JobType) must be what the spec read from it implies."""
    for f in FIELDS:
        found, wire = _lookup(request, f.path)
        if f.source == DERIVED and found and wire != getattr(spec, f.key):
            raise SpecError(f.path, f"request says {wire} but its fields make a {getattr(spec, f.key)} job")


def _lookup(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = data
    for name in path.split("."):
        if not isinstance(node, Mapping) or name not in node:
            return False, None
        node = node[name]
    return True, node


def _tree() -> dict[str, Any]:
    """The request's structure as nested dicts; a leaf (None) is a member a Convert reads."""
    tree: dict[str, Any] = {key: None for key in IGNORED_REQUEST_KEYS}
    for f in FIELDS:
        *parents, leaf = f.path.split(".")
        node = tree
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = None
    return tree


def _refuse_unknown(where: str, data: Any, tree: Mapping[str, Any]) -> None:
    if not isinstance(data, Mapping):
        raise SpecError(where or "request", "expected a mapping")
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in tree:
            raise SpecError(path, "is not supported by irkit job specs")
        if tree[key] is not None:
            _refuse_unknown(path, value, tree[key])
