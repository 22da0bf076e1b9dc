"""Traffic traces: a recorded request rate over time, replayed in open loop (``traffic_type: TRACE``).

Pure: no locust, no I/O beyond reading the trace file. A :class:`Trace` is a request rate per bin
(``rates[i]`` requests per second during ``[i * bin_s, (i + 1) * bin_s)``), read from a CSV (or a
CloudWatch JSON export) by :func:`read_trace` (irkit/spec/trace_file.py holds the parsers):

- **counts**: one row per second (or minute, ``bin_seconds``), the requests in it;
- **time + count**: a timestamp column (seconds, epoch seconds or ISO-8601) and a count column.
  The bin is the most common step between timestamps; missing bins are zero. CloudWatch's
  ``Invocations`` metric (``Sum`` per period) exported as CSV or JSON is this form;
- **timestamps**: one row per request (a ``timestamp`` column only), binned per second.

Replay (load/replay.py): ``time_scale`` k plays each bin in ``bin_s / k`` seconds at the **same**
request rate (a day of per-minute counts in 24 minutes with k=60); ``rate_scale`` multiplies every
rate (``1 / instances`` is one instance's share). :func:`even_send_times` spreads each bin's
requests evenly, carrying fractions into the next bin, so the sends per bin match the trace.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from irkit.errors import SpecError
from irkit.spec.trace_file import (  # noqa: F401 - the forms are re-exported for readers
    FORM_CLOUDWATCH,
    FORM_COUNTS,
    FORM_TIMESTAMPS,
    MAX_TRACE_BINS,
    parse_trace,
)

MAX_REPLAY_WINDOWS = 3_600  # longer traces are summed into coarser bins before replay
TRACE_KEYS = ("path", "time_scale", "rate_scale", "bin_seconds")


@dataclass(frozen=True)
class Trace:
    """Requests per second in each bin of ``bin_s`` seconds, from ``source``."""

    rates: tuple[float, ...]
    bin_s: float = 1.0
    source: str = "trace"
    form: str = FORM_COUNTS
    start: str | None = None  # the first bin's timestamp as read, when the file had one

    def __post_init__(self) -> None:
        rates = tuple(float(r) for r in self.rates)
        where = self.source
        if not rates:
            raise SpecError(where, "the trace has no rows")
        if len(rates) > MAX_TRACE_BINS:
            raise SpecError(where, f"the trace has {len(rates)} bins; at most {MAX_TRACE_BINS} are read")
        for i, rate in enumerate(rates):
            if not math.isfinite(rate) or rate < 0:
                raise SpecError(f"{where}[{i}]", f"request rate {rate} must be a finite number >= 0")
        if not math.isfinite(self.bin_s) or self.bin_s <= 0:
            raise SpecError(where, f"bin length {self.bin_s} s must be more than 0")
        if sum(rates) <= 0:
            raise SpecError(where, "the trace holds no request (every count is 0)")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "bin_s", float(self.bin_s))

    # ---- figures -------------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return len(self.rates) * self.bin_s

    @property
    def peak_rps(self) -> float:
        return max(self.rates)

    @property
    def min_rps(self) -> float:
        return min(self.rates)

    @property
    def mean_rps(self) -> float:
        return sum(self.rates) / len(self.rates)

    @property
    def total_requests(self) -> float:
        return sum(self.rates) * self.bin_s

    def counts(self) -> list[float]:
        """Requests in each bin."""
        return [r * self.bin_s for r in self.rates]

    def per_minute(self) -> list[float]:
        """The request rate of each trace minute, in requests per minute (a last, partial minute is
        averaged over the seconds it has): what autoscaling on invocations per minute sees."""
        requests: dict[int, float] = {}
        covered: dict[int, float] = {}
        for i, rate in enumerate(self.rates):
            # a bin longer than a minute spreads over the minutes it covers
            left, end = i * self.bin_s, (i + 1) * self.bin_s
            while left < end - 1e-9:
                minute = int(left // 60 + 1e-9)
                right = min(end, (minute + 1) * 60.0)
                requests[minute] = requests.get(minute, 0.0) + rate * (right - left)
                covered[minute] = covered.get(minute, 0.0) + (right - left)
                left = right
        return [requests[m] * 60.0 / covered[m] for m in range(max(requests) + 1)]

    def minutes_above(self, requests_per_minute: float, rate_scale: float = 1.0) -> list[int]:
        """The trace minutes whose rate x ``rate_scale`` exceeds ``requests_per_minute``."""
        return [m for m, rpm in enumerate(self.per_minute())
                if rpm * rate_scale > requests_per_minute * (1 + 1e-9)]

    def queue_minutes(self, capacity_rps: float, max_wait_s: float, rate_scale: float = 1.0) -> list[int]:
        """Trace minutes where requests would wait over ``max_wait_s`` (see :func:`queue_minutes`)."""
        return queue_minutes([r * rate_scale for r in self.rates], self.bin_s, capacity_rps, max_wait_s)

    # ---- transforms (copies; the receiver is never changed) --------------------------------
    def scaled(self, factor: float) -> Trace:
        """Every rate times ``factor`` (e.g. ``1 / instances`` for one instance's share)."""
        if not factor > 0:
            raise SpecError("rate_scale", f"must be more than 0, got {factor}")
        return Trace(tuple(r * factor for r in self.rates), self.bin_s, self.source, self.form, self.start)

    def resampled(self, bin_s: float) -> Trace:
        """Coarser bins of ``bin_s`` seconds (a whole multiple of this bin), rates averaged."""
        ratio = bin_s / self.bin_s
        if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
            raise SpecError("bin_seconds", f"{bin_s} s is not a whole multiple of the trace's {self.bin_s} s bins")
        n = int(round(ratio))
        rates = [sum(self.rates[i:i + n]) / n for i in range(0, len(self.rates), n)]
        return Trace(tuple(rates), bin_s, self.source, self.form, self.start)

    def to_csv(self, path: Any) -> Any:
        """Write the trace as ``second,requests`` (or ``minute,requests`` for 60 s bins); returns the path."""
        from pathlib import Path

        unit = "minute" if self.bin_s == 60 else "second"
        step = 1.0 if unit == "minute" else self.bin_s
        lines = [f"{unit},requests"] + [f"{i * step:g},{c:g}" for i, c in enumerate(self.counts())]
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "form": self.form, "bin_s": self.bin_s, "start": self.start,
                "bins": len(self.rates), "duration_s": self.duration_s, "peak_rps": round(self.peak_rps, 3),
                "mean_rps": round(self.mean_rps, 3), "min_rps": round(self.min_rps, 3),
                "total_requests": round(self.total_requests, 1)}


