"""Stable windows: a load level is measured in windows of a few seconds, and is done once it settles.

Pure functions over plain dicts (no I/O, no clock): the locustfile and the knee search call them on
*ticks*, the short fixed slices (``TICK_S``) the load generator reports, and tests call them on
synthetic ones.

- A **tick** is ``{"tick", "start_s", "duration_s", "requests", "errors", "last_done_s",
  "settled", "level"?, "histogram"?, "generator_cpu"?, "within_threshold"?}``: the requests that
  completed in ``[start_s, start_s + duration_s)`` of the run, the time of the last of them, and
  whether the generator held the level's users for the whole tick (``settled``).
- A **window** is a run of consecutive settled ticks of one level, at least ``window_seconds`` long
  and holding at least ``min_requests`` requests (:func:`group_windows`).
- A window's throughput is **completion-aligned**: the requests completed since the previous
  window's last completion, over the time between the two completions. A closed loop's completions
  are nearly periodic, so counting them over a fixed span would add up to one request of noise per
  window; aligned spans have none, and they chain without gaps, so a stall between windows is never
  lost.
- A level is **stable** when its last ``count`` windows agree within ``tolerance`` of their mean on
  throughput and on latency (perf_analyzer's rule, 3 windows within 10%; latency is the median,
  which a few-second window measures well). A searched level ends once it is stable and holds at
  least ``min_windows`` windows (the interval is a t-interval over them: 3 windows would cost a
  factor 4.30, 5 windows 2.78); one that is not stable within its time cap is marked unstable
  (:func:`level_state`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

TICK_S = 0.5  # the generator's reporting grid; windows are whole ticks
DEFAULT_WINDOW_S = 2.0
DEFAULT_MIN_REQUESTS = 10
DEFAULT_STABILITY = 0.10  # the last windows must agree within 10% of their mean
STABLE_WINDOWS = 3  # ... and there must be this many of them
MIN_WINDOWS = 5  # a searched level measures at least this many before it ends (the interval's samples)
DEFAULT_MAX_LEVEL_S = 20.0
LATENCY_KEY = "p50_ms"  # the latency the stability rule compares

STATE_MEASURING = "measuring"
STATE_STABLE = "stable"
STATE_UNSTABLE = "unstable"


@dataclass(frozen=True)
class WindowRule:
    """How windows are cut and when a level counts as settled."""

    window_seconds: float = DEFAULT_WINDOW_S
    min_requests: int = DEFAULT_MIN_REQUESTS
    tolerance: float = DEFAULT_STABILITY
    count: int = STABLE_WINDOWS
    max_level_seconds: float = DEFAULT_MAX_LEVEL_S
    min_windows: int = MIN_WINDOWS


@dataclass
class Window:
    """A few seconds of one level: what the result lists under a STEP's ``windows``."""

    start_s: float
    duration_s: float
    requests: int
    errors: int
    rps: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    last_done_s: float | None = None
    ticks: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The result's form: ``{rps, p50_ms, p95_ms, p99_ms, requests, errors, start_s, duration_s}``."""
        return {"rps": round(self.rps, 3), "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "p99_ms": self.p99_ms,
                "requests": self.requests, "errors": self.errors, "start_s": round(self.start_s, 3),
                "duration_s": round(self.duration_s, 3)}


def _contiguous(previous: dict[str, Any], tick: dict[str, Any]) -> bool:
    return int(tick["tick"]) == int(previous["tick"]) + 1 and tick.get("level") == previous.get("level")


def _usable(tick: dict[str, Any]) -> bool:
    return bool(tick.get("settled", True))


def group_windows(ticks: Sequence[dict[str, Any]], rule: WindowRule) -> tuple[list[list[dict[str, Any]]],
                                                                           list[dict[str, Any]]]:
    """Cut settled ticks into windows: ``(complete groups, the ticks still filling the next one)``.

    A group ends once it spans ``window_seconds`` and holds ``min_requests``; a gap (a missing or
    unsettled tick, or another level) discards the group being filled.
    """
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for tick in ticks:
        if not _usable(tick):
            current = []
            continue
        if current and not _contiguous(current[-1], tick):
            current = []
        current.append(tick)
        span = sum(float(t["duration_s"]) for t in current)
        requests = sum(int(t.get("requests") or 0) for t in current)
        if span >= rule.window_seconds - 1e-9 and requests >= rule.min_requests:
            groups.append(current)
            current = []
    return groups, current


def make_windows(groups: Sequence[Sequence[dict[str, Any]]]) -> list[Window]:
    """Windows from tick groups, with completion-aligned throughput and merged latency percentiles."""
    windows: list[Window] = []
    previous: list[dict[str, Any]] | None = None
    for group in groups:
        chained = previous is not None and _contiguous(previous[-1], group[0])
        reference = _last_done(previous) if chained and previous is not None else None
        windows.append(window_from_ticks(group, reference))
        previous = list(group)
    return windows


def _last_done(ticks: Iterable[dict[str, Any]]) -> float | None:
    done = [float(t["last_done_s"]) for t in ticks if t.get("last_done_s") is not None]
    return max(done) if done else None


