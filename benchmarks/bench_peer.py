"""Against an independent tool: irkit's MaxInvocations and ModelLatency vs wrk on the same server.

One server (``irkit serve`` of a ResNet50 model.tar.gz with random weights), two measurers taking
turns, both pinned with taskset to the core the server does not use:

- **wrk** (C, closed loop; the Debian package, installed here with ``apt-get install -y wrk`` when
  missing) sweeps 1-4 connections (and 6, 8, 12, ... while its throughput still grows by > 2%),
  ``--duration`` s each, posting the npy (or JSON) sample through
  a Lua script that also reports p50/p95/p99 and wrk's own CPU use;
- **irkit** measures through ``irkit recommend SPEC --endpoint-url URL`` (the spec has no traffic,
  so the local default runs: the knee search once it is there), ``--repeats`` times;
- then wrk measures its best level once more: the reference throughput is wrk's best before and
  after irkit, averaged (the shared machine drifts by a few % over minutes).

Servers: ``cpu1`` = ResNet50 unbatched on local.cpu1 (the generators get the other core); ``cpu2``
= batched (max batch 4) on local.cpu2, where on a 2-core machine the generators share the server's
cores, which the table reports. Goals (issue 13): MaxInvocations within 3% of wrk's best throughput;
ModelLatency (P95) between wrk's P95 at 1 connection and at wrk's knee (the fewest connections
within 5% of its best); the repeats agree on ModelLatency within 25%.

    python benchmarks/bench_peer.py [--quick] [--duration 15] [--repeats 2] [--payload npy|json]
                                    [--servers cpu1,cpu2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOAL_THROUGHPUT = 0.03  # |irkit - wrk best| / wrk best
GOAL_LATENCY_REPEAT = 0.25
LATENCY_SLACK = 0.05  # two P95 readings of one level differ by this much run to run (also wrk's own)  # |a - b| / max(a, b) between the repeats' ModelLatency
KNEE_GROWTH = 0.05  # wrk's knee: the fewest connections within this of its best throughput
CONNECTIONS = (1, 2, 3, 4)
MORE_CONNECTIONS = (6, 8, 12, 16, 24, 32)  # swept while wrk's throughput still grows (batched servers)
STILL_GROWING = 0.02  # a level more than this above the best before it: wrk goes on
PERCENTILE = "P95"
BATCHING_ENV = {"SAGEMAKER_TFS_ENABLE_BATCHING": "true", "SAGEMAKER_TFS_MAX_BATCH_SIZE": "4",
                "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "20000", "SAGEMAKER_TFS_NUM_BATCH_THREADS": "1"}
SERVERS = {  # name -> (instance type, server CPUs, env)
    "cpu1": ("local.cpu1", 1, {}),
    "cpu2": ("local.cpu2", 2, BATCHING_ENV),
}
PAYLOADS = {"npy": ("npy", "sample.npy", "application/x-npy"),
            "json": ("list", "sample.json", "application/json")}
WRK_LUA = """-- irkit bench_peer: POST one sample, report JSON figures on one line
local f = assert(io.open(os.getenv("IRKIT_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("IRKIT_CONTENT_TYPE")

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'IRKIT_WRK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


# ---- set-up --------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get (Debian's package) when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print("wrk not found: apt-get install -y wrk", flush=True)
    install = subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], capture_output=True, text=True)
    if install.returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-qq"], capture_output=True, text=True)
        install = subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], capture_output=True, text=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError(f"wrk is not installed and `apt-get install -y wrk` failed: {install.stderr.strip()[-400:]}")
    return found


