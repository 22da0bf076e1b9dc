"""Parse a traffic trace file (for :class:`irkit.spec.trace.Trace`). Errors name the file and line.

Forms (docs/plan.md "Traces"):

- CSV, one column of counts (header optional, e.g. ``requests``): one row per bin, ``bin_seconds``
  long (default 1; a header naming ``minute`` means 60);
- CSV with a time column (``timestamp``, ``time``, ``second``, ``minute``, ``Timestamp (UTC)``...)
  and a count column (``requests``, ``count``, ``Sum``, ``Invocations``, ``value``...): the time is
  seconds, epoch seconds, minutes (a ``minute`` header) or ISO-8601; rows may come unsorted
  (CloudWatch's do), repeated times are added, missing bins are 0;
- CSV with a time column only: one row per request, binned per second;
- JSON from ``aws cloudwatch get-metric-statistics`` (``Datapoints[].Timestamp`` + ``Sum``) or
  ``get-metric-data`` (``MetricDataResults[0].Timestamps`` + ``Values``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from irkit.errors import SpecError

FORM_COUNTS = "counts"
FORM_TIMESTAMPS = "timestamps"
FORM_CLOUDWATCH = "cloudwatch"
MAX_TRACE_BINS = 200_000  # a per-second day is 86,400

TIME_NAMES = ("timestamp", "timestamps", "time", "ts", "datetime", "date", "second", "seconds", "minute",
              "minutes", "t", "timestamp (utc)", "timestamps (utc)", "time (utc)")
COUNT_NAMES = ("requests", "request_count", "count", "counts", "invocations", "sum", "value", "values",
               "requests_per_second", "requests_per_minute", "rps", "rpm", "n")
MAX_FILE_BYTES = 64 * 1024 * 1024


class Parsed(NamedTuple):
    """A parsed trace: request rate per bin (req/s), bin length, label, form, first timestamp."""

    rates: tuple[float, ...]
    bin_s: float
    source: str
    form: str
    start: str | None = None


def parse_trace(source: Any, *, bin_seconds: float | None = None, name: str | None = None) -> Parsed:
    """Parse a path or the file's text (``str`` holding a newline or starting with ``{``)."""
    text, label = _text(source, name)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _from_json(stripped, label)
    return _from_csv(text, label, bin_seconds)


