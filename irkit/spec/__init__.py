"""The job spec: one frozen value for both backends.

``jobspec`` (JobSpec, load_spec), ``parts`` (Phase, Stairs, ...), ``fields`` (field checks and limits),
``coerce``, ``validate`` (cross-field and per-target rules), ``request`` (to and from the
CreateInferenceRecommendationsJob request), ``targets`` (multi-model targets), ``popularity``,
``traffic`` (the one home of the traffic arithmetic).
"""

from __future__ import annotations

from irkit.spec.jobspec import (  # noqa: F401
    ADVANCED_KEYS,
    TARGETS,
    JobSpec,
    load_spec,
)
from irkit.spec.parts import (  # noqa: F401
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
)
from irkit.spec.targets import TargetModels  # noqa: F401