def window_from_ticks(ticks: Sequence[dict[str, Any]], reference_s: float | None = None) -> Window:
    """One window. ``reference_s``: the previous window's last completion (None: the first tick's start)."""
    start = float(ticks[0]["start_s"])
    duration = sum(float(t["duration_s"]) for t in ticks)
    requests = sum(int(t.get("requests") or 0) for t in ticks)
    errors = sum(int(t.get("errors") or 0) for t in ticks)
    last_done = _last_done(ticks)
    rps = aligned_rate(requests, start, duration, last_done, reference_s)
    latency = merged_latency(ticks)
    return Window(start, duration, requests, errors, rps, latency.get("p50_ms"), latency.get("p95_ms"),
                  latency.get("p99_ms"), last_done, list(ticks))


def aligned_rate(requests: int, start_s: float, duration_s: float, last_done_s: float | None,
                 reference_s: float | None) -> float:
    """Requests per second between completions: ``requests / (last_done - reference)``.

    Without a previous completion the span starts at ``start_s``; a span much shorter than the
    window (almost no requests, or none after a stall) falls back to ``requests / duration``.
    """
    if requests <= 0:
        return 0.0
    begin = reference_s if reference_s is not None else start_s
    if last_done_s is not None and last_done_s - begin >= 0.5 * duration_s:
        return requests / (last_done_s - begin)
    return requests / max(duration_s, 1e-9)


def merged_latency(ticks: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """p50/p90/p95/p99/max of the ticks' encoded histograms added together (exact, never averaged)."""
    encoded = [t["histogram"] for t in ticks if t.get("histogram")]
    if not encoded:
        keys = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")
        return {k: _worst(ticks, k) for k in keys}
    from irkit.load.hdr import decode_histogram, latency_summary, new_histogram

    histogram = new_histogram()
    for item in encoded:
        histogram.add(decode_histogram(item))
    return latency_summary(histogram)


def _worst(ticks: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [float(t[key]) for t in ticks if t.get(key) is not None]
    return max(values) if values else None


def agree(values: Sequence[float | None], tolerance: float) -> bool:
    """Every value within ``tolerance`` of their mean (all None: nothing to disagree on)."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return True
    if len(present) != len(values):
        return False
    mean = sum(present) / len(present)
    if mean <= 0:
        return all(v == 0 for v in present)
    return all(abs(v - mean) <= tolerance * mean + 1e-12 for v in present)


def windows_agree(windows: Sequence[Window], tolerance: float) -> bool:
    return agree([w.rps for w in windows], tolerance) and agree([w.p50_ms for w in windows], tolerance)


def is_stable(windows: Sequence[Window], rule: WindowRule) -> bool:
    """The last ``rule.count`` windows agree within ``rule.tolerance`` on throughput and latency."""
    return len(windows) >= rule.count and windows_agree(windows[-rule.count:], rule.tolerance)


def counted_windows(windows: Sequence[Window], rule: WindowRule) -> tuple[list[Window], bool]:
    """The windows a level's figures come from, and whether the level is stable.

    Stable: the longest run of last windows that still agree (a settling start is dropped).
    Not stable: all of them (the interval then shows how much they spread).
    """
    if not is_stable(windows, rule):
        return list(windows), False
    for n in range(len(windows), rule.count - 1, -1):
        tail = list(windows[-n:])
        if windows_agree(tail, rule.tolerance):
            return tail, True
    return list(windows[-rule.count:]), True  # pragma: no cover - is_stable guarantees the loop returns


def level_state(windows: Sequence[Window], elapsed_s: float, rule: WindowRule) -> str:
    """``measuring`` until there are ``min_windows`` and the last ones agree (``stable``), or until
    ``max_level_seconds`` ran out (``stable`` if the last ones agree by then, else ``unstable``)."""
    if is_stable(windows, rule) and (len(windows) >= rule.min_windows or elapsed_s >= rule.max_level_seconds):
        return STATE_STABLE
    if elapsed_s >= rule.max_level_seconds:
        return STATE_UNSTABLE
    return STATE_MEASURING


def window_summary(windows: Sequence[Window]) -> dict[str, Any]:
    """A level's figures over its counted windows: ``requests, errors, rps, p50..p99, max, duration_s``.

    ``rps`` is completion-aligned over the whole run of windows; percentiles come from the windows'
    ticks' histograms merged.
    """
    ticks = [t for w in windows for t in w.ticks]
    requests = sum(w.requests for w in windows)
    duration = sum(w.duration_s for w in windows)
    if not windows:
        return {"requests": 0, "errors": 0, "rps": 0.0, "duration_s": 0.0}
    span = 0.0
    for w in windows:
        span += w.requests / w.rps if w.rps > 0 else w.duration_s
    out: dict[str, Any] = {"requests": requests, "errors": sum(w.errors for w in windows),
                           "rps": round(requests / span, 3) if span > 0 else 0.0,
                           "duration_s": round(duration, 3), "start_s": round(windows[0].start_s, 3)}
    out.update(merged_latency(ticks) if ticks else {"p50_ms": windows[-1].p50_ms, "p95_ms": windows[-1].p95_ms,
                                                   "p99_ms": windows[-1].p99_ms})
    within = [t.get("within_threshold") for t in ticks]
    if ticks and all(v is not None for v in within):
        out["goodput_rps"] = round(sum(int(v or 0) for v in within) / max(duration, 1e-9), 3)
    cpu = [float(t["generator_cpu"]) for t in ticks if t.get("generator_cpu") is not None]
    if cpu:
        out["generator_cpu"] = round(sum(cpu) / len(cpu), 1)
    return out
