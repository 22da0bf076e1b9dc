"""Scaling check (issue 16): N local replicas behind the round-robin router against N x one replica.

One ResNet50 model.tar.gz (random weights, built once like bench_peer's), measured twice with the
same irkit path (``irkit recommend SPEC --endpoint-url URL``: the knee search when the spec layer
has it, else STAIRS up to ``--max-users``):

- **one replica**: ``ServerProcess(model, cpus=[c0])`` (local.cpu1), the generator pinned to the
  other core when there is one;
- **N replicas**: ``ServerProcess(model, replicas=N, cpus=[c0..cN-1])`` (N x local.cpu1 behind the
  router, irkit/serve/replicas.py); the generator and the router share the replicas' cores on a
  machine with N cores, which the table says.

Goal: N replicas reach within 10% of N x one replica's MaxInvocations (ratio >= 0.90). The router's
``GET /replicas`` counts show how evenly the load was spread.

    python benchmarks/bench_fleet.py [--quick] [--replicas 2] [--step-s 15] [--max-users 6]
                                     [--payload npy|json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOAL_RATIO = 0.90  # N replicas >= 90% of N x one replica
PERCENTILE = "P95"


def _bench_peer() -> Any:
    sys.path.insert(0, str(HERE))
    import bench_peer  # the model build, warm-up and knee-search check are shared

    return bench_peer


def spec_for(name: str, payload: Path, content_type: str, step_s: float, max_users: int,
             quick: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "job_name": name, "framework": "TENSORFLOW", "sample_payload_url": str(payload),
        "supported_content_types": [content_type], "supported_instance_types": ["local.cpu1"],
        "model_latency_thresholds": [{"percentile": PERCENTILE, "value_in_milliseconds": 60000}],
    }
    if _bench_peer().knee_search_supported():
        spec["knee_search"] = {"max_users": max_users, "window_seconds": max(1, int(step_s // 3))}
        if quick:
            spec["knee_search"].update(min_requests=2, max_level_seconds=4)
    else:
        spec.update(traffic_type="STAIRS", stairs={"duration_in_seconds": int(step_s), "number_of_steps": max_users,
                                                   "users_per_step": 1})
    return spec


def measure(url: str, spec: dict[str, Any], payload: Path, cores: list[int] | None, workdir: Path,
            home: Path) -> dict[str, Any]:
    """``irkit recommend SPEC --endpoint-url URL`` (pinned to ``cores`` when given); the endpoint's figures."""
    spec_path = workdir / f"{spec['job_name']}.json"
    spec_path.write_text(json.dumps(spec))
    out = workdir / f"{spec['job_name']}-result.json"
    pin = ["taskset", "-c", ",".join(map(str, cores))] if cores else []
    started = time.perf_counter()
    run = subprocess.run([*pin, sys.executable, "-m", "irkit", "recommend", str(spec_path), "--endpoint-url", url,
                          "--payload", str(payload), "--out", str(out), "--no-progress"],
                         env={**os.environ, "IRKIT_HOME": str(home)}, capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0 or not out.exists():
        raise RuntimeError(f"irkit recommend failed ({run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    result = json.loads(out.read_text())
    (perf,) = result["EndpointPerformances"]
    steps = (result.get("irkit") or {}).get("steps") or []
    config = next(iter((result.get("irkit") or {}).get("configs") or []), {})
    return {"max_invocations": perf["Metrics"]["MaxInvocations"], "model_latency_ms": perf["Metrics"]["ModelLatency"],
            "max_invocations_ci": config.get("max_invocations_ci"), "plateau_reason": config.get("plateau_reason"),
            "rps": [s.get("rps") for s in steps], "users": [s.get("users") for s in steps],
            "generator_cpu_max": max((s.get("generator_cpu") or 0 for s in steps), default=None),
            "wall_s": round(time.perf_counter() - started, 1)}


def replica_counts(url: str) -> list[int]:
    with urllib.request.urlopen(f"{url}/replicas", timeout=10) as answer:
        return [r["requests"] for r in json.loads(answer.read())["replicas"]]


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from irkit.serve.process import ServerProcess

    peer = _bench_peer()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < args.replicas:
        raise RuntimeError(f"{args.replicas} replicas of local.cpu1 need {args.replicas} cores; this process has {cores}")
    model, payloads, body, content_type = peer.build(workdir, args.payload)
    home = workdir / "home"
    spare = [c for c in cores if c != cores[0]] or None
    single_spec = spec_for("fleet-one", payloads, content_type, args.step_s, max(2, args.max_users // args.replicas),
                           args.quick)
    with ServerProcess(model, cpus=[cores[0]], log_path=workdir / "one.log") as server:
        peer.warm_up(server.url, body, content_type)
        one = measure(server.url, single_spec, payloads, spare, workdir, home)
    print(f"one replica: {one['max_invocations']} req/min, {PERCENTILE} {one['model_latency_ms']} ms", flush=True)
    fleet_cores = cores[: args.replicas]
    fleet_spec = spec_for("fleet-n", payloads, content_type, args.step_s, args.max_users, args.quick)
    with ServerProcess(model, cpus=fleet_cores, replicas=args.replicas, log_path=workdir / "fleet.log") as server:
        for _ in range(args.replicas):
            peer.warm_up(server.url, body, content_type)
        before = replica_counts(server.url)
        fleet = measure(server.url, fleet_spec, payloads, None, workdir, home)
        after = replica_counts(server.url)
    spread = [b - a for a, b in zip(before, after, strict=True)]
    fleet["replica_requests"] = spread
    ratio = fleet["max_invocations"] / (args.replicas * one["max_invocations"]) if one["max_invocations"] else None
    print(f"{args.replicas} replicas: {fleet['max_invocations']} req/min ({spread} requests per replica)", flush=True)
    return {"replicas": args.replicas, "payload": args.payload, "step_s": args.step_s, "max_users": args.max_users,
            "cores": len(cores), "generator_shares_cores": len(cores) <= args.replicas,
            "one": one, "fleet": fleet, "ratio": None if ratio is None else round(ratio, 3),
            "goal_ratio": GOAL_RATIO, "goal_met": ratio is not None and ratio >= GOAL_RATIO}


def report(figures: dict[str, Any]) -> str:
    one, fleet, n = figures["one"], figures["fleet"], figures["replicas"]
    shares = ("the generator and the router share the replicas' cores" if figures["generator_shares_cores"]
              else "the generator has its own cores")
    lines = ["| setup | MaxInvocations req/min | 95% interval | P95 ms | requests per replica |",
             "|---|---:|---|---:|---|",
             f"| 1 x local.cpu1 | {one['max_invocations']} | {one.get('max_invocations_ci') or '-'} | "
             f"{one['model_latency_ms']} | - |",
             f"| {n} x local.cpu1 behind the router | {fleet['max_invocations']} | "
             f"{fleet.get('max_invocations_ci') or '-'} | {fleet['model_latency_ms']} | {fleet['replica_requests']} |",
             "", f"{n} replicas / ({n} x one) = {figures['ratio']} (goal >= {GOAL_RATIO}; met: {figures['goal_met']}); "
             f"{figures['cores']} cores: {shares}; {figures['payload']} payload, {figures['step_s']:g} s per level."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s levels, up to 4 users: a smoke run")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--step-s", type=float, default=None, help="seconds per load level (default 15)")
    parser.add_argument("--max-users", type=int, default=None, help="most concurrent users for N replicas (default 6)")
    parser.add_argument("--payload", choices=("npy", "json"), default="npy")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the model and results here")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    args.step_s = args.step_s or (3.0 if args.quick else 15.0)
    args.max_users = args.max_users or (4 if args.quick else 3 * args.replicas)
    started = time.perf_counter()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        figures = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="irkit-bench-fleet-") as tmp:
            figures = run(args, Path(tmp))
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    print(report(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