@dataclass(frozen=True)
class ReplayWindows:
    """An open-loop schedule in ``irkit.spec.OpenLoop``'s shape, where a rate may be 0."""

    rates_per_second: tuple[float, ...]
    duration_in_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"rates_per_second": list(self.rates_per_second), "duration_in_seconds": self.duration_in_seconds}


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay sends: ``rates[i]`` req/s for ``window_s`` seconds each, in order.

    ``trace_bin_s`` is one window's length in trace time (``window_s * time_scale``), so window i
    starts at ``i * trace_bin_s`` seconds of the original trace.
    """

    rates: tuple[float, ...]
    window_s: float
    time_scale: float = 1.0
    rate_scale: float = 1.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def trace_bin_s(self) -> float:
        return self.window_s * self.time_scale

    @property
    def duration_s(self) -> float:
        return self.window_s * len(self.rates)

    def open_loop(self) -> ReplayWindows:
        """The ``open_loop`` value ``irkit.load.generator.run_load`` takes (zero rates are allowed)."""
        return ReplayWindows(self.rates, self.window_s)

    def load_config(self) -> dict[str, Any]:
        """The locustfile keys of a replay: even arrivals, and the trace time of each window."""
        return {"arrivals": "even", "time_scale": self.time_scale}

    def expected_counts(self) -> list[float]:
        return [r * self.window_s for r in self.rates]

    def queue_minutes(self, capacity_rps: float, max_wait_s: float) -> list[int]:
        """The trace minutes this replay should break at ``capacity_rps`` (see :func:`queue_minutes`)."""
        return queue_minutes(self.rates, self.window_s, capacity_rps, max_wait_s, self.time_scale)


def sample_trace(peak_rps: float, minutes: int = 60, *, burst_at: float = 0.7) -> Trace:
    """A made-up per-minute trace for examples: a quiet start, a busy middle, one burst to ``peak_rps``.

    The rate rises from 20% to 70% of the peak and back over ``minutes``; the minute at ``burst_at``
    (share of the run) reaches the peak. Deterministic, so examples and tests agree.
    """
    if not peak_rps > 0 or minutes < 1:
        raise SpecError("peak_rps", f"a sample trace needs peak_rps > 0 and minutes >= 1, got {peak_rps}, {minutes}")
    rates = [peak_rps * (0.2 + 0.5 * math.sin(math.pi * (m + 0.5) / minutes) ** 2) for m in range(minutes)]
    rates[min(minutes - 1, int(burst_at * minutes))] = float(peak_rps)
    return Trace(tuple(round(r * 60) / 60 for r in rates), 60.0, f"sample trace ({minutes} min, peak {peak_rps:g} req/s)")


def queue_minutes(rates: Sequence[float], window_s: float, capacity_rps: float, max_wait_s: float,
                  time_scale: float = 1.0) -> list[int]:
    """The trace minutes in which a fluid queue makes requests wait longer than ``max_wait_s``.

    Requests arrive at ``rates[i]`` per second for ``window_s`` seconds each and are served at
    ``capacity_rps``; what exceeds the capacity queues, and a backlog of B requests waits
    B / capacity seconds. A window that starts or ends with such a backlog breaks the minute(s) of
    the trace it covers (window i is trace time ``[i, i + 1) x window_s x time_scale``), including
    the minutes after a burst while the queue drains. It ignores service time and randomness: it
    is the prediction a replay is checked against, not a latency model.
    """
    if capacity_rps <= 0:
        return sorted({int(i * window_s * time_scale // 60) for i, r in enumerate(rates) if r > 0})
    broken: set[int] = set()
    backlog = 0.0
    trace_bin = window_s * time_scale
    for i, rate in enumerate(rates):
        start_wait = backlog / capacity_rps
        backlog = max(0.0, backlog + (rate - capacity_rps) * window_s)
        if max(start_wait, backlog / capacity_rps) > max_wait_s:
            first, last = i * trace_bin, (i + 1) * trace_bin - 1e-9
            broken.update(range(int(first // 60), int(last // 60) + 1))
    return sorted(broken)


def replay_plan(trace: Trace, *, time_scale: float = 1.0, rate_scale: float = 1.0,
                max_windows: int = MAX_REPLAY_WINDOWS) -> ReplayPlan:
    """The windows a replay of ``trace`` sends, compressed ``time_scale`` times, rates x ``rate_scale``.

    A trace with more than ``max_windows`` bins is first summed into coarser bins (a note says so).
    """
    if not time_scale > 0:
        raise SpecError("time_scale", f"must be more than 0, got {time_scale}")
    notes: list[str] = []
    scaled = trace.scaled(rate_scale) if rate_scale != 1 else trace
    if len(scaled.rates) > max_windows:
        factor = math.ceil(len(scaled.rates) / max_windows)
        scaled = scaled.resampled(scaled.bin_s * factor)
        notes.append(f"the trace's {len(trace.rates)} bins were summed into {len(scaled.rates)} bins of "
                     f"{scaled.bin_s:g} s for the replay")
    return ReplayPlan(scaled.rates, scaled.bin_s / time_scale, float(time_scale), float(rate_scale), tuple(notes))


def even_send_times(rates: Sequence[float], window_s: float, generators: int = 1,
                    index: int = 0) -> Iterator[tuple[float, int]]:
    """``(seconds from the start, window index)`` of each send for generator ``index`` of ``generators``.

    The sends follow the cumulative count: request k (0-based, over all generators) leaves when
    ``k + 0.5`` requests are due, so a window with rate r sends r x window_s requests, evenly
    spaced, and fractions carry into the next window. Generator g sends requests k = g, g+N, ...
    """
    generators = max(1, int(generators))
    due = 0.0  # requests due by the start of the window
    k = index
    for w, rate in enumerate(rates):
        start = w * window_s
        end_due = due + max(0.0, rate) * window_s
        while k + 0.5 < end_due:
            yield start + (k + 0.5 - due) / rate, w
            k += generators
        due = end_due


@dataclass(frozen=True)
class TraceSettings:
    """The spec's ``trace`` block: ``{path, time_scale: 1, rate_scale: 1, bin_seconds: 1}``.

    ``bin_seconds`` is the bin of a counts-only CSV (60 for per-minute counts); files with a
    timestamp column carry their own.
    """

    path: str
    time_scale: float = 1.0
    rate_scale: float = 1.0
    bin_seconds: float | None = None

    @classmethod
    def from_value(cls, where: str, value: Any) -> TraceSettings:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            value = {"path": value}
        if not isinstance(value, Mapping):
            raise SpecError(where, f"expected a mapping {{path, time_scale, rate_scale}} or a path, got {value!r}")
        unknown = [k for k in value if k not in TRACE_KEYS]
        if unknown:
            raise SpecError(f"{where}.{unknown[0]}", f"unknown key; allowed keys are: {', '.join(TRACE_KEYS)}")
        if not value.get("path") or not isinstance(value.get("path"), str):
            raise SpecError(f"{where}.path", "is required: the trace CSV file")
        numbers = {}
        for key in ("time_scale", "rate_scale", "bin_seconds"):
            raw = value.get(key)
            if raw is None:
                continue
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw <= 0:
                raise SpecError(f"{where}.{key}", f"must be a number more than 0, got {raw!r}")
            numbers[key] = float(raw)
        return cls(str(value["path"]), numbers.get("time_scale", 1.0), numbers.get("rate_scale", 1.0),
                   numbers.get("bin_seconds"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.time_scale != 1:
            out["time_scale"] = self.time_scale
        if self.rate_scale != 1:
            out["rate_scale"] = self.rate_scale
        if self.bin_seconds is not None:
            out["bin_seconds"] = self.bin_seconds
        return out

    def load(self) -> Trace:
        return read_trace(self.path, bin_seconds=self.bin_seconds)

    def plan(self) -> ReplayPlan:
        return replay_plan(self.load(), time_scale=self.time_scale, rate_scale=self.rate_scale)


def read_trace(source: Any, *, bin_seconds: float | None = None, name: str | None = None) -> Trace:
    """A Trace from a CSV/JSON file path, the file's text (``name`` labels it), or a Trace."""
    if isinstance(source, Trace):
        return source
    return Trace(*parse_trace(source, bin_seconds=bin_seconds, name=name))
