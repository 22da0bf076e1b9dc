"""Results: one frame, one ranking, charts and reports over the Describe-shaped result.

Modules: ``frame`` (to_frame, steps_frame, column constants), ``metrics`` (one record per metric:
column, Describe key, label, unit, direction, format), ``confidence`` (MaxInvocations' 95% interval,
stability and the load generator's cost as columns and text), ``ties`` (configurations tied within
measurement noise), ``per_model`` (multi-model rows), ``ranking`` (``recommend``: the one
recommendation, ``DEFAULT_IMPORTANCES``), ``summary`` (``summary_text``, the plain-text table
``irkit recommend`` prints), ``compare`` (regressions), ``charts`` (Altair), ``report``
(self-contained HTML), ``history`` (jobs in the store). The frame's names, the metric records and
``summary_text`` are re-exported here, so ``irkit.results.to_frame(result)`` works. Nothing here
imports a backend module.
"""

from __future__ import annotations

from irkit.results.confidence import (  # noqa: F401
    ACHIEVED_RPS,
    COST_PER_INFERENCE_HI,
    COST_PER_INFERENCE_LO,
    DROPPED,
    GENERATOR_CPU,
    KNEE_USERS,
    LATE,
    MAX_INVOCATIONS_HI,
    MAX_INVOCATIONS_LO,
    OTHERS_CPU,
    QUALITY_COLUMNS,
    SHARES_SERVER_CORES,
    STABLE,
    STEP_QUALITY_COLUMNS,
    WINDOWS,
)
from irkit.results.fidelity import FIDELITY_COLUMNS, has_fidelity  # noqa: F401
from irkit.results.frame import (  # noqa: F401
    AT_PLATEAU,
    BACKEND,
    COLUMNS,
    CONFIG,
    COST_PER_HOUR,
    COST_PER_INFERENCE,
    CPU_UTILIZATION,
    CREATED,
    DURATION_S,
    ENDPOINT_NAME,
    ERROR_RATE,
    ERRORS,
    GOODPUT_RPS,
    INSTANCE_COUNT,
    INSTANCE_TYPE,
    JOB,
    JOB_ID,
    KIND,
    KIND_ENDPOINT,
    KIND_RECOMMENDATION,
    MAX_INVOCATIONS,
    MAX_MS,
    MEMORY_UTILIZATION,
    MODEL_LATENCY_MS,
    MODEL_SETUP_TIME,
    P50_MS,
    P90_MS,
    P95_MS,
    P99_MS,
    PERCENTILE_COLUMNS,
    PHASE,
    PRICE_IS_ESTIMATE,
    RECOMMENDATION_ID,
    REQUESTS,
    RPS,
    SERVER_CPU,
    SERVER_MEMORY,
    SERVERLESS,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MEMORY_MB,
    START_S,
    STEP,
    STEP_COLUMNS,
    TARGET_RPS,
    USERS,
    ResultError,
    backend_of,
    config_label,
    config_statuses,
    env_columns,
    label_parts,
    load_result,
    read_result_file,
    recommendations,
    short_label,
    steps_frame,
    to_frame,
)
from irkit.results.metrics import (  # noqa: F401
    COST_PER_MILLION,
    DESCRIBE_METRICS,
    FIDELITY_COSINE,
    FIDELITY_MAX_ABS_DIFF,
    FIDELITY_TOP1,
    FIDELITY_TOP5,
    METRICS,
    SCORE,
    Metric,
    MetricError,
    metric,
)
from irkit.results.summary import summary_text  # noqa: F401
