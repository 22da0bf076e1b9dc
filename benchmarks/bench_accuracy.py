"""Measurement accuracy: irkit's load path against servers of known capacity (C slots x S ms).

Goals (issue 4, tightened by issue 13):
- MaxInvocations (req/min at saturation) within +-1% of 60 * C / S (S in seconds), for at least 3
  (C, S) settings, measured both ways a local job measures: the knee search (the local default:
  doubling, bisection, the best level confirmed) and real Locust STAIRS read by the plateau finder;
- p50 at low load (the first step, fewer users than slots) within 1 ms of S;
- with a 1 s stall injected, the open-loop p99 shows it (>= 0.9 x the stall), where a closed loop
  with few users hides it.

    python benchmarks/bench_accuracy.py [--quick] [--step-s 5] [--workers 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

SETTINGS = ((1, 20.0), (4, 40.0), (8, 100.0), (2, 10.0))  # (slots C, service time S ms)
MAX_INVOCATIONS_TOLERANCE = 0.01
P50_TOLERANCE_MS = 1.0
STALL_S = 1.0


def _stairs(duration_s: float, steps: int, per_step: int) -> Any:
    from irkit.spec import Stairs, TrafficPattern

    return TrafficPattern("STAIRS", (), Stairs(int(duration_s), steps, per_step))


def measure_capacity(slots: int, service_ms: float, payload: Path, step_s: float, workers: int) -> dict[str, Any]:
    """STAIRS from C/2 to 2C users; MaxInvocations from the plateau finder; p50 of the first step."""
    from irkit.load import knee as plateau
    from irkit.load.generator import run_load
    from irkit.serve.capacity import CapacityServer

    per_step = min(3, max(1, slots // 2))  # IR allows 1-3 users per step
    steps = max(4, -(-2 * slots // per_step))  # up to at least 2C users
    with CapacityServer(slots, service_ms) as server:
        result = run_load(server.url, payload, "application/json", _stairs(step_s, steps, per_step),
                          workers=workers)
    found = plateau.find_plateau(result.steps)
    expected = 60.0 * slots / (service_ms / 1000.0)
    low = result.steps[0]
    return {
        "slots": slots, "service_ms": service_ms, "expected_max_invocations": round(expected),
        "max_invocations": found.max_invocations, "error_pct": round(100 * (found.max_invocations / expected - 1), 2),
        "low_load_users": low["users"], "low_load_p50_ms": low["p50_ms"],
        "p50_error_ms": round(low["p50_ms"] - service_ms, 3),
        "plateau_reason": found.reason, "users": [s["users"] for s in result.steps],
        "rps": [s["rps"] for s in result.steps], "generator_cpu_max": max(s.get("generator_cpu") or 0 for s in result.steps),
        "warnings": result.warnings,
    }


def measure_knee(slots: int, service_ms: float, payload: Path, workers: int) -> dict[str, Any]:
    """The knee search (the local default) against the same server: MaxInvocations, its interval, the levels."""
    from irkit.load.generator import run_load
    from irkit.load.knee_search import KneeSearch, KneeSettings
    from irkit.serve.capacity import CapacityServer

    search = KneeSearch(KneeSettings(max_users=max(4, 4 * slots), window_seconds=1.0, min_requests=10,
                                     max_level_seconds=8.0))
    with CapacityServer(slots, service_ms) as server:
        result = run_load(server.url, payload, "application/json", None, knee=search, workers=workers)
    found = search.plateau(result.steps)
    expected = 60.0 * slots / (service_ms / 1000.0)
    return {"knee_max_invocations": found.max_invocations, "knee_ci": found.ci_per_min,
            "knee_error_pct": round(100 * (found.max_invocations / expected - 1), 2),
            "knee_users": found.users, "knee_best_users": found.best_users, "knee_confirmed": found.confirmed,
            "knee_levels": [s["users"] for s in result.steps]}


def measure_stall(payload: Path, duration_s: float) -> dict[str, Any]:
    """A 4 x 20 ms server (200 req/s) frozen for 1 s: open loop at 100 req/s vs a closed loop of 2 users."""
    from irkit.load.generator import run_load
    from irkit.serve.capacity import CapacityServer

    stall_at = duration_s / 3
    with CapacityServer(4, 20.0, stall_at_s=stall_at, stall_s=STALL_S) as server:
        open_run = run_load(server.url, payload, "application/json", None,
                            open_loop={"rates_per_second": [100.0], "duration_in_seconds": duration_s})
    with CapacityServer(4, 20.0, stall_at_s=stall_at, stall_s=STALL_S) as server:
        closed_run = run_load(server.url, payload, "application/json", _stairs(duration_s, 1, 2))
    open_p99 = max(s["p99_ms"] or 0 for s in open_run.steps)
    closed_p99 = max(s["p99_ms"] or 0 for s in closed_run.steps)
    return {
        "stall_s": STALL_S, "open_loop_p99_ms": open_p99, "closed_loop_p99_ms": closed_p99,
        "open_loop_requests": sum(s["requests"] for s in open_run.steps),
        "late": sum(s.get("late") or 0 for s in open_run.steps),
        "dropped": sum(s.get("dropped") or 0 for s in open_run.steps),
        "open_loop_shows_stall": open_p99 >= 0.9 * STALL_S * 1000,
    }


def markdown(figures: dict[str, Any]) -> str:
    lines = ["| C slots | S ms | expected req/min | knee search MaxInvocations [95% CI] (levels) | error % | "
             "STAIRS MaxInvocations | error % | low-load p50 ms (users) | p50 - S ms |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for row in figures["capacity"]:
        ci = row.get("knee_ci")
        span = f" [{ci[0]}-{ci[1]}]" if ci else ""
        lines.append(f"| {row['slots']} | {row['service_ms']:g} | {row['expected_max_invocations']} | "
                     f"{row['knee_max_invocations']}{span} ({', '.join(map(str, row['knee_levels']))}) | "
                     f"{row['knee_error_pct']:+.2f} | "
                     f"{row['max_invocations']} | {row['error_pct']:+.2f} | {row['low_load_p50_ms']:.3f} "
                     f"({row['low_load_users']}) | {row['p50_error_ms']:+.3f} |")
    stall = figures["stall"]
    lines += ["", f"1 s stall on a 4 x 20 ms server: open-loop p99 {stall['open_loop_p99_ms']:.0f} ms "
              f"(late {stall['late']}, dropped {stall['dropped']}); closed loop (2 users) p99 "
              f"{stall['closed_loop_p99_ms']:.0f} ms.",
              f"Goals met: MaxInvocations within 1% (knee search): {figures['knee_within_1pct']}; "
              f"(STAIRS): {figures['max_invocations_within_1pct']}; "
              f"p50 within 1 ms: {figures['p50_within_1ms']}; open loop shows the stall: "
              f"{stall['open_loop_shows_stall']}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s steps, 3 settings")
    parser.add_argument("--step-s", type=float, default=None, help="seconds per stair step (default 5)")
    parser.add_argument("--workers", type=int, default=0, help="Locust worker processes (0: one process)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    step_s = args.step_s or (3.0 if args.quick else 5.0)
    settings = SETTINGS[:3] if args.quick else SETTINGS
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="irkit-bench-accuracy-") as tmp:
        payload = Path(tmp) / "payload.json"
        payload.write_bytes(b"[[0.1, 0.2, 0.3]]")
        rows = [{**measure_capacity(c, s, payload, step_s, args.workers), **measure_knee(c, s, payload, args.workers)}
                for c, s in settings]
        stall = measure_stall(payload, 3.0 if args.quick else 6.0)
    figures = {
        "step_s": step_s, "workers": args.workers, "capacity": rows, "stall": stall,
        "max_invocations_within_1pct": all(abs(r["error_pct"]) <= 100 * MAX_INVOCATIONS_TOLERANCE for r in rows),
        "knee_within_1pct": all(abs(r["knee_error_pct"]) <= 100 * MAX_INVOCATIONS_TOLERANCE for r in rows),
        "p50_within_1ms": all(abs(r["p50_error_ms"]) <= P50_TOLERANCE_MS for r in rows),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(markdown(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
