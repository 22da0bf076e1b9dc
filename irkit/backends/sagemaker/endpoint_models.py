"""The per-model breakdown of an endpoint benchmark, in the local backend's PER_MODEL shape.

Steps written by the load generator carry ``per_model`` entries (docs/architecture.md, STEP). A
SageMaker endpoint does not say which invocation loaded a model, so the cold and warm fields,
``hit_rate``, ``loads`` and ``load_ms_mean`` are always null here, whatever the generator counted;
``p50_ms``..``p99_ms`` cover every success of the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

UNKNOWN_ON_SAGEMAKER = ("cold_requests", "cold_p50_ms", "cold_p99_ms", "warm_p50_ms", "warm_p99_ms",
                        "hit_rate", "loads", "load_ms_mean")


def sagemaker_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One PER_MODEL entry with the fields SageMaker cannot know set to null."""
    out = dict(entry)
    for key in UNKNOWN_ON_SAGEMAKER:
        out[key] = None
    return out


def per_model_breakdown(steps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The flat ``irkit.per_model`` list: each step's entries with ``config_id`` and ``step`` added."""
    flat = []
    for step in steps:
        for entry in step.get("per_model") or []:
            flat.append({"config_id": step.get("config_id"), "step": step.get("step"), **sagemaker_entry(entry)})
    return flat


def sagemaker_steps(steps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Steps with their ``per_model`` entries made SageMaker-honest (see ``sagemaker_entry``)."""
    out = []
    for step in steps:
        step = dict(step)
        if step.get("per_model"):
            step["per_model"] = [sagemaker_entry(e) for e in step["per_model"]]
        out.append(step)
    return out