def build(workdir: Path, payload: str) -> tuple[Path, Path, Path, str]:
    """(model.tar.gz, payload.tar.gz, the raw body file, its content type), built once with random weights."""
    kind, member, content_type = PAYLOADS[payload]
    out = workdir / f"resnet50-{payload}"
    model, payloads = out / "model.tar.gz", out / "payload.tar.gz"
    if not (model.exists() and payloads.exists()):
        made = subprocess.run([sys.executable, "-m", "irkit", "package", "--out", str(out), "--weights", "none",
                               "--samples", kind], capture_output=True, text=True, cwd=ROOT)
        if made.returncode != 0:
            raise RuntimeError(f"irkit package failed:\n{made.stdout[-1500:]}\n{made.stderr[-1500:]}")
        print(f"built {model} and {payloads} (random weights)", flush=True)
    body = out / member
    if not body.exists():
        with tarfile.open(payloads) as tar:
            source = tar.extractfile(member)
            if source is None:
                raise RuntimeError(f"{payloads}: no {member}")
            body.write_bytes(source.read())
    return model, payloads, body, content_type


def core_plan(server_cpus: int) -> tuple[list[int], list[int]]:
    """(server cores, generator cores): the generators get the cores the server does not use, if any."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < server_cpus:
        raise RuntimeError(f"local.cpu{server_cpus} needs {server_cpus} cores; this process may use {cores}")
    server = cores[:server_cpus]
    spare = [c for c in cores if c not in server]
    return server, spare or cores[-1:]


@contextmanager
def serve(model: Path, cores: list[int], env: dict[str, str], workdir: Path):  # type: ignore[no-untyped-def]
    """``irkit serve`` pinned to ``cores``; yields its URL once /ping answers; stops it after."""
    port_file = workdir / f"port-{os.getpid()}-{time.monotonic_ns()}"
    log = open(workdir / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "irkit", "serve", str(model), "--port", "0", "--port-file", str(port_file),
         "--cpus", ",".join(map(str, cores)), "--work-dir", str(workdir / "extracted")],
        env={**os.environ, **env}, stdout=log, stderr=log, cwd=ROOT)
    try:
        deadline = time.monotonic() + 180
        url = None
        while time.monotonic() < deadline and proc.poll() is None:
            if port_file.exists() and port_file.read_text().strip():
                url = f"http://127.0.0.1:{int(port_file.read_text().strip())}"
                try:
                    with urllib.request.urlopen(f"{url}/ping", timeout=5) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"irkit serve did not answer /ping (exit {proc.poll()}); see {workdir / 'server.log'}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def warm_up(url: str, body: Path, content_type: str, count: int = 3) -> None:
    data = body.read_bytes()
    for _ in range(count):
        request = urllib.request.Request(f"{url}/invocations", data=data, headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()


# ---- the two measurers ---------------------------------------------------------------------------
def wrk_level(wrk: str, url: str, script: Path, body: Path, content_type: str, connections: int,
              seconds: float, cores: list[int]) -> dict[str, Any]:
    """One wrk run at ``connections``: req/s, latency percentiles (ms), errors and wrk's CPU %."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        ["taskset", "-c", ",".join(map(str, cores)), wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
         "--timeout", "30s", "-s", str(script), f"{url}/invocations"],
        env={**os.environ, "IRKIT_BODY": str(body), "IRKIT_CONTENT_TYPE": content_type},
        capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("IRKIT_WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{run.stdout}\n{run.stderr}")
    raw = json.loads(line.split(" ", 1)[1])
    duration = raw["duration_us"] / 1e6
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {"connections": connections, "requests": raw["requests"], "seconds": round(duration, 2),
            "rps": round(raw["requests"] / duration, 3), "errors": errors,
            "p50_ms": raw["p50_us"] / 1000, "p95_ms": raw["p95_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "wrk_cpu_percent": round(100 * cpu_s / duration, 1)}


def wrk_sweep(wrk: str, url: str, body: Path, content_type: str, seconds: float, cores: list[int],
              connections: tuple[int, ...], workdir: Path) -> dict[str, Any]:
    script = workdir / "post.lua"
    script.write_text(WRK_LUA)
    levels = [wrk_level(wrk, url, script, body, content_type, c, seconds, cores) for c in connections]
    more = [c for c in MORE_CONNECTIONS if c > max(connections)] if len(connections) > 2 else []
    while more and levels[-1]["rps"] > (1 + STILL_GROWING) * max(lv["rps"] for lv in levels[:-1]):
        levels.append(wrk_level(wrk, url, script, body, content_type, more.pop(0), seconds, cores))
    best = max(levels, key=lambda lv: lv["rps"])
    knee = next(lv for lv in levels if lv["rps"] >= (1 - KNEE_GROWTH) * best["rps"])
    return {"levels": levels, "best_rps": best["rps"], "sweep_best_rps": best["rps"],
            "best_connections": best["connections"],
            "knee_connections": knee["connections"], "p95_ms_at_1": levels[0]["p95_ms"],
            "p95_ms_at_knee": knee["p95_ms"]}


def knee_search_supported() -> bool:
    from irkit.spec import JobSpec

    return any(f.name == "knee_search" for f in dataclasses.fields(JobSpec))


def spec_for(name: str, instance_type: str, payload: Path, content_type: str, quick: bool) -> dict[str, Any]:
    """The job spec irkit measures with: no traffic (the local default), or a tiny one with --quick."""
    spec: dict[str, Any] = {
        "job_name": name, "framework": "TENSORFLOW", "sample_payload_url": str(payload),
        "supported_content_types": [content_type], "supported_instance_types": [instance_type],
        "model_latency_thresholds": [{"percentile": PERCENTILE, "value_in_milliseconds": 60000}],
    }
    if quick and knee_search_supported():
        spec["knee_search"] = {"max_users": 2, "window_seconds": 1, "min_requests": 2, "max_level_seconds": 4}
    elif quick:  # before the knee search: two short stair steps
        spec.update(traffic_type="STAIRS", stairs={"duration_in_seconds": 3, "number_of_steps": 2, "users_per_step": 1})
    return spec


def irkit_measure(url: str, spec: dict[str, Any], payload: Path, cores: list[int], workdir: Path,
                  home: Path) -> dict[str, Any]:
    """``irkit recommend SPEC --endpoint-url URL`` pinned to ``cores``; the endpoint's figures."""
    spec_path = workdir / f"{spec['job_name']}.json"
    spec_path.write_text(json.dumps(spec))
    out = workdir / f"{spec['job_name']}-result.json"
    started = time.perf_counter()
    run = subprocess.run(
        ["taskset", "-c", ",".join(map(str, cores)), sys.executable, "-m", "irkit", "recommend", str(spec_path),
         "--endpoint-url", url, "--payload", str(payload), "--out", str(out), "--no-progress"],
        env={**os.environ, "IRKIT_HOME": str(home)}, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if run.returncode != 0 or not out.exists():
        raise RuntimeError(f"irkit recommend failed ({run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    result = json.loads(out.read_text())
    (perf,) = result["EndpointPerformances"]
    config = next((c for c in (result.get("irkit") or {}).get("configs") or [] if not c.get("recommendation_id")), {})
    return {"max_invocations": perf["Metrics"]["MaxInvocations"], "model_latency_ms": perf["Metrics"]["ModelLatency"],
            "max_invocations_ci": config.get("max_invocations_ci"), "stable": config.get("stable"),
            "generator": config.get("generator"), "knee": config.get("knee"),
            "plateau_reason": config.get("plateau_reason"), "wall_s": round(wall, 1),
            "warnings": config.get("warnings") or []}


# ---- one server, both measurers ------------------------------------------------------------------
def evaluate(wrk: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The three goals for one server: throughput vs wrk, latency inside wrk's range, repeats agree."""
    best_rpm = wrk["best_rps"] * 60
    low, high = sorted((wrk["p95_ms_at_1"], wrk["p95_ms_at_knee"]))
    for run in runs:
        run["error_vs_wrk"] = round((run["max_invocations"] - best_rpm) / best_rpm, 4) if best_rpm else None
        lat = run["model_latency_ms"]
        run["latency_outside_ms"] = round(0.0 if low <= lat <= high else (lat - high if lat > high else lat - low), 1)
        run["latency_inside_with_slack"] = (1 - LATENCY_SLACK) * low <= lat <= (1 + LATENCY_SLACK) * high
    latencies = [r["model_latency_ms"] for r in runs]
    spread = (max(latencies) - min(latencies)) / max(latencies) if len(runs) > 1 and max(latencies) else 0.0
    return {
        "wrk_best_rpm": round(best_rpm, 1),
        "wrk_p95_ms_at_1": round(wrk["p95_ms_at_1"], 1),
        "wrk_p95_ms_at_knee": round(wrk["p95_ms_at_knee"], 1),
        "worst_error_vs_wrk": max((abs(r["error_vs_wrk"]) for r in runs if r["error_vs_wrk"] is not None), default=None),
        "latency_repeat_spread": round(spread, 4),
        "meets_throughput_goal": all(r["error_vs_wrk"] is not None and abs(r["error_vs_wrk"]) <= GOAL_THROUGHPUT
                                     for r in runs),
        "meets_latency_range_goal": all(r["latency_outside_ms"] == 0.0 for r in runs),
        "meets_latency_range_goal_with_slack": all(r["latency_inside_with_slack"] for r in runs),
        "meets_latency_repeat_goal": spread <= GOAL_LATENCY_REPEAT,
    }


def measure_server(name: str, model: Path, payload: Path, body: Path, content_type: str, args: Any,
                   workdir: Path, home: Path, wrk: str) -> dict[str, Any]:
    instance_type, cpus, env = SERVERS[name]
    server_cores, gen_cores = core_plan(cpus)
    shares = bool(set(server_cores) & set(gen_cores))
    print(f"{name}: {instance_type} on cores {server_cores}, env {env or 'none'}; generators on {gen_cores}"
          + (" (shared with the server)" if shares else ""), flush=True)
    with serve(model, server_cores, env, workdir) as url:
        warm_up(url, body, content_type)
        sweep = wrk_sweep(wrk, url, body, content_type, args.duration, gen_cores, args.connections, workdir)
        for level in sweep["levels"]:
            print(f"  wrk -c{level['connections']}: {level['rps']:.2f} req/s, p95 {level['p95_ms']:.0f} ms, "
                  f"wrk CPU {level['wrk_cpu_percent']:.0f}%", flush=True)
        runs = []
        for i in range(args.repeats):
            spec = spec_for(f"peer-{name}-{i + 1}", instance_type, payload, content_type, args.quick)
            runs.append(irkit_measure(url, spec, payload, gen_cores, workdir, home))
            run = runs[-1]
            print(f"  irkit run {i + 1}: MaxInvocations {run['max_invocations']}/min {run['max_invocations_ci'] or ''}, "
                  f"ModelLatency {run['model_latency_ms']} ms, knee {run['knee']}, stable {run['stable']}, "
                  f"generator {run['generator']}, "
                  f"{run['wall_s']:.0f} s", flush=True)
        # wrk's best level once more, after irkit: the machine drifts by a few % over minutes, so the
        # reference is wrk's best measured before and after irkit, averaged
        again = wrk_level(wrk, url, workdir / "post.lua", body, content_type, sweep["best_connections"],
                          args.duration, gen_cores)
        sweep["recheck"] = again
        sweep["best_rps"] = round((sweep["sweep_best_rps"] + again["rps"]) / 2, 3)
        print(f"  wrk -c{again['connections']} again: {again['rps']:.2f} req/s; reference "
              f"{sweep['best_rps']:.2f} req/s", flush=True)
    return {"instance_type": instance_type, "server_cores": server_cores, "generator_cores": gen_cores,
            "generators_share_server_cores": shares, "env": env, "wrk": sweep, "irkit": runs,
            **evaluate(sweep, runs)}


def table(figures: dict[str, Any]) -> str:
    """The markdown table of a run: one line per irkit repeat, wrk's figures on each server's first."""
    lines = ["| server | generators | wrk best req/min (conns) | wrk P95 ms at 1 conn / knee | irkit run | "
             "MaxInvocations [95% CI] | vs wrk | ModelLatency ms | stable | irkit generator CPU % | "
             "ModelLatency repeat spread |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in figures["servers"].items():
        where = "share the server's cores" if row["generators_share_server_cores"] else "own core"
        wrk = f"{row['wrk_best_rpm']:.0f} ({row['wrk']['best_connections']})"
        p95 = "{:.0f} / {:.0f}".format(row["wrk_p95_ms_at_1"], row["wrk_p95_ms_at_knee"])
        spread = f"{row['latency_repeat_spread']:.0%}"
        for i, run in enumerate(row["irkit"]):
            ci = run["max_invocations_ci"]
            rpm = f"{run['max_invocations']}" + (f" [{ci[0]}-{ci[1]}]" if ci else "")
            error = "-" if run["error_vs_wrk"] is None else f"{run['error_vs_wrk']:+.1%}"
            cpu = (run["generator"] or {}).get("cpu_percent", "-")
            head = [f"{name} ({row['instance_type']})", where, wrk, p95] if i == 0 else ["", "", "", ""]
            lines.append("| " + " | ".join([*head, str(i + 1), rpm, error, str(run["model_latency_ms"]),
                                           str(run["stable"]), str(cpu), spread if i == 0 else ""]) + " |")
    return "\n".join(lines)


def verdict(figures: dict[str, Any]) -> str:
    out = []
    for name, row in figures["servers"].items():
        marks = {"throughput within 3% of wrk": row["meets_throughput_goal"],
                 "latency inside wrk's 1-conn..knee P95": row["meets_latency_range_goal"],
                 f"(with {LATENCY_SLACK:.0%} slack for P95 noise)": row.get("meets_latency_range_goal_with_slack"),
                 "repeats' latency within 25%": row["meets_latency_repeat_goal"]}
        out.append(f"{name}: " + "; ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in marks.items()))
    return "\n".join(out)


def report(figures: dict[str, Any]) -> str:
    """The markdown of a run (what ``run.py --record`` writes to RESULTS.md)."""
    return f"{table(figures)}\n\n{verdict(figures)}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s wrk levels at 1-2 connections, a tiny irkit "
                                                              "search, local.cpu1 only (smoke check)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk level (default 15)")
    parser.add_argument("--repeats", type=int, default=2, help="irkit runs per server (default 2)")
    parser.add_argument("--payload", choices=sorted(PAYLOADS), default="npy")
    parser.add_argument("--servers", default=None, help="comma-separated: cpu1, cpu2 (default both)")
    parser.add_argument("--workdir", help="keep the model, payload and results here (default: a temporary folder)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args.duration = args.duration or (2.0 if args.quick else 15.0)
    args.connections = CONNECTIONS[:2] if args.quick else CONNECTIONS
    names = (args.servers or ("cpu1" if args.quick else "cpu1,cpu2")).split(",")
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        parser.error(f"--servers: unknown {unknown}; choose from {sorted(SERVERS)}")
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="irkit-bench-peer-") as tmp:
        workdir = Path(args.workdir).resolve() if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        home = Path(tmp) / "home"  # the runs' jobs go to a throwaway history
        model, payload, body, content_type = build(workdir, args.payload)
        servers = {n: measure_server(n, model, payload, body, content_type, args, workdir, home, wrk) for n in names}
    version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.splitlines()
    figures = {"payload": args.payload, "wrk_seconds_per_level": args.duration,
               "connections": list(args.connections), "repeats": args.repeats, "quick": args.quick,
               "knee_search": knee_search_supported(), "wrk_version": (version or ["?"])[0].strip(),
               "servers": servers}
    print()
    print(report(figures), flush=True)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
