"""Rules that span several spec fields, and the rules of each target (SageMaker's are cloud-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from irkit.errors import SpecError
from irkit.spec.fields import (
    CLOUD_MAX_PHASE_S,
    CLOUD_MIN_PHASE_S,
    MAX_ENDPOINT_CONFIGURATIONS,
    check_instance_type,
)
from irkit.spec.runtimes import check_for_local as check_runtimes_for_local
from irkit.spec.runtimes import check_for_sagemaker as check_runtimes_for_sagemaker

if TYPE_CHECKING:
    from irkit.spec import JobSpec

# Keys that only the local backend understands; rendering them for SageMaker is an error.
# (target_models is valid for SageMaker endpoint benchmarks; JobSpec.to_request refuses it itself.)
LOCAL_ONLY_KEYS = ("open_loop", "instance_prices", "trace", "knee_search")


def check_cross_fields(s: JobSpec) -> None:
    count = sum(len(r.instance_types) for r in s.hyperparameter_ranges) + len(s.serverless_configs)
    if count > MAX_ENDPOINT_CONFIGURATIONS:
        raise SpecError(
            "hyperparameter_ranges",
            f"gives {count} endpoint configurations; the limit is "
            f"{MAX_ENDPOINT_CONFIGURATIONS} (instance types across ranges plus serverless configs)",
        )
    if s.traffic_type == "STAIRS" and s.stairs is None:
        raise SpecError("stairs", "traffic_type STAIRS needs a stairs block")
    if s.stairs is not None and s.traffic_type == "PHASES":
        raise SpecError("traffic_type", "is PHASES but a stairs block is given; use STAIRS")
    if s.stairs is not None and s.phases:
        raise SpecError("phases", "give either phases or stairs, not both")
    if s.traffic_type == "PHASES" and not s.phases:
        raise SpecError("phases", "traffic_type PHASES needs at least one phase")
    _check_trace_fields(s)
    if s.knee_search is not None:
        for key in ("phases", "stairs", "open_loop", "trace"):
            if getattr(s, key):
                raise SpecError("knee_search", f"searches the load itself; give either knee_search or {key}, "
                                               "not both")
    if (
        s.max_tests is not None
        and s.max_parallel_tests is not None
        and s.max_parallel_tests > s.max_tests
    ):
        raise SpecError(
            "max_parallel_tests", f"{s.max_parallel_tests} is more than max_tests {s.max_tests}"
        )


def _check_trace_fields(s: JobSpec) -> None:
    """traffic_type TRACE goes with a ``trace`` block and no other traffic (spec/trace.py)."""
    if s.traffic_type == "TRACE" and s.trace is None:
        raise SpecError("trace", "traffic_type TRACE needs a trace block {path: FILE.csv}")
    if s.trace is None:
        return
    if s.traffic_type not in (None, "TRACE"):
        raise SpecError("traffic_type", f"is {s.traffic_type} but a trace block is given; use TRACE")
    for key in ("phases", "stairs", "open_loop"):
        if getattr(s, key):
            raise SpecError(key, "give either a trace or phases/stairs/open_loop, not both")


def check_for_sagemaker(s: JobSpec) -> None:
    for key in LOCAL_ONLY_KEYS:
        if getattr(s, key):
            raise SpecError(key, "is a local-only extension; remove it to render for SageMaker")
    check_runtimes_for_sagemaker(s)
    for i, name in enumerate(s.supported_instance_types):
        check_instance_type(f"supported_instance_types[{i}]", name, "sagemaker")
    for i, r in enumerate(s.hyperparameter_ranges):
        for j, name in enumerate(r.instance_types):
            check_instance_type(
                f"hyperparameter_ranges[{i}].instance_types[{j}]", name, "sagemaker"
            )
    for i, p in enumerate(s.phases):
        if not CLOUD_MIN_PHASE_S <= p.duration_in_seconds <= CLOUD_MAX_PHASE_S:
            raise SpecError(
                f"phases[{i}].duration_in_seconds",
                f"SageMaker needs {CLOUD_MIN_PHASE_S}-"
                f"{CLOUD_MAX_PHASE_S} s per phase, got {p.duration_in_seconds}",
            )
    if (
        s.stairs is not None
        and not CLOUD_MIN_PHASE_S <= s.stairs.duration_in_seconds <= CLOUD_MAX_PHASE_S
    ):
        raise SpecError(
            "stairs.duration_in_seconds",
            f"SageMaker needs {CLOUD_MIN_PHASE_S}-{CLOUD_MAX_PHASE_S} s "
            f"per step, got {s.stairs.duration_in_seconds}",
        )
    if s.job_duration_in_seconds is not None:
        traffic_s = sum(p.duration_in_seconds for p in s.phases)
        if traffic_s > s.job_duration_in_seconds:
            raise SpecError(
                "job_duration_in_seconds",
                f"{s.job_duration_in_seconds} s is shorter than the phases ({traffic_s} s)",
            )
    if s.sample_payload_url is not None and not s.sample_payload_url.startswith(
        ("s3://", "https://")
    ):
        raise SpecError("sample_payload_url", "SageMaker needs an s3:// or https:// URL")


def check_for_local(s: JobSpec) -> None:
    if s.serverless_configs:
        raise SpecError(
            "serverless_configs", "serverless endpoints can only be benchmarked on SageMaker"
        )
    if not s.instance_types():
        raise SpecError(
            "supported_instance_types", "the local backend needs at least one local.cpuN type"
        )
    for i, name in enumerate(s.supported_instance_types):
        check_instance_type(f"supported_instance_types[{i}]", name, "local")
    for i, r in enumerate(s.hyperparameter_ranges):
        for j, name in enumerate(r.instance_types):
            check_instance_type(f"hyperparameter_ranges[{i}].instance_types[{j}]", name, "local")
    check_runtimes_for_local(s)
    if s.trace is not None:
        try:
            s.trace.plan()  # the file is read and checked here, before any server starts
        except SpecError as exc:
            raise SpecError("trace.path", str(exc)) from None
