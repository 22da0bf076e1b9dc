"""The one job spec: a frozen, typed value read from YAML/JSON or built in Python.

File keys are the SageMaker Python SDK ``Model.right_size()`` parameter names, plus the extensions
listed in docs/architecture.md. The same ``JobSpec`` drives the SageMaker backend (through
``to_request``) and the local backend (through ``configurations()`` and ``traffic()``).

    spec = load_spec("job.yaml")
    spec.validate(target="local")
    for config in spec.configurations(): ...
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from irkit.errors import SpecError
from irkit.spec.coerce import coerce_fields
from irkit.spec.fields import (
    as_choice,
    as_mapping,
)
from irkit.spec.parts import (
    Configuration,
    HyperparameterRange,
    KneeSearch,
    LatencyThreshold,
    OpenLoop,
    Phase,
    ServerlessConfig,
    Stairs,
    TrafficPattern,
    config_id_for,
    serverless_config_id,
)
from irkit.spec.request import (
    ADVANCED_KEYS,
    check_derived,
    request_from_spec,
    spec_data_from_request,
)
from irkit.spec.targets import TargetModels
from irkit.spec.trace import TraceSettings
from irkit.spec.validate import (
    check_cross_fields,
    check_for_local,
    check_for_sagemaker,
)

__all__ = [
    "Configuration",
    "HyperparameterRange",
    "JobSpec",
    "KneeSearch",
    "LatencyThreshold",
    "OpenLoop",
    "Phase",
    "ServerlessConfig",
    "Stairs",
    "TargetModels",
    "TrafficPattern",
    "load_spec",
]

TARGETS = ("local", "sagemaker")


@dataclass(frozen=True)
class JobSpec:
    """A right-size job. Attribute names are the file keys; every value is checked on creation."""

    job_name: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    domain: str | None = None
    task: str | None = None
    nearest_model_name: str | None = None
    sample_payload_url: str | None = None
    supported_content_types: tuple[str, ...] = ()
    supported_instance_types: tuple[str, ...] = ()
    job_duration_in_seconds: int | None = None
    hyperparameter_ranges: tuple[HyperparameterRange, ...] = ()
    traffic_type: str | None = None
    phases: tuple[Phase, ...] = ()
    stairs: Stairs | None = None
    max_invocations: int | None = None
    model_latency_thresholds: tuple[LatencyThreshold, ...] = ()
    flat_invocations: str | None = None
    max_tests: int | None = None
    max_parallel_tests: int | None = None
    endpoint_type: str | None = None
    serverless_configs: tuple[ServerlessConfig, ...] = ()
    endpoints: tuple[str, ...] = ()
    # local-only extensions
    open_loop: OpenLoop | None = None
    instance_prices: Mapping[str, float] = field(default_factory=dict)
    target_models: TargetModels | None = None  # multi-model / multi-container load (spec_targets.py)
    trace: TraceSettings | None = None  # traffic_type TRACE: replay a recorded rate (spec/trace.py)
    knee_search: KneeSearch | None = None  # search the knee instead of fixed traffic (the local default)

    def __post_init__(self) -> None:
        for name, value in coerce_fields(self).items():
            object.__setattr__(self, name, value)
        check_cross_fields(self)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Build from a file-shaped mapping; unknown keys are errors naming the key."""
        data = as_mapping("spec", data)
        allowed = [f.name for f in fields(cls)]
        for key in data:
            if key not in allowed:
                raise SpecError(str(key), f"unknown key; allowed keys are: {', '.join(allowed)}")
        return cls(**{k: v for k, v in data.items() if v is not None})

    @classmethod
    def from_file(cls, path: str | Path) -> JobSpec:
        """Read a YAML (.yaml/.yml) or JSON spec file. A file that cannot be read, is not UTF-8, is
        not valid YAML/JSON, is empty or is not a mapping raises SpecError naming the file, in one line."""
        path = Path(path)
        data = _read_spec_file(path)
        if data is None:
            raise SpecError(str(path), "the spec file is empty: give it keys such as job_name, "
                                       "supported_instance_types and stairs (see examples/)")
        if not isinstance(data, Mapping):
            kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
            raise SpecError(str(path), f"the spec file holds {kind}, not a mapping of keys (job_name: ..., ...)")
        return cls.from_dict(data)

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> JobSpec:
        """Read back a CreateInferenceRecommendationsJob request (see irkit.spec.request)."""
        spec = cls.from_dict(spec_data_from_request(request))
        check_derived(request, spec)
        return spec

    def replace(self, **changes: Any) -> JobSpec:
        """A copy with ``changes`` applied and checked; the receiver is never mutated."""
        return replace(self, **changes)

    def with_job_name(self, prefix: str = "irkit") -> JobSpec:
        """This spec if it has a job_name, else a copy with a fresh unique one."""
        if self.job_name:
            return self
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return self.replace(job_name=f"{prefix}-{stamp}-{uuid.uuid4().hex[:6]}")

    # ---- output -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The file form: only keys that are set, in file-key spelling. ``from_dict`` inverts it."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == () or (isinstance(value, Mapping) and not value):
                continue
            out[f.name] = _plain(value)
        return out

    def to_request(
        self,
        *,
        model_name: str | None = None,
        model_package_version_arn: str | None = None,
        role_arn: str,
    ) -> dict[str, Any]:
        """The exact CreateInferenceRecommendationsJob kwargs (validates for SageMaker first)."""
        if self.target_models is not None:
            raise SpecError(
                "target_models",
                "Inference Recommender does not support multi-model or multi-container endpoints; "
                "deploy the endpoint and benchmark it with "
                "`irkit recommend SPEC --backend sagemaker --endpoint-name NAME` instead",
            )
        return request_from_spec(
            self,
            model_name=model_name,
            model_package_version_arn=model_package_version_arn,
            role_arn=role_arn,
        )

    # ---- views used by both backends ----------------------------------------------------
    @property
    def job_type(self) -> str:
        """``Advanced`` when any advanced field is set, as the SDK decides; else ``Default``."""
        advanced = any(getattr(self, key) not in (None, ()) for key in ADVANCED_KEYS)
        return "Advanced" if advanced else "Default"

    @property
    def latency_threshold(self) -> LatencyThreshold | None:
        return self.model_latency_thresholds[0] if self.model_latency_thresholds else None

    def traffic(self) -> TrafficPattern | None:
        """The load shape, or None when the spec leaves it to the backend's default."""
        if self.stairs is not None:
            return TrafficPattern("STAIRS", self.phases, self.stairs)
        if self.phases:
            return TrafficPattern(self.traffic_type or "PHASES", self.phases, None)
        return None

    def instance_types(self) -> tuple[str, ...]:
        """Every instance type the job will test, in order, without repeats."""
        seen: dict[str, None] = {}
        source = [t for r in self.hyperparameter_ranges for t in r.instance_types] or list(
            self.supported_instance_types
        )
        for name in source:
            seen.setdefault(name, None)
        return tuple(seen)

    def configurations(self) -> list[Configuration]:
        """The (instance type x env combination) list IR tests, expanded the way IR does it."""
        configs: list[Configuration] = []
        if self.hyperparameter_ranges:
            for hp_range in self.hyperparameter_ranges:
                names = list(hp_range.environment)
                combos = itertools.product(*(hp_range.environment[n] for n in names))
                combos_list = [dict(zip(names, values, strict=True)) for values in combos]
                for instance_type in hp_range.instance_types:
                    for env in combos_list:
                        configs.append(
                            Configuration(config_id_for(instance_type, env), instance_type, env)
                        )
        else:
            configs = [
                Configuration(config_id_for(t, {}), t, {}) for t in self.supported_instance_types
            ]
        for i, serverless in enumerate(self.serverless_configs):
            cid = serverless_config_id(serverless.memory_size_in_mb, serverless.max_concurrency)
            configs.append(
                Configuration(
                    cid if i == 0 or cid not in {c.config_id for c in configs} else f"{cid}-{i}",
                    "serverless",
                    {},
                    serverless,
                )
            )
        return configs

    def validate(self, target: str = "local") -> JobSpec:
        """Check the rules of ``target`` ("local" or "sagemaker"); return self for chaining."""
        as_choice("target", target, TARGETS)
        if target == "sagemaker":
            check_for_sagemaker(self)
        else:
            check_for_local(self)
        return self


def _read_spec_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(str(path), f"cannot read spec file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(str(path), f"not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line}; "
                                   "save the file as UTF-8") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise SpecError(str(path), f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(str(path), f"not valid YAML{where}: {problem}") from None


def load_spec(source: str | Path | Mapping[str, Any] | JobSpec) -> JobSpec:
    """A JobSpec from a file path, a file-shaped mapping, or a JobSpec (returned as is)."""
    if isinstance(source, JobSpec):
        return source
    if isinstance(source, Mapping):
        return JobSpec.from_dict(source)
    if isinstance(source, (str, Path)):
        return JobSpec.from_file(source)
    raise SpecError("spec", f"expected a path, a mapping or a JobSpec, got {type(source).__name__}")


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