def _text(source: Any, name: str | None) -> tuple[str, str]:
    if isinstance(source, bytes):
        return source.decode("utf-8-sig", "replace"), name or "trace"
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{")):
        return source.lstrip("\ufeff"), name or "trace"
    path = Path(os.fspath(source)).expanduser()
    label = name or str(source)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SpecError(label, f"the trace file is over {MAX_FILE_BYTES // 2**20} MB")
        return path.read_text(encoding="utf-8-sig"), label
    except FileNotFoundError:
        raise SpecError(label, "trace file not found") from None
    except OSError as exc:
        raise SpecError(label, f"cannot read the trace file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(label, "the trace file is not UTF-8 text (CSV or JSON)") from None


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def parse_time(text: str, where: str) -> float:
    """Seconds (a number, e.g. epoch seconds) or an ISO-8601 date-time (UTC unless it says)."""
    text = text.strip()
    if _is_number(text):
        return float(text)
    candidate = text.replace("Z", "+00:00").replace("/", "-")
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise SpecError(where, f"{text!r} is neither seconds nor an ISO-8601 time like 2026-01-02T03:04:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _rows(text: str, label: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        rows.append((number, cells))
    if not rows:
        raise SpecError(label, "the trace file has no rows")
    return rows


def _looks_like_header(cells: list[str]) -> bool:
    for cell in cells:
        if not cell or _is_number(cell):
            continue
        try:
            parse_time(cell, "")
        except SpecError:
            return True
    return False


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().strip('"').lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    for i, h in enumerate(lowered):  # "Invocations (Sum)", "requests per second"
        if any(h.startswith(n) for n in names if len(n) > 2):
            return i
    return None


def _from_csv(text: str, label: str, bin_seconds: float | None) -> Parsed:
    rows = _rows(text, label)
    header: list[str] | None = None
    if _looks_like_header(rows[0][1]):
        header = rows[0][1]
        rows = rows[1:]
        if not rows:
            raise SpecError(label, "the trace file has a header but no data rows")
    width = len(header) if header else len(rows[0][1])
    if header is None:
        if width == 1:
            return _counts(rows, label, 0, bin_seconds or 1.0)
        return _timed(rows, label, 0, 1, minutes=False, bin_seconds=bin_seconds)
    time_col = _column(header, TIME_NAMES)
    count_col = _column([h if i != time_col else "" for i, h in enumerate(header)], COUNT_NAMES)
    if count_col is None and time_col is None and width == 1:
        count_col = 0
    if count_col is None and time_col is not None and width > 1:
        count_col = next(i for i in range(width) if i != time_col)
    head = [h.lower() for h in header]
    per_minute = any("minute" in h or h == "rpm" for h in head)
    if time_col is None:
        if count_col is None:
            raise SpecError(f"{label}:1", f"no time or count column in header {header}; name them e.g. "
                                          "'timestamp' and 'requests'")
        return _counts(rows, label, count_col, bin_seconds or (60.0 if per_minute else 1.0))
    if count_col is None:
        return _timestamps(rows, label, time_col)
    minutes = head[time_col] in ("minute", "minutes")
    return _timed(rows, label, time_col, count_col, minutes=minutes, bin_seconds=bin_seconds)


def _cell(cells: list[str], col: int, where: str) -> str:
    if col >= len(cells):
        raise SpecError(where, f"has {len(cells)} column(s); expected at least {col + 1}")
    return cells[col]


def _count(text: str, where: str) -> float:
    if not _is_number(text) or float(text) < 0:
        raise SpecError(where, f"request count {text!r} must be a number >= 0")
    return float(text)


def _counts(rows: list[tuple[int, list[str]]], label: str, col: int, bin_s: float) -> Parsed:
    counts = [_count(_cell(cells, col, f"{label}:{n}"), f"{label}:{n}") for n, cells in rows]
    return Parsed(tuple(c / bin_s for c in counts), bin_s, label, FORM_COUNTS)


def _bin_of(times: list[float]) -> float:
    steps = Counter(round(b - a, 6) for a, b in zip(times, times[1:], strict=False) if b - a > 1e-9)
    if not steps:
        return 1.0
    top = max(steps.values())
    return min(step for step, seen in steps.items() if seen == top)


def _timed(rows: list[tuple[int, list[str]]], label: str, time_col: int, count_col: int, *, minutes: bool,
           bin_seconds: float | None, form: str = FORM_COUNTS) -> Parsed:
    points: dict[float, float] = {}
    first_text: dict[float, str] = {}
    for n, cells in rows:
        where = f"{label}:{n}"
        raw = _cell(cells, time_col, where)
        at = parse_time(raw, where) * (60.0 if minutes else 1.0)
        points[at] = points.get(at, 0.0) + _count(_cell(cells, count_col, where), where)
        first_text.setdefault(at, raw)
    return _binned(points, first_text, label, bin_seconds, form)


def _binned(points: dict[float, float], first_text: dict[float, str], label: str, bin_seconds: float | None,
            form: str) -> Parsed:
    times = sorted(points)
    bin_s = float(bin_seconds) if bin_seconds else _bin_of(times)
    start = times[0]
    bins = int(math.floor((times[-1] - start) / bin_s + 1e-9)) + 1
    if bins > MAX_TRACE_BINS:
        raise SpecError(label, f"the trace spans {bins} bins of {bin_s:g} s; at most {MAX_TRACE_BINS} are read "
                               "(is the time column in seconds?)")
    counts = [0.0] * bins
    for at in times:
        counts[int(math.floor((at - start) / bin_s + 1e-9))] += points[at]
    return Parsed(tuple(c / bin_s for c in counts), bin_s, label, form, first_text[start])


def _timestamps(rows: list[tuple[int, list[str]]], label: str, time_col: int) -> Parsed:
    """One row per request: counts per second from the first request's second."""
    points: dict[float, float] = {}
    first_text: dict[float, str] = {}
    times = []
    for n, cells in rows:
        where = f"{label}:{n}"
        raw = _cell(cells, time_col, where)
        times.append((parse_time(raw, where), raw))
    origin = math.floor(min(t for t, _ in times))
    for at, raw in times:
        second = origin + math.floor(at - origin)
        points[second] = points.get(second, 0.0) + 1.0
        first_text.setdefault(second, raw)
    points.setdefault(float(origin), 0.0)
    first_text.setdefault(float(origin), str(origin))
    return _binned(points, first_text, label, 1.0, FORM_TIMESTAMPS)


def _from_json(text: str, label: str) -> Parsed:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpecError(label, f"not valid JSON: {exc}") from None
    points: dict[float, float] = {}
    first_text: dict[float, str] = {}
    period = None
    if isinstance(data, dict) and isinstance(data.get("Datapoints"), list):  # get-metric-statistics
        for i, point in enumerate(data["Datapoints"]):
            where = f"{label}:Datapoints[{i}]"
            if not isinstance(point, dict) or "Timestamp" not in point:
                raise SpecError(where, "needs Timestamp and Sum")
            value = point.get("Sum", point.get("SampleCount"))
            if value is None:
                raise SpecError(where, "needs Sum (export the Invocations metric with --statistics Sum)")
            at = parse_time(str(point["Timestamp"]), where)
            points[at] = points.get(at, 0.0) + _count(str(value), where)
            first_text.setdefault(at, str(point["Timestamp"]))
    elif isinstance(data, dict) and isinstance(data.get("MetricDataResults"), list) and data["MetricDataResults"]:
        result = data["MetricDataResults"][0]
        stamps, values = result.get("Timestamps") or [], result.get("Values") or []
        if len(stamps) != len(values):
            raise SpecError(f"{label}:MetricDataResults[0]", "Timestamps and Values differ in length")
        for i, (stamp, value) in enumerate(zip(stamps, values, strict=True)):
            where = f"{label}:MetricDataResults[0].Values[{i}]"
            at = parse_time(str(stamp), where)
            points[at] = points.get(at, 0.0) + _count(str(value), where)
            first_text.setdefault(at, str(stamp))
    else:
        raise SpecError(label, "JSON traces must be CloudWatch exports: get-metric-statistics (Datapoints) or "
                               "get-metric-data (MetricDataResults)")
    if not points:
        raise SpecError(label, "the CloudWatch export holds no datapoint")
    if len(points) == 1:
        period = 60.0  # one datapoint: CloudWatch's usual period
    return _binned(points, first_text, label, period, FORM_CLOUDWATCH)
