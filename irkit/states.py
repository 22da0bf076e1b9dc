"""Job and step states: the values of DescribeInferenceRecommendationsJob's ``Status``."""

from __future__ import annotations

PENDING = "PENDING"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
STOPPING = "STOPPING"
STOPPED = "STOPPED"

TERMINAL = frozenset({COMPLETED, FAILED, STOPPED})
ALL = (PENDING, IN_PROGRESS, COMPLETED, FAILED, STOPPING, STOPPED)


def is_terminal(status: str) -> bool:
    return status in TERMINAL
