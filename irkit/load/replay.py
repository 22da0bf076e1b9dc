"""Replay a traffic trace in open loop and say, per trace minute, whether the SLO held.

``replay_trace(url, payload, content_type, plan, slo_ms=...)`` sends ``plan`` (an
``irkit.spec.trace.ReplayPlan``) through the open-loop load generator (``generator.run_load`` with
even arrivals: each window sends as many requests as the trace says) and returns a
:class:`ReplayReport`. :func:`summarize_replay` is the pure part: it reads the STEPs any
trace replay wrote (a local job with ``traffic_type: TRACE`` too) and needs no process.

A request violates the SLO when it failed, was dropped, or took longer than ``slo_ms``. A minute
holds a P95 SLO when at most 5% of its requests violate it (P99: 1%): that is exactly "the
minute's p95 is within the SLO", read from counts, so no histogram merge is needed. Minutes are
**trace** minutes: with ``time_scale`` 60 a minute of the trace is one second of replay.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PERCENTILE_SHARE = {"P50": 0.50, "P90": 0.10, "P95": 0.05, "P99": 0.01}  # share allowed over the SLO
ACHIEVED_TOLERANCE = 0.02  # a replay within 2% of the trace's requests is faithful
SECONDS_PER_MINUTE = 60.0


@dataclass
class ReplayReport:
    """A trace replay's figures: per window, per trace minute, and in total."""

    slo_ms: float | None
    percentile: str
    windows: list[dict[str, Any]]
    minutes: list[dict[str, Any]]
    totals: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        """Every minute held the SLO, and the generator kept up (nothing dropped)."""
        return all(m["held"] for m in self.minutes) and not self.totals.get("dropped")

    @property
    def violated_minutes(self) -> list[int]:
        return [int(m["minute"]) for m in self.minutes if not m["held"]]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["held"] = self.held
        out["violated_minutes"] = self.violated_minutes
        return out

    def text(self) -> str:
        """A few lines: held or not, where not, achieved against target, late and dropped sends."""
        t = self.totals
        slo = f"{self.percentile} <= {self.slo_ms:g} ms" if self.slo_ms else "no SLO"
        lines = [f"trace replay: {t['sent']:.0f} of {t['expected']:.0f} requests sent "
                 f"({_pct(t['sent_ratio'])}), {t['requests']:.0f} answered ({_pct(t['achieved_ratio'])} of the "
                 f"trace), {t['late']} late, {t['dropped']} dropped, {t['errors']} errors"]
        if self.held:
            lines.append(f"SLO {slo} held in all {len(self.minutes)} trace minute(s)")
        else:
            bad = self.violated_minutes
            worst = max((m for m in self.minutes if not m["held"]), key=lambda m: m["violation_share"])
            lines.append(f"SLO {slo} broken in {len(bad)} of {len(self.minutes)} trace minute(s): "
                         f"{_ranges(bad)}; worst minute {worst['minute']}: {_pct(worst['violation_share'])} of "
                         f"requests over the SLO at {worst['target_rpm']:.0f} req/min (worst p95 "
                         f"{_num(worst['worst_p95_ms'])} ms)")
            if t.get("dropped"):
                lines.append(f"the load generator dropped {t['dropped']} sends: add --workers or compress less")
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"


