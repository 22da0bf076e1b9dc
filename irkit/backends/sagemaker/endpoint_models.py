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


def per_model_text(result: Mapping[str, Any]) -> str:
    """A plain-text table of requests, errors and latency per target over the whole run."""
    entries = (result.get("irkit") or {}).get("per_model") or []
    if not entries:
        return ""
    totals: dict[str, dict[str, Any]] = {}
    for entry in entries:
        label = entry.get("target") or entry.get("model") or entry.get("container") or "(default)"
        row = totals.setdefault(label, {"requests": 0, "errors": 0, "p99_ms": None})
        row["requests"] += int(entry.get("requests") or 0)
        row["errors"] += int(entry.get("errors") or 0)
        if entry.get("p99_ms") is not None:
            row["p99_ms"] = max(row["p99_ms"] or 0.0, float(entry["p99_ms"]))
    lines = [f"{'target':<32} {'requests':>9} {'errors':>7} {'worst step p99 ms':>18}"]
    for label, row in sorted(totals.items(), key=lambda kv: -kv[1]["requests"]):
        p99 = "-" if row["p99_ms"] is None else f"{row['p99_ms']:.1f}"
        lines.append(f"{label[:32]:<32} {row['requests']:>9} {row['errors']:>7} {p99:>18}")
    return "\n".join(lines)
