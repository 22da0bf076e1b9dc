"""Flatten a right-size result (DescribeInferenceRecommendationsJob's shape) into tidy DataFrames.

Both backends answer in the same shape (docs/architecture.md "Result schema"), so everything
downstream (ranking, charts, reports, history) works from two frames:

- ``to_frame(result)``: one row per recommendation (``kind="recommendation"``) and per benchmarked
  existing endpoint (``kind="endpoint"``). Columns are the constants below, plus one column per
  environment parameter named by its key (``OMP_NUM_THREADS``); ``env_columns(frame)`` lists them.
- ``steps_frame(result)``: the local backend's per-step curves (``irkit.steps``), one row per step.

Units: ``cost_per_hour`` $/hour, ``cost_per_inference`` $, ``max_invocations`` requests per
minute, ``model_latency_ms`` milliseconds (at the job's percentile, P95 unless P99 was asked),
``cpu_utilization``/``memory_utilization`` percent (CPU may exceed 100 on several cores),
``model_setup_time`` as the backend reports it (seconds locally; IR's own unit on SageMaker).
A metric IR leaves out (CpuUtilization often) is NaN, never 0.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irkit.errors import IrkitError
from irkit.results.confidence import (
    COST_PER_INFERENCE_HI,
    COST_PER_INFERENCE_LO,
    DISPLAY_COLUMNS,
    GENERATOR_CPU,
    KNEE_USERS,
    MAX_INVOCATIONS_HI,
    MAX_INVOCATIONS_LO,
    OTHERS_CPU,
    QUALITY_COLUMNS,
    SHARES_SERVER_CORES,
    STABLE,
    STEP_QUALITY_COLUMNS,
    config_quality,
    endpoint_configs,
    step_quality,
)
from irkit.results.fidelity import FIDELITY_COLUMNS, result_has_fidelity, row_fidelity
from irkit.results.metrics import (
    COST_PER_HOUR,
    COST_PER_INFERENCE,
    CPU_UTILIZATION,
    DESCRIBE_METRICS,
    ERROR_RATE,
    ERRORS,
    GOODPUT_RPS,
    MAX_INVOCATIONS,
    MAX_MS,
    MEMORY_UTILIZATION,
    MODEL_LATENCY_MS,
    MODEL_SETUP_TIME,
    P50_MS,
    P90_MS,
    P95_MS,
    P99_MS,
    REQUESTS,
    RPS,
    SERVER_CPU,
    SERVER_MEMORY,
)
from irkit.spec.parts import config_id_for, serverless_config_id

if TYPE_CHECKING:
    import pandas as pd

# ---- columns of to_frame() ---------------------------------------------------------------------
JOB = "job"  # JobName
JOB_ID = "job_id"  # the job store id when known, else the JobName
BACKEND = "backend"  # "local" or "sagemaker"
CREATED = "created"  # the job's CreationTime (ISO-8601 string)
KIND = "kind"  # "recommendation" or "endpoint"
CONFIG = "config"  # a readable config id: instance type + "+KEY=VALUE" per env parameter
INSTANCE_TYPE = "instance_type"  # "serverless" for a serverless configuration
INSTANCE_COUNT = "instance_count"
SERVERLESS_MEMORY_MB = "serverless_memory_mb"
SERVERLESS_MAX_CONCURRENCY = "serverless_max_concurrency"
ENDPOINT_NAME = "endpoint_name"
RECOMMENDATION_ID = "recommendation_id"
PRICE_IS_ESTIMATE = "price_is_estimate"  # local: the $/hour is an estimate, not a price list entry

COLUMNS = (
    JOB, JOB_ID, BACKEND, CREATED, KIND, CONFIG, INSTANCE_TYPE, INSTANCE_COUNT,
    SERVERLESS_MEMORY_MB, SERVERLESS_MAX_CONCURRENCY, ENDPOINT_NAME, COST_PER_HOUR,
    COST_PER_INFERENCE, MAX_INVOCATIONS, MODEL_LATENCY_MS, CPU_UTILIZATION, MEMORY_UTILIZATION,
    MODEL_SETUP_TIME, RECOMMENDATION_ID, PRICE_IS_ESTIMATE,
    *QUALITY_COLUMNS,  # how sure the numbers are (irkit.results.confidence); NaN/NA when unknown
    *FIDELITY_COLUMNS,  # agreement with TensorFlow's answers (irkit.results.fidelity); NaN when not measured
)
KIND_RECOMMENDATION = "recommendation"
KIND_ENDPOINT = "endpoint"
SERVERLESS = "serverless"
_ENV_PREFIXES = ("SAGEMAKER_TFS_", "SAGEMAKER_")  # dropped from labels, not from column names

# IR metric name -> column (one record per metric: irkit.results.metrics)
_METRICS = {m.describe_key: m.column for m in DESCRIBE_METRICS}

# ---- columns of steps_frame() (JOB and CONFIG as above) ---------------------------------------
STEP = "step"
PHASE = "phase"
USERS = "users"
TARGET_RPS = "target_rps"
START_S = "start_s"
DURATION_S = "duration_s"
# REQUESTS, ERRORS, ERROR_RATE (errors / requests, 0..1), RPS (requests per second completed in the
# step), P50_MS .. MAX_MS, GOODPUT_RPS (req/s answered within the latency threshold), SERVER_CPU and
# SERVER_MEMORY are metrics: their names and records are in irkit.results.metrics
AT_PLATEAU = "at_plateau"  # True on the knee step (plateau_step): where throughput levels off
PERCENTILE_COLUMNS = (P50_MS, P90_MS, P95_MS, P99_MS)
STEP_COLUMNS = (
    JOB, CONFIG, INSTANCE_TYPE, STEP, PHASE, USERS, TARGET_RPS, START_S, DURATION_S, REQUESTS,
    ERRORS, ERROR_RATE, RPS, P50_MS, P90_MS, P95_MS, P99_MS, MAX_MS, GOODPUT_RPS, SERVER_CPU,
    SERVER_MEMORY, *STEP_QUALITY_COLUMNS,
)


class ResultError(IrkitError):
    """A result file or value is not a DescribeInferenceRecommendationsJob-shaped answer."""


def load_result(source: Any, *, store: Any = None) -> dict[str, Any]:
    """A result dict from a dict, a JSON file path, a ``JobHandle``, or a job store ref.

    ``source`` may be: the Describe-shaped dict itself; a path to a saved ``.json`` response; a
    ``JobHandle``; or a job id / job name / ``"latest"`` in the job store (``store`` or the default).
    """
    if isinstance(source, Mapping):
        result = dict(source)
    elif hasattr(source, "job_id") and hasattr(source, "backend"):  # a JobHandle
        result = _store(store).result(source.job_id)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() == ".json" or path.is_file():
            result = read_result_file(path)
        else:
            result = _store(store).result(str(source))
    else:
        raise ResultError(f"cannot load a result from {type(source).__name__}: pass a dict, a path or a job ref")
    if not isinstance(result.get("InferenceRecommendations", []), list):
        raise ResultError("InferenceRecommendations: expected a list of recommendations")
    return result


def read_result_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a saved Describe response (``aws sagemaker describe-inference-recommendations-job``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultError(f"{path}: no such result file") from None
    except (OSError, ValueError) as exc:
        raise ResultError(f"{path}: not a JSON result ({exc})") from None
    if not isinstance(data, dict) or not ("InferenceRecommendations" in data or "JobName" in data):
        raise ResultError(f"{path}: not a DescribeInferenceRecommendationsJob response "
                          "(no JobName or InferenceRecommendations key)")
    data.pop("ResponseMetadata", None)
    return data


def _store(store: Any) -> Any:
    if store is not None:
        return store
    from irkit.store import Store

    return Store()


def backend_of(result: Mapping[str, Any]) -> str:
    extra = result.get("irkit") or {}
    if extra.get("backend"):
        return str(extra["backend"])
    return "local" if str(result.get("JobArn", "")).startswith("arn:irkit:local") else "sagemaker"


def config_label(instance_type: str, env: Mapping[str, str]) -> str:
    """The same id the spec gives a configuration: ``ml.c5.xlarge+OMP_NUM_THREADS=2``."""
    return config_id_for(instance_type, env)


def short_label(config: str) -> str:
    """``ml.c5.xlarge+OMP_NUM_THREADS=2+SAGEMAKER_TFS_ENABLE_BATCHING=true`` -> ``ml.c5.xlarge OMP_NUM_THREADS=2 ENABLE_BATCHING=true``."""
    return " ".join(label_parts(config))


def label_parts(config: str) -> list[str]:
    """The instance type, then each env parameter without a SAGEMAKER_/SAGEMAKER_TFS_ prefix."""
    head, *env = str(config).split("+")
    parts = []
    for item in env:
        for prefix in _ENV_PREFIXES:
            if item.startswith(prefix):
                item = item[len(prefix):]
                break
        parts.append(item)
    return [head, *parts]


def _env(rec: Mapping[str, Any]) -> dict[str, str]:
    params = (rec.get("ModelConfiguration") or {}).get("EnvironmentParameters") or []
    return {str(p["Key"]): str(p.get("Value", "")) for p in params if "Key" in p}


def _recommendation_row(rec: Mapping[str, Any]) -> dict[str, Any]:
    endpoint = rec.get("EndpointConfiguration") or {}
    serverless = endpoint.get("ServerlessConfig")
    env = _env(rec)
    if serverless:
        instance = SERVERLESS
        base = serverless_config_id(serverless.get("MemorySizeInMB"), serverless.get("MaxConcurrency"))
    else:
        instance = str(endpoint.get("InstanceType") or "unknown")
        base = instance
    row: dict[str, Any] = {
        KIND: KIND_RECOMMENDATION,
        CONFIG: config_label(base, env),
        INSTANCE_TYPE: instance,
        INSTANCE_COUNT: endpoint.get("InitialInstanceCount", 1 if not serverless else None),
        SERVERLESS_MEMORY_MB: (serverless or {}).get("MemorySizeInMB"),
        SERVERLESS_MAX_CONCURRENCY: (serverless or {}).get("MaxConcurrency"),
        ENDPOINT_NAME: endpoint.get("EndpointName"),
        RECOMMENDATION_ID: rec.get("RecommendationId"),
    }
    metrics = rec.get("Metrics") or {}
    for name, column in _METRICS.items():
        row[column] = metrics.get(name)
    return {**row, **env}


def _endpoint_row(perf: Mapping[str, Any]) -> dict[str, Any]:
    metrics = perf.get("Metrics") or {}
    name = (perf.get("EndpointInfo") or perf.get("EndpointConfiguration") or {}).get("EndpointName")
    return {
        KIND: KIND_ENDPOINT,
        CONFIG: f"endpoint:{name}",
        INSTANCE_TYPE: "endpoint",
        ENDPOINT_NAME: name,
        MAX_INVOCATIONS: metrics.get("MaxInvocations"),
        MODEL_LATENCY_MS: metrics.get("ModelLatency"),
    }


def to_frame(result: Any, *, store: Any = None) -> pd.DataFrame:
    """One tidy row per recommendation and per benchmarked endpoint (see the module docstring)."""
    import pandas as pd

    result = load_result(result, store=store)
    extra = result.get("irkit") or {}
    estimates = {c.get("recommendation_id"): c.get("price_is_estimate") for c in extra.get("configs") or []}
    config_ids = {c.get("recommendation_id"): c.get("config_id") for c in extra.get("configs") or []}
    configs = {c.get("recommendation_id"): c for c in extra.get("configs") or [] if c.get("recommendation_id")}
    rows = []
    job_fidelity = result_has_fidelity(result)
    for rec in result.get("InferenceRecommendations") or []:
        row = _recommendation_row(rec)
        rid = row[RECOMMENDATION_ID]
        if config_ids.get(rid):  # the local backend knows its own config id (env the server got)
            row[CONFIG] = config_ids[rid]
        row[PRICE_IS_ESTIMATE] = estimates.get(rid)
        row.update(config_quality(configs.get(rid) or {}, row[COST_PER_HOUR]))
        row.update(row_fidelity(configs.get(rid), _env(rec), job_fidelity))
        rows.append(row)
    performances = result.get("EndpointPerformances") or []
    behind = endpoint_configs(result) or [{}] * len(performances)
    rows += [{**_endpoint_row(p), **config_quality(c)} for p, c in zip(performances, behind, strict=True)]
    common = {
        JOB: result.get("JobName"),
        JOB_ID: extra.get("job_id") or result.get("JobName"),
        BACKEND: backend_of(result),
        CREATED: result.get("CreationTime"),
    }
    frame = pd.DataFrame([{**common, **row} for row in rows])
    env_cols = sorted({k for row in rows for k in row} - set(COLUMNS))
    frame = frame.reindex(columns=[*COLUMNS, *env_cols])
    for column in _METRICS.values():
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in (INSTANCE_COUNT, SERVERLESS_MEMORY_MB, SERVERLESS_MAX_CONCURRENCY):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    frame[PRICE_IS_ESTIMATE] = frame[PRICE_IS_ESTIMATE].astype("boolean")
    for column in (MAX_INVOCATIONS_LO, MAX_INVOCATIONS_HI, COST_PER_INFERENCE_LO, COST_PER_INFERENCE_HI,
                   GENERATOR_CPU, KNEE_USERS, OTHERS_CPU, *FIDELITY_COLUMNS):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in (STABLE, SHARES_SERVER_CORES):
        frame[column] = frame[column].astype("boolean")
    return frame


def env_columns(frame: pd.DataFrame) -> list[str]:
    """The environment parameter columns of a ``to_frame`` frame (everything not a constant)."""
    known = set(COLUMNS) | {"score", "rank", "pareto", "tied", "cost_per_million", *DISPLAY_COLUMNS}
    return [c for c in frame.columns if c not in known]


def recommendations(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the recommendation rows (what ranking and cost charts use)."""
    return frame[frame[KIND] == KIND_RECOMMENDATION].reset_index(drop=True)


