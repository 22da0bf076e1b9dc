"""Make AWS responses JSON-safe: datetimes become ISO-8601 strings, bytes become text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
