"""Per-model latency tallies of one step for multi-model / multi-container load (``target_models``).

Each answer is filed under its target ``(model, container)``:

- **cold**: ``X-Irkit-Model-Cache: miss`` (the model was not loaded: this request loaded it, its
  answer then also carries ``X-Irkit-Model-Load-Ms``, or it waited for that load), or any answer
  with ``X-Irkit-Model-Load-Ms``;
- **warm**: ``X-Irkit-Model-Cache: hit``;
- **unknown**: a successful answer with no cache header (a SageMaker endpoint): it counts in the
  overall percentiles only, and the cold/warm fields and ``hit_rate`` stay null.

``hit_rate`` = hits / (hits + misses) over answers that carry the cache header. Like ``StepTally``,
a ``StepModels`` is encoded by a Locust worker and merged (histograms added) by the master.
No locust import: the locustfile and tests both use this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from irkit.load.hdr import decode_histogram, new_histogram, to_us
from irkit.spec.popularity import target_label

CACHE_HEADER = "X-Irkit-Model-Cache"
LOAD_MS_HEADER = "X-Irkit-Model-Load-Ms"
TARGET_MODEL_HEADER = "X-Amzn-SageMaker-Target-Model"
TARGET_CONTAINER_HEADER = "X-Amzn-SageMaker-Target-Container-Hostname"
CACHE_HIT = "hit"
CACHE_MISS = "miss"
HISTOGRAMS = ("cold", "warm", "unknown")


def _ms(histogram: Any, percentile: float) -> float | None:
    if histogram.get_total_count() == 0:
        return None
    return round(histogram.get_value_at_percentile(percentile) / 1000.0, 3)


@dataclass
class ModelTally:
    """One target's figures in one step and one process."""

    requests: int = 0
    errors: int = 0
    hits: int = 0
    misses: int = 0
    loads: int = 0  # answers that carried X-Irkit-Model-Load-Ms (this request ran the load)
    load_ms_total: float = 0.0  # their load times summed
    histograms: dict[str, Any] = field(default_factory=lambda: {k: new_histogram() for k in HISTOGRAMS})

    def record(self, latency_ms: float, failed: bool, cache: str | None, load_ms: float | None) -> None:
        self.requests += 1
        if cache == CACHE_HIT:
            self.hits += 1
        elif cache == CACHE_MISS:
            self.misses += 1
        if failed:
            self.errors += 1
            return
        if load_ms is not None:
            self.loads += 1
            self.load_ms_total += load_ms
        if load_ms is not None or cache == CACHE_MISS:
            kind = "cold"
        elif cache == CACHE_HIT:
            kind = "warm"
        else:
            kind = "unknown"
        self.histograms[kind].record_value(to_us(latency_ms))

    def encode(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "hits": self.hits, "misses": self.misses,
                "loads": self.loads, "load_ms_total": self.load_ms_total,
                "histograms": {k: h.encode().decode("ascii") for k, h in self.histograms.items()}}

    def merge_encoded(self, data: dict[str, Any]) -> None:
        for name in ("requests", "errors", "hits", "misses", "loads"):
            setattr(self, name, getattr(self, name) + int(data.get(name) or 0))
        self.load_ms_total += float(data.get("load_ms_total") or 0.0)
        for kind, encoded in (data.get("histograms") or {}).items():
            if kind in self.histograms and encoded:
                self.histograms[kind].add(decode_histogram(encoded))

    def entry(self, model: str | None, container: str | None) -> dict[str, Any]:
        """The PER_MODEL dict of docs/architecture.md."""
        overall = new_histogram()
        for histogram in self.histograms.values():
            overall.add(histogram)
        cold, warm = self.histograms["cold"], self.histograms["warm"]
        known = self.hits + self.misses
        reported = known > 0  # did the server say anything about its model cache?
        cold_count = cold.get_total_count()
        return {
            "model": model, "container": container, "target": target_label(model, container),
            "requests": self.requests, "errors": self.errors,
            "p50_ms": _ms(overall, 50), "p95_ms": _ms(overall, 95), "p99_ms": _ms(overall, 99),
            "cold_requests": cold_count if reported else None,
            "cold_p50_ms": _ms(cold, 50), "cold_p99_ms": _ms(cold, 99),
            "warm_p50_ms": _ms(warm, 50), "warm_p99_ms": _ms(warm, 99),
            "hit_rate": round(self.hits / known, 4) if reported else None,
            "loads": self.loads if reported else None,
            "load_ms_mean": round(self.load_ms_total / self.loads, 3) if self.loads else None,
        }


class StepModels:
    """All targets' tallies of one step in one process, keyed by ``(model, container)``."""

    def __init__(self) -> None:
        self.targets: dict[tuple[str | None, str | None], ModelTally] = {}

    def tally(self, model: str | None, container: str | None) -> ModelTally:
        key = (model, container)
        if key not in self.targets:
            self.targets[key] = ModelTally()
        return self.targets[key]

    def record(self, model: str | None, container: str | None, latency_ms: float, failed: bool,
               cache: str | None = None, load_ms: float | None = None) -> None:
        self.tally(model, container).record(latency_ms, failed, cache, load_ms)

    def encode(self) -> list[dict[str, Any]]:
        return [{"model": m, "container": c, **t.encode()} for (m, c), t in self.targets.items()]

    def merge_encoded(self, data: list[dict[str, Any]]) -> None:
        for item in data or []:
            self.tally(item.get("model"), item.get("container")).merge_encoded(item)

    def entries(self) -> list[dict[str, Any]]:
        """PER_MODEL dicts sorted by requests (most popular first), then by label."""
        out = [t.entry(m, c) for (m, c), t in self.targets.items()]
        return sorted(out, key=lambda e: (-e["requests"], e["target"]))


def answer_cache_state(response: Any) -> tuple[str | None, float | None]:
    """(``hit``/``miss``/None, load ms/None) from an HTTP response's headers (any object with .headers)."""
    headers = getattr(response, "headers", None)
    if not headers:
        return None, None
    try:
        cache = headers.get(CACHE_HEADER)
        load = headers.get(LOAD_MS_HEADER)
    except Exception:  # noqa: BLE001 - an odd headers object means: not reported
        return None, None
    cache = cache.strip().lower() if isinstance(cache, str) else None
    try:
        load_ms = float(load) if load is not None else None
    except (TypeError, ValueError):
        load_ms = None
    return cache if cache in (CACHE_HIT, CACHE_MISS) else None, load_ms


def target_headers(model: str | None, container: str | None) -> dict[str, str]:
    """SageMaker's routing headers for one request."""
    headers = {}
    if model:
        headers[TARGET_MODEL_HEADER] = model
    if container:
        headers[TARGET_CONTAINER_HEADER] = container
    return headers


def flatten_per_model(steps: Any) -> list[dict[str, Any]]:
    """The result's ``irkit.per_model``: every STEP's ``per_model`` entries with config_id and step."""
    rows: list[dict[str, Any]] = []
    for step in steps or []:
        for entry in step.get("per_model") or []:
            rows.append({"config_id": step.get("config_id"), "step": step.get("step"), **entry})
    return rows