def steps_frame(result: Any, *, store: Any = None) -> pd.DataFrame:
    """The local per-step curves (``irkit.steps``) as one row per step; empty for SageMaker."""
    import pandas as pd

    result = load_result(result, store=store)
    extra = result.get("irkit") or {}
    types = {c.get("config_id"): c.get("instance_type") for c in extra.get("configs") or []}
    rows = []
    for step in extra.get("steps") or []:
        row = {k: step.get(k) for k in STEP_COLUMNS if k in step}
        row.update(step_quality(step))
        row[JOB] = result.get("JobName")
        row[CONFIG] = step.get("config_id")
        row[INSTANCE_TYPE] = types.get(step.get("config_id")) or str(step.get("config_id", "")).split("+")[0]
        rows.append(row)
    frame = pd.DataFrame(rows).reindex(columns=list(STEP_COLUMNS))
    numeric = [c for c in STEP_COLUMNS if c not in (JOB, CONFIG, INSTANCE_TYPE, PHASE, STABLE)]
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame[STABLE] = frame[STABLE].astype("boolean")
    requests = frame[REQUESTS].where(frame[REQUESTS] > 0)
    frame[ERROR_RATE] = (frame[ERRORS] / requests).fillna(0.0)
    plateau = {c.get("config_id"): c.get("plateau_step") for c in extra.get("configs") or []}
    frame[AT_PLATEAU] = [plateau.get(c) is not None and step == plateau.get(c)
                         for c, step in zip(frame[CONFIG], frame[STEP], strict=True)]
    return frame


def config_statuses(result: Any, *, store: Any = None) -> pd.DataFrame:
    """Each local config's status, failure reason, plateau and warnings (empty for SageMaker)."""
    import pandas as pd

    result = load_result(result, store=store)
    configs = (result.get("irkit") or {}).get("configs") or []
    columns = ["config_id", "instance_type", "status", "failure_reason", "plateau_step",
               "plateau_reason", "price_is_estimate", "warnings", "stable", "knee"]
    return pd.DataFrame([{k: c.get(k) for k in columns} for c in configs], columns=columns)
