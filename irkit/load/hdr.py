"""Exact per-step latency tallies on HdrHistograms (``hdrhistogram`` package), mergeable across processes.

Locust's own percentiles are rounded to 2 significant digits; these keep 3 significant digits in
microseconds (0.1% of the value: 50 us at 50 ms). A :class:`StepTally` is one step's figures in one
load-generator process; ``encode()``/``merge_encoded()`` carry it from a Locust worker to the master,
where the histograms are added (not averaged), so merged percentiles stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LOWEST_US = 1
HIGHEST_US = 600_000_000  # 10 minutes: anything slower is clamped there
SIGNIFICANT_FIGURES = 3
PERCENTILES = (50, 90, 95, 99)


def new_histogram() -> Any:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def decode_histogram(encoded: bytes | str) -> Any:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram.decode(encoded.encode("ascii") if isinstance(encoded, str) else encoded)


def to_us(latency_ms: float) -> int:
    return int(min(HIGHEST_US, max(LOWEST_US, round(latency_ms * 1000.0))))


def latency_summary(histogram: Any) -> dict[str, float | None]:
    """``p50_ms`` ... ``p99_ms`` and ``max_ms`` of a histogram (None when it is empty)."""
    if histogram.get_total_count() == 0:
        return {**{f"p{p}_ms": None for p in PERCENTILES}, "max_ms": None}
    out: dict[str, float | None] = {
        f"p{p}_ms": round(histogram.get_value_at_percentile(p) / 1000.0, 3) for p in PERCENTILES
    }
    out["max_ms"] = round(histogram.get_max_value() / 1000.0, 3)
    return out


@dataclass
class StepTally:
    """One step's requests in one process: a latency histogram of the successes and counters."""

    requests: int = 0  # every completed request, failed or not
    errors: int = 0
    within_threshold: int = 0  # successes at or under the latency threshold (goodput)
    late: int = 0  # open loop: sends that left later than scheduled
    dropped: int = 0  # open loop: arrivals not sent (too many in flight)
    sent: int = 0  # open loop: requests sent at a time scheduled in this step (achieved rate = sent / duration)
    last_done_s: float | None = None  # when the last request completed, seconds into the run
    cpu_percent: float | None = None  # the generator process's CPU over the step
    histogram: Any = field(default_factory=new_histogram)

    def record(self, latency_ms: float, failed: bool, threshold_ms: float | None, done_s: float | None = None) -> None:
        self.requests += 1
        if done_s is not None and (self.last_done_s is None or done_s > self.last_done_s):
            self.last_done_s = done_s
        if failed:
            self.errors += 1
            return
        self.histogram.record_value(to_us(latency_ms))
        if threshold_ms is None or latency_ms <= threshold_ms:
            self.within_threshold += 1

    def encode(self) -> dict[str, Any]:
        """A msgpack/JSON-safe form for Locust's worker -> master messages."""
        return {"requests": self.requests, "errors": self.errors, "within_threshold": self.within_threshold,
                "late": self.late, "dropped": self.dropped, "sent": self.sent, "cpu_percent": self.cpu_percent,
                "last_done_s": self.last_done_s, "histogram": self.histogram.encode().decode("ascii")}

    def merge_encoded(self, data: dict[str, Any]) -> None:
        """Add another process's encoded tally for the same step into this one."""
        for name in ("requests", "errors", "within_threshold", "late", "dropped", "sent"):
            setattr(self, name, getattr(self, name) + int(data.get(name) or 0))
        done = data.get("last_done_s")
        if done is not None and (self.last_done_s is None or done > self.last_done_s):
            self.last_done_s = float(done)
        cpu = data.get("cpu_percent")
        if cpu is not None:
            self.cpu_percent = cpu if self.cpu_percent is None else max(self.cpu_percent, cpu)
        if data.get("histogram"):
            self.histogram.add(decode_histogram(data["histogram"]))

    def step_dict(self, duration_s: float) -> dict[str, Any]:
        """The measured part of a STEP (docs/architecture.md); the caller adds step/users/start_s."""
        seconds = max(duration_s, 1e-9)
        out: dict[str, Any] = {
            "duration_s": round(duration_s, 3), "requests": self.requests, "errors": self.errors,
            "rps": round(self.requests / seconds, 3),
        }
        out.update(latency_summary(self.histogram))
        out["goodput_rps"] = round(self.within_threshold / seconds, 3)
        if self.cpu_percent is not None:
            out["generator_cpu"] = round(self.cpu_percent, 1)
        return out