def _ranges(minutes: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> "minutes 1-3, 7"."""
    parts: list[str] = []
    start = prev = None
    for m in list(minutes) + [None]:  # type: ignore[list-item]
        if m is not None and prev is not None and m == prev + 1:
            prev = m
            continue
        if start is not None:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        start = prev = m
    return "minute " + ", ".join(parts) if len(minutes) == 1 else "minutes " + ", ".join(parts)


def window_row(step: Mapping[str, Any], slo_ms: float | None, time_scale: float) -> dict[str, Any]:
    """One replay window (a STEP) with its expected, sent, answered and over-SLO counts."""
    duration = float(step.get("duration_s") or 0.0)
    target = float(step.get("target_rps") or 0.0)
    requests = int(step.get("requests") or 0)
    errors = int(step.get("errors") or 0)
    within = int(round(float(step.get("goodput_rps") or 0.0) * duration)) if slo_ms else requests - errors
    dropped = int(step.get("dropped") or 0)
    trace_s = step.get("trace_s")
    return {
        "step": step.get("step"), "start_s": float(step.get("start_s") or 0.0), "duration_s": duration,
        "trace_s": float(trace_s) if trace_s is not None else float(step.get("start_s") or 0.0) * time_scale,
        "target_rps": target, "expected": target * duration,
        "sent": int(step.get("sent", requests + dropped) or 0), "requests": requests, "errors": errors,
        "achieved_rps": requests / duration if duration > 0 else 0.0,
        "over_slo": max(0, requests - errors - within), "late": int(step.get("late") or 0), "dropped": dropped,
        "p50_ms": step.get("p50_ms"), "p95_ms": step.get("p95_ms"), "p99_ms": step.get("p99_ms"),
    }


def summarize_replay(steps: Sequence[Mapping[str, Any]], *, slo_ms: float | None, percentile: str = "P95",
                     time_scale: float = 1.0, notes: Sequence[str] = ()) -> ReplayReport:
    """The report of a replay from its STEPs (pure). ``time_scale`` is used when steps lack ``trace_s``."""
    allowed = PERCENTILE_SHARE.get(str(percentile).upper(), 0.05)
    windows = [window_row(s, slo_ms, time_scale) for s in sorted(steps, key=lambda s: s.get("start_s") or 0)]
    minutes: dict[int, dict[str, Any]] = {}
    for w in windows:
        m = minutes.setdefault(int(math.floor(w["trace_s"] / SECONDS_PER_MINUTE + 1e-9)), {
            "expected": 0.0, "sent": 0, "requests": 0, "errors": 0, "over_slo": 0, "late": 0, "dropped": 0,
            "replay_s": 0.0, "worst_p95_ms": None})
        for key in ("expected", "sent", "requests", "errors", "over_slo", "late", "dropped"):
            m[key] += w[key]
        m["replay_s"] += w["duration_s"]
        if w["p95_ms"] is not None:
            m["worst_p95_ms"] = max(m["worst_p95_ms"] or 0.0, float(w["p95_ms"]))
    rows = []
    for minute in sorted(minutes):
        m = minutes[minute]
        bad = m["over_slo"] + m["errors"] + m["dropped"]
        total = m["requests"] + m["dropped"]
        share = bad / total if total else 0.0
        seconds = m["replay_s"] or SECONDS_PER_MINUTE  # compression keeps rates: per replayed second
        rows.append({"minute": minute, **m, "violations": bad, "violation_share": round(share, 4),
                     "target_rpm": m["expected"] * SECONDS_PER_MINUTE / seconds,
                     "achieved_rpm": m["requests"] * SECONDS_PER_MINUTE / seconds,
                     "held": share <= allowed + 1e-12})
    expected = sum(w["expected"] for w in windows)
    totals: dict[str, Any] = {k: sum(w[k] for w in windows)
                              for k in ("sent", "requests", "errors", "over_slo", "late", "dropped")}
    totals["expected"] = expected
    totals["sent_ratio"] = totals["sent"] / expected if expected else None
    totals["achieved_ratio"] = totals["requests"] / expected if expected else None
    totals["replay_s"] = sum(w["duration_s"] for w in windows)
    out_notes = list(notes)
    if expected and totals["achieved_ratio"] is not None and abs(totals["achieved_ratio"] - 1) > ACHIEVED_TOLERANCE:
        out_notes.append(f"answered {_pct(totals['achieved_ratio'])} of the trace's requests (more than "
                         f"{100 * ACHIEVED_TOLERANCE:.0f}% off): the server fell behind or the replay ended early")
    return ReplayReport(slo_ms, str(percentile).upper(), windows, rows, totals, out_notes)


def job_replays(result: Mapping[str, Any], percentile: str = "P95") -> dict[str, ReplayReport]:
    """The trace replay of each config of a ``traffic_type: TRACE`` job, from its STEPs (pure).

    The SLO is the one the steps were counted against (their ``threshold_ms``); configs whose
    steps carry no ``trace_s`` (PHASES, STAIRS) are left out.
    """
    by_config: dict[str, list[Mapping[str, Any]]] = {}
    for step in (result.get("irkit") or {}).get("steps") or []:
        if step.get("trace_s") is not None:
            by_config.setdefault(str(step.get("config_id")), []).append(step)
    out = {}
    for config, steps in by_config.items():
        threshold = next((s.get("threshold_ms") for s in steps if s.get("threshold_ms")), None)
        out[config] = summarize_replay(steps, slo_ms=threshold, percentile=percentile)
    return out


def replay_trace(url: str, payload_path: str | os.PathLike[str], content_type: str, plan: Any, *,
                 slo_ms: float | None, percentile: str = "P95", workers: int = 0,
                 headers: Mapping[str, str] | None = None, log_path: str | os.PathLike[str] | None = None,
                 on_step: Callable[[dict[str, Any]], Any] | None = None, stop_event: threading.Event | None = None,
                 load_fn: Callable[..., Any] | None = None) -> ReplayReport:
    """Send ``plan`` (``irkit.spec.trace.ReplayPlan``) at ``url`` in open loop; the report of the run.

    The whole trace is always played (no early stop on SLO breaks): the point is to see where it breaks.
    """
    if load_fn is None:
        from irkit.load.generator import run_load

        load_fn = run_load
    result = load_fn(url, payload_path, content_type, None, open_loop=plan.open_loop(),
                     latency_threshold_ms=slo_ms, percentile=percentile, workers=workers, on_step=on_step,
                     stop_event=stop_event, headers=headers, log_path=log_path,
                     max_seconds=plan.duration_s + 60.0, extra_config=plan.load_config())
    notes = list(plan.notes) + list(getattr(result, "warnings", None) or [])
    return summarize_replay(result.steps, slo_ms=slo_ms, percentile=percentile, time_scale=plan.time_scale,
                            notes=notes)
